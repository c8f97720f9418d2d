"""``--lang`` on the text the commands print: with ``--lang ja`` a person reads Japanese, with
``--lang en`` (the default in tests) exactly the English printed before the sentences moved to
``mailwarden.i18n``; identifiers (ids, statuses, signal names) stay as they are in both."""

from __future__ import annotations

import json
import re
import string
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from tests.logsynth import JST, burst_log, write_log
from tests.unit.scenarios import BRAZIL_IP
from tests.unit.test_cli_startup import _modules_after
from tests.unit.test_scan import mixed_log
from tests.unit.test_store import burst, runtime
from typer.testing import CliRunner

from mailwarden import i18n
from mailwarden.cli.main import app as cli

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and kanji
ACCOUNT = "a@city.example.jp"  # the account tests.unit.test_store.burst hijacks
# The sections of mailwarden.i18n added for these commands.
SECTIONS = {"log_file", "logs", "replay", "logins", "incidents", "response", "spf", "audit",
            "bad_lang", "listen", "serve"}
INCIDENT_TIME = datetime(2025, 10, 6, 4, 45, tzinfo=JST)


def _run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args), env=env)
    return result.exit_code, result.stdout, result.stderr


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture
def incident(tmp_path: Path) -> str:
    """A data folder (tmp_path) whose store holds one real incident: a burst from Brazil."""
    rt = runtime(tmp_path)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    found: str = rt.store.incidents()[0]["id"]
    return found


def test_every_added_sentence_is_in_both_languages_with_the_same_fields() -> None:
    """Each sentence of these commands has English and a different Japanese, both with the
    same {fields}; a section without sentences fails too."""
    keys = [key for key in i18n.MESSAGES
            if key.startswith("cli.") and key.split(".")[1] in SECTIONS]
    assert {key.split(".")[1] for key in keys} == SECTIONS
    for key in keys:
        en, ja = i18n.MESSAGES[key]
        assert en.strip() and ja.strip(), key
        assert ja != en and JAPANESE.search(ja), key
        assert _fields(en) == _fields(ja), key


# -- logins, incidents ------------------------------------------------------------------------
def test_logins_without_findings(tmp_path: Path) -> None:
    """`logins findings` on an empty store: one sentence in the chosen language."""
    where = ("--data-dir", str(tmp_path))
    assert _run("logins", "findings", "--lang", "ja", *where)[:2] == (0, "検知結果はありません\n")
    assert _run("logins", "findings", "--lang", "en", *where)[:2] == (0, "no findings\n")
    assert _run("logins", "findings", *where)[1] == "no findings\n"


def test_incidents_show_in_japanese(tmp_path: Path, incident: str) -> None:
    """`incidents show --lang ja`: the labels and the title and reasons are Japanese; the id,
    status and severity stay as they are."""
    code, out, _ = _run("incidents", "show", incident, "--lang", "ja",
                        "--data-dir", str(tmp_path))
    assert code == 0
    lines = out.splitlines()
    assert re.fullmatch(rf"{incident}  open  high  スコア [\d.]+", lines[0]), lines[0]
    assert JAPANESE.search(lines[1])  # the title
    assert re.fullmatch(rf"アカウント: {ACCOUNT}   検知日時: \S+", lines[2]), lines[2]
    assert lines[3] == "理由:" and JAPANESE.search(lines[4])
    assert "証拠:" in lines and "タイムライン:" in lines
    assert not {"reasons:", "evidence:", "timeline:"} & set(lines)
    assert not any(line.startswith("account:") for line in lines)


def test_incidents_show_in_english_is_unchanged(tmp_path: Path, incident: str) -> None:
    """`incidents show` in English prints what it always printed, line for line."""
    code, out, _ = _run("incidents", "show", incident, "--data-dir", str(tmp_path))
    assert code == 0
    row = json.loads(_run("incidents", "show", incident, "--json",
                          "--data-dir", str(tmp_path))[1])
    lines = out.splitlines()
    assert lines[:4] == [
        f"{row['id']}  {row['status']}  {row['severity']}  score {row['score']}",
        row["title_en"],
        f"account: {row['account']}   opened: {row['opened_at']}",
        "reasons:"]
    at = lines.index("evidence:")
    assert lines[at + 2] == "timeline:"
    assert lines[at + 1] == "  " + json.dumps(row["evidence"], ensure_ascii=False)


