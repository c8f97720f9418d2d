"""Queries for the incident response checklist: one row per incident and step."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert, select, update
from sqlalchemy.dialects import postgresql, sqlite

from mailwarden.store import schema
from mailwarden.store.store import Store


class ChecklistStore:
    """The ``incident_checklist`` table; a change also goes into the incident's timeline."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def incident_exists(self, incident_id: str) -> bool:
        t = schema.incidents
        with self.store.engine.connect() as conn:
            return conn.execute(select(t.c.id).where(t.c.id == incident_id)).first() is not None

    def create(self, incident_id: str, steps: Sequence[str]) -> None:
        """Add a ``todo`` row for each step the incident has no row for yet (idempotent)."""
        dialect = postgresql if self.store.engine.dialect.name == "postgresql" else sqlite
        rows = [{"incident_id": incident_id, "step": step, "state": "todo", "changed_by": "",
                 "changed_at": None, "note": ""} for step in steps]
        stmt = dialect.insert(schema.incident_checklist).on_conflict_do_nothing(
            index_elements=["incident_id", "step"])
        with self.store.lock, self.store.engine.begin() as conn:
            conn.execute(stmt, rows)

    def rows(self, incident_id: str) -> list[dict[str, Any]]:
        t = schema.incident_checklist
        with self.store.engine.connect() as conn:
            found = conn.execute(select(t).where(t.c.incident_id == incident_id)).mappings()
            return [dict(r) for r in found.all()]

    def change(self, incident_id: str, step: str, state: str, by: str, note: str,
               now: float) -> None:
        """Set one step's state and record the change in the incident timeline."""
        t = schema.incident_checklist
        with self.store.lock, self.store.engine.begin() as conn:
            conn.execute(update(t).where(t.c.incident_id == incident_id, t.c.step == step)
                         .values(state=state, changed_by=by, changed_at=now, note=note))
            conn.execute(insert(schema.incident_events).values(
                incident_id=incident_id, time=now, kind="checklist",
                data=json.dumps({"step": step, "state": state, "by": by, "note": note},
                                ensure_ascii=False)))
