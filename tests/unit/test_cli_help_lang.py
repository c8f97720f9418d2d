"""The language of the CLI: ``MAILWARDEN_LANG``, else the POSIX locale, else English, chooses
every help text and the default of every ``--lang``; an explicit ``--lang`` wins and JSON never
changes. Help texts are chosen at import, so those tests run the CLI in a fresh process."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mailwarden.cli.common import language
from mailwarden.cli.main import app

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and kanji
LANGUAGE_VARIABLES = ("MAILWARDEN_LANG", "LC_ALL", "LC_MESSAGES", "LANG", "LANGUAGE")

# Walks the click command tree built from the app and prints, as JSON, every help text (the
# command's and each parameter's, with typer's own --help and completion options) and every
# command's --help page as printed on an 80-column terminal.
DUMP_HELP = """
import json, typer.main
from typer.testing import CliRunner
from mailwarden.cli.main import app

texts, pages = [], {}
def walk(command, path, parent):
    ctx = command.context_class(command, info_name=(path or ["mailwarden"])[-1], parent=parent)
    texts.append([" ".join(path), "(help)", command.help or ""])
    for param in command.get_params(ctx):
        texts.append([" ".join(path), param.name, getattr(param, "help", None) or ""])
    pages[" ".join(path)] = CliRunner().invoke(app, [*path, "--help"], terminal_width=80).output
    for name, sub in getattr(command, "commands", {}).items():
        walk(sub, [*path, name], ctx)
walk(typer.main.get_command(app), [], None)
print(json.dumps({"texts": texts, "pages": pages}, ensure_ascii=False))
"""

# Prints, as JSON, what a person reads from ``accounts --help`` and from ``accounts quarantined``
# on an empty data folder (a sentence in the --lang language), with sys.argv[1:] added to it.
PROBE = """
import json, sys
from typer.testing import CliRunner
from mailwarden.cli.main import app

runner = CliRunner()
help_page = runner.invoke(app, ["accounts", "--help"]).output
done = runner.invoke(app, ["accounts", "quarantined", *sys.argv[1:]])
print(json.dumps({"help": help_page, "out": done.output, "code": done.exit_code}))
"""


def _python(script: str, *args: str, **environ: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k not in LANGUAGE_VARIABLES}
    env |= {"COLUMNS": "80", "NO_COLOR": "1", "TERM": "dumb", "PYTHONIOENCODING": "utf-8"}
    done = subprocess.run([sys.executable, "-c", script, *args], capture_output=True,
                          text=True, encoding="utf-8", env=env | environ, timeout=120,
                          check=False)
    assert done.returncode == 0, done.stderr
    return done


def _dump(**environ: str) -> dict[str, Any]:
    dumped: dict[str, Any] = json.loads(_python(DUMP_HELP, **environ).stdout)
    return dumped


def _probe(tmp_path: Path, *args: str, **environ: str) -> tuple[dict[str, Any], str]:
    done = _python(PROBE, "--data-dir", str(tmp_path / "data"), *args, **environ)
    probe: dict[str, Any] = json.loads(done.stdout)
    assert probe["code"] == 0, probe
    return probe, done.stderr


def _squeezed(text: str) -> str:
    """The text without spaces, line breaks and table borders, as help pages wrap it."""
    return re.sub(r"[\s│]", "", text.replace("\\[", "["))


@pytest.fixture(scope="module")
def japanese() -> dict[str, Any]:
    return _dump(MAILWARDEN_LANG="ja")


@pytest.fixture(scope="module")
def english() -> dict[str, Any]:
    return _dump(MAILWARDEN_LANG="en", LANG="ja_JP.UTF-8")


def test_every_help_text_is_japanese_with_mailwarden_lang_ja(japanese: dict[str, Any]) -> None:
    """With MAILWARDEN_LANG=ja every command's, sub-app's, option's and argument's help is in
    Japanese, typer's own --help and completion options included."""
    texts = [(path, name, text) for path, name, text in japanese["texts"] if text]
    commands = {path for path, name, _ in texts if name == "(help)"}
    assert {"", "accounts release", "api token add", "incidents delete-held", "serve",
            "analyze", "spf check"} <= commands
    assert len(texts) > 200
    assert [t for t in texts if not JAPANESE.search(t[2])] == []
    assert {name for _, name, _ in texts} >= {"help", "install_completion", "lang", "config"}


def test_no_help_text_is_japanese_with_mailwarden_lang_en(english: dict[str, Any]) -> None:
    """MAILWARDEN_LANG=en gives English help everywhere, even under a Japanese locale."""
    texts = [(path, name, text) for path, name, text in english["texts"] if text]
    assert len(texts) > 200
    assert [t for t in texts if JAPANESE.search(t[2])] == []
    assert ["accounts release", "account", "The SASL account to release."] in english["texts"]


