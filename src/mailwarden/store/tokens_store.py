"""Queries for the administrators' API tokens: one row per token ever issued.

A row keeps the SHA-256 of the token, never the token. Revoking keeps the row (who held the
name, from when to when, stays known for the evidence); a name has at most one token that is
not revoked, compared without regard to case or width ("Yamada", "yamada" and "ｙａｍａｄａ" are
one person). Each row keeps that comparison's key (``name_key``), and a partial unique index on
it among the rows not revoked makes the database refuse a second token for the name, also when
two processes (``serve`` and an administrator's ``mailwarden api token add``) race.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

from sqlalchemy import insert, select, update
from sqlalchemy.exc import IntegrityError

from mailwarden.store import schema

if TYPE_CHECKING:  # the store imports the migrations, which import name_key from here
    from mailwarden.store.store import Store


def name_key(name: str) -> str:
    """What two token names are compared by: NFKC and case folded, so "Yamada", "yamada" and
    "ｙａｍａｄａ" (full width) are one person's name."""
    return unicodedata.normalize("NFKC", name).casefold()


class TokenExists(Exception):
    """The name already has a token that is not revoked."""

    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} already has a token: revoke it first")
        self.name = name


class TokenStore:
    """The ``api_tokens`` table."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def add(self, *, name: str, role: str, token_hash: str, now: float, by: str) -> int:
        """Record a new token's hash; TokenExists when ``name`` has a token already (the
        database's unique index on ``name_key`` decides, whichever process asks)."""
        t = schema.api_tokens
        try:
            with self.store.lock, self.store.engine.begin() as conn:
                key = conn.execute(insert(t).values(
                    name=name, name_key=name_key(name), role=role, token_hash=token_hash,
                    created_at=now, created_by=by, last_used_at=None, revoked_at=None,
                    revoked_by="")).inserted_primary_key
        except IntegrityError:
            if self._holds(name):
                raise TokenExists(name) from None
            raise  # not about the name (say, the same hash twice): no token was added
        return int(key[0]) if key is not None else 0

    def _holds(self, name: str) -> bool:
        """Whether ``name`` has a token that is not revoked."""
        t = schema.api_tokens
        query = select(t.c.id).where(t.c.name_key == name_key(name), t.c.revoked_at.is_(None))
        with self.store.engine.connect() as conn:
            return conn.execute(query).first() is not None

    def active(self) -> list[dict[str, Any]]:
        """The tokens that are not revoked, with their hashes (for the API's check only)."""
        t = schema.api_tokens
        query = select(t.c.id, t.c.name, t.c.role, t.c.token_hash, t.c.last_used_at).where(
            t.c.revoked_at.is_(None)).order_by(t.c.id)
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def listed(self, include_revoked: bool = False) -> list[dict[str, Any]]:
        """Tokens as people may see them: everything but the hash (and the key), oldest
        first."""
        t = schema.api_tokens
        shown = (c for c in t.columns if c.name not in ("token_hash", "name_key"))
        query = select(*shown).order_by(t.c.id)
        if not include_revoked:
            query = query.where(t.c.revoked_at.is_(None))
        with self.store.engine.connect() as conn:
            return [dict(r) for r in conn.execute(query).mappings().all()]

    def revoke(self, name: str, now: float, by: str) -> str | None:
        """Revoke the name's token; the name as it was issued, None when it has no token that
        is not revoked."""
        t = schema.api_tokens
        active = (t.c.name_key == name_key(name), t.c.revoked_at.is_(None))
        with self.store.lock, self.store.engine.begin() as conn:
            found = conn.execute(select(t.c.name).where(*active).order_by(t.c.id)).scalar()
            if found is None:
                return None
            conn.execute(update(t).where(*active).values(revoked_at=now, revoked_by=by))
        return str(found)

    def touch(self, token_id: int, now: float) -> None:
        """Note when a token was last used."""
        t = schema.api_tokens
        with self.store.lock, self.store.engine.begin() as conn:
            conn.execute(update(t).where(t.c.id == token_id).values(last_used_at=now))
