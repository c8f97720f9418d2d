"""Lock files made by another user: an administrator's ``mailwarden incidents ...`` run as root
creates the account's lock file next to a service that runs as its own user. The service must
still lock (read-only descriptor) or, when it cannot open the file at all, go on without it:
containment must never fail because of a lock file."""

from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from tests.integration.mailstack.common import missing_component

from mailwarden.config import Config
from mailwarden.response.locks import LOCKS
from mailwarden.response.runner import ResponseRunner
from mailwarden.store.store import Store


@pytest.fixture
def folder() -> Iterator[Path]:
    """A lock folder the other user can reach (pytest's own tmp folder is 0700)."""
    top = Path(tempfile.mkdtemp(prefix="mw-locks-"))
    top.chmod(0o755)
    locks = top / "locks"
    locks.mkdir(mode=0o755)
    yield locks
    locks.chmod(0o755)  # made read-only when the tests do not run as root
    shutil.rmtree(top)


def as_other_user(*paths: Path) -> tuple[list[str], list[str]]:
    """Hold each lock in a forked child that runs as another user than the files' owner:
    nobody when we are root; else this user, with the folder and files made read-only (which
    stops a non-root user alike). Returns what ran and what was logged."""
    if os.geteuid() != 0:
        for path in paths:
            if path.exists():
                path.chmod(0o444)
        paths[0].parent.chmod(0o555)
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: no exec, so it needs no access to the interpreter's folder
        code = 1
        try:
            os.close(read)
            if os.geteuid() == 0:
                os.setgid(65534)
                os.setuid(65534)
            logged: list[str] = []
            handler = logging.Handler()
            handler.emit = lambda record: logged.append(record.getMessage())  # type: ignore
            logging.getLogger("mailwarden.response").addHandler(handler)
            ran = []
            for path in paths:
                with LOCKS.hold(path, path.parent):
                    ran.append(str(path))
            os.write(write, json.dumps([ran, logged]).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(write)
    with os.fdopen(read, "rb") as pipe:
        data = pipe.read()
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    ran, logged = json.loads(data)
    return ran, logged


def test_a_lock_file_of_another_user_is_still_locked_and_a_missing_one_is_done_without(
        folder: Path) -> None:
    made = folder / "account-made-by-root.lock"
    with LOCKS.hold(made, made.parent):  # created by this (root) process, 0644 in a 0755 folder
        pass
    assert made.exists()
    missing = folder / "account-new.lock"  # cannot be created by the other user
    ran, logged = as_other_user(made, missing)
    assert ran == [str(made), str(missing)]
    assert [m for m in logged if "cannot use the lock file" in m] == [
        m for m in logged if str(missing) in m]  # the made one was locked read-only
    assert any(f"cannot use the lock file {missing}" in m for m in logged)
    assert not missing.exists()


def test_a_root_command_leaves_the_locks_folder_to_the_data_folders_owner(folder: Path) -> None:
    """A runner started by root (``mailwarden incidents respond``) in a data folder of the
    service's user makes the locks folder that user's, so the service can still add lock files
    to it."""
    if os.geteuid() != 0:  # skipped, or failed under MAILWARDEN_STRICT=1 (CI runs as root)
        missing_component("changing a folder's owner needs root")
    data = folder.parent / "data"
    data.mkdir()
    os.chown(data, 65534, 65534)
    cfg = Config()
    cfg.data_dir = data
    ResponseRunner(cfg, Store(f"sqlite:///{folder.parent / 'store.db'}"))
    made = (data / "locks").stat()
    assert (made.st_uid, made.st_gid) == (65534, 65534)
    ran, logged = as_other_user(data / "locks" / "account-new.lock")
    assert ran == [str(data / "locks" / "account-new.lock")] and logged == []


def test_links_planted_in_the_data_folder_are_not_followed(folder: Path, caplog: Any) -> None:
    """The data folder is the service user's: a link planted where a lock file or the locks
    folder belongs must not make a root command create, open or give away another file."""
    outside = folder.parent / "outside"
    outside.mkdir()
    target = outside / "nologin"  # does not exist: following the link would create it
    planted = folder / "account-planted.lock"
    planted.symlink_to(target)
    with LOCKS.hold(planted, planted.parent):
        pass  # the step still runs, without the lock file
    assert not target.exists()
    assert any(f"cannot use the lock file {planted}" in r.getMessage() for r in caplog.records)

    if os.geteuid() != 0:  # skipped, or failed under MAILWARDEN_STRICT=1 (CI runs as root)
        missing_component("changing a folder's owner needs root")
    data = folder.parent / "data"
    data.mkdir()
    os.chown(data, 65534, 65534)
    (data / "locks").symlink_to(outside)  # root's folder, behind the service user's link
    cfg = Config()
    cfg.data_dir = data
    ResponseRunner(cfg, Store(f"sqlite:///{folder.parent / 'store.db'}"))
    assert outside.stat().st_uid == 0
