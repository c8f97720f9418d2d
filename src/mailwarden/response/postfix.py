"""Postfix containment: hold and release an account's queued mail, lock it through a
check_sasl_access map, each returning an Action with its undo.

Queued mail is selected from `postqueue -j` by envelope sender, and by SASL login where
`postcat -e -q ID` shows the `sasl_username` named attribute. Ids go to `postsuper -h -` /
`postsuper -H -` on stdin. The lock is a line `ACCOUNT HOLD` (or REJECT) in a map file used as
`check_sasl_access TYPE:FILE`; after each change the file is rebuilt with postmap. Each lock
and unlock reads, rewrites and postmaps the map inside the responder's exclusive section (see
response/files.py), so concurrent locks of different accounts keep every line.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Literal

from mailwarden.response.actions import Action, Undo, utc_now, validate_account
from mailwarden.response.executor import Executor
from mailwarden.response.files import (
    Exclusive,
    editing,
    real_folder,
    replace_file,
    sync_folder,
)

LockMode = Literal["HOLD", "REJECT"]
_QUEUE_ID = re.compile(r"[0-9A-Za-z]{5,32}")
_SASL_ATTRIBUTE = re.compile(r"^named_attribute: sasl_username=(.*)$", re.MULTILINE)
_TABLE_SUFFIX = {"hash": ".db", "btree": ".db", "lmdb": ".lmdb", "cdb": ".cdb"}
MAX_POSTCAT = 10_000  # messages inspected with postcat for their SASL login in one call


class QueueError(ValueError):
    """postqueue -j said something that is not a queue entry."""

    def __init__(self, line: str, problem: str) -> None:
        self.line = line
        self.problem = problem
        super().__init__(f"postqueue -j line {line[:120]!r}: {problem}")


@dataclass(frozen=True)
class QueueEntry:
    """The parts of a `postqueue -j` entry that containment needs."""

    queue_id: str
    queue_name: str
    sender: str


def parse_queue(output: str) -> list[QueueEntry]:
    """The entries of `postqueue -j` output; QueueError on a malformed line or queue id."""
    entries = []
    for line in output.splitlines():
        if not line.strip():
            continue
        try:
            data = json.loads(line)
        except json.JSONDecodeError as exc:
            raise QueueError(line, f"not JSON ({exc.msg})") from None
        if not isinstance(data, dict):
            raise QueueError(line, "not a JSON object")
        queue_id = str(data.get("queue_id", ""))
        if not _QUEUE_ID.fullmatch(queue_id):
            raise QueueError(line, f"queue id {queue_id!r} is not a Postfix queue id")
        entries.append(
            QueueEntry(queue_id, str(data.get("queue_name", "")), str(data.get("sender", "")))
        )
    return entries


class PostfixResponder:
    """Containment on one Postfix instance through an Executor."""

    def __init__(
        self,
        executor: Executor,
        *,
        access_map: Path,
        map_type: str = "hash",
        actor: str = "mailwarden",
        clock: Callable[[], datetime] = utc_now,
        exclusive: Exclusive = editing,
    ) -> None:
        self.executor = executor
        self.access_map = access_map
        self.map_type = map_type
        self.actor = actor
        self.clock = clock
        self.exclusive = exclusive

    def _action(self, operation: str, account: str, reason: str, changed: bool,
                result: dict[str, Any], undo: Undo | None) -> Action:
        return Action(operation, account, self.actor, reason, self.clock(), changed, result, undo)

    # --- the queue --------------------------------------------------------------------------

    def queue(self) -> list[QueueEntry]:
        """The queue as `postqueue -j` shows it, each message once (a message moving between
        queues can be listed twice; the hold queue wins)."""
        entries: dict[str, QueueEntry] = {}
        for entry in parse_queue(self.executor.postfix("postqueue", "-j").stdout):
            if entry.queue_id not in entries or entry.queue_name == "hold":
                entries[entry.queue_id] = entry
        return list(entries.values())

    def sasl_username(self, queue_id: str) -> str | None:
        """The SASL login recorded in a queued message's envelope (postcat -e -q), if any."""
        done = self.executor.postfix("postcat", "-e", "-q", queue_id, check=False)
        if done.returncode != 0:  # delivered or removed meanwhile
            return None
        match = _SASL_ATTRIBUTE.search(done.stdout)
        return match.group(1).strip() if match else None

    def account_mail(self, account: str) -> list[QueueEntry]:
        """Queued messages of account: by envelope sender, else by SASL login."""
        wanted = account.casefold()
        found, inspected = [], 0
        for entry in self.queue():
            if entry.sender.casefold() == wanted:
                found.append(entry)
            elif inspected < MAX_POSTCAT:
                inspected += 1
                login = self.sasl_username(entry.queue_id)
                if login is not None and login.casefold() == wanted:
                    found.append(entry)
        return found

    def hold(self, account: str, *, reason: str, queue_ids: Iterable[str] | None = None
             ) -> Action:
        """Put the account's queued mail (only queue_ids, when given) on hold; undo releases
        exactly those messages."""
        validate_account(account)
        ids = [e.queue_id for e in self.account_mail(account) if e.queue_name != "hold"]
        if queue_ids is not None:
            chosen = set(queue_ids)
            ids = [queue_id for queue_id in ids if queue_id in chosen]
        if ids:
            self._postsuper("-h", ids)
        undo = Undo("release", {"account": account, "queue_ids": ids}) if ids else None
        return self._action("hold", account, reason, bool(ids), {"queue_ids": ids}, undo)

    def release(self, account: str, *, reason: str, queue_ids: Iterable[str] | None = None
                ) -> Action:
        """Release held mail of account (only queue_ids, when given); undo holds it again."""
        validate_account(account)
        held = [e.queue_id for e in self.account_mail(account) if e.queue_name == "hold"]
        if queue_ids is not None:
            chosen = set(queue_ids)
            held = [queue_id for queue_id in held if queue_id in chosen]
        if held:
            self._postsuper("-H", held)
        undo = Undo("hold", {"account": account, "queue_ids": held}) if held else None
        return self._action("release", account, reason, bool(held), {"queue_ids": held}, undo)

    def delete(self, account: str, *, reason: str, copies: Path, top: Path,
               queue_ids: Iterable[str] | None = None) -> Action:
        """Delete the account's held mail (only queue_ids, when given) after copying each
        message (`postcat -q`, its exact bytes, written and synced) into the folder copies; a
        message that cannot be copied whole is not deleted (result["not_copied"], with why in
        result["copy_errors"]). There is no undo: the copies are what remains. copies and the
        folders between it and top (the data folder) are made, and written, with no
        symbolic link followed (files.real_folder): OSError before any Postfix command when one
        is there."""
        validate_account(account)
        with real_folder(copies, top) as folder:
            held = [e.queue_id for e in self.account_mail(account) if e.queue_name == "hold"]
            if queue_ids is not None:
                chosen = set(queue_ids)
                held = [queue_id for queue_id in held if queue_id in chosen]
            saved: dict[str, dict[str, Any]] = {}
            errors: dict[str, str] = {}
            for queue_id in held:
                if not _QUEUE_ID.fullmatch(queue_id):
                    raise QueueError(queue_id, "not a Postfix queue id")
                try:
                    saved[queue_id] = self._copy(queue_id, copies, folder)
                except (CopyError, OSError) as exc:  # not copied whole: not deleted
                    errors[queue_id] = str(exc)
            if saved:
                sync_folder(folder)
                self._postsuper("-d", list(saved))
        return Action("delete", account, self.actor, reason, self.clock(), bool(saved),
                      {"queue_ids": list(saved), "copies": saved,
                       "not_copied": [q for q in held if q not in saved],
                       "copy_errors": errors}, None,
                      f"deleted messages are gone from the queue; copies are in {copies}")

    def _copy(self, queue_id: str, copies: Path, folder: int) -> dict[str, Any]:
        """Write `postcat -q ID`'s exact bytes to a new file in copies (open as folder), synced
        to disk; CopyError when postcat failed or its output was cut."""
        done = self.executor.postfix_bytes("postcat", "-q", queue_id, check=False)
        if done.returncode != 0 or not done.stdout:  # gone meanwhile, or unreadable
            raise CopyError(queue_id, f"postcat exited {done.returncode}: "
                                      f"{done.stderr.strip()[:200]}")
        if not done.complete:
            raise CopyError(queue_id, f"postcat output longer than {len(done.stdout)} bytes")
        data = done.stdout
        name, fd = _new_file(folder, f"{queue_id}.postcat.txt")
        path = copies / name
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        return {"file": str(path), "bytes": len(data), "sha256": hashlib.sha256(data).hexdigest()}

    def _postsuper(self, flag: str, queue_ids: list[str]) -> None:
        for queue_id in queue_ids:
            if not _QUEUE_ID.fullmatch(queue_id):
                raise QueueError(queue_id, "not a Postfix queue id")
        self.executor.postfix("postsuper", flag, "-", stdin="".join(f"{q}\n" for q in queue_ids))

    # --- the check_sasl_access lock ---------------------------------------------------------

    def lock(self, account: str, *, reason: str, mode: LockMode = "HOLD") -> Action:
        """Write `ACCOUNT MODE` into the access map (once) and postmap it; undo restores."""
        validate_account(account)
        if mode not in ("HOLD", "REJECT"):
            raise ValueError(f"lock mode {mode!r}: expected HOLD or REJECT")
        with self.exclusive():
            lines = self._map_lines()
            before = _map_value(lines, account)
            changed = before != mode
            if changed:
                self._write_map(_set_line(lines, account, f"{account} {mode}\n"))
        undo = None
        if changed:
            undo = (Undo("unlock", {"account": account}) if before is None
                    else Undo("lock", {"account": account, "mode": before}))
        result = {"map": f"{self.map_type}:{self.access_map}", "mode": mode, "before": before}
        return self._action("lock", account, reason, changed, result, undo)

    def unlock(self, account: str, *, reason: str) -> Action:
        """Remove the account's line from the access map and postmap it; undo locks again."""
        validate_account(account)
        with self.exclusive():
            lines = self._map_lines()
            before = _map_value(lines, account)
            if before is not None or not self.access_map.exists():
                self._write_map(_set_line(lines, account, None))
        undo = Undo("lock", {"account": account, "mode": before}) if before else None
        result = {"map": f"{self.map_type}:{self.access_map}", "before": before}
        return self._action("unlock", account, reason, before is not None, result, undo)

    def undo(self, action: Action, *, reason: str) -> Action:
        """Carry out action.undo; ValueError if it has none."""
        if action.undo is None:
            raise ValueError(f"{action.operation} of {action.account!r} has no undo")
        arguments = dict(action.undo.arguments)
        operations: dict[str, Callable[..., Action]] = {
            "release": self.release, "hold": self.hold, "lock": self.lock, "unlock": self.unlock,
        }
        return operations[action.undo.operation](reason=reason, **arguments)

    def _map_lines(self) -> list[str]:
        """The access map's lines as they are (comments and lines not understood are kept
        when it is rewritten)."""
        if not self.access_map.exists():
            return []
        return self.access_map.read_text("utf-8", "surrogateescape").splitlines(keepends=True)

    def _write_map(self, lines: list[str]) -> None:
        """Atomically replace the map file (mode, owner and group kept), then rebuild the
        lookup table with postmap."""
        replace_file(self.access_map, "".join(lines))
        table = self.access_map.with_name(
            self.access_map.name + _TABLE_SUFFIX.get(self.map_type, "")
        )
        before = table.stat().st_mtime if table.exists() and table != self.access_map else None
        self.executor.postfix("postmap", f"{self.map_type}:{self.access_map}")
        _advance_mtime(table, before)


