"""A private Dovecot instance: SASL auth server for Postfix and an IMAP listener on loopback;
optionally the doveadm HTTP API (DoveadmHttpListener) on a loopback port of its own."""

from __future__ import annotations

import imaplib
import os
import secrets
import signal
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from .common import (
    LOOPBACK,
    cleanup_on_error,
    free_port,
    port_open,
    read_lines,
    require_program,
    require_root,
    stop_at_exit,
    wait_for,
)

_CONFIG = """\
# Written by tests/integration/mailstack/dovecot.py; one instance per test.
instance_name = {instance}
base_dir = {root}/run
state_dir = {root}/state
protocols = imap
listen = {host}
ssl = no
log_path = {root}/dovecot.log
auth_mechanisms = plain login
disable_plaintext_auth = no
auth_verbose = yes
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_location = maildir:~/Maildir

passdb {{
  driver = passwd-file
  args = scheme=PLAIN username_format=%u {root}/passwd
}}
userdb {{
  driver = static
  args = uid=nobody gid=nogroup home={root}/home/%u
}}
service imap-login {{
  inet_listener imap {{
    address = {host}
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service auth {{
  inet_listener auth-client {{
    address = {host}
    port = {auth_port}
  }}
}}
"""


@dataclass(frozen=True)
class DoveadmHttpListener:
    """The doveadm HTTP API on a free loopback port with a fresh API key.

    Pass config_lines() in a DovecotInstance's extra_config (the factory's third argument);
    Dovecot's master opens every listener before it serves any, so once the instance is
    started the port is open (wait_ready() checks it).
    """

    port: int = field(default_factory=free_port)
    api_key: str = field(default_factory=lambda: secrets.token_urlsafe(24), repr=False)
    host: str = LOOPBACK

    @property
    def url(self) -> str:
        """The command endpoint, http://127.0.0.1:PORT/doveadm/v1."""
        return f"http://{self.host}:{self.port}/doveadm/v1"

    def config_lines(self) -> tuple[str, ...]:
        """dovecot.conf lines: the API key and `service doveadm { inet_listener http }`."""
        return (
            f"doveadm_api_key = {self.api_key}",
            "service doveadm {",
            "  inet_listener http {",
            f"    address = {self.host}",
            f"    port = {self.port}",
            "  }",
            "}",
        )

    def wait_ready(self, timeout: float = 10.0) -> None:
        """Wait until the listener accepts connections (TimeoutError naming the port if not)."""
        wait_for(lambda: port_open(self.port, self.host), timeout, what=f"doveadm HTTP {self.port}")


