"""Typed settings: shipped defaults in code, overridden per section by the user's TOML file.

Every setting carries its documentation (``doc`` metadata); ``docs/configuration.md`` is generated
from it (``mailwarden config docs``) and a test fails when a setting is undocumented.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, get_origin, get_type_hints
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from mailwarden import i18n
from mailwarden.inbound.clamd import parse_address
from mailwarden.inbound.lists import FREEMAIL_DOMAINS, SHORTENERS, SUSPICIOUS_TLDS
from mailwarden.listen import ListenError, parse_listen

ACTION_MODES = ("hold", "warn", "defer")
NOTIFY_CHANNELS = ("email", "slack", "teams", "webhook", "syslog", "ecs")
NOTIFY_LANGUAGES = ("ja", "en", "both")
SMTP_SECURITY = ("starttls", "tls", "none")
PLAYBOOK_MODES = ("auto", "dry-run", "off")
PLAYBOOK_STEPS = ("quarantine", "hold_queue", "lock", "kick", "sieve_deactivate",
                  "reset_password")
MANUAL_ONLY_STEPS = ("reset_password",)  # its new password must be shown to a person
SEVERITIES = ("high", "medium", "low")
LOCK_MODES = ("HOLD", "REJECT")
MILTER_ACTIONS = ("none", "header", "hold", "reject")
_REPLY = re.compile(r"[45][0-9][0-9] [45]\.[0-9]{1,3}\.[0-9]{1,3} [^\r\n]*\Z")
DOVEADM_EXECUTORS = ("local", "http")
SYSLOG_FACILITIES = {"user": 1, "daemon": 3, "auth": 4, "authpriv": 10, "local0": 16,
                     "local1": 17, "local2": 18, "local3": 19, "local4": 20, "local5": 21,
                     "local6": 22, "local7": 23}


class ConfigError(ValueError):
    """A configuration file or value is wrong; the message names the key and the file.

    ``key`` names the sentence (``config.error.KEY`` in :mod:`mailwarden.i18n`) and ``fields``
    fill it (the file, the setting, the value given, the values allowed: never translated).
    ``str()`` is the English sentence, as logs show it; :meth:`text` gives ja or en."""

    def __init__(self, key: str, **fields: Any) -> None:
        self.key = key
        self.fields = fields
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        """The error in ``lang`` (ja or en)."""
        return i18n.render(f"config.error.{self.key}", lang, **self.fields)

    def __reduce__(self) -> tuple[Any, ...]:  # pickle and copy: rebuilt from key and fields
        return functools.partial(ConfigError, self.key, **self.fields), ()


def setting(default: Any, doc: str) -> Any:
    """A documented setting with a default (lists and dicts are copied per instance)."""
    if isinstance(default, list | dict):
        return field(default_factory=lambda: type(default)(default), metadata={"doc": doc})
    return field(default=default, metadata={"doc": doc})


@dataclass
class Organization:
    """Who we protect."""

    domains: list[str] = setting([], "Internal mail domains; recipients elsewhere are external.")
    home_countries: list[str] = setting(
        ["JP"], "ISO 3166 country codes the organisation's people normally send from."
    )
    timezone: str = setting("Asia/Tokyo", "IANA time zone for usual hours and log timestamps.")
    internal_networks: list[str] = setting(
        [], "Client networks (CIDR) that count as home, e.g. the office NAT or the VPN."
    )


@dataclass
class Outbound:
    """The outbound guard: what happens to a message that does not fit its account."""

    mode: str = setting(
        "hold",
        "hold: Postfix holds the message and the account is quarantined; warn: only record "
        "the incident (answer DUNNO); defer: answer a temporary error (the client retries).",
    )
    hold_threshold: float = setting(1.0, "A message whose score reaches this is not sent.")
    quarantine: bool = setting(
        True, "After a hit, hold every later message of the account until released."
    )
    exempt_accounts: list[str] = setting(
        [], "SASL accounts never held (bulk senders such as a newsletter system)."
    )
    exempt_senders: list[str] = setting(
        [], "Envelope senders (address or @domain) never held, when the sender is the account "
        "itself (unauthenticated mail tracked by sender, or an account sending as itself); "
        "never for a quarantined account."
    )
    track_unauthenticated: bool = setting(
        False,
        "Also guard mail without SASL login from internal senders (account = envelope sender), "
        "e.g. web applications relaying through mynetworks.",
    )
    defer_message: str = setting(
        "4.7.1 Sending paused by Mailwarden, please try later",
        "Text of the temporary error in defer mode.",
    )


@dataclass
class Limits:
    """Cold-start limits: what any account may send before its own history says more."""

    messages_per_minute: int = setting(8, "Messages in any minute.")
    messages_per_10_minutes: int = setting(30, "Messages in any 10 minutes.")
    messages_per_hour: int = setting(100, "Messages in any hour.")
    messages_per_day: int = setting(400, "Messages in any 24 hours.")
    external_recipients_per_minute: int = setting(30, "External recipients in any minute.")
    external_recipients_per_10_minutes: int = setting(100, "External recipients in 10 minutes.")
    external_recipients_per_hour: int = setting(300, "External recipients in any hour.")
    external_recipients_per_day: int = setting(1000, "External recipients in 24 hours.")
    recipient_domains_per_10_minutes: int = setting(
        40, "Distinct recipient domains in any 10 minutes."
    )
    recipient_domains_per_hour: int = setting(120, "Distinct recipient domains in any hour.")
    recipients_per_message: int = setting(
        100, "Recipients of one message (a learned larger maximum raises it)."
    )


@dataclass
class Baseline:
    """How each account's normal behaviour is learned."""

    warm_messages: int = setting(
        30, "Messages an account must have sent before novelty signals (new country, ...) count."
    )
    warm_days: int = setting(3, "Distinct days of sending needed as well.")
    limit_factor: float = setting(
        2.0, "A window's limit is this many times the account's own learned peak."
    )
    peak_half_life_days: float = setting(
        45.0, "Learned peaks decay by half over this many days (keeps month-end runs known)."
    )
    max_correspondents: int = setting(2000, "Known correspondents remembered per account.")
    max_addresses: int = setting(50, "Client networks, countries and senders kept per account.")


