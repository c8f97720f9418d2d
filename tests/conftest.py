"""Settings every test starts from."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True)
def _english_cli(monkeypatch: pytest.MonkeyPatch) -> None:
    """The CLI speaks English in tests unless a test chooses otherwise: the machine's locale
    (LANG=ja_JP.UTF-8 on a Japanese administrator's machine) must not change what they read."""
    monkeypatch.setenv("MAILWARDEN_LANG", "en")