def map_entry(line: str) -> tuple[str, str] | None:
    """(key, value) of a Postfix map line: key and value separated by spaces or tabs; None
    for a blank line, a comment, a continuation line (leading whitespace) or a bare key."""
    if not line.strip() or line[0].isspace() or line.startswith("#"):
        return None
    parts = line.split(None, 1)
    return (parts[0], parts[1].strip()) if len(parts) == 2 else None


def _map_value(lines: list[str], key: str) -> str | None:
    """The value of key's first line (the one postmap keeps), None when it has none."""
    for line in lines:
        entry = map_entry(line)
        if entry is not None and entry[0] == key:
            return entry[1]
    return None


def _set_line(lines: list[str], key: str, new: str | None) -> list[str]:
    """lines with key's first entry replaced by new (appended if absent) and its other entries
    removed; new None removes them all. Every other line is kept as it is."""
    out: list[str] = []
    placed = new is None
    for line in lines:
        entry = map_entry(line)
        if entry is None or entry[0] != key:
            out.append(line)
        elif not placed and new is not None:
            out.append(new)
            placed = True
    if not placed and new is not None:
        if out and not out[-1].endswith("\n"):
            out[-1] += "\n"
        out.append(new)
    return out


class CopyError(RuntimeError):
    """A queued message could not be copied whole (so it is not deleted)."""

    def __init__(self, queue_id: str, problem: str) -> None:
        self.queue_id = queue_id
        super().__init__(f"message {queue_id}: {problem}")


def _new_file(folder: int, name: str) -> tuple[str, int]:
    """A new file in the folder (a descriptor), open for writing: name, or name with a counter
    when that exists (Postfix reuses short queue ids; an earlier copy is never overwritten, and
    a link in its place is never followed)."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    candidate, number = name, 1
    while True:
        try:
            return candidate, os.open(candidate, flags, 0o600, dir_fd=folder)
        except FileExistsError:
            number += 1
            candidate = f"{name}.{number}"


def _advance_mtime(table: Path, before: float | None) -> None:
    """Make a rebuilt table's mtime a later second than before.

    Postfix daemons notice a changed table by its mtime in whole seconds: two rebuilds within
    one second would leave a daemon that opened the first one with stale answers.
    """
    if before is None or not table.exists():
        return
    if int(table.stat().st_mtime) <= int(before):
        later = int(before) + 1
        os.utime(table, (later, later))