@dataclass
class Signals:
    """Weights of the outbound signals (0 switches a signal off)."""

    rate: float = setting(0.5, "Volume above the limit of a window (doubles at 2x the limit).")
    recipients_per_message: float = setting(0.5, "One message to more recipients than usual.")
    hourly_profile: float = setting(0.3, "Far more mail this hour than this hour of week usually.")
    foreign_country: float = setting(
        0.5, "Client address in a country outside home_countries and the account's usual ones."
    )
    new_network: float = setting(0.2, "Client network (ASN) never seen for the account.")
    unusual_hour: float = setting(0.2, "An hour of the week the account never sends in.")
    new_sender: float = setting(0.3, "An envelope sender address the account never used.")
    unknown_recipients: float = setting(
        0.3, "Mostly external recipients the account never wrote to."
    )
    login_risk: float = setting(
        1.0, "The account logged in suspiciously in the last login.risk_hours (holds at once)."
    )
    bounces: float = setting(
        0.5, "Many of the account's recent messages bounced as non-existent recipients."
    )


@dataclass
class Login:
    """The login guard: Dovecot auth policy, log-based detections and their thresholds."""

    listen: str = setting("127.0.0.1:10041", "Dovecot auth policy server: HOST:PORT, or off.")
    api_header: str = setting("X-API-Key", "Header Dovecot sends the API key in.")
    api_key: str = setting(
        "", "API key Dovecot must send; empty: generated once into DATA_DIR/auth-policy.key."
    )
    max_body_bytes: int = setting(65536, "Larger auth policy requests are refused (413).")
    window_minutes: int = setting(60, "Failures are counted over this many minutes.")
    tarpit_after: int = setting(
        5, "Distinct wrong passwords from one address before its attempts are tarpitted."
    )
    reject_after: int = setting(
        10, "Distinct wrong passwords from one address before its attempts are rejected."
    )
    tarpit_seconds: int = setting(5, "Delay Dovecot applies to a tarpitted attempt.")
    account_brute_force: int = setting(
        10, "Distinct wrong passwords on one account, from any address, that make an attack."
    )
    spray_accounts: int = setting(
        10, "Accounts failed from one address or network that make a password spray."
    )
    spray_max_per_account: int = setting(
        3, "A spray tries few passwords per account: at most this many each."
    )
    after_failures: int = setting(
        3, "Wrong passwords on an account shortly before a success that make it suspicious."
    )
    impossible_travel_kmh: float = setting(
        1000.0, "Two logins farther apart than this speed allows are impossible travel."
    )
    warm_logins: int = setting(
        20, "Successful logins an account needs before new country/network/device count."
    )
    risk_threshold: float = setting(
        0.6, "A successful login whose findings weigh this much raises the account's risk."
    )
    risk_hours: float = setting(
        24.0, "How long a risky login makes the outbound guard hold the account's mail."
    )
    reject_high_risk: bool = setting(
        False, "Also refuse further logins of an account at risk (until released)."
    )
    flag_legacy_auth: bool = setting(
        True, "Report POP3, cleartext and PLAIN/LOGIN-without-TLS logins per account."
    )
    deny_files: list[str] = setting(
        [], "Files of addresses and networks (CIDR), one a line, whose logins are refused."
    )
    bounce_threshold: int = setting(
        20, "Bounced recipients (5.1.x) of one account in an hour that make a signal."
    )
    exim_dovecot_authenticators: list[str] = setting(
        ["dovecot*"], "Exim authenticators that ask Dovecot (driver = dovecot), by the name "
        "Exim logs (A=NAME, 'NAME authenticator failed'; shell patterns, any case): while "
        "Dovecot's auth policy reports, their log lines are not counted again."
    )


@dataclass
class Policy:
    """The Postfix policy server."""

    listen: str = setting("127.0.0.1:10040", "HOST:PORT, or off.")
    max_request_bytes: int = setting(
        16384, "A request larger than this is malformed: the connection is closed."
    )
    max_attributes: int = setting(
        128, "A request with more attributes than this is malformed."
    )
    idle_timeout: float = setting(600.0, "Seconds an idle connection is kept.")
    max_connections: int = setting(1000, "Concurrent connections; more wait for a free slot.")