def test_unknown_incident(tmp_path: Path) -> None:
    """`incidents show` of an incident that does not exist: exit 1, one line on stderr."""
    where = ("--data-dir", str(tmp_path))
    code, out, err = _run("incidents", "show", "INC-x", "--lang", "ja", *where)
    assert (code, out, err) == (1, "", "mailwarden: インシデント 'INC-x' はありません\n")
    assert _run("incidents", "show", "INC-x", *where)[2] == "mailwarden: no incident 'INC-x'\n"


def test_respond_actions_undo_in_both_languages(tmp_path: Path, incident: str) -> None:
    """respond, actions and undo: the words around the ids, statuses and operations follow
    --lang; the English lines are the ones printed before."""
    where = ("--data-dir", str(tmp_path))
    code, out, _ = _run("incidents", "respond", incident, "--step", "quarantine", "--by",
                        "sato", "--reason", "電話で本人確認", "--lang", "ja", *where)
    assert code == 0 and re.fullmatch(r" +#1 done +\[quarantine\] .*保留する\n", out), out
    code, out, _ = _run("incidents", "actions", incident, "--lang", "ja", *where)
    assert code == 0
    assert re.fullmatch(r"#1    \S+ done     outbound\.quarantine 実行者 sato 変更=なし  "
                        r"取り消し方法: release\n      理由: 電話で本人確認\n", out), out
    code, out, _ = _run("incidents", "actions", incident, *where)
    assert re.fullmatch(r"#1    \S+ done     outbound\.quarantine by sato changed=false  "
                        r"undo: release\n      why: 電話で本人確認\n", out), out

    code, out, _ = _run("incidents", "undo", incident, "--by", "sato", "--lang", "ja", *where)
    assert code == 0 and out.endswith("（変更あり）\n") and "(changed)" not in out
    code, out, _ = _run("incidents", "undo", incident, "--by", "sato", *where)
    assert code == 0
    code, ja, _ = _run("incidents", "actions", incident, "--lang", "ja", *where)
    assert "変更=なし  #2 で取り消し済み\n" in ja
    assert "outbound.release（#1 の取り消し） 実行者 sato 変更=あり  取り消し不可: " in ja
    code, en, _ = _run("incidents", "actions", incident, *where)
    assert "changed=false  undone by #2\n" in en
    assert "outbound.release (undoes #1) by sato changed=true  no undo: " in en


def test_delete_held_without_yes(tmp_path: Path) -> None:
    """`incidents delete-held` without --yes deletes nothing and says why: exit 2."""
    where = ("--data-dir", str(tmp_path))
    code, out, err = _run("incidents", "delete-held", "INC-1", "--lang", "ja", *where)
    assert (code, out) == (2, "")
    assert err == "mailwarden: 保留メールを削除するには --yes を指定してください\n"
    assert _run("incidents", "delete-held", "INC-1", *where)[2] == (
        "mailwarden: deleting held mail needs --yes\n")


# -- logs scan, logs import, replay -----------------------------------------------------------
def _old_scan_line(rec: dict[str, Any]) -> str | None:
    """What `logs scan` printed for a record before --lang (its English, copied verbatim)."""
    if rec["type"] == "finding":
        return (f"{rec['time']}  FINDING {rec['signal']} {rec['severity']} "
                f"{rec['account'] or '-'} {rec['address'] or '-'}: "
                f"{rec['reasons'][0]['en'] if rec['reasons'] else ''}")
    if rec["type"] == "login":
        ok = "ok  " if rec["success"] else "FAIL"
        return (f"{rec['time']}  login {ok} {rec['account'] or '-'} from "
                f"{rec['address']} ({rec['country'] or '?'}) {rec['protocol']}")
    if rec["type"] == "summary":
        return (f"{rec['logins']} logins, {rec['submissions']} submissions, "
                f"{rec['deliveries']} deliveries, {rec['findings']} findings")
    return None


