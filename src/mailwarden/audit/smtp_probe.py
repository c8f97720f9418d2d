"""Probe one address of one MX host and record what it said and did (:class:`Observation`);
:mod:`mailwarden.audit.smtp_judge` turns that into findings.

The sessions, in order:

1. the main one: banner, EHLO (HELO when EHLO is refused), STARTTLS when offered, a handshake
   that takes any certificate (to read it), EHLO again inside TLS (for AUTH);
2. when STARTTLS was answered 220, in parallel: one handshake that verifies the chain, and one
   handshake capped at each of TLS 1.0, 1.1, 1.2 and 1.3;
3. with ``relay_test`` only: MAIL FROM an outside address, RCPT TO an outside address at a
   reserved domain (RFC 2606), then RSET and QUIT; never DATA, so nothing is ever sent.

A session that cannot go on (timeout, closed, a reply that breaks SMTP) ends with a
:class:`ProbeError` recorded where it happened; the whole probe of one address has a budget of
time, and what was learnt before it ran out is kept.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl
from collections.abc import AsyncIterator, Coroutine
from dataclasses import dataclass, field
from typing import Any

from mailwarden.audit.smtp_reply import Reply, extensions
from mailwarden.audit.smtp_session import ProbeError, Session, TlsInfo
from mailwarden.audit.smtp_tls import VERSIONS, local_support, probe_context, verify_context

LOCAL_PART = "mailwarden-relay-test"
SENDER_DOMAINS = ("example.com", "example.org", "relay-test.invalid")
RECIPIENT_DOMAINS = ("example.net", "example.org", "relay-test.invalid")
BUDGET_STEPS = 18  # the probe of one address takes at most this many step timeouts
MAX_BUDGET = 100.0  # seconds; below the runner's limit for a whole area


@dataclass(frozen=True)
class ProbeSettings:
    domain: str
    port: int = 25
    timeout: float = 5.0
    ca_file: str = ""
    relay_test: bool = False

    @property
    def budget(self) -> float:
        return min(MAX_BUDGET, self.timeout * BUDGET_STEPS)


@dataclass
class Outcome:
    """How one extra TLS session ended: ``ok``, ``refused`` (the handshake failed),
    ``verify`` (the chain was refused), ``untestable`` (not by this OpenSSL) or
    ``unchecked``."""

    status: str
    reason: str = ""
    version: str = ""
    verify_code: int = 0


@dataclass
class Relay:
    """The open-relay test: ``open``, ``refused`` or ``unchecked``, with the replies."""

    status: str
    sender: str
    recipient: str
    mail: str = ""
    rcpt: str = ""
    reason: str = ""


@dataclass
class Observation:
    """Everything learnt about one address of one MX host."""

    host: str
    address: str
    port: int
    error: ProbeError | None = None  # where the main session stopped, if it did
    banner: Reply | None = None
    greeting: Reply | None = None  # the EHLO reply, or HELO's when EHLO was refused
    esmtp: bool = False
    plain: dict[str, tuple[str, ...]] = field(default_factory=dict)  # EHLO before TLS
    starttls: Reply | None = None
    tls: TlsInfo | None = None
    secured: dict[str, tuple[str, ...]] | None = None  # EHLO inside TLS
    chain: Outcome | None = None
    versions: dict[str, Outcome] = field(default_factory=dict)
    relay: Relay | None = None
    over_budget: bool = False
    budget: float = 0.0  # seconds the probe of this address may take

    @property
    def speaks(self) -> bool:
        """The server greeted with 220: worth the other sessions."""
        return self.banner is not None and self.banner.code == 220


async def probe(host: str, address: str, settings: ProbeSettings) -> Observation:
    """Every session of the probe against ``address`` (one of ``host``'s addresses)."""
    seen = Observation(host, address, settings.port, budget=settings.budget)
    try:
        async with asyncio.timeout(settings.budget):
            await _main(seen, settings)
            extra: list[Coroutine[Any, Any, None]] = []
            if seen.starttls is not None and seen.starttls.code == 220:
                extra = [_chain(seen, settings), *(_version(seen, v, settings) for v in VERSIONS)]
            if settings.relay_test and seen.speaks:
                extra.append(_relay(seen, settings))
            await asyncio.gather(*extra)
    except TimeoutError:
        seen.over_budget = True
    return seen


@contextlib.asynccontextmanager
async def _session(settings: ProbeSettings, address: str) -> AsyncIterator[Session]:
    """A connected session, closed with QUIT when the body ended well, cut otherwise."""
    session = await Session.connect(address, settings.port, settings.timeout)
    polite = False
    try:
        yield session
        polite = True
    finally:
        await session.close(polite)


async def _greet(session: Session) -> tuple[Reply, bool]:
    """EHLO, or HELO when EHLO is refused: (the reply, whether it was EHLO)."""
    name = session.helo_name()
    reply = await session.command(f"EHLO {name}", "ehlo")
    if reply.ok:
        return reply, True
    return await session.command(f"HELO {name}", "helo"), False


async def _ready(session: Session) -> None:
    """Banner, EHLO and STARTTLS answered as a server with STARTTLS answers them."""
    banner = await session.read_reply("banner")
    if banner.code != 220:
        raise ProbeError("protocol", "banner", f"greeting {banner}")
    reply, esmtp = await _greet(session)
    if not (reply.ok and esmtp):
        raise ProbeError("protocol", "ehlo", f"EHLO answered {reply}")
    starttls = await session.command("STARTTLS", "starttls")
    if starttls.code != 220:
        raise ProbeError("protocol", "starttls", f"STARTTLS answered {starttls}")


async def _main(seen: Observation, settings: ProbeSettings) -> None:
    try:
        async with _session(settings, seen.address) as session:
            seen.banner = await session.read_reply("banner")
            if seen.banner.code != 220:
                return
            seen.greeting, seen.esmtp = await _greet(session)
            if seen.esmtp:
                seen.plain = extensions(seen.greeting)
            if not seen.esmtp or "STARTTLS" not in seen.plain:
                return
            seen.starttls = await session.command("STARTTLS", "starttls")
            if seen.starttls.code != 220:
                return
            seen.tls = await session.starttls(probe_context(), seen.host)
            after = await session.command(f"EHLO {session.helo_name()}", "ehlo in TLS")
            seen.secured = extensions(after) if after.ok else {}
    except ProbeError as exc:
        seen.error = exc


async def _handshake(seen: Observation, settings: ProbeSettings,
                     context: ssl.SSLContext) -> Outcome:
    """A fresh session up to a TLS handshake with ``context``."""
    try:
        async with _session(settings, seen.address) as session:
            await _ready(session)
            info = await session.starttls(context, seen.host)
            return Outcome("ok", version=info.version)
    except ProbeError as exc:
        if exc.step == "tls" and exc.kind in ("tls", "verify"):
            status = "refused" if exc.kind == "tls" else "verify"
            return Outcome(status, exc.reason, verify_code=exc.verify_code)
        return Outcome("unchecked", f"{exc.step}: {exc.reason}")


async def _chain(seen: Observation, settings: ProbeSettings) -> None:
    try:
        context = verify_context(settings.ca_file)
    except (OSError, ssl.SSLError) as exc:
        seen.chain = Outcome("unchecked", f"cannot read the CA file {settings.ca_file}: {exc}")
        return
    seen.chain = await _handshake(seen, settings, context)


async def _version(seen: Observation, version: str, settings: ProbeSettings) -> None:
    reason = local_support(version)
    if reason:
        seen.versions[version] = Outcome("untestable", reason)
        return
    seen.versions[version] = await _handshake(seen, settings, probe_context(version))


def outside(domain: str, candidates: tuple[str, ...]) -> str:
    """The first candidate domain that is neither ``domain`` nor above or below it."""
    for candidate in candidates:
        if not (domain == candidate or domain.endswith("." + candidate)
                or candidate.endswith("." + domain)):
            return candidate
    return candidates[-1]


async def _relay(seen: Observation, settings: ProbeSettings) -> None:
    relay = Relay("unchecked", f"{LOCAL_PART}@{outside(settings.domain, SENDER_DOMAINS)}",
                  f"{LOCAL_PART}@{outside(settings.domain, RECIPIENT_DOMAINS)}")
    seen.relay = relay
    try:
        async with _session(settings, seen.address) as session:
            banner = await session.read_reply("banner")
            if banner.code != 220:
                relay.reason = f"greeting {banner}"
                return
            await _greet(session)
            await _relay_transaction(session, relay)
    except ProbeError as exc:
        relay.reason = f"{exc.step}: {exc.reason}"


async def _relay_transaction(session: Session, relay: Relay) -> None:
    """MAIL FROM (the outside sender, else the null sender), RCPT TO, RSET; never DATA."""
    for sender in (relay.sender, ""):
        mail = await session.command(f"MAIL FROM:<{sender}>", "mail")
        relay.mail = str(mail)
        if mail.ok:
            relay.sender = sender or "<>"
            break
    else:
        relay.reason = "the server refused the test sender, so relaying was not tried"
        return
    rcpt = await session.command(f"RCPT TO:<{relay.recipient}>", "rcpt")
    relay.rcpt = str(rcpt)
    if rcpt.ok:
        relay.status = "open"
    elif rcpt.code >= 500:
        relay.status = "refused"
    else:
        relay.reason = "the recipient was refused only for now (4xx)"
    with contextlib.suppress(ProbeError):
        await session.command("RSET", "rset")
