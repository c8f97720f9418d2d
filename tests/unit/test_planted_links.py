"""Folders a root command makes in the data folder (copies of deleted mail): the data folder is
the service user's, so a symbolic link planted in it must not redirect what root writes."""

from __future__ import annotations

import stat
from pathlib import Path
from typing import Any

import pytest
from tests.unit.test_store import burst, runtime

from mailwarden.response.files import real_folder
from mailwarden.response.runner import ResponseRunner


def test_real_folder_makes_private_folders_and_refuses_links(tmp_path: Path) -> None:
    top = tmp_path / "data"
    top.mkdir()
    folder = top / "evidence" / "INC-1" / "deleted"
    real_folder(folder, top)
    real_folder(folder, top)  # already there: fine
    assert folder.is_dir() and stat.S_IMODE(folder.stat().st_mode) == 0o700
    outside = tmp_path / "outside"
    outside.mkdir()
    (top / "evidence" / "INC-2").symlink_to(outside)
    with pytest.raises(OSError, match="not a real folder"):
        real_folder(top / "evidence" / "INC-2" / "deleted", top)
    assert list(outside.iterdir()) == []
    (top / "file").write_text("x")
    with pytest.raises(OSError, match="not a real folder"):
        real_folder(top / "file" / "deleted", top)


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