@dataclass
class Store:
    """Where state, incidents and decisions are kept."""

    url: str = setting(
        "", "SQLAlchemy URL; empty means SQLite at DATA_DIR/mailwarden.db (the store every test "
        "runs on). The queries are written for PostgreSQL too, but it is not yet tested or "
        "packaged (its driver is not a dependency): it comes with the scale-out work."
    )
    max_accounts_in_memory: int = setting(
        200_000, "Account states kept in memory; older ones are written to the store."
    )
    flush_interval: float = setting(0.5, "Seconds between write-behind flushes.")


@dataclass
class Notify:
    """Notifications of incidents to administrators and SIEMs; they never slow detection."""

    channels: list[str] = setting(
        [], "Enabled channels: email, slack, teams, webhook, syslog, ecs (none by default)."
    )
    language: str = setting("both", "Language of messages: ja, en, or both (Japanese first).")
    high_findings: bool = setting(
        False, "Also notify high-severity login findings (brute force, spray, ...)."
    )
    dashboard_url: str = setting("", "Base URL of the dashboard; alerts link to the incident.")
    queue_size: int = setting(1000, "Alerts waiting to be sent; when full the oldest is dropped.")
    dedup_minutes: float = setting(
        60.0, "The same incident, or account and signal, is sent once in this many minutes; "
        "repeats are counted and sent as one summary when the window ends.",
    )
    rate_per_minute: int = setting(30, "Messages each channel may send per minute.")
    burst: int = setting(10, "Messages a channel may send at once before the rate applies.")
    retries: int = setting(5, "Further attempts after a failed delivery.")
    backoff_seconds: float = setting(
        1.0, "Wait before the first retry; doubled for each further one."
    )
    backoff_max_seconds: float = setting(60.0, "Longest wait between two attempts.")
    timeout_seconds: float = setting(10.0, "Network timeout of one delivery attempt.")
    smtp_host: str = setting("localhost", "email: SMTP server.")
    smtp_port: int = setting(25, "email: SMTP port (587 for submission, 465 for tls).")
    smtp_security: str = setting(
        "starttls", "email: starttls (required, not opportunistic), tls (implicit), or none."
    )
    smtp_ca_file: str = setting(
        "", "email: CA certificates (PEM) to verify the server; empty: the system's."
    )
    smtp_user: str = setting("", "email: SMTP AUTH user; empty: no authentication.")
    smtp_password: str = setting("", "email: SMTP AUTH password.")
    smtp_from: str = setting("mailwarden@localhost", "email: sender address of alerts.")
    smtp_to: list[str] = setting([], "email: administrators who receive alerts.")
    slack_url: str = setting("", "slack: incoming webhook URL (Block Kit message).")
    teams_url: str = setting(
        "", "teams: Workflows webhook URL (\"Send webhook alerts to a channel\"; Adaptive Card)."
    )
    webhook_url: str = setting("", "webhook: URL that receives the alert as signed JSON.")
    webhook_secret: str = setting(
        "", "webhook: HMAC-SHA256 key; signs timestamp and body (X-Mailwarden-Signature)."
    )
    syslog_host: str = setting("127.0.0.1", "syslog: collector host (SIEM).")
    syslog_port: int = setting(514, "syslog: collector port.")
    syslog_proto: str = setting("udp", "syslog: udp or tcp (RFC 6587 octet counting).")
    syslog_facility: str = setting("authpriv", "syslog: facility name (auth, local0, ...).")
    ecs_path: str = setting(
        "", "ecs: file of ECS JSON lines; empty: DATA_DIR/alerts.ecs.jsonl."
    )


@dataclass
class Response:
    """Where the containment actions act: the Postfix and Dovecot they change, and how."""

    postfix_config_dir: str = setting(
        "", "Postfix configuration folder for postqueue/postsuper/postmap/postcat -c; empty: "
        "Postfix's default (/etc/postfix)."
    )
    sasl_access_map: str = setting(
        "", "File of the check_sasl_access map that locks accounts (e.g. "
        "/etc/postfix/mailwarden_sasl_access); empty: no Postfix lock."
    )
    sasl_access_type: str = setting("hash", "Postfix table type of that map (hash, lmdb, cdb).")
    lock_mode: str = setting(
        "HOLD", "What the map answers for a locked account: HOLD (its mail waits in the hold "
        "queue) or REJECT."
    )
    dovecot: bool = setting(
        False, "Dovecot actions (deny passdb, kick, Sieve, password) are available."
    )
    dovecot_config: str = setting("", "dovecot.conf for doveadm -c; empty: Dovecot's default.")
    deny_file: str = setting(
        "", "The deny passdb file (passwd-file with deny = yes) that locks logins; empty: no "
        "Dovecot lock."
    )
    passwd_file: str = setting(
        "", "passwd-file that holds the accounts' password hashes (for reset_password)."
    )
    doveadm_executor: str = setting(
        "local", "local: run doveadm on this machine; http: the doveadm HTTP API."
    )
    doveadm_url: str = setting("", "http executor: e.g. http://127.0.0.1:8080/doveadm/v1.")
    doveadm_api_key: str = setting("", "http executor: the doveadm_api_key of Dovecot.")
    doveadm_ca_file: str = setting("", "http executor: CA certificates (PEM) for https.")
    postqueue: str = setting("/usr/sbin/postqueue", "Path of postqueue.")
    postsuper: str = setting("/usr/sbin/postsuper", "Path of postsuper.")
    postmap: str = setting("/usr/sbin/postmap", "Path of postmap.")
    postcat: str = setting("/usr/sbin/postcat", "Path of postcat.")
    doveadm: str = setting("/usr/bin/doveadm", "Path of doveadm.")
    command_timeout: float = setting(60.0, "Seconds a containment command may take.")
    max_parallel_playbooks: int = setting(
        4, "Playbooks of different accounts that serve runs at once (one slow step, e.g. a "
        "hold_queue of a huge queue, then delays no other account); the playbooks of one "
        "account always run one after the other."
    )


