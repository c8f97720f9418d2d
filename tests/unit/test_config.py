"""Configuration: defaults, TOML overrides, clear errors, and every setting documented."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from mailwarden.config import Config, ConfigError, documentation, load, section_names

ROOT = Path(__file__).resolve().parents[2]


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mailwarden.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_issue_example_loads(tmp_path, monkeypatch):
    """The [organization] example of the documentation loads as written."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    cfg = load(write(tmp_path, '[organization]\ndomains = ["city.example.jp"]\n'
                     'home_countries = ["jp"]\ntimezone = "Asia/Tokyo"\n'))
    assert cfg.organization.domains == ["city.example.jp"]
    assert cfg.organization.home_countries == ["JP"]
    assert cfg.limits.messages_per_minute == Config().limits.messages_per_minute


def test_environment_names_file_and_data_dir(tmp_path, monkeypatch):
    """MAILWARDEN_CONFIG and MAILWARDEN_DATA_DIR are honoured."""
    path = write(tmp_path, "[outbound]\nmode = \"warn\"\n")
    monkeypatch.setenv("MAILWARDEN_CONFIG", str(path))
    monkeypatch.setenv("MAILWARDEN_DATA_DIR", str(tmp_path / "data"))
    cfg = load()
    assert cfg.outbound.mode == "warn"
    assert cfg.store_url == f"sqlite:///{tmp_path / 'data' / 'mailwarden.db'}"


@pytest.mark.parametrize(("text", "message"), [
    ("[outbound]\nmode = \"drop\"\n", "outbound.mode"),
    ("[outbound]\nhold_treshold = 2\n", "unknown setting 'hold_treshold'"),
    ("[nonsense]\na = 1\n", "unknown section [nonsense]"),
    ("[limits]\nmessages_per_minute = \"ten\"\n", "limits.messages_per_minute: expected int"),
    ("[limits]\nmessages_per_minute = true\n", "got a boolean"),
    ("[organization]\ndomains = \"city.example.jp\"\n", "expected a list of strings"),
    ("[organization]\ntimezone = \"Mars/Olympus\"\n", "organization.timezone"),
    ("organization = 3\n", "must be a table"),
    ("[organization\n", "not valid TOML"),
    ("[milter]\nphishing = \"drop\"\n", "milter.phishing must be one of"),
    ("[milter]\nreject_reply = \"250 2.0.0 fine\"\n", "milter.reject_reply"),
    ("[milter]\nreject_reply = \"550 4.7.1 mixed classes\"\n", "milter.reject_reply"),
    ("[milter]\nclamd = \"/run/clamav/clamd.ctl\"\n", "milter.clamd"),
    ("[milter]\ntimeout = 0\n", "milter.timeout must be positive"),
    ("[milter]\nlanguages = \"fr\"\n", "milter.languages"),
])
def test_bad_configuration_names_the_key(tmp_path, monkeypatch, text, message):
    """A wrong value or key is an error naming the file and the key."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_floats_accept_integers(tmp_path, monkeypatch):
    """hold_threshold = 2 is read as 2.0."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    assert load(write(tmp_path, "[outbound]\nhold_threshold = 2\n")).outbound.hold_threshold == 2.0


def test_every_setting_is_documented():
    """Each setting has a sentence of documentation."""
    for name in section_names():
        for f in dataclasses.fields(getattr(Config(), name)):
            assert len(f.metadata.get("doc", "")) > 10, f"{name}.{f.name}"


def test_reference_in_docs_is_current():
    """docs/configuration.md is what `mailwarden config docs` prints."""
    assert (ROOT / "docs" / "configuration.md").read_text(encoding="utf-8").strip() == \
        documentation().strip()


def test_milter_settings_load(tmp_path, monkeypatch):
    """A [milter] section with every action, a clamd socket and a reply loads as written."""
    monkeypatch.delenv("MAILWARDEN_CONFIG", raising=False)
    cfg = load(write(tmp_path, '[milter]\nlisten = "off"\nsuspicious = "hold"\n'
                     'phishing = "reject"\nclean = "none"\nclamd = "tcp:127.0.0.1:3310"\n'
                     'reject_reply = "554 5.7.1 No thanks ({verdict})"\n'))
    assert (cfg.milter.listen, cfg.milter.suspicious, cfg.milter.phishing) == \
        ("off", "hold", "reject")
    assert cfg.milter.bec == "hold" and cfg.milter.clamd == "tcp:127.0.0.1:3310"
