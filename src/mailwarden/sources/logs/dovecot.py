"""Dovecot logs (2.3 and 2.4) → Login events: successful logins and failed attempts.

Dovecot writes through syslog (``Nov 28 10:57:01 mx dovecot[812]: imap-login: ...``), to its own
``log_path`` (``Nov 28 10:57:01 imap-login: Info: ...``), or through multilog/s6-log with a TAI64N
label (``@4000000068e2a1c02d0b1e34 imap-login: Info: ...``). Lines come from three layers:

* the login processes (``imap-login``, ``pop3-login``, ``submission-login``,
  ``managesieve-login``): ``Login: user=<u>, method=PLAIN, rip=..., lip=..., TLS`` is a success;
  when a session ends without one, a summary such as ``Disconnected (auth failed, 3 attempts in
  16 secs): user=<u>, ...`` or, in 2.4, ``Login aborted: ... (auth failed, 3 attempts in 16 secs)
  (auth_failed): ...``. ``(tried to use disallowed plaintext auth)`` (2.4: ``cleartext``),
  ``(tried to use unsupported auth mechanism)``, ``(proxy dest auth failed)``, ``(authorization
  failed, ...)``, ``(user disabled)``, ``(password expired)`` and ``(login disabled)`` are failures
  too; a session that never tried (``no auth attempts``, TLS handshakes, ``client didn't finish
  SASL auth``) or failed on the server's side (``internal failure``, ``temporary failure``) is not;
* the auth process, one line per attempt when ``auth_verbose = yes``: 2.3's
  ``auth: passwd-file(u,ip,<session>): Password mismatch`` / ``unknown user`` / ``invalid
  credentials``, 2.4's ``auth(u,ip,sasl:plain)<session>: sql: Password mismatch``;
* the auth workers (``auth-worker(pid): pam(u,ip): pam_authenticate() failed: ...``, 2.4's
  ``auth-worker(u,ip)<pid><session>: request [12]: sql: Password mismatch``) and PAM itself
  (``pam_unix(dovecot:auth): authentication failure; ... rhost=IP  user=U``).

**Each failed attempt is counted once.** One attempt may be logged by PAM, by a worker, by the auth
process and, in the session's summary, by the login process. A line is reported at once, for the
attempts it shows that no lower layer already reported for the same client address within
``window`` seconds (PAM < worker < auth < login): with ``auth_verbose = yes`` every attempt comes
from its first line and the summary adds nothing; with the default ``auth_verbose = no`` the
summary is the only record and reports all its attempts in one event (``Login.attempts``). A
summary that never reached the auth process (plaintext refused, unsupported mechanism, proxy
destination) uses no earlier line. A PAM line without ``rhost`` gives no event (the summary
counts that attempt). Secrets stay out: ``(given password: ...)`` is never kept.

Lines are untrusted: the fields an attacker chooses (user names, PAM's ``ruser``) are read so
that they cannot supply the client address, cut to a bounded length, and never raise. A password
that ``auth_verbose_passwords = plain`` writes after the address is read so too, except in a line
of a short user name without a session id, where a password made to look like Dovecot's text can
name another address: keep ``auth_verbose_passwords`` at ``no`` (or ``sha1``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import tzinfo

from mailwarden.events import Login
from mailwarden.sources.logs.timestamps import SyslogClock

__all__ = ["DovecotLogParser", "DovecotStats"]

DEFAULT_WINDOW = 600.0  # seconds an attempt reported by a lower layer waits for its summary
DEFAULT_MAX_ADDRESSES = 100_000  # client addresses remembered for that; the stalest go first
MAX_ATTEMPTS = 1000  # the most attempts one line may stand for (a forged count stays bounded)

_MAX_FIELD = 320  # characters kept of a user name, address or reason
_PAM, _WORKER, _AUTH, _LOGIN = 0, 1, 2, 3  # the layers a failed attempt is logged by
_TAI64N_BASE = 2**62 + 10  # label of 1970-01-01 00:00:00 UTC (daemontools, s6)
_HEX = "0123456789abcdef"
_IP_CHARS = "0123456789abcdefABCDEF.:"
_LEVELS = ("Info: ", "Warning: ", "Error: ", "Debug: ", "Fatal: ", "Panic: ")
_FIELDS = re.compile(r": (?=user=<|method=|rip=)")
_PHRASE_END = re.compile(r"[,)]")
_DRIVER = re.compile(r"(?:^|: )[A-Za-z0-9_.-]{1,32}\(")  # "passwd-file(", "conn ...: pam("
_MAX_CLOSES = 64  # "): " looked at in one auth line
_MAX_LOGGED_USER = 64  # bytes of a user name Dovecot writes in an auth line
_TAG_END = re.compile(r"[)>]: ")  # the end of a 2.4 auth tag: "...)<session>: ", "...): "
_STRICT_TAIL = re.compile(r"(?: \(for LDAP bind\))?(?: \(SHA1 of given password: [0-9a-fA-F]*\))?")
_MAX_NOTES = 100  # characters of Dovecot's notes after a reason: LDAP bind, a SHA1 in hex
_PHRASES = ("Password mismatch", "unknown user", "invalid credentials")  # as _reason gives them
_USUAL_FIELDS = re.compile(  # a login's fields, with nothing unusual in the user name
    r"user=<([^<>,=]*)>, method=([A-Za-z0-9-]*), rip=([0-9A-Fa-f.:]{0,45}), "
    r"lip=([0-9A-Fa-f.:]*), mpid=[0-9]*, (?:(TLS|secured), )?session=<([A-Za-z0-9+/]*)>",
    re.ASCII,
)
_PAM_SERVICES = frozenset({"imap", "imaps", "pop3", "pop3s", "submission", "managesieve", "sieve"})
_PAM_SERVER_FAULTS = (  # the auth system failed, not the client
    "Authentication service cannot retrieve authentication info",
    "System error",
    "Module is unknown",
    "Critical error",
)
# the reason of a login-process summary → (reason, whether the auth process saw the attempts)
_REASONS = {
    "auth failed": ("auth failed", True),
    "authorization failed": ("authorization failed", True),
    "user disabled": ("user disabled", True),
    "password expired": ("password expired", True),
    "login disabled": ("login disabled", True),
    "tried to use disallowed plaintext auth": ("plaintext auth disabled", False),
    "tried to use disabled plaintext auth": ("plaintext auth disabled", False),
    "tried to use disallowed cleartext auth": ("plaintext auth disabled", False),  # 2.4
    "tried to use unsupported auth mechanism": ("unsupported mechanism", False),
    "proxy dest auth failed": ("proxy destination auth failed", False),
    "proxy dest authentication failure": ("proxy destination auth failed", False),  # 2.4
}


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_FIELD else text[:_MAX_FIELD]


def _is_address(text: str) -> bool:
    """Whether ``text`` looks like an IPv4 or IPv6 address (cheap; no validation)."""
    return 2 < len(text) <= 45 and ("." in text or ":" in text) and not text.strip(_IP_CHARS)


def _number(text: str, start: int) -> int:
    """The decimal number at ``start`` (1 when there is none), bounded by MAX_ATTEMPTS."""
    end = start
    while end < len(text) and end - start < 6 and "0" <= text[end] <= "9":
        end += 1
    return min(MAX_ATTEMPTS, max(1, int(text[start:end]))) if end > start else 1


def _strip_level(message: str) -> str:
    """``Info: text`` → ``text`` (Dovecot's own log files carry the level)."""
    if message[:1] in "IWEDFP" and message.startswith(_LEVELS):
        return message[message.index(": ") + 2 :]
    return message


def _tai64n(line: str) -> tuple[float, str] | None:
    """``@4000000068e2a1c02d0b1e34 rest`` → (epoch seconds, rest), or None."""
    label = line[1:25]
    if line[25:26] != " " or len(label) != 24 or label.strip(_HEX):
        return None
    seconds, nanos = int(label[:16], 16) - _TAI64N_BASE, int(label[16:], 16)
    if not 0 <= seconds < 2**40 or nanos >= 1_000_000_000:
        return None
    return seconds + nanos / 1e9, line[26:]


def _process(rest: str) -> tuple[str, int] | None:
    """``host dovecot[1]: imap-login: msg`` / ``imap-login: msg`` → (process, where msg starts)."""
    space = rest.find(" ")
    if space <= 0:
        return None
    start, colon = 0, space - 1  # Dovecot's own log file: no host name
    if rest[colon] != ":" and "(" in rest[:space]:  # no host name holds "(": a 2.4 tag such
        colon = rest.find(": ")  # as "auth(a b,ip,sasl:plain)<session>: ", with a space
        if colon < 0:
            return None
    elif rest[colon] != ":":
        start, colon = space + 1, rest.find(": ", space + 1)
        if colon < 0:
            return None
    process = rest[start:colon]
    if process[-1:] == "]":  # a syslog tag with its pid
        process = process[: process.rfind("[")]
    for _ in range(2):  # "dovecot: imap-login: ...", once also "dovecot: dovecot: auth: ..."
        if process != "dovecot":
            break
        start = colon + 2
        colon = rest.find(": ", start)
        if colon < 0:
            return None
        process = rest[start:colon]
    return process, colon + 2


def _reason(text: str, at: int) -> str | None:
    """The failure an auth line reports at ``text[at:]``, without secrets; None: no failure."""
    if text.startswith(("Password mismatch", "password mismatch"), at):
        return "Password mismatch"
    if text.startswith(("unknown user", "Unknown user"), at):
        return "unknown user"
    if text.startswith(("invalid credentials", "Invalid credentials"), at):
        return "invalid credentials"
    if text.startswith("pam_authenticate() failed: ", at):
        cause = text[at + 27 : at + 27 + _MAX_FIELD]
        return None if cause.startswith(_PAM_SERVER_FAULTS) else cause.partition(" (given")[0]
    return None


def _request(inner: str) -> tuple[str, str, str, str]:
    """``user,ip[,<session>|,sasl:mech]`` → (user, ip, session, mechanism); the user may hold
    commas, so the fields Dovecot adds are taken from the right."""
    parts = inner.split(",")
    session = mechanism = address = ""
    if len(parts) > 1 and parts[-1].startswith("sasl:"):
        mechanism = parts.pop()[5:]
    if len(parts) > 1 and (not parts[-1] or parts[-1][:1] == "<"):
        session = parts.pop().strip("<>")
    if len(parts) > 1 and _is_address(parts[-1]):
        address = parts.pop()
    return ",".join(parts), address, session, mechanism


@dataclass(slots=True)
class DovecotStats:
    """What a :class:`DovecotLogParser` has seen so far."""

    lines: int = 0  # lines fed
    unparsed: int = 0  # lines without a timestamp
    logins: int = 0  # successful logins emitted
    failures: int = 0  # failed-login events emitted
    repeated: int = 0  # failed attempts not reported again (already counted from another line)


class _Ledger:
    """Failed attempts per client address reported from a lower layer and not yet matched."""

    __slots__ = ("_entries", "_limit", "_window")

    def __init__(self, window: float, limit: int) -> None:
        self._entries: dict[str, list[float]] = {}  # address → [last time, pam, worker, auth]
        self._window = window
        self._limit = max(1, limit)

    def new_attempts(self, address: str, layer: int, attempts: int, now: float) -> int:
        """How many of ``attempts`` logged at ``layer`` no lower layer has reported yet."""
        if not address:
            return attempts
        entries = self._entries
        entry = entries.pop(address, None)
        if entry is None or now - entry[0] > self._window:
            entry = [now, 0.0, 0.0, 0.0]
            if len(entries) >= self._limit:
                del entries[next(iter(entries))]  # the address not seen for longest
        new = attempts
        for index in range(layer, 0, -1):  # counters of the layers below, nearest first
            taken = min(new, int(entry[index]))
            entry[index] -= taken
            new -= taken
        if layer < _LOGIN:
            entry[layer + 1] += attempts
        entry[0] = max(entry[0], now)
        entries[address] = entry
        return new


class DovecotLogParser:
    """Turns Dovecot log lines, fed in log order, into Login events (see the module's notes).

    ``tz`` and ``year`` read traditional syslog timestamps (see :class:`SyslogClock`); TAI64N
    labels carry their own. Events come out at once; ``flush`` has nothing left to give.
    """

    def __init__(
        self,
        tz: tzinfo,
        year: int | None = None,
        *,
        window: float = DEFAULT_WINDOW,
        max_addresses: int = DEFAULT_MAX_ADDRESSES,
    ) -> None:
        self.stats = DovecotStats()
        self._timestamp = SyslogClock(tz, year).parse
        self._ledger = _Ledger(window, max_addresses)

    def feed(self, line: str) -> list[Login]:
        """The Login events this line gives (most lines give none)."""
        self.stats.lines += 1
        parsed = _tai64n(line) if line[:1] == "@" else self._timestamp(line)
        if parsed is None:
            self.stats.unparsed += 1
            return []
        when, rest = parsed
        if "-login" not in rest and "auth" not in rest:  # mail processes, lmtp, master: cheap
            return []
        if rest[-1:] in ("\n", "\r"):
            rest = rest.rstrip("\r\n")
        split = _process(rest)
        if split is None:
            return []
        process, start = split
        out: list[Login] = []
        if process.endswith("-login"):
            self._login(when, process[:-6], _strip_level(rest[start:]), out)
        elif process.startswith(("auth", "dovecot-auth")):
            self._auth(when, process, _strip_level(rest[start:]), out)
        return out

    def flush(self) -> list[Login]:
        """Nothing: every event is emitted by the line that completes it."""
        return []

    # login processes ----------------------------------------------------------------------

    def _login(self, when: float, protocol: str, message: str, out: list[Login]) -> None:
        """``Login: fields`` or ``<how the session ended> (<why>): fields``."""
        if message.startswith("Login: "):
            self._success(when, protocol, message[7:], out)
            return
        found = _FIELDS.search(message)
        head, fields = message, ""
        if found is not None:
            head, fields = message[: found.start()], message[found.end() :]
        failure = _summary(head)
        if failure is None:
            return
        reason, logged, used_auth = failure
        user, method, address, extra = _login_fields(fields)
        attempts = logged
        if used_auth:
            attempts = self._ledger.new_attempts(address, _LOGIN, logged, when)
            self.stats.repeated += logged - attempts
            if not attempts:
                return
        details = {**extra, "attempts": str(logged), "reason": reason}
        self.stats.failures += 1
        out.append(
            Login(when, user, address, False, protocol, method, "log", details, attempts)
        )

    def _success(self, when: float, protocol: str, fields: str, out: list[Login]) -> None:
        user, method, address, extra = _login_fields(fields)
        self.stats.logins += 1
        out.append(Login(when, user, address, True, protocol, method, "log", extra))

    # auth process, workers, PAM -------------------------------------------------------------

    def _auth(self, when: float, process: str, message: str, out: list[Login]) -> None:
        """A failed attempt as the auth process, a worker or PAM logs it."""
        times = 1
        if message.endswith(" Time(s)"):  # a syslog daemon folded repeated lines
            colon = message.rfind(": ", 0, -8)
            times = _number(message, colon + 2) if colon >= 0 else 1
            message = message[:colon] if colon >= 0 else message
        if message.startswith("pam_unix("):
            self._pam_unix(when, message, times, out)
            return
        parsed = _auth_24(process, message) if _is_24(process) else _auth_23(message)
        if parsed is None:
            return
        user, address, session, mechanism, driver, reason = parsed
        layer = _WORKER if process.startswith("auth-worker") else _AUTH
        attempts = self._ledger.new_attempts(address, layer, times, when)
        self.stats.repeated += times - attempts
        if not attempts:
            return
        details = {"reason": _clip(reason), "passdb": _clip(driver), "service": _service(layer)}
        if session:
            details["session"] = _clip(session)
        self.stats.failures += 1
        out.append(
            Login(
                when,
                _clip(user).lower(),
                _clip(address),
                False,
                "",
                _clip(mechanism).upper(),
                "log",
                details,
                attempts,
            )
        )

    def _pam_unix(self, when: float, message: str, times: int, out: list[Login]) -> None:
        """``pam_unix(dovecot:auth): authentication failure; ... ruser=R rhost=IP  user=U``"""
        colon = message.find(":", 9)
        service = message[9:colon]
        if colon < 0 or not message.startswith("auth): authentication failure;", colon + 1):
            return
        if not (service.startswith("dovecot") or service in _PAM_SERVICES):
            return  # sshd, sudo, ...: not a mail login
        found = _rhost(message)
        if found is None:
            return  # no client address: the login process's summary counts the attempt
        address, user = found
        attempts = self._ledger.new_attempts(address, _PAM, times, when)
        self.stats.repeated += times - attempts
        if not attempts:
            return
        protocol = service if service in _PAM_SERVICES else ""
        details = {"reason": "authentication failure", "passdb": "pam", "service": "pam_unix"}
        self.stats.failures += 1
        out.append(
            Login(when, _clip(user).lower(), _clip(address), False, protocol, "", "log", details,
                  attempts)
        )


def _service(layer: int) -> str:
    """The process that logs ``layer``: ``auth-worker`` or ``auth``."""
    return "auth-worker" if layer == _WORKER else "auth"


def _summary(head: str) -> tuple[str, int, bool] | None:
    """(reason, attempts, whether the auth process saw them) of a login-process summary:
    2.3's ``(auth failed, 3 attempts in 16 secs)`` or ``(user disabled)``, 2.4's ``(user
    disabled, 1 attempts in 2 secs) (user_disabled)``; None for a session without a failure."""
    at = head.find("(")
    for _ in range(32):  # "read(size=1003) failed (...)": Dovecot's reason is not the first
        if at < 0:
            return None
        found = _PHRASE_END.search(head, at + 1)
        end = found.start() if found is not None else len(head)
        phrase = head[at + 1 : end]
        known = _REASONS.get(phrase)
        if known is None and phrase.startswith("tried to use dis") and phrase.endswith(" auth"):
            known = (f"{_clip(phrase[:-5].rpartition(' ')[2])} auth disabled", False)
        if known is not None:
            count = _number(head, end + 2) if head.startswith(", ", end) else 1
            return known[0], count, known[1]
        at = head.find("(", at + 1)
    return None


def _login_fields(fields: str) -> tuple[str, str, str, dict[str, str]]:
    """``user=<u>, method=M, rip=A, lip=B, mpid=N, TLS, session=<S>`` → (user, method, rip,
    {tls, lip, session}). Only the user name is the client's, and it comes first: the fields
    after it are found from the right, so a name holding ``, rip=`` cannot supply the address."""
    usual = _USUAL_FIELDS.fullmatch(fields)
    if usual is None:
        return _any_login_fields(fields)
    # the fields as Dovecot writes them, no field able to pass for another: what
    # _any_login_fields finds, in one step
    user, method, address, lip, tls, session = usual.groups()
    extra = {"tls": "yes" if tls == "TLS" else tls or "no", "lip": _clip(lip),
             "session": _clip(session)}
    return _clip(user).lower(), _clip(method).upper(), address, extra


def _any_login_fields(fields: str) -> tuple[str, str, str, dict[str, str]]:
    """:func:`_login_fields` for any text."""
    rip = 0 if fields.startswith("rip=") else fields.rfind(", rip=") + 2
    before, address, after = fields, "", ""
    if rip != 1:  # found
        end = fields.find(", ", rip)
        end = len(fields) if end < 0 else end
        before, address, after = fields[:rip], fields[rip + 4 : end], fields[end + 2 :]
    method_at = before.rfind("method=")
    if method_at > 0 and before[method_at - 2 : method_at] != ", ":
        method_at = -1
    method = before[method_at + 7 :].partition(",")[0] if method_at >= 0 else ""
    user = ""
    if before.startswith("user=<"):
        close = before.rfind(">", 6, method_at if method_at > 0 else len(before))
        user = before[6:close] if close >= 0 else ""
    extra = {"tls": _tls(after)}
    if after.startswith("lip="):
        extra["lip"] = _clip(after[4:].partition(",")[0])
    at = after.rfind("session=<")
    if at == 0 or (at > 0 and after[at - 2 : at] == ", "):
        extra["session"] = _clip(after[at + 9 :].partition(">")[0])
    return _clip(user).lower(), _clip(method).upper(), _clip(address), extra


def _tls(fields: str) -> str:
    """The connection's security among the fields after ``rip=``: ``TLS`` (also ``TLS:
    Disconnected``) → yes, ``secured`` (a trusted network) → secured, else (``TLS handshaking``,
    nothing) → no."""
    if "TLS" in fields:
        for item in fields.split(", "):
            if item == "TLS" or item.startswith(("TLS:", "TLS (")):
                return "yes"
    if fields == "secured" or fields.startswith("secured,") or ", secured" in fields:
        return "secured"
    return "no"


def _auth_23(message: str) -> tuple[str, str, str, str, str, str] | None:
    """``[...: ]driver(user,ip[,<session>]): reason`` (also Dovecot 1.x and 2.2).

    The user name is the client's and, with an empty ``auth_username_chars``, may hold
    ``a,10.9.9.9): Password mismatch (``; a password logged by ``auth_verbose_passwords = plain``
    comes after the reason. So the line is split from the right: of the places where
    ``(...): reason`` could end, the one taken is the last after which only Dovecot's own notes
    follow (see :func:`_tail`) and whose user name fits Dovecot's 64 bytes; else the first
    followed by Dovecot's ``(given password: ...)``; else the last with a reason."""
    driver = _DRIVER.search(message)
    opening = driver.end() - 1 if driver is not None else -1
    strict = plain = last = -1
    close = message.find("): ", opening + 1)
    for _ in range(_MAX_CLOSES):  # a line of many "): " cannot make this slow
        if close < 0:
            break
        kind = _tail(message, close + 3)
        if kind is not None:
            last = close
            if kind == "strict" and _fits(message, opening, close):
                strict = close
            elif kind == "plain" and plain < 0:
                plain = close
        close = message.find("): ", close + 3)
    close = strict if strict >= 0 else plain if plain >= 0 else last
    if close < 0:
        return None
    if opening < 0:  # a passdb named unusually: its "(" is the last before the reason
        opening = message.rfind("(", 0, close)
        if opening < 0:
            return None
    start, limit = opening, max(0, opening - 32)  # a passdb driver's name is short
    while start > limit and (message[start - 1].isalnum() or message[start - 1] in "-_"):
        start -= 1
    reason = _reason(message, close + 3)
    if reason is None:
        return None
    user, address, session, mechanism = _request(message[opening + 1 : close])
    return user, address, session, mechanism, message[start:opening], reason


def _fits(message: str, opening: int, close: int) -> bool:
    """Whether the user name of ``driver(user,ip...)`` ending at ``close`` is one Dovecot could
    have written (see :func:`_user_fits`)."""
    return opening < 0 or _user_fits(message, opening + 1, close)


def _user_fits(text: str, start: int, end: int) -> bool:
    """Whether ``user,ip[,...]`` at ``text[start:end]`` has a user name Dovecot could have
    written: it cuts user names to 64 bytes (``MAX_LOG_USERNAME_LEN``)."""
    if end - start > _MAX_LOGGED_USER + 200:  # with an address, "master" and a session
        return False
    user = _request(text[start:end])[0]
    return len(user.encode("utf-8", errors="replace")) <= _MAX_LOGGED_USER


def _tail(message: str, at: int) -> str | None:
    """What follows the failure at ``message[at:]``: None when it is no failure; ``strict`` when
    only Dovecot's notes follow its reason (``(for LDAP bind)``, ``(SHA1 of given password:
    HEX)``, PAM's cause); ``plain`` when its ``(given password: ...)`` note ends the line; else
    ``other`` (more text follows: that reason was written into a user name)."""
    reason = _reason(message, at)
    if reason is None:
        return None
    if reason in _PHRASES:
        notes = at + len(reason)
        if len(message) - notes <= _MAX_NOTES and _STRICT_TAIL.fullmatch(message, notes):
            return "strict"
        if message.startswith(" (for LDAP bind)", notes):
            notes += 16
        if message.startswith(" (given password: ", notes) and message.endswith(")"):
            return "plain"
        return "other"
    cause = at + 27  # after "pam_authenticate() failed: "
    given = message.find(" (given password: ", cause)
    if message.find("): ", cause, len(message) if given < 0 else given) >= 0:
        return "other"
    if given < 0:
        return "strict"
    return "plain" if message.endswith(")") else "other"


def _is_24(process: str) -> bool:
    """Whether an auth process tag is Dovecot 2.4's, which names the request: ``auth(user,ip,
    sasl:mech)<session>``, ``auth-worker(user,ip)<pid><session>``, or one cut short by a ``: ``
    in its user name (older: ``auth(default)``, ``auth-worker(4100)``)."""
    if "," in process:
        return True
    return process.startswith(("auth(", "auth-worker(")) and not process.endswith(")")


def _auth_24(process: str, message: str) -> tuple[str, str, str, str, str, str] | None:
    """``auth(user,ip,sasl:mech)<session>`` / ``auth-worker(user,ip)<pid><session>`` with
    ``[request [N]: ]driver: reason``. The user name may hold ``)<x>: sql: Password mismatch
    (``, so the tag is taken as in :func:`_auth_23`: it ends at the last ``>: `` or ``): ``
    after which only Dovecot's text follows."""
    text = f"{process}: {message}"
    opening = text.find("(")
    strict = plain = last = -1
    for count, found in enumerate(_TAG_END.finditer(text, opening + 1)):
        if count >= _MAX_CLOSES:  # a line of many ">: " cannot make this slow
            break
        parsed = _driver_reason(text, found.end())
        if parsed is None:
            continue
        last = found.start()
        kind = parsed[2]
        if kind == "strict" and _user_fits(text, opening + 1, text.rfind(")", 0, last + 1)):
            strict = last
        elif kind == "plain" and plain < 0:
            plain = last
    end = strict if strict >= 0 else plain if plain >= 0 else last
    if end < 0:
        return None
    close = text.rfind(")", 0, end + 1)
    if opening < 0 or close < opening:
        return None
    user, address, _, mechanism = _request(text[opening + 1 : close])
    session = text[close + 1 : end + 1].rpartition("<")[2].rstrip(">")
    driver, reason, _ = _driver_reason(text, end + 3) or ("", "", "")
    return user, address, session, mechanism, driver, reason


def _driver_reason(text: str, at: int) -> tuple[str, str, str] | None:
    """``[Info: ][request [N]: ][Info: ]driver: reason`` at ``text[at:]`` → (driver, reason,
    what follows the reason: see :func:`_tail`), or None when it is no failure."""
    message = _strip_level(text[at:])
    if message.startswith("request ["):
        message = _strip_level(message.partition("]: ")[2])
    driver, colon, rest = message.partition(": ")
    if not colon:
        driver, rest = "", driver
    reason = _reason(rest, 0)
    kind = _tail(rest, 0) if reason is not None else None
    if reason is None or kind is None:
        return None
    return driver, reason, kind


def _rhost(message: str) -> tuple[str, str] | None:
    """(address, user) of a pam_unix failure. ``ruser`` and ``user`` are the client's (Dovecot
    passes the login name as both), so of the `` rhost=`` candidates the one whose ``ruser``
    equals its ``user`` wins, then the one that ends the line, then the first one followed by
    `` user=``. Linear: no candidate copies the rest of the line."""
    start = message.find(" ruser=")
    if start < 0:
        return None
    start += 7
    size, end = len(message), len(message.rstrip())
    exact = ending = plausible = None  # (address, start and end of the user name)
    at = message.find(" rhost=", start - 1)
    while at >= 0 and exact is None:
        value_end = message.find(" ", at + 7)
        value_end = size if value_end < 0 else value_end
        named = value_end
        while named < end and message[named] == " ":
            named += 1
        if value_end >= end:
            ending = ending or (message[at + 7 : value_end], start, at)
        elif named > value_end and message.startswith("user=", named):
            candidate = (message[at + 7 : value_end], named + 5, size)
            if size - named - 5 == at - start and message.startswith(message[start:at], named + 5):
                exact = candidate
            plausible = plausible or candidate
        at = message.find(" rhost=", at + 7)
    found = exact or ending or plausible
    if found is None or not _is_address(found[0]):
        return None
    return found[0], message[found[1] : found[2]]