def test_both_languages_have_the_same_commands_and_options(
        japanese: dict[str, Any], english: dict[str, Any]) -> None:
    """The language changes the texts only: the same commands and parameters, each with a
    help text in both languages or in neither."""
    assert [(p, n, bool(t)) for p, n, t in japanese["texts"]] == \
        [(p, n, bool(t)) for p, n, t in english["texts"]]


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_help_pages_show_every_text_whole(lang: str, japanese: dict[str, Any],
                                          english: dict[str, Any]) -> None:
    """On an 80-column terminal every help page shows each of its texts in full: Japanese,
    which has no spaces to wrap at, is wrapped between characters, never cut short with "…"."""
    dumped = japanese if lang == "ja" else english
    for path, _, text in dumped["texts"]:
        if text:
            assert _squeezed(text) in _squeezed(dumped["pages"][path]), (path, text)


def test_japanese_lines_break_between_characters(japanese: dict[str, Any]) -> None:
    """A wrapped Japanese line never starts with a closing bracket or 、。 (kinsoku)."""
    for page in japanese["pages"].values():
        for line in page.splitlines():
            body = line.strip(" │")
            assert not body.startswith(("、", "。", "）", "」")), line


JA_LABELS = ("引数", "オプション", "[必須]", "[既定:", "[環境変数:MAILWARDEN_CONFIG]")
EN_LABELS = ("Arguments", "Options", "[required]", "[default:",
             "[envvar:MAILWARDEN_CONFIG]")


@pytest.mark.parametrize("lang", ["ja", "en"])
def test_typers_own_labels_speak_the_language(lang: str, japanese: dict[str, Any],
                                              english: dict[str, Any]) -> None:
    """typer's labels on a help page (the Arguments/Options/Commands panels,
    [default: ...], [required], [env var: ...]) are Japanese on a Japanese page and English on
    an English one."""
    pages = (japanese if lang == "ja" else english)["pages"]
    wanted, unwanted = (JA_LABELS, EN_LABELS) if lang == "ja" else (EN_LABELS, JA_LABELS)
    page = _squeezed(pages["incidents delete-held"])  # an argument, options, env vars
    for label in wanted:
        assert _squeezed(label) in page, (lang, label)
    for label in unwanted:
        assert _squeezed(label) not in page, (lang, label)
    assert ("╭─コマンド─" if lang == "ja" else "╭─Commands─") in _squeezed(pages[""])
    usage = next(line for line in pages["incidents delete-held"].splitlines() if line.strip())
    assert usage.startswith(" Usage: "), usage  # click's, in both languages


def test_japanese_labels_are_put_back_after_the_page(monkeypatch: pytest.MonkeyPatch) -> None:
    """The labels are Japanese only while a Japanese page is printed; a label this typer does
    not have is left alone."""
    from typer import rich_utils

    from mailwarden.cli import help_ja

    monkeypatch.delattr(rich_utils, "ENVVAR_STRING")
    with help_ja.japanese_wrapping():
        assert rich_utils.OPTIONS_PANEL_TITLE == "オプション"
        assert rich_utils.DEFAULT_STRING == "[既定: {}]"
        assert not hasattr(rich_utils, "ENVVAR_STRING")
    assert rich_utils.OPTIONS_PANEL_TITLE == "Options"
    assert rich_utils.DEFAULT_STRING == "[default: {}]"
    assert not hasattr(rich_utils, "ENVVAR_STRING")


def test_locale_alone_selects_japanese(tmp_path: Path) -> None:
    """LANG=ja_JP.UTF-8 without MAILWARDEN_LANG gives Japanese help and sentences."""
    probe, _ = _probe(tmp_path, LANG="ja_JP.UTF-8")
    assert "アカウント: 隔離と解除。" in probe["help"]
    assert "このヘルプを表示して終了します。" in probe["help"]
    assert probe["out"] == "隔離中のアカウントはありません\n"


def test_lc_all_comes_before_lang(tmp_path: Path) -> None:
    """LC_ALL=C outranks LANG=ja_JP.UTF-8, as for every POSIX program: English."""
    probe, _ = _probe(tmp_path, LC_ALL="C", LANG="ja_JP.UTF-8")
    assert "Accounts: quarantine and release." in probe["help"]
    assert not JAPANESE.search(probe["help"])
    assert probe["out"] == "no quarantined accounts\n"


