"""Migration 8 and the database's own uniqueness of API token names: a version 7 database
with tokens (duplicates from a race among them) is upgraded without failing, the later
duplicates are revoked and logged, a new database ends with the same table, and two stores
over one file (as ``serve`` and ``mailwarden api token add`` are) cannot both issue a token to
"Yamada" and "ｙａｍａｄａ"."""

from __future__ import annotations

import logging
import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, create_engine, insert, inspect, select, text
from sqlalchemy.exc import IntegrityError

from mailwarden.store import schema
from mailwarden.store.migrations import DUPLICATE_REVOKER, MIGRATIONS, current_version
from mailwarden.store.store import Store
from mailwarden.store.tokens_store import TokenExists, TokenStore, name_key

V7_INSERT = text(
    "INSERT INTO api_tokens (id, name, role, token_hash, created_at, created_by, last_used_at,"
    " revoked_at, revoked_by) VALUES (:id, :name, 'viewer', :hash, :created, 'old', NULL,"
    " :revoked, :by)")
# What version 7 may hold: "Yamada" and "yamada" both active (the race), one width variant
# revoked long ago, and a pair whose older token has the higher id.
V7_ROWS = [
    (1, "Yamada", 100.0, None, ""),
    (2, "yamada", 200.0, None, ""),
    (3, "ｙａｍａｄａ", 50.0, 60.0, "admin"),
    (4, "Suzuki", 300.0, None, ""),
    (5, "ＳＵＺＵＫＩ", 250.0, None, ""),
    (6, "tanaka", 400.0, None, ""),
]


