"""Locks the response holds across the threads of this process and across processes.

A lock is a file: ``flock`` on it keeps out other processes (an administrator's
``mailwarden incidents ...`` next to ``serve``), and a threading lock per file keeps out the
other threads of this process. flock alone would do on a local file system, where each holder
opens its own descriptor, but on NFS Linux emulates flock with POSIX record locks, which belong
to the process: the threads of one process would not exclude each other there.

Each lock is re-entrant within the thread that holds it. The registry is process-wide (LOCKS),
so two ResponseRunners of one process (the service's playbook and its API) share it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import logging
import os
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO

from mailwarden.response.files import real_folder

log = logging.getLogger("mailwarden.response")

@dataclass
class _Lock:
    """One lock file as this process holds it: the thread lock, how deep the thread that holds
    it is inside, its open file (while held) and how many threads use or wait for it."""

    thread: threading.RLock = field(default_factory=threading.RLock)
    depth: int = 0
    handle: IO[bytes] | None = None
    users: int = 0


class LockFiles:
    """Named lock files, each held by one thread of one process at a time."""

    def __init__(self) -> None:
        self._guard = threading.Lock()
        self._locks: dict[Path, _Lock] = {}

    @contextlib.contextmanager
    def hold(self, path: Path, top: Path) -> Iterator[None]:
        """Hold the lock file path (created with its folders below ``top`` when missing; none
        of them, nor the file, through a symbolic link: ``top`` is the data folder, the
        administrator's); re-entrant."""
        lock = self._enter(path)
        try:
            with lock.thread:
                lock.depth += 1
                try:
                    if lock.depth == 1:
                        lock.handle = _flock_or_none(path, top)
                    yield
                finally:
                    lock.depth -= 1
                    if lock.depth == 0 and lock.handle is not None:
                        lock.handle.close()  # releases the flock
                        lock.handle = None
        finally:
            self._leave(path, lock)

    def _enter(self, path: Path) -> _Lock:
        with self._guard:
            lock = self._locks.setdefault(path, _Lock())
            lock.users += 1
            return lock

    def _leave(self, path: Path, lock: _Lock) -> None:
        """Forget a lock no thread uses or waits for (one per account would pile up)."""
        with self._guard:
            lock.users -= 1
            if lock.users == 0:
                del self._locks[path]

    def in_use(self, path: Path) -> bool:
        """True while a thread of this process holds or waits for path."""
        with self._guard:
            return path in self._locks


def _flock_or_none(path: Path, top: Path) -> IO[bytes] | None:
    """The lock file, flocked; None when it cannot be opened at all (the step then runs with
    the thread lock only: containment must not fail because of a lock file)."""
    try:
        return _flock(path, top)
    except OSError as exc:
        log.warning("cannot use the lock file %s (%s): going on without it; other processes "
                    "are not kept out (check the owner of the data folder)", path, exc)
        return None


def _open(path: Path, top: Path) -> IO[bytes]:
    """The lock file, created when missing. A file another user made (an administrator's
    command run as root next to a service running as its own user) is opened read-only:
    flock works on any descriptor. Never through a symbolic link, neither the file nor a folder
    below ``top``: the data folder is the service user's, and a link planted there must not
    make a root command create or open another file."""
    flags = os.O_CLOEXEC | os.O_NOFOLLOW
    top.mkdir(parents=True, exist_ok=True)  # the administrator's folder: links followed
    with real_folder(path.parent, top) as folder:
        try:
            fd = os.open(path.name, flags | os.O_RDWR | os.O_CREAT, 0o644, dir_fd=folder)
        except PermissionError:
            fd = os.open(path.name, flags | os.O_RDONLY, dir_fd=folder)
    return os.fdopen(fd, "rb")


def _flock(path: Path, top: Path) -> IO[bytes]:
    handle = _open(path, top)
    try:
        fcntl.flock(handle, fcntl.LOCK_EX)
    except BaseException:
        handle.close()
        raise
    return handle


def account_lock_path(folder: Path, account: str) -> Path:
    """The lock file of one account in folder (named by a hash: an account name is untrusted
    and may hold any character; case-folded, so user@X.jp and user@x.jp share it)."""
    digest = hashlib.sha256(account.casefold().encode("utf-8", "surrogateescape")).hexdigest()
    return folder / f"account-{digest[:32]}.lock"


LOCKS = LockFiles()
"""The lock files of this process."""
