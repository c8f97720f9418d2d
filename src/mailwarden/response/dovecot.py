"""Dovecot containment: lock an account through a deny passdb, kick its sessions, deactivate
its Sieve script, give it a new password; each returns an Action with its undo (or why none).

The deny file holds one user per line and is used as the first passdb:
``passdb { driver = passwd-file; args = /path/deny; deny = yes }``. Sieve needs Pigeonhole
(Debian: dovecot-sieve, dovecot-managesieved).
"""

from __future__ import annotations

import json
import os
import secrets
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from mailwarden.response.actions import Action, Undo, utc_now, validate_account
from mailwarden.response.executor import Executor

PASSWORD_BYTES = 18  # 24 URL-safe characters, 144 bits
HASH_SCHEME = "SHA512-CRYPT"


class AccountNotFound(LookupError):
    """The account has no line in the passwd-file to change."""

    def __init__(self, account: str, path: Path) -> None:
        self.account = account
        self.path = path
        super().__init__(f"account {account!r} has no line in {path}")


def _replace_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write text to path atomically, keeping the old file's permissions if there was one."""
    if path.exists():
        mode = path.stat().st_mode & 0o7777
    tmp = path.with_name(path.name + ".mailwarden-new")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "w", encoding="utf-8") as out:
        out.write(text)
    os.chmod(tmp, mode)
    tmp.replace(path)


