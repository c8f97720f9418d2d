"""replay and logs import: the same engine over old Postfix logs, in log time."""

from __future__ import annotations

import gzip
import json
import os
from datetime import datetime

from tests.logsynth import JST, burst_log, office_log, write_log
from tests.unit.scenarios import BRAZIL_IP
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.config import Config
from mailwarden.replay import Replay, import_logs
from mailwarden.store.store import Store

ACCOUNTS = [f"staff{i}@city.example.jp" for i in range(5)]
CONTACTS = [f"p{i}@partner{i % 9}.example.com" for i in range(40)]
START = datetime(2025, 8, 4)
INCIDENT = datetime(2025, 10, 6, 4, 45, tzinfo=JST)


def cfg(tmp_path) -> Config:
    c = Config()
    c.organization.domains = ["city.example.jp"]
    c.data_dir = tmp_path / "data"
    return c


def history_with_incident(path, rfc3339=False):
    return write_log(path, office_log(START, 70, ACCOUNTS, CONTACTS, rfc3339=rfc3339),
                     burst_log(INCIDENT, ACCOUNTS[0], BRAZIL_IP, 300, rfc3339=rfc3339))


def test_replay_catches_the_incident_and_nothing_else(tmp_path):
    """Ten weeks of office mail plus the 04:45 burst: only the burst is held, within 10."""
    log = tmp_path / "mail.log"
    history_with_incident(log)
    records = list(Replay(cfg(tmp_path)).run([log], year=2025))
    holds = [r for r in records if r["type"] == "hold"]
    incidents = [r for r in records if r["type"] == "incident"]
    summary = records[-1]
    assert summary["type"] == "summary"
    assert len(incidents) == 1 and incidents[0]["account"] == ACCOUNTS[0]
    assert {h["account"] for h in holds} == {ACCOUNTS[0]}
    assert incidents[0]["opened_at"].startswith("2025-10-05T19:4")  # 04:4x JST
    assert summary["per_incident"][0]["held"] >= 290
    assert len(holds) == summary["held"] >= 290
    assert all(h["queue_id"] and h["reasons"] for h in holds)


def test_replay_reads_rfc3339_gzip_and_rotated_files_in_time_order(tmp_path):
    """The same history split into rotated, partly gzipped files gives the same answer."""
    whole = tmp_path / "whole.log"
    history_with_incident(whole, rfc3339=True)
    lines = whole.read_text(encoding="utf-8").splitlines(keepends=True)
    third = len(lines) // 3
    parts = [lines[:third], lines[third : 2 * third], lines[2 * third :]]
    (tmp_path / "mail.log").write_text("".join(parts[2]), encoding="utf-8")
    (tmp_path / "mail.log.1").write_text("".join(parts[1]), encoding="utf-8")
    with gzip.open(tmp_path / "mail.log.2.gz", "wt", encoding="utf-8") as f:
        f.write("".join(parts[0]))
    rotated = [tmp_path / "mail.log", tmp_path / "mail.log.2.gz", tmp_path / "mail.log.1"]
    a = [r for r in Replay(cfg(tmp_path)).run([whole]) if r["type"] != "summary"]
    b = [r for r in Replay(cfg(tmp_path)).run(rotated) if r["type"] != "summary"]
    assert a == b and any(r["type"] == "incident" for r in a)


def test_import_learns_baselines_without_incidents(tmp_path):
    """logs import stores warm baselines and opens no incident, even over the burst."""
    log = tmp_path / "mail.log"
    history_with_incident(log)
    c = cfg(tmp_path)
    summary = import_logs(c, [log], year=2025, now=INCIDENT.timestamp() + 10 * 86400)
    assert summary["accounts"] == 5
    store = Store(c.store_url)
    assert store.incidents() == []
    state = json.loads(store.load_state(ACCOUNTS[1]) or "{}")
    assert state["baseline"]["messages"] > 200
    assert "JP" in state["baseline"]["countries"]


def test_replay_cli_prints_json_lines(tmp_path):
    """`mailwarden replay FILE --json` prints hold, incident and summary lines."""
    log = tmp_path / "mail.log"
    write_log(log, burst_log(INCIDENT, "x@city.example.jp", BRAZIL_IP, 30))
    conf = tmp_path / "m.toml"
    conf.write_text('[organization]\ndomains = ["city.example.jp"]\n', encoding="utf-8")
    result = CliRunner().invoke(app, ["replay", str(log), "--json", "--year", "2025",
                                      "--config", str(conf), "--data-dir", str(tmp_path)])
    assert result.exit_code == 0, result.output
    kinds = [json.loads(line)["type"] for line in result.output.splitlines()]
    assert kinds[-1] == "summary" and "incident" in kinds and kinds.count("hold") >= 20
    hold = json.loads(result.output.splitlines()[kinds.index("hold")])
    assert set(hold) >= {"type", "queue_id", "account", "time", "reasons"}


def test_replay_cli_missing_file_is_a_clear_error(tmp_path):
    """A missing log file names itself and exits non-zero."""
    result = CliRunner().invoke(app, ["replay", str(tmp_path / "nope.log"),
                                      "--data-dir", str(tmp_path)])
    assert result.exit_code != 0 and "nope.log" in result.output


def test_import_cli_then_serve_state_is_warm(tmp_path):
    """logs import through the CLI writes the store the server reads."""
    log = tmp_path / "mail.log"
    write_log(log, office_log(START, 30, ACCOUNTS[:1], CONTACTS))
    os.utime(log, (START.timestamp() + 40 * 86400,) * 2)
    result = CliRunner().invoke(app, ["logs", "import", str(log), "--data-dir",
                                      str(tmp_path / "d")])
    assert result.exit_code == 0, result.output
    assert "learned" in result.output
    stored = Store(f"sqlite:///{tmp_path / 'd' / 'mailwarden.db'}").load_state(ACCOUNTS[0])
    assert stored is not None and json.loads(stored)["baseline"]["messages"] > 50
