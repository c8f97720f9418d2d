"""Schema migrations, numbered from the first day.

Each migration is a function of a connection; ``upgrade`` applies the ones not yet recorded in
``schema_migrations``, in order, each in its own transaction. A new version appends a function;
an applied one is never edited. (Alembic was weighed: for a handful of Core tables that must
also be created by ``mailwarden`` itself on first start, a numbered list is enough and needs no
script folder or environment file at run time.)
"""

from __future__ import annotations

import time
from collections.abc import Callable

from sqlalchemy import Connection, Engine, inspect, select

from mailwarden.store import schema


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


def _v7_api_tokens(conn: Connection) -> None:
    schema.api_tokens.create(conn, checkfirst=True)


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
]


def current_version(engine: Engine) -> int:
    if not inspect(engine).has_table("schema_migrations"):
        return 0
    with engine.connect() as conn:
        versions = conn.execute(select(schema.schema_migrations.c.version)).scalars().all()
    return max(versions, default=0)


def upgrade(engine: Engine) -> list[int]:
    """Apply pending migrations; returns the versions applied."""
    with engine.begin() as conn:
        schema.schema_migrations.create(conn, checkfirst=True)
    done = current_version(engine)
    applied = []
    for version, name, step in MIGRATIONS:
        if version <= done:
            continue
        with engine.begin() as conn:
            step(conn)
            conn.execute(schema.schema_migrations.insert().values(
                version=version, name=name, applied_at=time.time()))
        applied.append(version)
    return applied
