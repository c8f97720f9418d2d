"""``--lang ja`` on ``accounts``, ``api token`` and ``simulate takeover``: every sentence a person
reads is in Japanese, the default stays English, and the token stays alone on stdout."""

from __future__ import annotations

import json
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailwarden import drill, i18n
from mailwarden.cli.main import app as cli
from mailwarden.drill import Attack, DrillResult
from mailwarden.store.store import Store

ACCOUNT = "suzuki@city.example.jp"
PREFIXES = ("cli.accounts.", "cli.api_token.", "cli.simulate.")


def _where(tmp_path: Path) -> list[str]:
    return ["--data-dir", str(tmp_path)]


def _store(tmp_path: Path) -> Store:
    return Store(f"sqlite:///{tmp_path / 'mailwarden.db'}")


def _run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_every_new_sentence_has_english_and_a_different_japanese() -> None:
    keys = [key for key in i18n.MESSAGES if key.startswith(PREFIXES)]
    assert {key.split(".")[1] for key in keys} == {"accounts", "api_token", "simulate"}
    for key in keys:
        en, ja = i18n.MESSAGES[key]
        assert en.strip() and ja.strip(), key
        assert ja != en, key
        assert _fields(en) == _fields(ja), key


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


# -- accounts ---------------------------------------------------------------------------------
def test_accounts_in_japanese(tmp_path: Path) -> None:
    where = _where(tmp_path)
    code, out, _ = _run("accounts", "quarantined", "--lang", "ja", *where)
    assert code == 0 and out.strip() == "隔離中のアカウントはありません"

    _store(tmp_path).quarantine(ACCOUNT, "INC-1", 1_700_000_000.0, "test")
    code, out, _ = _run("accounts", "quarantined", "--lang", "ja", *where)
    assert code == 0 and f"{ACCOUNT}  2023-11-14T22:13:20Z から隔離中  INC-1" in out

    code, out, _ = _run("accounts", "release", ACCOUNT, "--lang", "ja", *where)
    assert code == 0
    assert out.startswith(f"{ACCOUNT} の隔離を解除しました（インシデント INC-1）。"), out
    assert "秒以内に反映されます" in out

    code, out, err = _run("accounts", "release", ACCOUNT, "--lang", "ja", *where)
    assert code == 1 and out == ""
    assert err.strip() == f"mailwarden: {ACCOUNT} は隔離されていません"


def test_accounts_english_is_unchanged(tmp_path: Path) -> None:
    where = _where(tmp_path)
    assert _run("accounts", "quarantined", *where)[1] == "no quarantined accounts\n"
    _store(tmp_path).quarantine(ACCOUNT, "INC-1", 1_700_000_000.0, "test")
    assert _run("accounts", "quarantined", *where)[1] == (
        f"{ACCOUNT}  since 2023-11-14T22:13:20Z  INC-1\n")
    code, out, _ = _run("accounts", "release", ACCOUNT, *where)
    assert code == 0 and out.startswith(
        f"released {ACCOUNT} (incident INC-1); a running serve applies it within ")
    assert out.endswith("s\n")
    assert _run("accounts", "release", ACCOUNT, *where)[2] == (
        f"mailwarden: {ACCOUNT} is not quarantined\n")


# -- api token --------------------------------------------------------------------------------
def test_api_token_in_japanese(tmp_path: Path) -> None:
    where = _where(tmp_path)
    code, out, err = _run("api", "token", "add", "総務課 山田", "--role", "responder",
                          "--lang", "ja", *where)
    assert code == 0, err
    token = out.strip()
    assert len(token) == 43 and out == token + "\n"  # alone on stdout: TOKEN=$(...) works
    assert "上のトークンは 総務課 山田 用（権限 responder）です" in err

    code, out, _ = _run("api", "token", "list", "--lang", "ja", *where)
    assert code == 0 and token not in out
    assert "総務課 山田  responder  作成 " in out and "最終使用: 未使用" in out
    assert "このほかに共有トークン" in out

    code, _, err = _run("api", "token", "add", "総務課 山田", "--lang", "ja", *where)
    assert code == 1 and "'総務課 山田' にはすでにトークンがあります" in err
    code, _, err = _run("api", "token", "add", "admin", "--lang", "ja", *where)
    assert code == 2 and "'admin' は共有トークン" in err
    code, _, err = _run("api", "token", "add", "x\u200by", "--lang", "ja", *where)
    assert code == 2 and "制御文字や目に見えない文字は使えません" in err
    code, _, err = _run("api", "token", "add", "x", "--role", "root", "--lang", "ja", *where)
    assert code == 2
    assert "'root' という権限はありません。指定できる権限: viewer, responder, admin" in err

    code, out, _ = _run("api", "token", "revoke", "総務課 山田", "--lang", "ja", *where)
    assert code == 0 and out.strip() == "総務課 山田 のトークンを失効させました"
    code, out, _ = _run("api", "token", "list", "--all", "--lang", "ja", *where)
    assert "  失効済み " in out
    code, _, err = _run("api", "token", "revoke", "総務課 山田", "--lang", "ja", *where)
    assert code == 1 and "失効させるトークンがありません" in err
    code, _, err = _run("api", "token", "revoke", "admin", "--lang", "ja", *where)
    assert code == 1 and "serve を再起動してください" in err


