"""The tables (SQLAlchemy Core), so that SQLite today and PostgreSQL later share one schema."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Float,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

schema_migrations = Table(
    "schema_migrations", metadata,
    Column("version", Integer, primary_key=True),
    Column("name", String(200), nullable=False),
    Column("applied_at", Float, nullable=False),
)

account_states = Table(
    "account_states", metadata,
    Column("account", String(320), primary_key=True),
    Column("data", Text, nullable=False),
    Column("updated_at", Float, nullable=False),
)

account_flags = Table(
    "account_flags", metadata,
    Column("account", String(320), primary_key=True),
    Column("quarantined", Boolean, nullable=False),
    Column("since", Float, nullable=False),
    Column("incident_id", String(64), nullable=False, default=""),
    Column("updated_at", Float, nullable=False, index=True),
    Column("updated_by", String(200), nullable=False, default=""),
    Column("note", Text, nullable=False, default=""),
)

incidents = Table(
    "incidents", metadata,
    Column("id", String(64), primary_key=True),
    Column("opened_at", Float, nullable=False, index=True),
    Column("account", String(320), nullable=False, index=True),
    Column("kind", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("status", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("data", Text, nullable=False),
    Column("closed_at", Float),
)

incident_events = Table(
    "incident_events", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(64), nullable=False, index=True),
    Column("time", Float, nullable=False),
    Column("kind", String(64), nullable=False),
    Column("data", Text, nullable=False),
)

decisions = Table(
    "decisions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False, index=True),
    Column("account", String(320), nullable=False, index=True),
    Column("instance", String(64), nullable=False),
    Column("queue_id", String(32), nullable=False, index=True),
    Column("action", String(16), nullable=False),
    Column("score", Float, nullable=False),
    Column("incident_id", String(64), nullable=False),
    Column("reasons", Text, nullable=False),
)

login_findings = Table(
    "login_findings", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("time", Float, nullable=False, index=True),
    Column("signal", String(64), nullable=False, index=True),
    Column("account", String(320), nullable=False, index=True),
    Column("address", String(64), nullable=False, index=True),
    Column("severity", String(16), nullable=False),
    Column("data", Text, nullable=False),
)

incident_checklist = Table(
    "incident_checklist", metadata,
    Column("incident_id", String(64), primary_key=True),
    Column("step", String(64), primary_key=True),
    Column("state", String(16), nullable=False),
    Column("changed_by", String(200), nullable=False, default=""),
    Column("changed_at", Float),
    Column("note", Text, nullable=False, default=""),
)

incident_actions = Table(
    "incident_actions", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("incident_id", String(64), nullable=False, index=True),
    Column("account", String(320), nullable=False, index=True),
    Column("step", String(64), nullable=False),
    Column("target", String(32), nullable=False),
    Column("operation", String(64), nullable=False),
    Column("actor", String(200), nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", String(16), nullable=False),
    Column("started_at", Float, nullable=False),
    Column("finished_at", Float),
    Column("changed", Boolean, nullable=False, default=False),
    Column("result", Text, nullable=False, default="{}"),
    Column("undo", Text, nullable=False, default="null"),
    Column("no_undo_reason", Text, nullable=False, default=""),
    Column("error", Text, nullable=False, default=""),
    Column("undo_of", Integer),
    Column("undone_by", Integer),
)
