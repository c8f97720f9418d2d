"""Queries over the schema. Writes come in batches from the write-behind flusher."""

from __future__ import annotations

import json
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Engine
from sqlalchemy.pool import ConnectionPoolEntry

from mailwarden.engine.incident import Incident
from mailwarden.store import schema
from mailwarden.store.migrations import upgrade


@dataclass
class Batch:
    """Everything to write in one transaction."""

    states: list[tuple[str, str]] = field(default_factory=list)
    incidents: list[Incident] = field(default_factory=list)
    events: list[tuple[str, float, str, dict[str, Any]]] = field(default_factory=list)
    flags: list[dict[str, Any]] = field(default_factory=list)
    decisions: list[dict[str, Any]] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)

    def __bool__(self) -> bool:
        return bool(self.states or self.incidents or self.events or self.flags or self.decisions
                    or self.findings)

    def merge(self, other: Batch) -> Batch:
        """This batch with ``other``'s records appended."""
        for name in ("states", "incidents", "events", "flags", "decisions", "findings"):
            getattr(self, name).extend(getattr(other, name))
        return self


def _state_data(text: str) -> dict[str, Any] | None:
    """A stored account state as a dict (None when damaged: the engine starts it afresh)."""
    try:
        data = json.loads(text)
    except ValueError:
        return None
    return data if isinstance(data, dict) else None


def _quarantine_of(data: dict[str, Any] | None) -> tuple[str, float] | None:
    """(incident id, since) when a stored state says its account is quarantined."""
    q = data.get("quarantine") if data is not None else None
    if not isinstance(q, list) or len(q) != 3 or not q[0]:
        return None
    try:
        return str(q[2]), float(q[1])
    except (TypeError, ValueError):
        return str(q[2]), 0.0


READ_STATE_QMARK = "SELECT data FROM account_states WHERE account = ?"
READ_STATE_FORMAT = "SELECT data FROM account_states WHERE account = %s"


def _sqlite_pragmas(dbapi_conn: Any, _entry: ConnectionPoolEntry) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute("PRAGMA busy_timeout=5000")
    cur.close()