def test_logs_scan_text_in_both_languages(tmp_path: Path) -> None:
    """`logs scan`: English line for line as before; Japanese words and reasons with --lang ja,
    the same number of lines."""
    log = tmp_path / "mail.log"
    mixed_log(log)
    args = ("logs", "scan", str(log), "--year", "2025", "--data-dir", str(tmp_path / "data"))
    code, out, _ = _run(*args, "--json")
    assert code == 0
    expected = [_old_scan_line(json.loads(line)) for line in out.splitlines()]
    code, en, _ = _run(*args)
    assert code == 0 and en.splitlines() == [line for line in expected if line is not None]

    code, ja, _ = _run(*args, "--lang", "ja")
    assert code == 0 and len(ja.splitlines()) == len(en.splitlines())
    assert "検知 brute_force_address" in ja and "FINDING" not in ja
    assert "ログイン 失敗 somu@city.example.jp 接続元 185.220.101.4（" in ja
    assert "ログイン 成功 kyoju@city.example.jp" in ja
    assert re.fullmatch(r"ログイン17件、送信\d+件、配送\d+件、検知\d+件", ja.splitlines()[-1])
    finding = next(line for line in ja.splitlines() if "検知 brute_force_address" in line)
    assert JAPANESE.search(finding.partition(": ")[2]), finding  # the reason too


def test_log_file_that_cannot_be_read(tmp_path: Path) -> None:
    """`logs import`, `logs scan` and `replay` name a missing file in the chosen language."""
    missing = tmp_path / "nope.log"
    where = ("--data-dir", str(tmp_path / "data"))
    for command in (("logs", "import"), ("logs", "scan"), ("replay",)):
        code, _, err = _run(*command, str(missing), "--lang", "ja", *where)
        assert code == 1 and err.startswith(f"mailwarden: {missing} を読めません: "), err
        code, _, err = _run(*command, str(missing), *where)
        assert code == 1 and err == f"mailwarden: {missing}: No such file or directory\n"


def test_logs_import_and_replay_summaries(tmp_path: Path) -> None:
    """`logs import` and `replay`: their summaries (and replay's incident line) in Japanese
    with --lang ja, in the English of before without."""
    log = tmp_path / "mail.log"
    write_log(log, burst_log(INCIDENT_TIME, "x@city.example.jp", BRAZIL_IP, 30))
    conf = tmp_path / "m.toml"
    conf.write_text('[organization]\ndomains = ["city.example.jp"]\n', encoding="utf-8")
    common = ("--year", "2025", "--config", str(conf))

    code, out, _ = _run("replay", str(log), *common, "--data-dir", str(tmp_path / "r"),
                        "--json")
    records = [json.loads(line) for line in out.splitlines()]
    opened = next(r for r in records if r["type"] == "incident")
    summary = records[-1]
    code, en, _ = _run("replay", str(log), *common, "--data-dir", str(tmp_path / "r"))
    assert code == 0 and en.splitlines() == [
        f"{opened['opened_at']}  incident {opened['id']}  {opened['account']}: "
        + "; ".join(r["en"] for r in opened["reasons"]),
        f"{summary['messages']} messages, {summary['held']} held, "
        f"{summary['incidents']} incidents, {summary['accounts']} accounts "
        f"({summary['from']} .. {summary['to']})"]
    code, ja, _ = _run("replay", str(log), *common, "--data-dir", str(tmp_path / "r"),
                       "--lang", "ja")
    incident_line, summary_line = ja.splitlines()
    assert incident_line.startswith(f"{opened['opened_at']}  インシデント {opened['id']}  ")
    assert opened["reasons"][0]["ja"] in incident_line
    assert summary_line == (f"メール{summary['messages']}通、保留{summary['held']}通、"
                            f"インシデント{summary['incidents']}件、"
                            f"アカウント{summary['accounts']}件"
                            f"（{summary['from']} .. {summary['to']}）")

    code, out, _ = _run("logs", "import", str(log), *common, "--data-dir", str(tmp_path / "i"),
                        "--json")
    learned = json.loads(out)
    code, en, _ = _run("logs", "import", str(log), *common, "--data-dir", str(tmp_path / "i"))
    assert code == 0 and en == (f"learned {learned['messages']} messages of "
                                f"{learned['accounts']} accounts from {learned['from']} to "
                                f"{learned['to']}\n")
    code, ja, _ = _run("logs", "import", str(log), *common, "--data-dir", str(tmp_path / "i"),
                       "--lang", "ja")
    assert code == 0 and ja == (f"{learned['from']} から {learned['to']} までのログで、"
                                f"{learned['accounts']}アカウントの{learned['messages']}通を"
                                "学習しました\n")