def test_api_token_english_and_json_are_unchanged(tmp_path: Path) -> None:
    where = _where(tmp_path)
    code, out, err = _run("api", "token", "add", "yamada", *where)
    assert code == 0
    assert err == ("mailwarden: the token above is yamada's (viewer); it is shown only now, "
                   "Mailwarden keeps only its SHA-256. Send it as "
                   "'Authorization: Bearer TOKEN'.\n")
    code, out, _ = _run("api", "token", "list", *where)
    lines = out.splitlines()
    assert lines[0].startswith("yamada  viewer  created ") and "  last used: never used" in out
    assert lines[-1] == ("(and the shared token, [api] token or DATA_DIR/api.token: acts as "
                         "'admin', role admin)")
    code, out, _ = _run("api", "token", "list", "--json", "--lang", "ja", *where)
    assert json.loads(out)["name"] == "yamada"  # --json ignores --lang
    assert _run("api", "token", "add", "admin", *where)[2] == (
        "mailwarden: 'admin' is the shared token's name ([api] token or DATA_DIR/api.token): "
        "choose the person's name\n")
    assert _run("api", "token", "add", "x", "--role", "root", *where)[2] == (
        "mailwarden: unknown role 'root'; the roles are: viewer, responder, admin\n")
    assert _run("api", "token", "revoke", "yamada", *where)[1] == "revoked the token of yamada\n"


# -- simulate takeover ------------------------------------------------------------------------
@pytest.fixture
def fake_drill(monkeypatch: pytest.MonkeyPatch) -> None:
    def via_policy(attack: Attack, host: str, port: int) -> DrillResult:
        return DrillResult(sent=20, accepted=20, held=12, refused=0, first_hold=8,
                           queue_ids=[], seconds=1.04)

    monkeypatch.setattr(drill, "via_policy", via_policy)


def test_simulate_in_japanese(fake_drill: None) -> None:
    code, out, _ = _run("simulate", "takeover", "--account", ACCOUNT, "--policy",
                        "127.0.0.1:10040", "--lang", "ja")
    assert code == 0
    assert out.splitlines() == ["1.0秒間に送信20通: 受理20通、保留12通、拒否0通",
                                "保留が始まる前に通過したメール: 8通（最初に保留されたのは9通目）"]
    code, _, err = _run("simulate", "takeover", "--account", ACCOUNT, "--lang", "ja")
    assert code == 2 and "--policy と --smtp のどちらか一方だけを指定してください" in err
    code, _, err = _run("simulate", "takeover", "--account", ACCOUNT, "--policy", "nowhere",
                        "--lang", "ja")
    assert code == 1 and err.startswith("mailwarden: 訓練に失敗しました: ")


def test_simulate_english_and_json_are_unchanged(fake_drill: None) -> None:
    args = ["simulate", "takeover", "--account", ACCOUNT, "--policy", "127.0.0.1:10040"]
    code, out, _ = _run(*args)
    assert code == 0
    assert out == ("sent 20, accepted 20, held 12, refused 0 in 1.0s\n"
                   "got through before the hold: 8 (first held: message 9)\n")
    code, out, _ = _run(*args, "--json", "--lang", "ja")
    assert json.loads(out) == {"sent": 20, "accepted": 20, "held": 12, "refused": 0,
                               "got_through": 8, "first_hold": 8, "seconds": 1.04}
    assert _run("simulate", "takeover", "--account", ACCOUNT)[2] == (
        "mailwarden: give exactly one of --policy or --smtp\n")