def test_explicit_lang_beats_mailwarden_lang(tmp_path: Path) -> None:
    """--lang en prints English sentences under MAILWARDEN_LANG=ja (the help stays Japanese)."""
    probe, _ = _probe(tmp_path, "--lang", "en", MAILWARDEN_LANG="ja")
    assert probe["out"] == "no quarantined accounts\n"
    assert "アカウント: 隔離と解除。" in probe["help"]


def test_bad_mailwarden_lang_warns_and_falls_back_to_english(tmp_path: Path) -> None:
    """MAILWARDEN_LANG=fr is no crash: one warning line on stderr, then English, even under a
    Japanese locale."""
    probe, err = _probe(tmp_path, MAILWARDEN_LANG="fr", LANG="ja_JP.UTF-8")
    assert err == "mailwarden: MAILWARDEN_LANG='fr' is neither ja nor en; using en\n"
    assert probe["out"] == "no quarantined accounts\n"
    assert "Accounts: quarantine and release." in probe["help"]


@pytest.mark.parametrize(("environ", "expected"), [
    ({}, "en"),
    ({"LANG": "ja_JP.UTF-8"}, "ja"),
    ({"LANG": "ja"}, "ja"),
    ({"LANG": "ja_JP.eucJP@x"}, "ja"),
    ({"LANG": "en_US.UTF-8"}, "en"),
    ({"LANG": "jam_JM"}, "en"),
    ({"LC_ALL": "C", "LANG": "ja_JP.UTF-8"}, "en"),
    ({"LC_ALL": "", "LC_MESSAGES": "ja_JP.UTF-8", "LANG": "en_US.UTF-8"}, "ja"),
    ({"LC_MESSAGES": "C", "LANG": "ja_JP.UTF-8"}, "en"),
    ({"MAILWARDEN_LANG": "ja", "LC_ALL": "C"}, "ja"),
    ({"MAILWARDEN_LANG": "EN", "LC_ALL": "ja_JP.UTF-8"}, "en"),
    ({"MAILWARDEN_LANG": "", "LANG": "ja_JP.UTF-8"}, "ja"),
    ({"MAILWARDEN_LANG": "japanese", "LANG": "ja_JP.UTF-8"}, "en"),
])
def test_the_rule(environ: dict[str, str], expected: str) -> None:
    """MAILWARDEN_LANG if set, else the first set of LC_ALL, LC_MESSAGES, LANG, else en."""
    assert language(environ)[0] == expected


def test_configuration_error_frame_in_both_languages(tmp_path: Path) -> None:
    """The line around a configuration error follows the CLI's language (read when the command
    runs) and --lang (the error inside it: tests/unit/test_config_errors_lang.py)."""
    bad = tmp_path / "bad.toml"
    bad.write_text("bogus = [\n", encoding="utf-8")
    args = ["accounts", "quarantined", "-c", str(bad), "--data-dir", str(tmp_path)]
    runner = CliRunner()
    ja = runner.invoke(app, args, env={"MAILWARDEN_LANG": "ja"})
    assert ja.exit_code == 2
    assert ja.stderr.startswith(f"mailwarden: 設定エラー: {bad}: "), ja.stderr
    en = runner.invoke(app, [*args, "--lang", "en"], env={"MAILWARDEN_LANG": "ja"})
    assert en.exit_code == 2
    assert en.stderr.startswith(f"mailwarden: configuration error: {bad}: "), en.stderr
    without_lang = runner.invoke(app, ["logs", "import", str(bad), "-c", str(bad)],
                                 env={"MAILWARDEN_LANG": "ja"})
    assert without_lang.stderr.startswith("mailwarden: 設定エラー: "), without_lang.stderr


def test_json_does_not_change_with_the_language(tmp_path: Path,
                                                monkeypatch: pytest.MonkeyPatch) -> None:
    """``audit --json`` prints the same document under MAILWARDEN_LANG=ja and en; only an
    explicit --lang is named in it."""
    import mailwarden.audit.runner

    async def no_reports(*_: object) -> list[object]:
        return []

    monkeypatch.setattr(mailwarden.audit.runner, "audit_all", no_reports)
    args = ["audit", "city.example.jp", "--nameserver", "127.0.0.1", "--json"]
    runner = CliRunner()
    outputs = {}
    for lang in ("ja", "en"):
        result = runner.invoke(app, args, env={"MAILWARDEN_LANG": lang})
        assert result.exit_code == 0, result.output
        document = json.loads(result.stdout)
        document.pop("generated_at")
        outputs[lang] = document
    assert outputs["ja"] == outputs["en"] == {"lang": "en", "domains": []}
    chosen = runner.invoke(app, [*args, "--lang", "ja"], env={"MAILWARDEN_LANG": "en"})
    assert json.loads(chosen.stdout)["lang"] == "ja"