# -- spf, audit, analyze, serve, simulate: usage errors ---------------------------------------
def test_spf_not_an_ip_address() -> None:
    """`spf check` of something that is not an address: exit 2 before any DNS query."""
    code, out, err = _run("spf", "check", "not-an-ip", "city.example.jp", "--lang", "ja")
    assert (code, out, err) == (2, "", "mailwarden: IP アドレスではありません: 'not-an-ip'\n")
    assert _run("spf", "check", "not-an-ip", "city.example.jp")[2] == (
        "mailwarden: not an IP address: 'not-an-ip'\n")


@pytest.mark.parametrize(("args", "ja", "en"), [
    ((), "ドメインを1つ以上指定するか、--file FILE を指定してください",
     "give at least one domain, or --file FILE"),
    (("x.example", "--concurrency", "0"), "--concurrency 0: 1〜1000 の範囲で指定してください",
     "--concurrency 0: expected 1-1000"),
    (("x.example", "--relay-test"), "--relay-test には --probe-smtp も指定してください",
     "--relay-test needs --probe-smtp"),
    (("x.example", "--nameserver", "dns.example"),
     "--nameserver 'dns.example': IP、IP:PORT または [IPv6]:PORT の形式で指定してください",
     "--nameserver 'dns.example': expected IP, IP:PORT or [IPv6]:PORT"),
])
def test_audit_usage_errors(args: tuple[str, ...], ja: str, en: str) -> None:
    """`audit`'s usage errors: exit 2, one line in the chosen language."""
    assert _run("audit", *args, "--lang", "ja") == (2, "", f"mailwarden audit: {ja}\n")
    assert _run("audit", *args) == (2, "", f"mailwarden audit: {en}\n")


def test_bad_lang_is_told_in_the_environments_language(tmp_path: Path) -> None:
    """`--lang fr` is a usage error (exit 2) of every command, told in the language of
    MAILWARDEN_LANG / the locale."""
    ja = {"MAILWARDEN_LANG": "ja"}
    assert _run("audit", "x.example", "--lang", "fr", env=ja)[::2] == (
        2, "mailwarden: --lang 'fr': ja または en を指定してください\n")
    assert _run("audit", "x.example", "--lang", "fr")[::2] == (
        2, "mailwarden: --lang 'fr': expected ja or en\n")
    mail = tmp_path / "a.eml"
    mail.write_bytes(b"Subject: x\r\n\r\nx\r\n")
    where = ("--data-dir", str(tmp_path))
    assert _run("analyze", str(mail), "--lang", "fr", *where, env=ja)[::2] == (
        2, "mailwarden: --lang 'fr': ja または en を指定してください\n")
    for command in (("incidents", "list"), ("logins", "findings"), ("accounts", "quarantined")):
        assert _run(*command, "--lang", "fr", *where)[::2] == (
            2, "mailwarden: --lang 'fr': expected ja or en\n")


def test_serve_start_up_errors(tmp_path: Path) -> None:
    """`serve` refuses a bad --*-listen or --event-loop before starting: exit 2, one line."""
    where = ("--data-dir", str(tmp_path))
    code, _, err = _run("serve", "--policy-listen", "nowhere", "--lang", "ja", *where)
    assert (code, err) == (2, "mailwarden: --policy-listen: HOST:PORT または off を指定して"
                              "ください（指定値: 'nowhere'）\n")
    assert _run("serve", "--api-listen", "h:²", *where)[::2] == (
        2, "mailwarden: --api-listen: expected HOST:PORT or off, got 'h:²'\n")
    code, _, err = _run("serve", "--event-loop", "tokio", "--lang", "ja", *where)
    assert (code, err) == (2, "mailwarden: --event-loop: auto、uvloop、asyncio のいずれかを"
                              "指定してください（指定値: 'tokio'）\n")
    assert _run("serve", "--event-loop", "tokio", *where)[::2] == (
        2, "mailwarden: --event-loop: expected auto, uvloop or asyncio, got 'tokio'\n")


def test_parse_listen_lives_in_its_own_module(tmp_path: Path) -> None:
    """`simulate takeover` parses its target without importing mailwarden.service (which
    still offers parse_listen to those who imported it from there)."""
    from mailwarden.listen import parse_listen
    from mailwarden.service import parse_listen as from_service

    assert from_service is parse_listen
    modules, output = _modules_after(tmp_path, "simulate", "takeover", "--account", ACCOUNT,
                                     "--policy", "nowhere", "--lang", "ja")
    assert "訓練に失敗しました: --policy-listen: HOST:PORT または off" in output, output
    assert "mailwarden.listen" in modules and "mailwarden.service" not in modules
