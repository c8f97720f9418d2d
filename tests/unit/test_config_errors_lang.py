"""Configuration errors in Japanese and English: ``ConfigError.text(lang)``; ``str()`` stays the
English sentence (tests and the service's logs read it); the CLI prints the error in its
language inside the ``設定エラー`` / ``configuration error`` frame."""

from __future__ import annotations

import errno
import os
import pickle
import re
import string
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mailwarden import i18n
from mailwarden.cli.main import app
from mailwarden.config import ConfigError, load
from mailwarden.inbound.clamd import parse_address

JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")  # kana and kanji
PREFIX = "config.error."

# (id, file contents, the ConfigError key, the setting or section the error must name)
CASES = [
    ("unknown section", "[nonsense]\na = 1\n", "unknown_section", "nonsense"),
    ("not a table", "organization = 3\n", "not_a_table", "organization"),
    ("unknown key", "[outbound]\nhold_treshold = 2\n", "unknown_setting", "hold_treshold"),
    ("wrong type", '[limits]\nmessages_per_minute = "ten"\n', "type",
     "limits.messages_per_minute"),
    ("boolean", "[limits]\nmessages_per_minute = true\n", "boolean",
     "limits.messages_per_minute"),
    ("not a list", '[organization]\ndomains = "city.example.jp"\n', "list_of_strings",
     "organization.domains"),
    ("bad enum", '[milter]\nlanguages = "fr"\n', "one_of", "milter.languages"),
    ("bad timezone", '[organization]\ntimezone = "Mars/Olympus"\n', "timezone",
     "organization.timezone"),
    ("bad listen", '[policy]\nlisten = "nowhere"\n', "listen", "policy.listen"),
    ("bad milter listen", '[milter]\nlisten = "127.0.0.1:99999"\n', "listen",
     "milter.listen"),
    ("bad TOML", "[organization\n", "toml", "TOML"),
    ("negative number", "[milter]\ntimeout = -5\n", "positive", "milter.timeout"),
    ("below minimum", "[response]\nmax_parallel_playbooks = -1\n", "at_least",
     "response.max_parallel_playbooks"),
    ("below another", "[milter]\nmax_buffered_bytes = 2000\n", "at_least_setting",
     "milter.max_buffered_bytes"),
    ("short token", '[api]\ntoken = "short"\n', "min_length", "api.token"),
    ("thresholds", "[inbound]\nsuspicious_threshold = -1\n", "positive_at_most",
     "inbound.suspicious_threshold"),
    ("names nobody", '[inbound]\npeople = ["a@b.example: | "]\n', "names_nobody",
     "a@b.example"),
    ("reject reply", '[milter]\nreject_reply = "250 2.0.0 fine"\n', "reject_reply",
     "milter.reject_reply"),
    ("clamd unix", '[milter]\nclamd = "unix:relative.ctl"\n', "clamd_unix", "milter.clamd"),
    ("clamd", '[milter]\nclamd = "/run/clamav/clamd.ctl"\n', "clamd", "milter.clamd"),
    ("channel", '[notify]\nchannels = ["pigeon"]\n', "unknown_channel", "pigeon"),
    ("channel needs", '[notify]\nchannels = ["slack"]\n', "needed_by_channel",
     "notify.slack_url"),
    ("doveadm http", '[response]\ndoveadm_executor = "http"\n', "doveadm_http",
     "response.doveadm_url"),
    ("step", '[playbook]\nhigh = ["explode"]\n', "unknown_step", "explode"),
    ("manual step", '[playbook]\nhigh = ["reset_password"]\n', "manual_only", "high_manual"),
]


def _error(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as err:
        load(path)
    return err.value


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailwarden.toml"
    path.write_text(text, encoding="utf-8")
    return path


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


@pytest.fixture(autouse=True)
def _no_config_from_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)


@pytest.mark.parametrize(("text", "key", "names"), [c[1:] for c in CASES],
                         ids=[c[0] for c in CASES])
def test_error_in_japanese_and_english(tmp_path: Path, text: str, key: str, names: str) -> None:
    """Japanese names the file and the key; English is ``str()``."""
    path = _write(tmp_path, text)
    exc = _error(path)
    assert exc.key == key
    ja, en = exc.text("ja"), exc.text("en")
    assert JAPANESE.search(ja), ja
    assert names in ja and str(path) in ja, ja
    assert "{" not in ja.replace(str(path), ""), ja  # a sentence that failed to format
    assert en == str(exc) and ja != en
    assert not JAPANESE.search(en), en


