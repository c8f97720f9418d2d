"""Schema migrations, numbered from the first day.

Each migration is a function of a connection; ``upgrade`` applies the ones not yet recorded in
``schema_migrations``, in order, each in its own transaction. A new version appends a function;
an applied one is never edited. A migration creates a table as it was at its version: when a
later one alters the table, the earlier one keeps its own copy of the old definition (as
``_V7_API_TOKENS``), so a new database goes through the same steps as an old one. (Alembic was
weighed: for a handful of Core tables that must also be created by ``mailwarden`` itself on
first start, a numbered list is enough and needs no script folder or environment file at run
time.)
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from sqlalchemy import (
    Column,
    Connection,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    column,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy import table as lightweight_table
from sqlalchemy.exc import DBAPIError

from mailwarden.store import schema
from mailwarden.store.tokens_store import name_key

log = logging.getLogger("mailwarden.store")


def _v1_initial(conn: Connection) -> None:
    for table in (schema.account_states, schema.account_flags, schema.incidents,
                  schema.incident_events, schema.decisions):
        table.create(conn, checkfirst=True)


def _v2_login_findings(conn: Connection) -> None:
    schema.login_findings.create(conn, checkfirst=True)


def _v3_incident_checklist(conn: Connection) -> None:
    schema.incident_checklist.create(conn, checkfirst=True)


def _v4_incident_actions(conn: Connection) -> None:
    schema.incident_actions.create(conn, checkfirst=True)


def _v5_reports(conn: Connection) -> None:
    for table in (schema.dmarc_reports, schema.dmarc_records, schema.dmarc_failures,
                  schema.tlsrpt_reports, schema.tlsrpt_policies):
        table.create(conn, checkfirst=True)


def _v6_inbound_correspondents(conn: Connection) -> None:
    schema.inbound_correspondents.create(conn, checkfirst=True)


# api_tokens as migration 7 created it (migration 8 added name_key and its index).
_V7_ACTIVE = text("revoked_at IS NULL")
_V7_API_TOKENS = Table(
    "api_tokens", MetaData(),
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(200), nullable=False, default=""),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
    Column("revoked_by", String(200), nullable=False, default=""),
    Index("uq_api_tokens_active_name", "name", unique=True, sqlite_where=_V7_ACTIVE,
          postgresql_where=_V7_ACTIVE),
)


def _v7_api_tokens(conn: Connection) -> None:
    _V7_API_TOKENS.create(conn, checkfirst=True)


DUPLICATE_REVOKER = "migration 8 (duplicate name)"


def _v8_api_token_name_key(conn: Connection) -> None:
    """Add ``name_key`` (NFKC + casefold, computed here: SQL cannot), revoke all but the
    oldest of active tokens whose names share a key, and let a partial unique index keep
    it so: the case-sensitive index on ``name`` could not stop "Yamada" and "yamada"."""
    if "name_key" not in {c["name"] for c in inspect(conn).get_columns("api_tokens")}:
        conn.execute(text("ALTER TABLE api_tokens ADD COLUMN name_key TEXT NOT NULL DEFAULT ''"))
    t = lightweight_table("api_tokens", column("id"), column("name"), column("name_key"),
              column("created_at"), column("revoked_at"), column("revoked_by"))
    rows = conn.execute(select(t.c.id, t.c.name, t.c.revoked_at)
                        .order_by(t.c.created_at, t.c.id)).all()
    kept: dict[str, tuple[int, str]] = {}
    for token_id, name, revoked_at in rows:
        key = name_key(name)
        conn.execute(update(t).where(t.c.id == token_id).values(name_key=key))
        if revoked_at is not None:
            continue
        if key not in kept:
            kept[key] = (token_id, name)
            continue
        conn.execute(update(t).where(t.c.id == token_id).values(
            revoked_at=time.time(), revoked_by=DUPLICATE_REVOKER))
        log.warning("migration 8: API token %d of %r revoked: token %d of %r has the same name "
                    "regardless of case and width and stays; issue a new token to whoever "
                    "needs one", token_id, name, *kept[key])
    for index in inspect(conn).get_indexes("api_tokens"):  # migration 7's, by any name
        if index["unique"] and index["column_names"] == ["name"] and index["name"]:
            quoted = index["name"].replace('"', '""')
            conn.execute(text(f'DROP INDEX IF EXISTS "{quoted}"'))
    conn.execute(text("CREATE UNIQUE INDEX IF NOT EXISTS uq_api_tokens_active_name_key "
                      "ON api_tokens (name_key) WHERE revoked_at IS NULL"))


def _v9_flag_sequence(conn: Connection) -> None:
    """Add ``account_flags.seq`` and the counter that numbers flag changes in commit order
    (a writer updates the counter row in its transaction, so the next waits for it)."""
    if "seq" not in {c["name"] for c in inspect(conn).get_columns("account_flags")}:
        conn.execute(text("ALTER TABLE account_flags ADD COLUMN seq BIGINT NOT NULL DEFAULT 0"))
    conn.execute(text("CREATE INDEX IF NOT EXISTS ix_account_flags_seq ON account_flags (seq)"))
    schema.store_counters.create(conn, checkfirst=True)
    counter = schema.store_counters
    if conn.execute(select(counter.c.value).where(counter.c.name == "account_flags")).first() \
            is None:
        conn.execute(counter.insert().values(name="account_flags", value=0))


MIGRATIONS: list[tuple[int, str, Callable[[Connection], None]]] = [
    (1, "initial schema: account state, flags, incidents, incident events, decisions",
     _v1_initial),
    (2, "login guard findings", _v2_login_findings),
    (3, "incident response checklist", _v3_incident_checklist),
    (4, "containment actions: who, when, why, result, undo", _v4_incident_actions),
    (5, "DMARC aggregate and failure reports, SMTP TLS reports", _v5_reports),
    (6, "inbound correspondents: who wrote to whom, with links or payment requests",
     _v6_inbound_correspondents),
    (7, "API tokens: one per person, with a role; only their SHA-256 is kept", _v7_api_tokens),
    (8, "API token names unique regardless of case and width, in the database too",
     _v8_api_token_name_key),
    (9, "account flags ordered by a store sequence, not by their writers' clocks",
     _v9_flag_sequence),
]


def current_version(engine: Engine) -> int:
    if not inspect(engine).has_table("schema_migrations"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(schema.schema_migrations.c.version)).scalars().all()
    return max(versions, default=0)


def upgrade(engine: Engine) -> list[int]:
    """Apply pending migrations; returns the versions this call applied.

    Two processes may start on the same old database at once (``serve`` and an administrator's
    command). A step can then fail because the other one did the same meanwhile (a table or
    column already there, the version row already recorded); every step checks what is there
    before changing it, so the whole upgrade is tried again, from the version recorded by then,
    a few times before the error is let through."""
    applied: list[int] = []
    for attempt in range(UPGRADE_ATTEMPTS):
        try:
            _upgrade_once(engine, applied)
            return applied
        except DBAPIError:
            if attempt == UPGRADE_ATTEMPTS - 1:
                raise
            log.info("schema upgrade met another process's upgrade; trying again")
            time.sleep(0.1 * (attempt + 1))
    return applied


UPGRADE_ATTEMPTS = 5


def _upgrade_once(engine: Engine, applied: list[int]) -> None:
    with engine.begin() as conn:
        schema.schema_migrations.create(conn, checkfirst=True)
    done = current_version(engine)
    for version, name, step in MIGRATIONS:
        if version <= done:
            continue
        with engine.begin() as conn:
            step(conn)
            conn.execute(schema.schema_migrations.insert().values(
                version=version, name=name, applied_at=time.time()))
        applied.append(version)
