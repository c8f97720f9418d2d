"""Folders a root command makes in the data folder (copies of deleted mail): the data folder is
the service user's, so a symbolic link planted in it must not redirect what root writes."""

from __future__ import annotations

import os
import stat
from pathlib import Path
from typing import Any

import pytest
from tests.unit.test_store import burst, runtime

from mailwarden.response.files import real_folder
from mailwarden.response.locks import LOCKS, account_lock_path
from mailwarden.response.runner import ResponseRunner


def test_real_folder_makes_private_folders_and_refuses_links(tmp_path: Path) -> None:
    top = tmp_path / "data"
    top.mkdir()
    folder = top / "evidence" / "INC-1" / "deleted"
    with real_folder(folder, top) as fd:
        assert os.path.samestat(os.fstat(fd), folder.stat())
    with real_folder(folder, top):
        pass  # already there: fine
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    outside = tmp_path / "outside"
    outside.mkdir()
    (top / "evidence" / "INC-2").symlink_to(outside)
    with pytest.raises(OSError, match="not a real folder"), \
            real_folder(top / "evidence" / "INC-2" / "deleted", top):
        pass
    assert list(outside.iterdir()) == []
    (top / "file").write_text("x")
    with pytest.raises(OSError, match="not a real folder"), \
            real_folder(top / "file" / "deleted", top):
        pass
    with pytest.raises(OSError, match="refused"), \
            real_folder(top / "evidence" / ".." / ".." / "outside", top):
        pass
    assert list(outside.iterdir()) == []


def test_a_folder_swapped_for_a_link_after_the_check_is_not_followed(tmp_path: Path) -> None:
    """What is made through the descriptor lands in the folder that was checked, even when the
    service user replaces it by a link between the check and the write."""
    top = tmp_path / "data"
    top.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    folder = top / "evidence" / "INC-1" / "deleted"
    with real_folder(folder, top) as fd:
        (top / "evidence").rename(top / "moved")
        (top / "evidence").symlink_to(outside)
        os.close(os.open("copy.txt", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600, dir_fd=fd))
    assert list(outside.iterdir()) == []
    assert (top / "moved" / "INC-1" / "deleted" / "copy.txt").exists()


def test_lock_files_below_a_planted_folder_link_are_not_made(tmp_path: Path, caplog: Any) -> None:
    """A link planted in place of the locks folder after the runner made it: the step runs
    without the lock file (logged), and nothing is created where the link points."""
    top = tmp_path / "data"
    top.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (top / "locks").symlink_to(outside)
    ran = []
    with LOCKS.hold(account_lock_path(top / "locks", "user@city.example.jp"), top):
        ran.append(True)
    assert ran == [True] and list(outside.iterdir()) == []
    assert any("not a real folder" in r.getMessage() for r in caplog.records)
    (top / "locks").unlink()
    with LOCKS.hold(account_lock_path(top / "locks", "user@city.example.jp"), top):
        pass  # a real folder: made, with the lock file in it
    assert len(list((top / "locks").iterdir())) == 1


def test_delete_held_refuses_a_planted_evidence_link(tmp_path: Path) -> None:
    """Before any Postfix command: the step fails, is recorded, and writes nothing."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    incident: Any = rt.store.incidents()[0]["id"]
    outside = tmp_path / "outside"
    outside.mkdir()
    rt.cfg.data_dir.mkdir(parents=True, exist_ok=True)
    (rt.cfg.data_dir / "evidence").symlink_to(outside)
    runner = ResponseRunner(rt.cfg, rt.store)
    outcome = runner.delete_held(incident, actor="admin", reason="test")
    assert outcome.status == "failed" and "not a real folder" in (outcome.error or "")
    assert list(outside.iterdir()) == []
    recorded = runner.actions.for_incident(incident)
    assert recorded[-1]["status"] == "failed"
