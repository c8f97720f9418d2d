"""Audit many domains concurrently: at most ``concurrency`` domains at a time, each domain's
areas in parallel, one DNS client (and so one answer cache) for the whole run.

An area that raises or overruns its time is reported as an ``unchecked`` finding of that area;
the other areas and domains go on. Reports come back in the order the domains were given.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from mailwarden.audit.areas import AreaCheck, enabled
from mailwarden.audit.dns import valid_name
from mailwarden.audit.messages import note, render
from mailwarden.audit.model import AreaResult, AuditContext, DomainReport

DEFAULT_CONCURRENCY = 20
AREA_TIMEOUT = 120.0


def normalize_domain(text: str) -> str | None:
    """Lowercase A-label form without the trailing dot; None when it cannot be a domain."""
    name = text.strip().rstrip(".")
    if "@" in name:
        name = name.rpartition("@")[2]
    try:
        name = name.encode("idna").decode("ascii").lower()
    except UnicodeError:
        return None
    if "." not in name or not valid_name(name) or len(name) > 253:
        return None
    return name


async def run_area(name: str, check: AreaCheck, domain: str, ctx: AuditContext,
                   timeout: float) -> AreaResult:
    """One area's result; an exception or overrun becomes an ``unchecked`` finding."""
    try:
        result = await asyncio.wait_for(check(domain, ctx), timeout)
    except TimeoutError:
        result = AreaResult(name)
        note(result, "audit.area_timeout", "unchecked", area=name, seconds=timeout)
    except Exception as exc:  # an area's bug must not stop the run: report it
        result = AreaResult(name)
        note(result, "audit.area_error", "unchecked", area=name,
             reason=f"{type(exc).__name__}: {exc}"[:300])
    result.area = name
    return result


async def audit_domain(domain: str, ctx: AuditContext,
                       areas: Sequence[tuple[str, AreaCheck]],
                       timeout: float = AREA_TIMEOUT) -> DomainReport:
    """Every area of one domain, in parallel."""
    checked_at = datetime.now(UTC).isoformat(timespec="seconds")
    name = normalize_domain(domain)
    if name is None:
        en, _ = render("audit.invalid_domain", domain=domain)
        return DomainReport(domain.strip()[:300], checked_at=checked_at, error=en)
    results = await asyncio.gather(*(run_area(a, check, name, ctx, timeout)
                                     for a, check in areas))
    return DomainReport(name, {r.area: r for r in results}, checked_at)


async def audit_all(domains: Sequence[str], ctx: AuditContext,
                    concurrency: int = DEFAULT_CONCURRENCY, timeout: float = AREA_TIMEOUT,
                    done: Callable[[DomainReport], None] | None = None,
                    areas: Sequence[tuple[str, AreaCheck]] | None = None) -> list[DomainReport]:
    """Audit ``domains`` with at most ``concurrency`` at a time; ``done`` is called as each
    domain finishes (progress), the list comes back in the given order. ``areas`` defaults to
    the registry's areas enabled by the options."""
    if areas is None:
        areas = [(area.name, check) for area, check in enabled(ctx.options)]
    gate = asyncio.Semaphore(max(1, concurrency))

    async def one(domain: str) -> DomainReport:
        async with gate:
            report = await audit_domain(domain, ctx, areas, timeout)
        if done is not None:
            done(report)
        return report

    return list(await asyncio.gather(*(one(d) for d in domains)))
