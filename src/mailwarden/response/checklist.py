"""The incident response checklist for a hijacked mailbox.

The steps follow common incident-response practice: regain the account from a clean device,
cut the intruder off, warn people through another channel, look for what the intruder left
behind (forwarding rules), keep the evidence, report, repair trust, harden, audit. Each incident
gets its own copy on first use; every step has a state, who changed it, when and a note. Steps
Mailwarden performs itself are ticked with :meth:`Checklist.tick`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailwarden import i18n
from mailwarden.store.checklist_store import ChecklistStore
from mailwarden.store.store import Store
from mailwarden.timefmt import iso

STEPS: tuple[str, ...] = (
    "change_password",
    "end_sessions",
    "notify_contacts",
    "check_forwarding",
    "preserve_evidence",
    "report_police",
    "apologise_partners",
    "prevent_recurrence",
    "audit",
)
STATES: tuple[str, ...] = ("todo", "done", "skipped", "n/a")
MARKS = {"todo": "[ ]", "done": "[x]", "skipped": "[-]", "n/a": "[/]"}
MAX_NOTE = 2000
MAX_BY = 200


class ChecklistError(ValueError):
    """A checklist request that cannot be carried out; ``value`` is what was wrong."""

    key = "checklist.error.state"

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return i18n.render(self.key, lang, value=self.value, steps=", ".join(STEPS),
                           states=", ".join(STATES))


class UnknownStep(ChecklistError):
    """A step id that is not on the checklist."""

    key = "checklist.error.step"


class UnknownState(ChecklistError):
    """A state other than todo, done, skipped, n/a."""

    key = "checklist.error.state"


class UnknownIncident(ChecklistError):
    """An incident id that is not in the store."""

    key = "checklist.error.incident"


class BadAssignment(ChecklistError):
    """A ``--set`` value that is not ``STEP=STATE``."""

    key = "checklist.error.assignment"


@dataclass(frozen=True)
class Entry:
    """One step of one incident's checklist."""

    step: str
    state: str = "todo"
    by: str = ""
    at: float | None = None
    note: str = ""

    def label(self, lang: str) -> str:
        return i18n.render(f"checklist.{self.step}", lang) if self.step in STEPS else self.step

    def to_dict(self) -> dict[str, Any]:
        return {"step": self.step, "state": self.state, "by": self.by,
                "at": iso(self.at) if self.at is not None else None, "note": self.note,
                "en": self.label("en"), "ja": self.label("ja")}


def _text(value: str) -> str:
    """A command-line value as storable UTF-8 (undecodable bytes shown as escapes)."""
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def parse_assignment(text: str) -> tuple[str, str]:
    """``STEP=STATE`` → (step, state), both checked."""
    step, sep, state = text.partition("=")
    if not sep:
        raise BadAssignment(text)
    step, state = step.strip(), state.strip().lower()
    if step not in STEPS:
        raise UnknownStep(step)
    if state not in STATES:
        raise UnknownState(state)
    return step, state


class Checklist:
    """The checklists of all incidents, kept in the store."""

    def __init__(self, store: Store, clock: Callable[[], float] = time.time) -> None:
        self.rows = ChecklistStore(store)
        self.clock = clock

    def entries(self, incident_id: str) -> list[Entry]:
        """The incident's checklist in step order; created (all ``todo``) on first use."""
        if not self.rows.incident_exists(incident_id):
            raise UnknownIncident(incident_id)
        self.rows.create(incident_id, STEPS)
        found = {r["step"]: Entry(r["step"], r["state"], r["changed_by"], r["changed_at"],
                                  r["note"]) for r in self.rows.rows(incident_id)}
        order = [s for s in STEPS if s in found] + sorted(set(found) - set(STEPS))
        return [found[s] for s in order]

    def set(self, incident_id: str, step: str, state: str, by: str, note: str = "") -> Entry:
        """Change one step; returns it as stored now."""
        if step not in STEPS:
            raise UnknownStep(step)
        if state not in STATES:
            raise UnknownState(state)
        self.entries(incident_id)
        self.rows.change(incident_id, step, state, _text(by)[:MAX_BY], _text(note)[:MAX_NOTE],
                         self.clock())
        return self._entry(incident_id, step)

    def tick(self, incident_id: str, step: str, by: str = "mailwarden", note: str = "") -> Entry:
        """Mark a step done that Mailwarden (or ``by``) performed; a done step stays as it is."""
        current = self._entry(incident_id, step)
        if current.state == "done":
            return current
        return self.set(incident_id, step, "done", by, note)

    def _entry(self, incident_id: str, step: str) -> Entry:
        if step not in STEPS:
            raise UnknownStep(step)
        return next(e for e in self.entries(incident_id) if e.step == step)


def render(incident_id: str, entries: list[Entry], lang: str) -> list[str]:
    """The checklist as lines for a terminal, in ``lang``."""
    done = sum(1 for e in entries if e.state in ("done", "n/a", "skipped"))
    lines = [i18n.render("checklist.title", lang, incident=incident_id, done=done,
                         total=len(entries))]
    width = max((len(e.step) for e in entries), default=0)
    for entry in entries:
        lines.append(f"  {MARKS.get(entry.state, '[?]')} {entry.step:<{width}}  "
                     f"{entry.label(lang)}")
        if entry.at is not None:
            state = i18n.render(f"checklist.state.{entry.state}", lang)
            detail = f"      {state}: {entry.by} {iso(entry.at)}"
            lines.append(detail + (f" — {entry.note}" if entry.note else ""))
    return lines
