"""The registry of area checks, in report order.

Each area is ``async def audit_AREA(domain: str, ctx: AuditContext) -> AreaResult`` in its own
module, named here as ``"module:function"`` and imported when the run starts, so an area whose
module is not there yet is skipped rather than breaking the command. To add an area, add one
line to ``AREAS``; ``when`` names an :class:`AuditOptions` flag that must be set for the area to
run (the SMTP probe runs only with ``--probe-smtp``).
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from mailwarden.audit.model import AreaResult, AuditContext, AuditOptions

AreaCheck = Callable[[str, AuditContext], Awaitable[AreaResult]]


@dataclass(frozen=True)
class Area:
    name: str
    target: str  # "package.module:function"
    when: str = ""  # an AuditOptions flag that must be true, or "" for always


AREAS: list[Area] = [
    Area("spf", "mailwarden.audit.spf:audit_spf"),
    Area("dmarc", "mailwarden.audit.dmarc:audit_dmarc"),
    Area("dkim", "mailwarden.audit.dkim:audit_dkim"),
    Area("mx", "mailwarden.audit.mx:audit_mx"),
    Area("mta_sts", "mailwarden.audit.mta_sts:audit_mta_sts"),
    Area("tls_rpt", "mailwarden.audit.tls_rpt:audit_tls_rpt"),
    Area("bimi", "mailwarden.audit.bimi:audit_bimi"),
    Area("dnssec", "mailwarden.audit.dnssec:audit_dnssec"),
    Area("dane", "mailwarden.audit.dane:audit_dane"),
    Area("smtp", "mailwarden.audit.smtp:audit_smtp", when="probe_smtp"),
]


def load(area: Area) -> AreaCheck | None:
    """The area's check function, or None when its module does not exist (yet)."""
    module_name, _, function = area.target.partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name == module_name:
            return None
        return _broken(exc)
    except Exception as exc:  # a broken area module must not stop the other areas
        return _broken(exc)
    check: AreaCheck = getattr(module, function)
    return check


def _broken(error: Exception) -> AreaCheck:
    """A check that reports the import error of its module (the runner turns it into an
    ``audit.area_error`` finding)."""

    async def check(domain: str, ctx: AuditContext) -> AreaResult:
        raise RuntimeError(f"cannot import the area: {type(error).__name__}: {error}")

    return check


def enabled(options: AuditOptions) -> list[tuple[Area, AreaCheck]]:
    """The areas this run audits: wanted by the options and present in the code."""
    chosen: list[tuple[Area, AreaCheck]] = []
    for area in AREAS:
        if area.when and not getattr(options, area.when, False):
            continue
        check = load(area)
        if check is not None:
            chosen.append((area, check))
    return chosen


def missing() -> list[str]:
    """Names of registered areas whose module is not there."""
    return [a.name for a in AREAS if load(a) is None]