class Store:
    """The SQL store (SQLite by default)."""

    def __init__(self, url: str) -> None:
        if url.startswith("sqlite:///"):
            Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
        self.engine: Engine = create_engine(url)
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        self.lock = threading.Lock()
        self._reader: Any = None
        self._read_sql = ""
        upgrade(self.engine)

    def _upsert(self, table: Any, key: str) -> Any:
        """INSERT ... ON CONFLICT UPDATE, executed with a list of rows (executemany)."""
        dialect = postgresql if self.engine.dialect.name == "postgresql" else sqlite
        stmt = dialect.insert(table)
        cols = {c.name: stmt.excluded[c.name] for c in table.columns if c.name != key}
        return stmt.on_conflict_do_update(index_elements=[key], set_=cols)

    # -- writes -------------------------------------------------------------------------
    def write(self, batch: Batch, now: float) -> None:
        if not batch:
            return
        with self.lock, self.engine.begin() as conn:
            if batch.states:
                rows = [{"account": a, "data": d, "updated_at": now} for a, d in batch.states]
                conn.execute(self._upsert(schema.account_states, "account"), rows)
            for inc in batch.incidents:
                row = {"id": inc.id, "opened_at": inc.opened_at, "account": inc.account,
                       "kind": inc.kind, "severity": inc.severity, "status": inc.status,
                       "score": inc.score, "data": json.dumps(inc.to_dict(), ensure_ascii=False),
                       "closed_at": None}
                conn.execute(self._upsert(schema.incidents, "id"), [row])
            if batch.events:
                conn.execute(insert(schema.incident_events), [
                    {"incident_id": i, "time": t, "kind": k,
                     "data": json.dumps(d, ensure_ascii=False)}
                    for i, t, k, d in batch.events])
            if batch.flags:
                last = self._next_flag_seq(conn, len(batch.flags))
                first = last - len(batch.flags) + 1
                conn.execute(self._upsert(schema.account_flags, "account"), [
                    {**flag, "seq": first + i} for i, flag in enumerate(batch.flags)])
            if batch.decisions:
                conn.execute(insert(schema.decisions), batch.decisions)
            if batch.findings:
                conn.execute(insert(schema.login_findings), [
                    {"time": f["epoch"], "signal": f["signal"], "account": f["account"],
                     "address": f["address"], "severity": f["severity"],
                     "data": json.dumps(f, ensure_ascii=False)} for f in batch.findings])

    @staticmethod
    def _next_flag_seq(conn: Any, count: int = 1) -> int:
        """Reserve ``count`` numbers of the flag sequence; returns the last. The counter row
        stays locked until this transaction ends, so numbers follow the commit order."""
        c = schema.store_counters
        bumped = conn.execute(update(c).where(c.c.name == "account_flags")
                              .values(value=c.c.value + count))
        if bumped.rowcount == 0:  # the row is created by migration 9; never fail a write on it
            conn.execute(insert(c).values(name="account_flags", value=count))
        return int(conn.execute(select(c.c.value).where(c.c.name == "account_flags"))
                   .scalar_one())

    def flag_seq(self) -> int:
        """The number of the latest flag change (0 before any)."""
        c = schema.store_counters
        with self.engine.connect() as conn:
            found = conn.execute(select(c.c.value).where(c.c.name == "account_flags")).scalar()
        return int(found or 0)

    # -- account state ------------------------------------------------------------------
    def load_state(self, account: str) -> str | None:
        """One account's state (on the decision path: a plain DB-API query, no ORM layers)."""
        if self._reader is None:
            self._reader = self.engine.raw_connection()
            qmark = self.engine.dialect.paramstyle == "qmark"
            self._read_sql = READ_STATE_QMARK if qmark else READ_STATE_FORMAT
        cursor = self._reader.cursor()
        try:
            cursor.execute(self._read_sql, (account,))
            row = cursor.fetchone()
        finally:
            cursor.close()
        if self.engine.dialect.name == "postgresql":
            self._reader.commit()
        return None if row is None else str(row[0])

    def inserted_states(self) -> int | None:
        """How many account states were ever inserted (SQLite: the highest rowid; rows are
        updated in place, never deleted), or None where that is not known cheaply."""
        if self.engine.dialect.name != "sqlite":
            return None
        with self.engine.connect() as conn:
            found = conn.exec_driver_sql("SELECT max(rowid) FROM account_states").scalar()
        return int(found or 0)

    def flag(self, account: str) -> dict[str, Any] | None:
        """The account's quarantine flag, if it ever had one."""
        t = schema.account_flags
        with self.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.account == account)).mappings().first()
        return None if row is None else dict(row)

    def flags_after(self, seq: int) -> list[dict[str, Any]]:
        """Flags changed after change number ``seq``, in the order of their changes."""
        t = schema.account_flags
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.seq > seq)
                                .order_by(t.c.seq)).mappings().all()
        return [dict(r) for r in rows]

    def quarantined(self) -> list[dict[str, Any]]:
        t = schema.account_flags
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.quarantined.is_(True))
                                .order_by(t.c.since)).mappings().all()
        return [dict(r) for r in rows]

    def release(self, account: str, now: float, by: str, note: str = "") -> str | None:
        """Mark an account released; returns its incident id, or None if it was not held.

        Held means its flag or its stored state says quarantined (a state written back after
        an earlier release, or whose flag was never written). The stored state's quarantine
        and windows are cleared: the attack's burst must not count against the owner."""
        t, states = schema.account_flags, schema.account_states
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(t).where(t.c.account == account)).mappings().first()
            found = conn.execute(select(states.c.data).where(states.c.account == account)).first()
            data = _state_data(found[0]) if found is not None else None
            held = _quarantine_of(data)
            if row is not None and row["quarantined"]:
                incident_id, since = str(row["incident_id"]), float(row["since"])
            elif held is not None:
                incident_id, since = held
            else:
                return None
            values = {"quarantined": False, "updated_at": now, "updated_by": by, "note": note,
                      "seq": self._next_flag_seq(conn)}
            if row is None:
                conn.execute(insert(t).values(account=account, since=since,
                                              incident_id=incident_id, **values))
            else:
                conn.execute(update(t).where(t.c.account == account).values(**values))
            conn.execute(insert(schema.incident_events).values(
                incident_id=incident_id, time=now, kind="released",
                data=json.dumps({"account": account, "by": by, "note": note},
                                ensure_ascii=False)))
            if data is not None:
                data["quarantine"] = [False, 0.0, ""]
                data["windows"] = {}
                conn.execute(update(states).where(states.c.account == account).values(
                    data=json.dumps(data, separators=(",", ":")), updated_at=now))
        return incident_id

    def quarantine(self, account: str, incident_id: str, now: float, by: str,
                   note: str = "") -> bool:
        """Mark an account quarantined (a running service picks the flag up); False if it
        already was."""
        t = schema.account_flags
        with self.lock, self.engine.begin() as conn:
            row = conn.execute(select(t).where(t.c.account == account)).mappings().first()
            if row is not None and row["quarantined"]:
                return False
            values = {"quarantined": True, "since": now, "incident_id": incident_id,
                      "updated_at": now, "updated_by": by, "note": note,
                      "seq": self._next_flag_seq(conn)}
            if row is None:
                conn.execute(insert(t).values(account=account, **values))
            else:
                conn.execute(update(t).where(t.c.account == account).values(**values))
            state = conn.execute(select(schema.account_states.c.data).where(
                schema.account_states.c.account == account)).first()
            if state is not None:
                data = json.loads(state[0])
                data["quarantine"] = [True, now, incident_id]
                conn.execute(update(schema.account_states).where(
                    schema.account_states.c.account == account).values(
                    data=json.dumps(data, separators=(",", ":")), updated_at=now))
        return True

    # -- incidents ----------------------------------------------------------------------
    def incidents(self, limit: int = 100, status: str | None = None) -> list[dict[str, Any]]:
        t = schema.incidents
        query = select(t.c.data, t.c.status).order_by(t.c.opened_at.desc()).limit(limit)
        if status:
            query = query.where(t.c.status == status)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return [{**json.loads(r[0]), "status": r[1]} for r in rows]

    def incident(self, incident_id: str) -> dict[str, Any] | None:
        t, ev, dec = schema.incidents, schema.incident_events, schema.decisions
        with self.engine.connect() as conn:
            row = conn.execute(select(t.c.data, t.c.status).where(t.c.id == incident_id)).first()
            if row is None:
                return None
            events = conn.execute(select(ev.c.time, ev.c.kind, ev.c.data).where(
                ev.c.incident_id == incident_id).order_by(ev.c.time, ev.c.id)).all()
            held = conn.execute(select(dec.c.time, dec.c.queue_id, dec.c.action).where(
                dec.c.incident_id == incident_id).order_by(dec.c.time)).all()
        out: dict[str, Any] = {**json.loads(row[0]), "status": row[1]}
        out["timeline"] = [{"time": e[0], "kind": e[1], **json.loads(e[2])} for e in events]
        out["decisions"] = [{"time": h[0], "queue_id": h[1], "action": h[2]} for h in held]
        return out

    def decisions(self, since: float = 0.0, account: str | None = None) -> list[dict[str, Any]]:
        t = schema.decisions
        query = select(t).where(t.c.time >= since).order_by(t.c.time, t.c.id)
        if account:
            query = query.where(t.c.account == account)
        with self.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def findings(self, since: float = 0.0, account: str | None = None,
                 limit: int = 1000) -> list[dict[str, Any]]:
        t = schema.login_findings
        query = select(t.c.data).where(t.c.time >= since).order_by(t.c.time.desc()).limit(limit)
        if account:
            query = query.where(t.c.account == account)
        with self.engine.connect() as conn:
            return [json.loads(r[0]) for r in conn.execute(query).all()]
