"""Queries for the record of containment actions: one row per action, written in two steps.

``begin`` commits a ``started`` row before anything is run, ``finish`` completes it; a process
that dies in between leaves the ``started`` row, so the record always shows what was attempted.
Each change also goes into the incident's timeline.

``result`` and ``undo`` are stored whole, however large: an undo is only usable complete (a
hold of 120,000 queued messages must release exactly those), and a result is evidence (held
queue ids, the copies of deleted messages, Sieve scripts an attacker may have padded). The
columns are Text, which SQLite and PostgreSQL keep at many megabytes. Only the timeline entry,
a summary, is bounded.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import insert, select, update

from mailwarden.store import schema
from mailwarden.store.store import Store

STATUSES = ("started", "done", "failed", "skipped", "planned")
MAX_REASON = 2000  # characters of the reason repeated in a timeline entry


def _json(value: Any) -> str:
    """value as JSON, whole: never cut (see the module's docstring)."""
    return json.dumps(value, ensure_ascii=False, default=str)


class ActionStore:
    """The ``incident_actions`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def begin(self, *, incident_id: str, account: str, step: str, target: str, operation: str,
              actor: str, reason: str, now: float, status: str = "started",
              undo_of: int | None = None) -> int:
        """Record an action about to run (or a plan, or a skip); returns its id."""
        t = schema.incident_actions
        row = {"incident_id": incident_id, "account": account, "step": step, "target": target,
               "operation": operation, "actor": actor, "reason": reason, "status": status,
               "started_at": now, "finished_at": None if status == "started" else now,
               "changed": False, "result": "{}", "undo": "null", "no_undo_reason": "",
               "error": "", "undo_of": undo_of, "undone_by": None}
        with self.store.lock, self.store.engine.begin() as conn:
            key = conn.execute(insert(t).values(**row)).inserted_primary_key
            action_id = int(key[0]) if key is not None else 0
            conn.execute(insert(schema.incident_events).values(
                incident_id=incident_id, time=now, kind="action",
                data=_json({"action": action_id, "step": step, "target": target,
                            "operation": operation, "status": status, "by": actor,
                            "reason": reason[:MAX_REASON]})))
        return action_id

    def finish(self, action_id: int, *, status: str, now: float, changed: bool = False,
               result: dict[str, Any] | None = None, undo: dict[str, Any] | None = None,
               no_undo_reason: str = "", error: str = "") -> None:
        """Complete a started action (done or failed) and add the outcome to the timeline."""
        t = schema.incident_actions
        with self.store.lock, self.store.engine.begin() as conn:
            row = conn.execute(select(t.c.incident_id, t.c.step, t.c.operation, t.c.actor)
                               .where(t.c.id == action_id)).first()
            if row is None:
                raise KeyError(action_id)
            conn.execute(update(t).where(t.c.id == action_id).values(
                status=status, finished_at=now, changed=changed, result=_json(result or {}),
                undo=_json(undo), no_undo_reason=no_undo_reason, error=error[:4000]))
            conn.execute(insert(schema.incident_events).values(
                incident_id=row[0], time=now, kind="action",
                data=_json({"action": action_id, "step": row[1], "operation": row[2],
                            "status": status, "changed": changed, "by": row[3],
                            "error": error[:500]})))

    def mark_undone(self, action_id: int, undone_by: int) -> None:
        t = schema.incident_actions
        with self.store.lock, self.store.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == action_id).values(undone_by=undone_by))

    def get(self, action_id: int) -> dict[str, Any] | None:
        t = schema.incident_actions
        with self.store.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == action_id)).mappings().first()
        return None if row is None else _decode(dict(row))

    def for_incident(self, incident_id: str) -> list[dict[str, Any]]:
        """The incident's actions in the order they were started."""
        t = schema.incident_actions
        with self.store.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.incident_id == incident_id)
                                .order_by(t.c.id)).mappings().all()
        return [_decode(dict(r)) for r in rows]


def _decode(row: dict[str, Any]) -> dict[str, Any]:
    row["result"] = json.loads(row["result"] or "{}")
    row["undo"] = json.loads(row["undo"] or "null")
    row["changed"] = bool(row["changed"])
    return row
