"""Settings every test starts from."""

from __future__ import annotations

import os

import pytest

# The CLI chooses its help texts' language when it is first imported (while tests are
# collected): English, whatever the machine's locale (LANG=ja_JP.UTF-8 on a Japanese
# administrator's machine). Tests of Japanese output set the language themselves.
os.environ["MAILWARDEN_LANG"] = "en"


@pytest.fixture(autouse=True)
def _english_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI speaks English in each test unless the test chooses otherwise."""
    monkeypatch.setenv("MAILWARDEN_LANG", "en")
