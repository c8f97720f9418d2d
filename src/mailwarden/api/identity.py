"""Who is calling the API: the person a bearer token was issued to, and their role.

A token is 32 random bytes (``secrets.token_urlsafe``), shown once by
``mailwarden api token add`` and kept only as its SHA-256 in the store: 256 random bits need no
salt or slow hash, and a copy of the database gives no token. A request's token is hashed and
compared with every token that is not revoked, and with the shared token, by
``hmac.compare_digest``. The shared token (``[api] token`` or DATA_DIR/api.token) still works,
as an administrator named :data:`SHARED_NAME`.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import time
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from mailwarden import i18n
from mailwarden.api.roles import Role
from mailwarden.store.tokens_store import TokenStore, name_key
from mailwarden.timefmt import iso

log = logging.getLogger("mailwarden.api")
SHARED_NAME = "admin"  # who the shared token acts as; no personal token may take the name
MAX_NAME = 64
MAX_TOKEN_BYTES = 512  # far longer than any token issued; a longer one is not looked up
TOUCH_SECONDS = 60.0  # "last used" is written at most this often per token
REFUSED_CATEGORIES = ("Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp")


@dataclass(frozen=True)
class Principal:
    """The holder of the token a request carries: the name recorded as ``by``, the role."""

    name: str
    role: Role
    token_id: int | None = None  # None: the shared token


class TokenNameError(ValueError):
    """A name that cannot be a token's (it becomes ``by`` in the evidence); ``key`` is its
    sentence in :data:`mailwarden.i18n.MESSAGES`."""

    def __init__(self, key: str, **params: Any) -> None:
        self.key, self.params = key, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return i18n.render(self.key, lang, **self.params)


def check_name(name: str) -> str:
    """``name`` normalised (NFC, surrounding space removed); TokenNameError when it is empty,
    longer than MAX_NAME, has control or invisible characters, or is the shared token's."""
    cleaned = unicodedata.normalize("NFC", name).strip()
    if not cleaned or len(cleaned) > MAX_NAME:
        raise TokenNameError("cli.api_token.name_length", max=MAX_NAME)
    if any(unicodedata.category(c) in REFUSED_CATEGORIES for c in cleaned):
        raise TokenNameError("cli.api_token.name_control")
    if name_key(cleaned) == name_key(SHARED_NAME):
        raise TokenNameError("cli.api_token.name_shared", shared=repr(SHARED_NAME))
    return cleaned


def new_token() -> str:
    """A new token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def token_hash(token: str | bytes) -> str:
    """What the store keeps of a token: its SHA-256, hexadecimal."""
    data = token.encode("utf-8") if isinstance(token, str) else token
    return hashlib.sha256(data).hexdigest()


def token_dict(row: dict[str, Any]) -> dict[str, Any]:
    """A token as people may see it: never the token, never its hash."""
    out = {"name": row["name"], "role": row["role"], "created_at": iso(row["created_at"]),
           "created_by": row["created_by"],
           "last_used_at": None if row["last_used_at"] is None else iso(row["last_used_at"])}
    if row.get("revoked_at") is not None:
        out |= {"revoked_at": iso(row["revoked_at"]), "revoked_by": row["revoked_by"]}
    return out


class Authenticator:
    """Finds the holder of a token; every call reads the store (run it in a thread), so a
    token revoked from the command line is refused by a running ``serve`` at once."""

    def __init__(self, shared_token: str, tokens: TokenStore,
                 clock: Callable[[], float] = time.time) -> None:
        self.shared = token_hash(shared_token).encode() if shared_token else b""
        self.tokens, self.clock = tokens, clock
        self._untouched: dict[int, float] = {}  # token id -> when recording its use failed

    def identify(self, sent: bytes) -> Principal | None:
        """The holder of ``sent``, or None for no token, an unknown or a revoked one."""
        if not sent or len(sent) > MAX_TOKEN_BYTES:
            return None
        digest = token_hash(sent).encode()
        if self.shared and hmac.compare_digest(digest, self.shared):
            return Principal(SHARED_NAME, Role.ADMIN)
        found: dict[str, Any] | None = None
        for row in self.tokens.active():  # all compared: the time does not tell which matched
            if hmac.compare_digest(digest, str(row["token_hash"]).encode()) and found is None:
                found = row
        return None if found is None else self._principal(found)

    def _principal(self, row: dict[str, Any]) -> Principal | None:
        try:
            role = Role.parse(str(row["role"]))
        except ValueError:
            log.warning("API token %r has an unknown role %r: refused", row["name"], row["role"])
            return None
        now, key = self.clock(), int(row["id"])
        last = max(float(row["last_used_at"] or 0.0), self._untouched.get(key, 0.0))
        if now - last >= TOUCH_SECONDS:
            try:
                self.tokens.touch(key, now)
                self._untouched.pop(key, None)
            except Exception:  # "last used" is a convenience: it must not refuse the token
                self._untouched[key] = now  # tried again (and logged) a minute later
                log.warning("API token %r: cannot record its use", row["name"], exc_info=True)
        return Principal(str(row["name"]), role, int(row["id"]))
