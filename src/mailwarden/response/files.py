"""Rewriting the files Postfix and Dovecot read (the check_sasl_access map, the deny passdb,
the passwd-file) without ever leaving them unreadable to the service that reads them.

A new version is written to a fresh temporary file in the same folder (mkstemp: O_CREAT |
O_EXCL | O_NOFOLLOW under a random name, so a symlink planted there is never followed), given
the old file's mode, owner and group, synced and renamed over the old file. A deny file set up
as root:dovecot 0640 stays root:dovecot 0640: otherwise Dovecot's auth process could no longer
read it and every login would fail. When the owner or group cannot be kept (not running as
root) and the old file let that owner or group read it, the file is left as it was and
OwnershipError says why.

Each rewrite reads the file, changes it and replaces it: two writers at once would each start
from the same old file and the later rename would drop the other's line. So a responder makes
every read-modify-write (and, for the Postfix map, the postmap after it) inside an exclusive
section: ResponseRunner's machine-wide lock file (response/locks.py), or else ``editing()``,
a lock shared by the threads of this process.
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

TEMP_SUFFIX = ".mailwarden-new"
Exclusive = Callable[[], AbstractContextManager[object]]
"""Makes the section it guards the only read-modify-write of the shared files under way."""
_EDITING = threading.RLock()


@contextlib.contextmanager
def editing() -> Iterator[None]:
    """One read-modify-write of a shared file at a time among the threads of this process
    (a responder's default; ResponseRunner gives its machine-wide lock instead)."""
    with _EDITING:
        yield


class OwnershipError(PermissionError):
    """The new version of a file could not get the owner or group its readers rely on."""

    def __init__(self, path: Path, lost: list[str]) -> None:
        self.path = path
        self.lost = lost
        super().__init__(f"{path} left unchanged: the new version could not keep "
                         f"{' and '.join(lost)}, which may be how its service reads it "
                         "(run the response as root, or as that owner)")


def replace_file(path: Path, text: str, mode: int = 0o644) -> None:
    """Write text (UTF-8; bytes read with surrogateescape go back as they were) to path
    atomically; the old file's mode, owner and group are kept (mode is for a new file)."""
    try:
        old: os.stat_result | None = os.stat(path)
    except FileNotFoundError:
        old = None
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=TEMP_SUFFIX, dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(text.encode("utf-8", "surrogateescape"))
            os.fchmod(out.fileno(), stat.S_IMODE(old.st_mode) if old else mode)
            if old is not None:
                _keep_owner(out.fileno(), old, path)
            out.flush()
            os.fsync(out.fileno())
        os.replace(name, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(name)
        raise
    sync_folder(path.parent)


def _keep_owner(fd: int, old: os.stat_result, path: Path) -> None:
    """Give fd old's owner and group; OwnershipError when a reader would lose access."""
    if (old.st_uid, old.st_gid) == (os.geteuid(), os.getegid()):
        return
    try:
        os.fchown(fd, old.st_uid, old.st_gid)
        return
    except PermissionError:
        pass
    with contextlib.suppress(PermissionError):
        os.fchown(fd, -1, old.st_gid)  # allowed when we are a member of the group
    new = os.fstat(fd)
    mode = old.st_mode
    others_read = bool(mode & stat.S_IROTH)
    lost = []
    if new.st_uid != old.st_uid and mode & stat.S_IRUSR and not others_read:
        lost.append(f"its owner (uid {old.st_uid})")
    if new.st_gid != old.st_gid and mode & stat.S_IRGRP and not others_read:
        lost.append(f"its group (gid {old.st_gid})")
    if lost:
        raise OwnershipError(path, lost)


def sync_folder(folder: Path | int) -> None:
    """fsync a folder (a path or an open descriptor), so a rename in it survives a crash."""
    if isinstance(folder, int):
        with contextlib.suppress(OSError):
            os.fsync(folder)
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


@contextlib.contextmanager
def real_folder(folder: Path, top: Path) -> Iterator[int]:
    """Make ``folder`` (below ``top``) and every folder between, refusing a symbolic link
    anywhere below ``top``, and give an open descriptor of it: the data folder belongs to the
    service's user, and a link planted in it must not send what a root command writes (lock
    files, copies of deleted mail) elsewhere. Each part is opened from the one before with
    O_NOFOLLOW, and files are then made through the descriptor (``dir_fd=``), so a part swapped
    for a link after the check changes nothing. ``top`` itself is the administrator's and may
    be a link. OSError when a part is a link or not a folder."""
    relative = folder.relative_to(top)  # ValueError: not below top
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
    try:
        path = top
        for part in relative.parts:
            path = path / part
            if part in (".", ".."):
                raise OSError(f"{path}: '{part}' in a folder path: refused")
            with contextlib.suppress(FileExistsError):
                os.mkdir(part, 0o700, dir_fd=fd)
            try:
                inner = os.open(part, _FOLDER_FLAGS, dir_fd=fd)
            except OSError as exc:  # ELOOP: a link; ENOTDIR: a file
                raise OSError(f"{path} is not a real folder (a symbolic link?): refused") from exc
            os.close(fd)
            fd = inner
        yield fd
    finally:
        os.close(fd)


_FOLDER_FLAGS = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC
