"""Alerts by e-mail to administrators: SMTP with required STARTTLS (or implicit TLS)."""

from __future__ import annotations

import smtplib
import ssl
from datetime import UTC, datetime
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid

from mailwarden.config import Config
from mailwarden.response import templates
from mailwarden.response.channels.base import Alert, DeliveryError, languages


class EmailChannel:
    """Sends one text/plain UTF-8 message per alert, both languages in one body."""

    name = "email"

    def __init__(self, cfg: Config) -> None:
        self.n = cfg.notify
        self.tz = cfg.tz
        self.langs = languages(self.n.language)
        self.target = f"smtp://{self.n.smtp_host}:{self.n.smtp_port}"

    def message(self, alert: Alert) -> EmailMessage:
        """The alert as an e-mail (subject RFC 2047-encoded, body base64 UTF-8)."""
        msg = EmailMessage()
        msg["Subject"] = templates.subject(alert, self.langs)
        msg["From"] = self.n.smtp_from
        msg["To"] = ", ".join(self.n.smtp_to)
        msg["Date"] = format_datetime(datetime.now(UTC))
        msg["Message-ID"] = make_msgid("mailwarden", self.n.smtp_from.rpartition("@")[2] or None)
        msg["Auto-Submitted"] = "auto-generated"
        msg["X-Mailwarden-Alert"] = f"{alert.kind} {alert.id}"
        body = templates.text(alert, self.langs, self.tz, self.n.dashboard_url)
        msg.set_content(body, charset="utf-8", cte="base64")
        msg["Content-Language"] = ", ".join(self.langs)
        return msg

    def send(self, alert: Alert) -> None:
        msg = self.message(alert)
        try:
            with self._connect() as smtp:
                if self.n.smtp_user:
                    smtp.login(self.n.smtp_user, self.n.smtp_password)
                smtp.send_message(msg, self.n.smtp_from, list(self.n.smtp_to))
        except smtplib.SMTPAuthenticationError as exc:
            raise DeliveryError(self.name, self.target, f"authentication refused: {exc.smtp_code}",
                                retry=False) from None
        except smtplib.SMTPResponseException as exc:
            raise DeliveryError(self.name, self.target, f"{exc.smtp_code} {exc.smtp_error!r}",
                                retry=exc.smtp_code < 500) from None
        except smtplib.SMTPRecipientsRefused as exc:
            raise DeliveryError(self.name, self.target, f"recipients refused: "
                                f"{', '.join(exc.recipients)}", retry=False) from None
        except (OSError, smtplib.SMTPException) as exc:
            raise DeliveryError(self.name, self.target, f"{type(exc).__name__}: {exc}") from None

    def _context(self) -> ssl.SSLContext:
        return ssl.create_default_context(cafile=self.n.smtp_ca_file or None)

    def _connect(self) -> smtplib.SMTP:
        n, timeout = self.n, self.n.timeout_seconds
        if n.smtp_security == "tls":
            return smtplib.SMTP_SSL(n.smtp_host, n.smtp_port, timeout=timeout,
                                    context=self._context())
        smtp = smtplib.SMTP(n.smtp_host, n.smtp_port, timeout=timeout)
        try:
            smtp.ehlo()
            if n.smtp_security == "starttls":
                if not smtp.has_extn("starttls"):
                    raise DeliveryError(self.name, self.target, "server does not offer STARTTLS",
                                        retry=False)
                smtp.starttls(context=self._context())
                smtp.ehlo()
        except BaseException:
            smtp.close()
            raise
        return smtp