def test_missing_file(tmp_path: Path) -> None:
    """A file that cannot be read: the system's reason is passed through."""
    path = tmp_path / "absent.toml"
    exc = _error(path)
    reason = os.strerror(errno.ENOENT)
    assert str(exc) == f"{path}: cannot read: {reason}"
    assert exc.text("en") == str(exc)
    assert exc.text("ja") == f"{path}: 読み込めません: {reason}"


@pytest.mark.parametrize(("text", "english"), [
    # copied from the messages before ConfigError had sentences
    ('[milter]\nlanguages = "fr"\n', "{path}: milter.languages must be one of ja, en, both"),
    ("[outbound]\nhold_treshold = 2\n", "{path}: outbound: unknown setting 'hold_treshold'"),
    ('[limits]\nmessages_per_minute = "ten"\n',
     "{path}: limits.messages_per_minute: expected int, got str"),
    ("[nonsense]\na = 1\n", "{path}: unknown section [nonsense]"),
    ("[organization\n", "{path}: not valid TOML: Expected ']' at the end of a table declaration "
     "(at line 1, column 14)"),
    ('[playbook]\nhigh = ["reset_password"]\n',
     "{path}: playbook.high: reset_password cannot run by itself (its new password must be "
     "shown to a person); list it in high_manual"),
    ('[response]\ndoveadm_executor = "http"\n',
     '{path}: response.doveadm_url and response.doveadm_api_key are needed by '
     'doveadm_executor = "http"'),
    ("[milter]\nmax_buffered_bytes = 2000\n",
     "{path}: milter.max_buffered_bytes must be at least milter.max_message_bytes (10485760)"),
])
def test_english_is_unchanged(tmp_path: Path, text: str, english: str) -> None:
    path = _write(tmp_path, text)
    assert str(_error(path)) == english.format(path=path)


@pytest.mark.parametrize("value", ["unix:relative.ctl", "/run/clamav/clamd.ctl", "tcp:host:"])
def test_clamd_error_is_the_parsers(tmp_path: Path, value: str) -> None:
    """The clamd sentences say what ``parse_address`` says (its message, before, was the
    error's)."""
    with pytest.raises(ValueError) as parsed:
        parse_address(value)
    path = _write(tmp_path, f'[milter]\nclamd = "{value}"\n')
    assert str(_error(path)) == f"{path}: milter.{parsed.value}"


def test_every_sentence_in_both_languages_with_the_same_fields() -> None:
    """Each config.error sentence has English and a different Japanese with the same
    {fields}, and the cases above reach every one of them."""
    keys = [key for key in i18n.MESSAGES if key.startswith(PREFIX)]
    assert keys
    for key in keys:
        en, ja = i18n.MESSAGES[key]
        assert en.strip() and ja.strip() and ja != en, key
        assert JAPANESE.search(ja) and not JAPANESE.search(en), key
        assert _fields(en) == _fields(ja), key
        assert "file" in _fields(en), key
    reached = {case[2] for case in CASES} | {"cannot_read"}
    assert {key.removeprefix(PREFIX) for key in keys} == reached


def test_error_survives_pickle(tmp_path: Path) -> None:
    exc = _error(_write(tmp_path, '[milter]\nlanguages = "fr"\n'))
    again = pickle.loads(pickle.dumps(exc))
    assert (str(again), again.text("ja"), again.key) == (str(exc), exc.text("ja"), exc.key)


@pytest.mark.parametrize(("args", "env"), [
    (["accounts", "quarantined", "--lang", "ja"], {"MAILWARDEN_LANG": "en"}),
    (["serve", "--lang", "ja"], {"MAILWARDEN_LANG": "en"}),
    (["config", "show"], {"MAILWARDEN_LANG": "ja"}),
])
def test_cli_prints_the_error_in_japanese(tmp_path: Path, args: list[str],
                                          env: dict[str, str]) -> None:
    """``設定エラー:`` followed by the Japanese sentence; ``--lang en`` gives the English one."""
    bad = _write(tmp_path, '[milter]\nlanguages = "fr"\n')
    common = ["-c", str(bad), "--data-dir", str(tmp_path / "data")]
    result = CliRunner().invoke(app, [*args, *common], env=env)
    assert result.exit_code == 2, result.output
    assert result.stderr == (f"mailwarden: 設定エラー: {bad}: milter.languages には次のいずれか"
                             "を指定してください: ja, en, both\n")
    if "--lang" in args:
        english = [a if a != "ja" else "en" for a in args]
        result = CliRunner().invoke(app, [*english, *common], env={"MAILWARDEN_LANG": "ja"})
        assert result.exit_code == 2, result.output
        assert result.stderr == (f"mailwarden: configuration error: {bad}: milter.languages "
                                 "must be one of ja, en, both\n")
