"""The tables (SQLAlchemy Core), so that SQLite today and PostgreSQL later share one schema."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
    text,
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
    # the store's order of flag changes (store_counters "account_flags"): polled instead of
    # updated_at, which is each writer's wall clock (migration 9)
    Column("seq", BigInteger, nullable=False, default=0, server_default="0", index=True),
)

store_counters = Table(
    "store_counters", metadata,
    Column("name", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
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

# -- DMARC aggregate and failure reports, SMTP TLS reports (mailwarden dmarc import) -----------
# Key fields are capped at 255 characters by the readers; JSON columns hold small lists.

dmarc_reports = Table(
    "dmarc_reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_name", String(255), nullable=False),
    Column("report_id", String(255), nullable=False),
    Column("domain", String(255), nullable=False, index=True),
    Column("schema", String(16), nullable=False),
    Column("email", Text, nullable=False, default=""),
    Column("date_begin", BigInteger, nullable=False),
    Column("date_end", BigInteger, nullable=False, index=True),
    Column("policy", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("warnings", Text, nullable=False, default="[]"),
    Column("records", Integer, nullable=False),
    Column("messages", BigInteger, nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("imported_at", Float, nullable=False),
    UniqueConstraint("org_name", "report_id", "domain", name="uq_dmarc_reports_key"),
)

dmarc_records = Table(
    "dmarc_records", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report", Integer, nullable=False, index=True),
    Column("source_ip", String(64), nullable=False, index=True),
    Column("count", BigInteger, nullable=False),
    Column("disposition", String(16), nullable=False),
    Column("dkim", String(8), nullable=False),
    Column("spf", String(8), nullable=False),
    Column("header_from", Text, nullable=False),
    Column("envelope_from", Text, nullable=False, default=""),
    Column("envelope_to", Text, nullable=False, default=""),
    Column("reasons", Text, nullable=False, default="[]"),
    Column("dkim_results", Text, nullable=False, default="[]"),
    Column("spf_results", Text, nullable=False, default="[]"),
)

dmarc_failures = Table(
    "dmarc_failures", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(64), nullable=False, unique=True),
    Column("format", String(16), nullable=False),
    Column("reporter", Text, nullable=False),
    Column("domain", String(255), nullable=False, index=True),
    Column("source_ip", String(64), nullable=False),
    Column("arrival", Text, nullable=False),
    Column("time", Float, nullable=False, index=True),
    Column("data", Text, nullable=False),
    Column("source", Text, nullable=False, default=""),
    Column("imported_at", Float, nullable=False),
)

tlsrpt_reports = Table(
    "tlsrpt_reports", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("org_name", String(255), nullable=False),
    Column("report_id", String(255), nullable=False),
    Column("contact_info", Text, nullable=False, default=""),
    Column("date_begin", Float, nullable=False),
    Column("date_end", Float, nullable=False, index=True),
    Column("warnings", Text, nullable=False, default="[]"),
    Column("source", Text, nullable=False, default=""),
    Column("imported_at", Float, nullable=False),
    UniqueConstraint("org_name", "report_id", name="uq_tlsrpt_reports_key"),
)

tlsrpt_policies = Table(
    "tlsrpt_policies", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("report", Integer, nullable=False, index=True),
    Column("policy_type", Text, nullable=False),
    Column("policy_domain", String(255), nullable=False, index=True),
    Column("successful", BigInteger, nullable=False),
    Column("failed", BigInteger, nullable=False),
    Column("policy_string", Text, nullable=False, default="[]"),
    Column("mx_host", Text, nullable=False, default="[]"),
    Column("failures", Text, nullable=False, default="[]"),
)

inbound_correspondents = Table(
    "inbound_correspondents", metadata,
    Column("recipient", String(320), primary_key=True),
    Column("sender", String(320), primary_key=True),
    Column("first_seen", Float, nullable=False),
    Column("last_seen", Float, nullable=False),
    Column("messages", Integer, nullable=False),
    Column("with_links", Integer, nullable=False),
    Column("with_payment", Integer, nullable=False),
)

# -- the administrators' API: per-person tokens with a role (mailwarden api token add) --------
# Only the SHA-256 of a token is kept. A revoked row stays (the evidence names its holder); a
# name has at most one token that is not revoked, compared by ``name_key`` (the name NFKC
# normalised and case folded: "Yamada", "yamada" and "ｙａｍａｄａ" are one key), which the
# database enforces with a partial unique index, so two processes cannot both issue one.
# (Migration 7 created the table without ``name_key``; migration 8 added it.)
ACTIVE_TOKEN = text("revoked_at IS NULL")

api_tokens = Table(
    "api_tokens", metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(64), nullable=False),
    Column("role", String(16), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", Float, nullable=False),
    Column("created_by", String(200), nullable=False, default=""),
    Column("last_used_at", Float),
    Column("revoked_at", Float),
    Column("revoked_by", String(200), nullable=False, default=""),
    Column("name_key", Text, nullable=False, server_default=""),
    Index("uq_api_tokens_active_name_key", "name_key", unique=True, sqlite_where=ACTIVE_TOKEN,
          postgresql_where=ACTIVE_TOKEN),
)