def database_at(url: str, version: int) -> Engine:
    """A database as ``mailwarden`` of schema ``version`` left it (its own migrations)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        schema.schema_migrations.create(conn)
        for number, name, step in MIGRATIONS[:version]:
            step(conn)
            conn.execute(schema.schema_migrations.insert().values(
                version=number, name=name, applied_at=0.0))
    return engine


def v7_with_tokens(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'v7.db'}"
    engine = database_at(url, 7)
    with engine.begin() as conn:
        for token_id, name, created, revoked, by in V7_ROWS:
            conn.execute(V7_INSERT, {"id": token_id, "name": name, "hash": f"h{token_id}",
                                     "created": created, "revoked": revoked, "by": by})
    assert current_version(engine) == 7
    engine.dispose()
    return url


def rows(store: Store) -> dict[int, dict[str, Any]]:
    t = schema.api_tokens
    with store.engine.connect() as conn:
        return {r["id"]: dict(r) for r in conn.execute(select(t)).mappings()}


def shape(engine: Engine) -> tuple[set[str], dict[str, tuple[tuple[str, ...], bool]]]:
    """The columns of api_tokens, and its indexes (columns, unique)."""
    found = inspect(engine)
    columns = {c["name"] for c in found.get_columns("api_tokens")}
    indexes = {i["name"] or "": (tuple(c or "" for c in i["column_names"]), bool(i["unique"]))
               for i in found.get_indexes("api_tokens")}
    return columns, indexes


def test_a_v7_database_with_duplicate_names_is_migrated_and_the_later_ones_revoked(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """Every row gets its key; of active tokens sharing a key the oldest stays and the others
    are revoked by "migration 8 (duplicate name)", each named in a warning; revoked rows are
    left as they were."""
    url = v7_with_tokens(tmp_path)
    with caplog.at_level(logging.WARNING, logger="mailwarden.store"):
        store = Store(url)
    assert current_version(store.engine) == MIGRATIONS[-1][0] >= 8
    found = rows(store)
    assert {i: r["name_key"] for i, r in found.items()} == {
        i: name_key(name) for i, name, *_ in V7_ROWS}
    assert {i for i, r in found.items() if r["revoked_at"] is None} == {1, 5, 6}
    assert found[2]["revoked_by"] == found[4]["revoked_by"] == DUPLICATE_REVOKER
    assert (found[3]["revoked_at"], found[3]["revoked_by"]) == (60.0, "admin")
    warned = [r.getMessage() for r in caplog.records if "migration 8" in r.getMessage()]
    assert len(warned) == 2
    assert "'yamada'" in warned[0] and "'Yamada'" in warned[0]
    assert "'Suzuki'" in warned[1] and "'ＳＵＺＵＫＩ'" in warned[1]

    tokens = TokenStore(store)
    with pytest.raises(TokenExists):
        tokens.add(name="YAMADA", role="admin", token_hash="new", now=1.0, by="t")
    assert tokens.revoke("suzuki", 2.0, "t") == "ＳＵＺＵＫＩ"
    assert tokens.add(name="suzuki", role="admin", token_hash="new", now=3.0, by="t") > 6


def test_a_v7_database_without_duplicates_migrates_quietly(
        tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """No duplicates: nothing is revoked and nothing is logged; an empty table migrates too."""
    url = f"sqlite:///{tmp_path / 'v7.db'}"
    engine = database_at(url, 7)
    with engine.begin() as conn:
        conn.execute(V7_INSERT, {"id": 1, "name": "Yamada", "hash": "h1", "created": 1.0,
                                 "revoked": None, "by": ""})
    engine.dispose()
    with caplog.at_level(logging.WARNING, logger="mailwarden.store"):
        store = Store(url)
    assert [(r["name_key"], r["revoked_at"]) for r in rows(store).values()] == [("yamada", None)]
    assert not caplog.records
    empty = f"sqlite:///{tmp_path / 'empty.db'}"
    database_at(empty, 7).dispose()
    assert current_version(Store(empty).engine) == MIGRATIONS[-1][0]


def test_a_migrated_database_has_the_table_of_a_new_one(tmp_path: Path) -> None:
    """Same columns and indexes either way: the case-sensitive index of version 7 is gone,
    the partial unique index on name_key is there."""
    migrated = Store(v7_with_tokens(tmp_path)).engine
    new = Store(f"sqlite:///{tmp_path / 'new.db'}").engine
    assert shape(migrated) == shape(new)
    columns, indexes = shape(new)
    assert "name_key" in columns and "uq_api_tokens_active_name" not in indexes
    assert indexes["uq_api_tokens_active_name_key"] == (("name_key",), True)


def test_the_database_itself_refuses_a_second_active_key(tmp_path: Path) -> None:
    """A row written past TokenStore with an active key already taken is refused by the
    index; a revoked one with that key is not."""
    store = Store(f"sqlite:///{tmp_path / 'x.db'}")
    TokenStore(store).add(name="Yamada", role="viewer", token_hash="a", now=1.0, by="t")
    row = {"name": "yamada", "name_key": "yamada", "role": "admin", "created_at": 2.0}
    with pytest.raises(IntegrityError), store.engine.begin() as conn:
        conn.execute(insert(schema.api_tokens).values(token_hash="b", **row))
    with store.engine.begin() as conn:
        conn.execute(insert(schema.api_tokens).values(token_hash="c", revoked_at=3.0, **row))


def race(first: tuple[TokenStore, str], second: tuple[TokenStore, str]) -> list[str]:
    """Both add their name at the same moment, each from its own thread: what each got."""
    start, outcomes = threading.Barrier(2), []

    def add(tokens: TokenStore, name: str) -> None:
        start.wait()
        try:
            tokens.add(name=name, role="viewer", token_hash=f"hash of {name}", now=3.0, by="t")
            outcomes.append("added")
        except TokenExists:
            outcomes.append("exists")

    racers = [threading.Thread(target=add, args=pair) for pair in (first, second)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(30)
    return sorted(outcomes)


def test_two_stores_on_one_file_cannot_both_add_one_name(tmp_path: Path) -> None:
    """Two engines (two processes) over one SQLite file: "Yamada" then "ｙａｍａｄａ" is
    refused, and when both add at the same moment exactly one succeeds, round after round."""
    url = f"sqlite:///{tmp_path / 'x.db'}"
    service, admin = TokenStore(Store(url)), TokenStore(Store(url))
    service.add(name="Yamada", role="viewer", token_hash="y1", now=1.0, by="serve")
    with pytest.raises(TokenExists):
        admin.add(name="ｙａｍａｄａ", role="admin", token_hash="y2", now=2.0, by="cli")
    for round_ in range(8):
        outcomes = race((service, f"Suzuki{round_}"), (admin, f"ＳＵＺＵＫＩ{round_}"))
        assert outcomes == ["added", "exists"], round_
    assert len(admin.active()) == 1 + 8


def test_the_same_hash_twice_is_not_reported_as_the_name(tmp_path: Path) -> None:
    """An IntegrityError that is not about the name (a hash stored already) is raised as it
    is, not turned into TokenExists."""
    tokens = TokenStore(Store(f"sqlite:///{tmp_path / 'x.db'}"))
    tokens.add(name="yamada", role="viewer", token_hash="same", now=1.0, by="t")
    with pytest.raises(IntegrityError):
        tokens.add(name="suzuki", role="viewer", token_hash="same", now=2.0, by="t")


def open_together(url: str) -> tuple[list[Store], list[BaseException]]:
    """Two Stores (as two processes) opened on url at the same moment."""
    start = threading.Barrier(2)
    errors: list[BaseException] = []
    stores: list[Store] = []

    def open_store() -> None:
        start.wait()
        try:
            stores.append(Store(url))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    return stores, errors


def test_two_processes_starting_on_a_v7_database_both_upgrade_it(tmp_path: Path) -> None:
    """``serve`` and an administrator's command started together on an old database: each
    Store upgrades it (one of them finds the other's work and goes on), and neither fails."""
    for round_number in range(8):
        folder = tmp_path / f"round{round_number}"
        folder.mkdir()
        stores, errors = open_together(v7_with_tokens(folder))
        assert errors == [], errors
        assert len(stores) == 2
        with stores[0].engine.connect() as conn:
            versions = conn.execute(select(schema.schema_migrations.c.version)).scalars().all()
        assert sorted(versions) == list(range(1, len(MIGRATIONS) + 1))
        assert "name_key" in shape(stores[1].engine)[0]