@dataclass
class Playbook:
    """Which containment steps run by themselves for an incident of each severity, and which
    wait for a person. Steps: quarantine (hold the account's outgoing mail in Mailwarden),
    hold_queue (put its queued mail on hold), lock (Postfix and Dovecot lock), kick (end its
    IMAP/POP3 sessions), sieve_deactivate (deactivate its Sieve script, keeping a copy),
    reset_password (never automatic: the new password is shown once to a person)."""

    mode: str = setting(
        "auto", "auto: run the automatic steps when an incident opens; dry-run: only record "
        "what would be done; off: nothing runs by itself."
    )
    high: list[str] = setting(["quarantine", "lock", "kick"], "Automatic steps for high severity "
                              "(a confirmed overseas burst, a risky login).")
    medium: list[str] = setting(["quarantine"], "Automatic steps for medium severity.")
    low: list[str] = setting([], "Automatic steps for low severity.")
    high_manual: list[str] = setting(
        ["hold_queue", "sieve_deactivate", "reset_password"],
        "Steps suggested for high severity that wait for a person.",
    )
    medium_manual: list[str] = setting(
        ["hold_queue", "lock", "kick", "sieve_deactivate", "reset_password"],
        "Steps suggested for medium severity that wait for a person.",
    )
    low_manual: list[str] = setting(
        ["quarantine", "lock"], "Steps suggested for low severity that wait for a person."
    )

    def automatic(self, severity: str) -> list[str]:
        return list(getattr(self, severity, []) if severity in SEVERITIES else [])

    def manual(self, severity: str) -> list[str]:
        automatic = self.automatic(severity)
        chosen = getattr(self, f"{severity}_manual", []) if severity in SEVERITIES else []
        return [step for step in chosen if step not in automatic]


SHARED_TOKEN_OFF = "off"  # noqa: S105 ([api] token = "off": a switch, not a secret)


@dataclass
class Api:
    """The administrators' HTTP API (see [api.md](api.md)): incidents, checklists, containment."""

    listen: str = setting(
        "127.0.0.1:10042", "HOST:PORT, or off. Keep it on loopback or behind a TLS proxy."
    )
    token: str = setting(
        "", "The shared bearer token (acts as the administrator 'admin'; at least 16 "
        "characters); empty: generated once into DATA_DIR/api.token (mode 0600); off: no "
        "shared token, only personal ones (mailwarden api token add)."
    )
    max_body_bytes: int = setting(65536, "Larger request bodies are refused (413).")


@dataclass
class Inbound:
    """The inbound analyser (``mailwarden analyze``, the milter): whom and what it protects, the
    lists it judges by, its thresholds, and the bounds within which it reads untrusted mail (see
    [inbound.md](inbound.md))."""

    authserv_ids: list[str] = setting(
        [], "authserv-ids of the organisation's own receiving MTAs (e.g. \"mx.example.jp\"): "
        "only their Authentication-Results and ARC-Authentication-Results are read; any other "
        "is ignored, as anyone can write one."
    )
    people: list[str] = setting(
        [], "People protected from display-name impersonation, one entry each: \"NAME | NAME\" "
        "or \"ADDRESS ADDRESS: NAME | NAME\" (their real addresses; without any, every address "
        "in organization.domains counts as theirs). Give each name in every script in use, e.g. "
        "\"t.yamada@city.example.jp: 山田 太郎 | やまだ たろう | Taro Yamada\"."
    )
    organization_names: list[str] = setting(
        [], "Names of the organisation that a display name may claim (e.g. \"○○市役所\", "
        "\"Example City Hall\")."
    )
    partner_domains: list[str] = setting(
        [], "Partners' mail domains (suppliers, banks, schools): their lookalikes are flagged "
        "like the organisation's own."
    )
    brands: list[str] = setting(
        [], "Brands in addition to the built-in list, \"DOMAIN DOMAIN: NAME | NAME\" (e.g. "
        "\"examplebank.co.jp: Example Bank | イグザンプル銀行\")."
    )
    freemail_domains: list[str] = setting(
        FREEMAIL_DOMAINS, "Free-mail domains: anyone can get an address there."
    )
    shorteners: list[str] = setting(SHORTENERS, "Link shorteners (they hide a link's target).")
    suspicious_tlds: list[str] = setting(
        SUSPICIOUS_TLDS, "Top-level domains much abused for phishing (without the dot)."
    )
    url_feeds: list[str] = setting(
        [], "Files of known phishing URLs: one URL a line (OpenPhish) or PhishTank's CSV export. "
        "A link found in one makes the message phishing."
    )
    suspicious_threshold: float = setting(0.5, "A message whose score reaches this is suspicious.")
    phishing_threshold: float = setting(
        1.0, "A message whose score reaches this is phishing or bec (see inbound.md for which)."
    )
    malware_threshold: float = setting(
        0.8, "A message whose attachment findings alone weigh this much is malware."
    )
    max_message_bytes: int = setting(
        50 * 1024 * 1024, "Only this many bytes of a message are read; a finding says so."
    )
    max_header_bytes: int = setting(
        256 * 1024, "Only this many bytes of each header block are read."
    )
    max_parts: int = setting(500, "MIME parts read per message; the rest are skipped.")
    max_depth: int = setting(20, "Deepest MIME nesting followed (multiparts, attached mail).")
    max_inflate_bytes: int = setting(
        32 * 1024 * 1024, "Bytes decompressed from archives and documents per message (zip "
        "bombs stop here)."
    )
    max_archive_members: int = setting(1000, "Members listed per archive.")
    qr_decode: bool = setting(
        True, "Decode QR codes in images (needs the optional packages pillow and zxing-cpp: "
        "pip install 'mailwarden[qr]')."
    )
    max_qr_images: int = setting(8, "Images per message searched for QR codes.")
    known_messages: int = setting(
        3, "Messages a sender must have sent a recipient before it is a known correspondent."
    )
    warm_messages: int = setting(
        30, "Messages a recipient must have received (as recorded in the store) before a "
        "first-time sender counts."
    )