class DovecotResponder:
    """Containment on one Dovecot instance through an Executor."""

    def __init__(
        self,
        executor: Executor,
        *,
        deny_file: Path,
        passwd_file: Path | None = None,
        actor: str = "mailwarden",
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.executor = executor
        self.deny_file = deny_file
        self.passwd_file = passwd_file
        self.actor = actor
        self.clock = clock

    def _action(self, operation: str, account: str, reason: str, changed: bool,
                result: dict[str, Any], undo: Undo | None, no_undo: str = "") -> Action:
        return Action(operation, account, self.actor, reason, self.clock(), changed, result,
                      undo, no_undo)

    # --- deny passdb ------------------------------------------------------------------------

    def denied(self) -> list[str]:
        """The users listed in the deny file."""
        if not self.deny_file.exists():
            return []
        lines = self.deny_file.read_text("utf-8").splitlines()
        return [line.strip() for line in lines if line.strip() and not line.startswith("#")]

    def lock(self, account: str, *, reason: str) -> Action:
        """Add the account to the deny file (once); undo unlocks it."""
        validate_account(account)
        users = self.denied()
        changed = account not in users
        if changed or not self.deny_file.exists():
            self._write_deny([*users, account])
        undo = Undo("unlock", {"account": account}) if changed else None
        return self._action("lock", account, reason, changed, {"deny_file": str(self.deny_file)},
                            undo)

    def unlock(self, account: str, *, reason: str) -> Action:
        """Remove the account from the deny file; undo locks it again."""
        validate_account(account)
        users = self.denied()
        changed = account in users
        if changed or not self.deny_file.exists():  # an empty file: the passdb must exist
            self._write_deny([user for user in users if user != account])
        undo = Undo("lock", {"account": account}) if changed else None
        return self._action("unlock", account, reason, changed,
                            {"deny_file": str(self.deny_file)}, undo)

    def _write_deny(self, users: list[str]) -> None:
        for user in users:
            validate_account(user)
        _replace_file(self.deny_file, "".join(f"{user}\n" for user in users))

    # --- sessions ---------------------------------------------------------------------------

    def kick(self, account: str, *, reason: str) -> Action:
        """`doveadm kick USER`: end the account's IMAP/POP3 sessions. There is no undo."""
        validate_account(account)
        done = self.executor.doveadm("kick", account)
        output = (done.stdout + done.stderr).strip()
        return self._action("kick", account, reason, True, {"output": output}, None,
                            "ended sessions cannot be restored; the user logs in again")

    # --- sieve ------------------------------------------------------------------------------

    def _doveadm_json(self, *args: str) -> list[dict[str, Any]]:
        """Run `doveadm -f json ARGS` and return its records; ValueError on anything else."""
        out = self.executor.doveadm("-f", "json", *args).stdout
        try:
            records = json.loads(out or "[]")
        except json.JSONDecodeError as exc:
            raise ValueError(f"doveadm {' '.join(args)}: not JSON ({exc.msg})") from None
        if not isinstance(records, list) or not all(isinstance(r, dict) for r in records):
            raise ValueError(f"doveadm {' '.join(args)}: not a list of records")
        return records

    def sieve_scripts(self, account: str) -> tuple[list[str], str | None]:
        """The account's Sieve script names and the active one (`doveadm sieve list`)."""
        validate_account(account)
        records = self._doveadm_json("sieve", "list", "-u", account)
        names = [str(record.get("script", "")) for record in records]
        active = [str(r.get("script", "")) for r in records if r.get("active") == "ACTIVE"]
        return names, (active[0] if active else None)

    def sieve_script(self, account: str, name: str) -> str:
        """The text of one Sieve script (`doveadm sieve get`)."""
        records = self._doveadm_json("sieve", "get", "-u", account, name)
        return "".join(str(record.get("sieve script", "")) for record in records)

    def sieve_deactivate(self, account: str, *, reason: str) -> Action:
        """Keep a copy of every Sieve script, deactivate the active one; undo reactivates it."""
        names, active = self.sieve_scripts(account)
        copies = {name: self.sieve_script(account, name) for name in names}
        if active is not None:
            self.executor.doveadm("sieve", "deactivate", "-u", account)
        undo = Undo("sieve_activate", {"account": account, "name": active}) if active else None
        result = {"scripts": copies, "active": active}
        return self._action("sieve_deactivate", account, reason, active is not None, result, undo)

    def sieve_activate(self, account: str, *, reason: str, name: str) -> Action:
        """`doveadm sieve activate -u USER NAME`; undo deactivates it again."""
        validate_account(account)
        _, active = self.sieve_scripts(account)
        changed = active != name
        if changed:
            self.executor.doveadm("sieve", "activate", "-u", account, name)
        undo = Undo("sieve_deactivate", {"account": account}) if changed else None
        return self._action("sieve_activate", account, reason, changed,
                            {"active": name, "before": active}, undo)

    # --- password ---------------------------------------------------------------------------

    def reset_password(self, account: str, *, reason: str) -> Action:
        """Give the account a new random password (SHA512-CRYPT in the passwd-file).

        The password is returned once in Action.secret, never logged or recorded. No undo:
        the old password is presumed stolen.
        """
        validate_account(account)
        if self.passwd_file is None:
            raise ValueError("reset_password needs passwd_file")
        password = secrets.token_urlsafe(PASSWORD_BYTES)
        hashed = self.executor.doveadm(
            "pw", "-s", HASH_SCHEME, stdin=f"{password}\n{password}\n"
        ).stdout.strip()
        if not hashed.startswith("{" + HASH_SCHEME + "}") or "\n" in hashed:
            raise ValueError(f"doveadm pw gave no {HASH_SCHEME} hash")
        self._set_hash(account, hashed)
        result = {"passwd_file": str(self.passwd_file), "scheme": HASH_SCHEME}
        action = self._action("reset_password", account, reason, True, result, None,
                              "the old password is presumed stolen and is not restored")
        return replace(action, secret=password)

    def _set_hash(self, account: str, hashed: str) -> None:
        assert self.passwd_file is not None
        lines = self.passwd_file.read_text("utf-8").splitlines(keepends=True)
        for index, line in enumerate(lines):
            user, sep, rest = line.partition(":")
            if sep and user == account:
                _, _, tail = rest.partition(":")
                lines[index] = f"{user}:{hashed}:{tail}" if ":" in rest else f"{user}:{hashed}\n"
                _replace_file(self.passwd_file, "".join(lines))
                return
        raise AccountNotFound(account, self.passwd_file)

    def undo(self, action: Action, *, reason: str) -> Action:
        """Carry out action.undo; ValueError (with the reason) if it has none."""
        if action.undo is None:
            raise ValueError(f"{action.operation} of {action.account!r} has no undo: "
                             f"{action.no_undo_reason or 'nothing changed'}")
        operations: dict[str, Callable[..., Action]] = {
            "lock": self.lock, "unlock": self.unlock,
            "sieve_activate": self.sieve_activate, "sieve_deactivate": self.sieve_deactivate,
        }
        return operations[action.undo.operation](reason=reason, **dict(action.undo.arguments))