class DovecotInstance:
    """Dovecot started with `dovecot -F -c FILE` from its own folder, stopped by stop()."""

    def __init__(
        self,
        root: Path,
        users: Mapping[str, str],
        scheme: str = "PLAIN",
        extra_config: Sequence[str] = (),
    ) -> None:
        self.root = root
        self.host = LOOPBACK
        self.auth_port = free_port()
        self.imap_port = free_port()
        self.scheme = scheme
        self.extra_config = list(extra_config)
        self.config_path = root / "dovecot.conf"
        self.passwd_path = root / "passwd"
        self.log_path = root / "dovecot.log"
        self.base_dir = root / "run"
        self._initial_users = dict(users)
        self._process: subprocess.Popen[bytes] | None = None
        self._dovecot = require_program("dovecot", "dovecot-core")
        self._doveadm = require_program("doveadm", "dovecot-core")
        require_root("Dovecot")

    def __repr__(self) -> str:
        return f"DovecotInstance(auth={self.auth_port}, imap={self.imap_port}, root={self.root})"

    @property
    def sasl_path(self) -> str:
        """The value for Postfix's smtpd_sasl_path (smtpd_sasl_type = dovecot)."""
        return f"inet:{self.host}:{self.auth_port}"

    def start(self) -> DovecotInstance:
        """Write the configuration and users, start Dovecot, wait for both listeners."""
        for sub in ("run", "state"):
            (self.root / sub).mkdir(mode=0o755, exist_ok=True)
        (self.root / "home").mkdir(exist_ok=True)
        (self.root / "home").chmod(0o1777)
        self.set_users(self._initial_users)
        self.config_path.write_text(self._render_config(), encoding="utf-8")
        stderr = (self.root / "dovecot.stderr").open("wb")
        self._process = subprocess.Popen(
            [self._dovecot, "-F", "-c", str(self.config_path)],
            stdin=subprocess.DEVNULL,
            stdout=stderr,
            stderr=stderr,
            start_new_session=True,
        )
        stderr.close()
        stop_at_exit(self.stop)
        with cleanup_on_error(self.stop):
            wait_for(self._listening, 15, what=f"Dovecot listeners ({self.root})")
        return self

    def _listening(self) -> bool:
        if self._process is not None and self._process.poll() is not None:
            output = (self.root / "dovecot.stderr").read_text(errors="replace")
            log = "\n".join(self.log_lines()[-20:])
            raise RuntimeError(f"dovecot exited with {self._process.returncode}: {output}\n{log}")
        return port_open(self.auth_port) and port_open(self.imap_port)

    def _render_config(self) -> str:
        text = _CONFIG.format(
            instance=f"mailwarden-{self.root.name}",
            root=self.root,
            host=self.host,
            imap_port=self.imap_port,
            auth_port=self.auth_port,
        )
        return text + "".join(f"{line}\n" for line in self.extra_config)

    def stop(self) -> None:
        """SIGTERM to Dovecot's process group (SIGKILL after 2 s); safe to call twice."""
        process, self._process = self._process, None
        if process is None or process.poll() is not None:
            return
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=2)
        except subprocess.TimeoutExpired:  # e.g. auth still waiting for a stats handshake
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=5)

    def hash_password(self, password: str, scheme: str | None = None) -> str:
        """'{SCHEME}hash' for a passwd-file, made by `doveadm pw` (PLAIN written as is)."""
        scheme = (scheme or self.scheme).upper()
        if scheme == "PLAIN":
            return "{PLAIN}" + password
        result = subprocess.run(
            [self._doveadm, "-O", "pw", "-s", scheme, "-p", password],
            check=True,
            capture_output=True,
            text=True,
        )
        return result.stdout.strip()

    def set_users(self, users: Mapping[str, str]) -> None:
        """Replace the passwd-file; a value starting with '{' is taken as already hashed.

        Dovecot re-reads the file when it changes, so this works while running too.
        """
        lines = []
        for user, password in users.items():
            if any(c in user + password for c in ":\n\r"):
                raise ValueError(f"user {user!r}: ':' and line breaks cannot go into a passwd-file")
            secret = password if password.startswith("{") else self.hash_password(password)
            lines.append(f"{user}:{secret}::::::\n")
        tmp = self.passwd_path.with_suffix(".new")
        tmp.write_text("".join(lines), encoding="utf-8")
        tmp.chmod(0o644)
        tmp.replace(self.passwd_path)

    def log_lines(self) -> list[str]:
        """The lines Dovecot logged so far (auth failures included: auth_verbose = yes)."""
        return read_lines(self.log_path)

    def doveadm(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run `doveadm -c CONFIG args...` against this instance (no check; look at returncode)."""
        return subprocess.run(
            [self._doveadm, "-c", str(self.config_path), *args],
            capture_output=True,
            text=True,
            timeout=30,
        )

    def imap_login(self, user: str, password: str, originating_ip: str | None = None) -> bool:
        """Log into IMAP; originating_ip is passed with ID x-originating-ip (trusted loopback).

        Returns True on OK, False when Dovecot answers NO.
        """
        with imaplib.IMAP4(self.host, self.imap_port, timeout=15) as imap:
            if originating_ip is not None:
                imap.xatom("ID", f'("x-originating-ip" "{originating_ip}")')
            try:
                imap.login(user, password)
            except imaplib.IMAP4.error:
                return False
            imap.logout()
            return True