@dataclass
class InboundSignals:
    """Weights of the inbound signals (0 switches a signal off); see [inbound.md](inbound.md)."""

    auth_fail: float = setting(
        0.6, "DMARC, SPF, DKIM or ARC failed, as reported by a trusted authserv-id."
    )
    own_domain_spoof: float = setting(
        1.0, "From the organisation's own domain without a passing SPF, DKIM or DMARC result."
    )
    display_name_person: float = setting(
        0.8, "Display name of a protected person on an address that is not theirs."
    )
    display_name_org: float = setting(
        0.6, "Display name claiming the organisation (its name or domain) from outside it."
    )
    display_name_address: float = setting(
        0.4, "Display name showing another e-mail address than the sender's."
    )
    brand_impersonation: float = setting(
        0.6, "A brand in the display name, sender domain or address, sent from outside the brand."
    )
    freemail_claim: float = setting(
        0.4, "A free-mail sender claiming to be the organisation, one of its people or a brand."
    )
    lookalike_domain: float = setting(
        0.9, "Sender domain looks like the organisation's, a partner's or a brand's."
    )
    idn_homograph: float = setting(
        1.0, "Internationalised domain mixing scripts, or imitating the ASCII name the mail "
        "shows (less when the ASCII name is not shown)."
    )
    reply_to_mismatch: float = setting(0.3, "Replies go to another domain than the sender's.")
    return_path_mismatch: float = setting(
        0.2, "Bounces go to a free-mail or unrelated domain while the sender claims a known one."
    )
    link_text_mismatch: float = setting(
        0.6, "A link whose text shows another domain than its target."
    )
    link_ip: float = setting(0.5, "A link to a bare IP address.")
    link_userinfo: float = setting(
        0.6, "A link with user information before its host (https://bank.example@evil/)."
    )
    link_shortener: float = setting(0.3, "A link through a shortener, hiding its target.")
    link_suspicious_tld: float = setting(0.2, "A link into a much-abused top-level domain.")
    link_lookalike: float = setting(
        0.8, "A link to a domain that looks like the organisation's, a partner's or a brand's."
    )
    phishing_feed: float = setting(1.5, "A link listed in a configured phishing URL feed.")
    credential_form: float = setting(
        0.8, "A form asking for a password, in the mail or an HTML attachment."
    )
    html_smuggling: float = setting(
        0.9, "HTML or SVG that builds a file in the browser (Blob, atob, data: downloads)."
    )
    html_redirect: float = setting(
        0.5, "An HTML or SVG attachment that sends the browser elsewhere when opened."
    )
    lure_language: float = setting(
        0.6, "Lure language in Japanese or English (suspension, urgency, password expiry, "
        "invoice, payment, bank change, prize, scholarship, ...)."
    )
    payment_change: float = setting(
        0.7, "A payment or bank-detail change request from a new sender or in a hijacked thread."
    )
    executable_attachment: float = setting(
        1.0, "An executable, script, shortcut or disk image attached (also inside archives)."
    )
    double_extension: float = setting(
        0.9, "An attachment name disguising its type (invoice.pdf.exe, right-to-left override)."
    )
    office_macro: float = setting(
        0.9, "An Office document with macros (OLE VBA storage or OOXML vbaProject.bin)."
    )
    nested_archive: float = setting(0.4, "An archive inside an archive.")
    type_mismatch: float = setting(
        0.4, "An attachment whose content is of another type than its name says."
    )
    encrypted_attachment: float = setting(
        0.8, "An encrypted archive or document, most of all with its password in the mail."
    )
    active_document: float = setting(
        0.5, "PDF with JavaScript or launch actions, RTF with embedded objects, OOXML with a "
        "remote template."
    )
    qr_code: float = setting(0.5, "A QR code in an image that leads to a web address.")
    mime_anomaly: float = setting(
        0.3, "Structure beyond the reading bounds (nesting, parts, header size) or malformed."
    )
    first_time_sender: float = setting(
        0.15, "First message from this sender to a recipient whose mail is known."
    )
    correspondent_changed: float = setting(
        0.5, "A known correspondent suddenly sends links or payment requests."
    )


