"""The record of one containment action: who did what to which account, when, why, the result
and how to undo it.

Account names reach the response from logs and policy requests, so they are hostile: every
action validates its account with validate_account before anything is run or written.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

MAX_ACCOUNT_CHARS = 320  # RFC 5321: 64 local part + @ + 255 domain
_FORBIDDEN_PUNCTUATION = frozenset(":#\"'\\`$;|&<>(){}[]*?!,")


class InvalidAccount(ValueError):
    """An account name that must not reach a map file, a passwd-file or a command line."""

    def __init__(self, value: str, problem: str) -> None:
        self.value = value
        self.problem = problem
        shown = value if len(value) <= 80 else value[:80] + "…"
        super().__init__(f"account {shown!r} rejected: {problem}")


def validate_account(value: str) -> str:
    """Return value if it is a safe account name (a login or an address); InvalidAccount if not.

    Allowed: printable non-space characters other than shell and map-file punctuation, at most
    MAX_ACCOUNT_CHARS long, not starting with '-' (it would read as an option).
    """
    if not value:
        raise InvalidAccount(value, "empty")
    if len(value) > MAX_ACCOUNT_CHARS:
        raise InvalidAccount(value, f"longer than {MAX_ACCOUNT_CHARS} characters ({len(value)})")
    if value.startswith("-"):
        raise InvalidAccount(value, "starts with '-'")
    for position, char in enumerate(value):
        problem = _char_problem(char)
        if problem:
            raise InvalidAccount(value, f"{problem} {char!r} at position {position}")
    return value


def _char_problem(char: str) -> str:
    if char.isspace():
        return "whitespace"
    if unicodedata.category(char)[0] in "CZ":
        return "control or invisible character"
    if char in _FORBIDDEN_PUNCTUATION:
        return "forbidden character"
    return ""


@dataclass(frozen=True)
class Undo:
    """How to reverse an action: the responder's operation name and its arguments."""

    operation: str
    arguments: Mapping[str, Any]


@dataclass(frozen=True)
class Action:
    """One containment step. changed is False when it found nothing to do (idempotent repeat).

    undo is None when the step cannot be reversed; no_undo_reason then says why. secret holds a
    value shown once to the administrator (a new password); it never appears in repr() or in
    record().
    """

    operation: str
    account: str
    actor: str
    reason: str
    at: datetime
    changed: bool
    result: Mapping[str, Any]
    undo: Undo | None = None
    no_undo_reason: str = ""
    secret: str | None = field(default=None, repr=False)

    def record(self) -> dict[str, Any]:
        """A JSON-ready description for the incident log, without the secret."""
        return {
            "operation": self.operation,
            "account": self.account,
            "actor": self.actor,
            "reason": self.reason,
            "at": self.at.isoformat(),
            "changed": self.changed,
            "result": dict(self.result),
            "undo": None
            if self.undo is None
            else {"operation": self.undo.operation, "arguments": dict(self.undo.arguments)},
            "no_undo_reason": self.no_undo_reason,
            "has_secret": self.secret is not None,
        }


def utc_now() -> datetime:
    """The default clock of responders (the engine never reads the wall clock; responses may)."""
    return datetime.now(UTC)