@dataclass
class Milter:
    """The milter (``mailwarden serve --milter-listen``): the inbound analyser on live mail in
    Postfix, what it does with each verdict, and its bounds (see [inbound.md](inbound.md#milter)).
    Actions: none (pass untouched), header (add the X-Mailwarden headers), hold (headers, and
    Postfix's hold queue), reject (refuse with reject_reply). Mailwarden fails open: an
    error or a timeout lets the message pass."""

    listen: str = setting(
        "127.0.0.1:10043", "HOST:PORT, or off. Postfix: smtpd_milters = inet:HOST:PORT."
    )
    clean: str = setting("header", "Action for clean mail.")
    suspicious: str = setting("header", "Action for suspicious mail.")
    phishing: str = setting("hold", "Action for phishing.")
    bec: str = setting("hold", "Action for business e-mail compromise.")
    malware: str = setting("hold", "Action for malware.")
    reject_reply: str = setting(
        "550 5.7.1 Message refused as {verdict} by Mailwarden",
        "SMTP reply of the reject action (4xx or 5xx with an enhanced status code; "
        "{verdict} is replaced).",
    )
    max_message_bytes: int = setting(
        10 * 1024 * 1024, "Bytes of a message collected for analysis; a longer message is "
        "analysed on what was read, and a note in its headers says so."
    )
    max_buffered_bytes: int = setting(
        256 * 1024 * 1024, "Bytes of mail all connections together may hold (messages being "
        "received or analysed); at least max_message_bytes. A message that does not fit is "
        "analysed on what was read, never delayed; a note in its headers and a log line (raise "
        "it then) say so."
    )
    timeout: float = setting(
        20.0, "Seconds an analysis (and the ClamAV scan) may take; after that the message "
        "passes unchecked. Keep it well below Postfix's milter_content_timeout (300 s)."
    )
    workers: int = setting(2, "Messages analysed at once (threads); more wait their turn.")
    max_connections: int = setting(
        200, "Concurrent connections from Postfix (one per SMTP session, one per locally "
        "submitted message). One more is closed at once, before anything is read: Postfix "
        "applies milter_default_action (accept: its mail passes unchecked; tempfail: it is "
        "deferred), and a log line (at most once a minute) counts them. Make it at least the "
        "sum of the process limits of the Postfix services that use the milter "
        "(default_process_limit = 100: smtpd and cleanup make 200). With max_buffered_bytes it "
        "bounds the memory for mail: about max_connections × 1.3 MiB + max_buffered_bytes."
    )
    idle_timeout: float = setting(600.0, "Seconds an idle connection is kept.")
    languages: str = setting("both", "Language of the reason headers: ja, en, or both.")
    max_reasons: int = setting(10, "Reasons written into the headers, weightiest first.")
    strip_headers: bool = setting(
        True, "Remove X-Mailwarden-* fields a message arrives with (a sender could forge "
        "a clean verdict)."
    )
    check_authenticated: bool = setting(
        False, "Also analyse mail from SASL-authenticated clients (your own users' outgoing "
        "mail, which the outbound guard watches); off: it passes untouched."
    )
    learn: bool = setting(
        True, "Record delivered mail in the store's history of who writes to whom (the "
        "first-time-sender and changed-correspondent signals learn from it)."
    )
    clamd: str = setting(
        "", "ClamAV's clamd for an attachment scan: unix:/run/clamav/clamd.ctl, "
        "tcp:HOST:PORT, or empty for none. A finding makes the verdict malware."
    )
    clamd_timeout: float = setting(10.0, "Seconds the clamd scan may take; then it is skipped.")


@dataclass
class Config:
    """All settings."""

    organization: Organization = field(default_factory=Organization)
    outbound: Outbound = field(default_factory=Outbound)
    limits: Limits = field(default_factory=Limits)
    baseline: Baseline = field(default_factory=Baseline)
    signals: Signals = field(default_factory=Signals)
    login: Login = field(default_factory=Login)
    policy: Policy = field(default_factory=Policy)
    store: Store = field(default_factory=Store)
    notify: Notify = field(default_factory=Notify)
    response: Response = field(default_factory=Response)
    playbook: Playbook = field(default_factory=Playbook)
    api: Api = field(default_factory=Api)
    inbound: Inbound = field(default_factory=Inbound)
    inbound_signals: InboundSignals = field(default_factory=InboundSignals)
    milter: Milter = field(default_factory=Milter)
    data_dir: Path = field(default=Path("mailwarden-data"), metadata={"doc": "internal"})

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.organization.timezone)

    @property
    def store_url(self) -> str:
        return self.store.url or f"sqlite:///{self.data_dir / 'mailwarden.db'}"


def _convert(value: Any, annotation: Any, file: str, setting: str) -> Any:
    """Check a TOML value against the annotated type; ints are accepted for floats."""
    if get_origin(annotation) is list:
        if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
            raise ConfigError("list_of_strings", file=file, setting=setting)
        return list(value)
    name = getattr(annotation, "__name__", str(annotation))
    if isinstance(value, bool) and annotation is not bool:
        raise ConfigError("boolean", file=file, setting=setting, expected=name)
    expected: type | tuple[type, ...] = (int, float) if annotation is float else annotation
    if not isinstance(value, expected):
        raise ConfigError("type", file=file, setting=setting, expected=name,
                          got=type(value).__name__)
    return float(value) if annotation is float and isinstance(value, int | float) else value


def _apply(section: Any, values: dict[str, Any], file: str, name: str) -> None:
    hints = get_type_hints(type(section))
    names = {f.name for f in dataclasses.fields(section)}
    for key, value in values.items():
        if key not in names:
            raise ConfigError("unknown_setting", file=file, section=name, setting=repr(key))
        setattr(section, key, _convert(value, hints[key], file, f"{name}.{key}"))


def _validate(cfg: Config, where: str) -> None:
    if cfg.outbound.mode not in ACTION_MODES:
        raise ConfigError("one_of", file=where, setting="outbound.mode",
                          allowed=", ".join(ACTION_MODES))
    try:
        ZoneInfo(cfg.organization.timezone)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ConfigError("timezone", file=where, setting="organization.timezone",
                          error=str(exc)) from None
    _validate_listen(cfg, where)
    _validate_notify(cfg.notify, where)
    _validate_response(cfg.response, cfg.playbook, where)
    _validate_inbound(cfg.inbound, where)
    _validate_milter(cfg.milter, where)
    if cfg.api.token and cfg.api.token != SHARED_TOKEN_OFF and len(cfg.api.token) < 16:
        raise ConfigError("min_length", file=where, setting="api.token", least=16)
    if cfg.api.max_body_bytes < 1024:
        raise ConfigError("at_least", file=where, setting="api.max_body_bytes", least=1024)
    cfg.organization.domains = [d.lower().rstrip(".") for d in cfg.organization.domains]
    cfg.organization.home_countries = [c.upper() for c in cfg.organization.home_countries]


def _validate_listen(cfg: Config, where: str) -> None:
    """Each server's ``listen``: ``HOST:PORT``, ``[v6]:PORT`` or ``off`` (as ``serve`` reads it)."""
    for setting, value in (("policy.listen", cfg.policy.listen), ("login.listen", cfg.login.listen),
                           ("api.listen", cfg.api.listen), ("milter.listen", cfg.milter.listen)):
        try:
            parse_listen(value, setting)
        except ListenError:
            raise ConfigError("listen", file=where, setting=setting, value=repr(value)) from None


def _validate_inbound(i: Inbound, where: str) -> None:
    if not 0 < i.suspicious_threshold <= i.phishing_threshold:
        raise ConfigError("positive_at_most", file=where, setting="inbound.suspicious_threshold",
                          other="inbound.phishing_threshold")
    if i.malware_threshold <= 0:
        raise ConfigError("positive", file=where, setting="inbound.malware_threshold")
    minimum = {"max_message_bytes": 1024, "max_header_bytes": 1024, "max_parts": 1,
               "max_depth": 1, "max_inflate_bytes": 0, "max_archive_members": 1,
               "max_qr_images": 0, "known_messages": 1, "warm_messages": 0}
    for key, least in minimum.items():
        if getattr(i, key) < least:
            raise ConfigError("at_least", file=where, setting=f"inbound.{key}", least=least)
    for entry in i.people + i.brands:
        if not entry.rpartition(":")[2].replace("|", "").strip():
            raise ConfigError("names_nobody", file=where, section="inbound", value=repr(entry))
    for key in ("authserv_ids", "partner_domains", "freemail_domains", "shorteners",
                "suspicious_tlds"):
        setattr(i, key, [v.strip().lower().strip(".") for v in getattr(i, key) if v.strip()])


def _validate_milter(m: Milter, where: str) -> None:
    for verdict in ("clean", "suspicious", "phishing", "bec", "malware"):
        if getattr(m, verdict) not in MILTER_ACTIONS:
            raise ConfigError("one_of", file=where, setting=f"milter.{verdict}",
                              allowed=", ".join(MILTER_ACTIONS))
    if not _REPLY.match(m.reject_reply) or m.reject_reply[0] != m.reject_reply[4]:
        raise ConfigError("reject_reply", file=where, setting="milter.reject_reply")
    if m.languages not in NOTIFY_LANGUAGES:
        raise ConfigError("one_of", file=where, setting="milter.languages",
                          allowed=", ".join(NOTIFY_LANGUAGES))
    for key, least in {"max_message_bytes": 1024, "workers": 1, "max_connections": 1,
                       "max_reasons": 0}.items():
        if getattr(m, key) < least:
            raise ConfigError("at_least", file=where, setting=f"milter.{key}", least=least)
    if m.max_buffered_bytes < m.max_message_bytes:
        raise ConfigError("at_least_setting", file=where, setting="milter.max_buffered_bytes",
                          other="milter.max_message_bytes", least=m.max_message_bytes)
    for key in ("timeout", "idle_timeout", "clamd_timeout"):
        if getattr(m, key) <= 0:
            raise ConfigError("positive", file=where, setting=f"milter.{key}")
    if m.clamd:
        try:
            parse_address(m.clamd)
        except ValueError:  # parse_address refuses a relative unix: path, or anything else
            raise ConfigError("clamd_unix" if m.clamd.startswith("unix:") else "clamd",
                              file=where, setting="milter.clamd", value=repr(m.clamd)) from None


def _validate_notify(n: Notify, where: str) -> None:
    choices = {"language": NOTIFY_LANGUAGES, "smtp_security": SMTP_SECURITY,
               "syslog_proto": ("udp", "tcp"), "syslog_facility": tuple(SYSLOG_FACILITIES)}
    for key, allowed in choices.items():
        if getattr(n, key) not in allowed:
            raise ConfigError("one_of", file=where, setting=f"notify.{key}",
                              allowed=", ".join(allowed))
    needs = {"email": "smtp_to", "slack": "slack_url", "teams": "teams_url",
             "webhook": "webhook_url"}
    for channel in n.channels:
        if channel not in NOTIFY_CHANNELS:
            raise ConfigError("unknown_channel", file=where, setting="notify.channels",
                              value=repr(channel), known=", ".join(NOTIFY_CHANNELS))
        if channel in needs and not getattr(n, needs[channel]):
            raise ConfigError("needed_by_channel", file=where,
                              setting=f"notify.{needs[channel]}", channel=channel)
    if "webhook" in n.channels and len(n.webhook_secret) < 16:
        raise ConfigError("min_length", file=where, setting="notify.webhook_secret", least=16)
    for key in ("queue_size", "rate_per_minute", "burst"):
        if getattr(n, key) < 1:
            raise ConfigError("at_least", file=where, setting=f"notify.{key}", least=1)


def _validate_response(r: Response, p: Playbook, where: str) -> None:
    choices = {"response.lock_mode": (r.lock_mode, LOCK_MODES),
               "response.doveadm_executor": (r.doveadm_executor, DOVEADM_EXECUTORS),
               "playbook.mode": (p.mode, PLAYBOOK_MODES)}
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            raise ConfigError("one_of", file=where, setting=key, allowed=", ".join(allowed))
    if r.doveadm_executor == "http" and not (r.doveadm_url and r.doveadm_api_key):
        raise ConfigError("doveadm_http", file=where, url="response.doveadm_url",
                          api_key="response.doveadm_api_key", setting="doveadm_executor")
    if r.command_timeout <= 0:
        raise ConfigError("positive", file=where, setting="response.command_timeout")
    if r.max_parallel_playbooks < 1:
        raise ConfigError("at_least", file=where, setting="response.max_parallel_playbooks",
                          least=1)
    for severity in SEVERITIES:
        for key in (severity, f"{severity}_manual"):
            for step in getattr(p, key):
                if step not in PLAYBOOK_STEPS:
                    raise ConfigError("unknown_step", file=where, setting=f"playbook.{key}",
                                      value=repr(step), known=", ".join(PLAYBOOK_STEPS))
                if key == severity and step in MANUAL_ONLY_STEPS:
                    raise ConfigError("manual_only", file=where, setting=f"playbook.{key}",
                                      step=step, manual=f"{severity}_manual")


def section_names() -> list[str]:
    return [f.name for f in dataclasses.fields(Config) if f.name != "data_dir"]


def load(path: Path | None = None, data_dir: Path | None = None) -> Config:
    """Load settings: defaults, then the TOML file (argument or MAILWARDEN_CONFIG)."""
    cfg = Config()
    env_path = os.environ.get("MAILWARDEN_CONFIG")
    path = path or (Path(env_path) if env_path else None)
    where = str(path) if path else "defaults"
    if path is not None:
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError("cannot_read", file=where, error=str(exc.strerror)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("toml", file=where, error=str(exc)) from None
        for name, values in data.items():
            if name not in section_names():
                raise ConfigError("unknown_section", file=where, section=name)
            if not isinstance(values, dict):
                raise ConfigError("not_a_table", file=where, section=name)
            _apply(getattr(cfg, name), values, where, name)
    env_dir = os.environ.get("MAILWARDEN_DATA_DIR")
    cfg.data_dir = data_dir or (Path(env_dir) if env_dir else Path("mailwarden-data"))
    _validate(cfg, where)
    return cfg


def documentation() -> str:
    """The reference of every setting, as Markdown."""
    lines = [
        "# Configuration reference",
        "",
        "Generated by `mailwarden config docs`. Settings are read from the TOML file given with "
        "`--config` or `MAILWARDEN_CONFIG`; the data folder comes from `--data-dir` or "
        "`MAILWARDEN_DATA_DIR` (default `./mailwarden-data`). Each section overrides the "
        "defaults below key by key; an unknown key is an error that names it.",
        "",
    ]
    defaults = Config()
    for name in section_names():
        section = getattr(defaults, name)
        lines += [f"## [{name}]", "", (type(section).__doc__ or "").strip(), ""]
        lines += ["| key | default | meaning |", "|---|---|---|"]
        for f in dataclasses.fields(section):
            value = getattr(section, f.name)
            shown = repr(value).replace("'", '"') if not isinstance(value, bool) else str(value)
            lines.append(f"| `{f.name}` | `{shown.lower() if isinstance(value, bool) else shown}`"
                         f" | {f.metadata['doc']} |")
        lines.append("")
    return "\n".join(lines)
