"""The inbound analyser over the mail corpus (``$MAILWARDEN_CORPORA/mail``): every phishing,
BEC and malware sample flagged, no ordinary mail (the Japanese ISO-2022-JP ones included)
called phishing, BEC or malware, every mail judged without an error and quickly.

Labels: ``tests/data/inbound/corpus-labels.txt``; organisation:
``tests/data/inbound/corpus-config.toml`` (see ``bench/inbound_eval.py``, which reports the
same run as a table). Skips when the corpus is absent, fails under ``MAILWARDEN_STRICT=1``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "bench"))

import inbound_eval  # noqa: E402
from mailwarden.config import Config  # noqa: E402
from mailwarden.inbound.analyze import InboundContext, analyze_message  # noqa: E402

MAIL = inbound_eval.corpora() / "mail"
DANGEROUS = ("phishing", "bec", "malware")


@pytest.fixture(scope="module")
def mail() -> Path:
    if not MAIL.is_dir():
        if os.environ.get("MAILWARDEN_STRICT") == "1":
            pytest.fail(f"mail corpus missing at {MAIL} (MAILWARDEN_CORPORA)")
        pytest.skip(f"mail corpus missing at {MAIL}")
    return MAIL


@pytest.fixture(scope="module")
def judged(mail: Path) -> list[inbound_eval.Sample]:
    samples, _ = inbound_eval.run(mail, inbound_eval.corpus_config(mail))
    return samples


def test_every_labelled_file_exists(mail: Path) -> None:
    """The label file names only files that are in the corpus."""
    for line in inbound_eval.LABELS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            assert (mail / line.split()[0]).is_file(), line


def test_every_dangerous_sample_is_flagged(judged: list[inbound_eval.Sample]) -> None:
    """Each phishing, BEC and malware sample gets a dangerous verdict of its own class."""
    wrong = [(s.path, s.label, s.verdict, s.signals) for s in judged
             if s.label in DANGEROUS and s.verdict != s.label]
    assert not wrong


def test_no_ordinary_mail_is_called_dangerous(judged: list[inbound_eval.Sample]) -> None:
    """No ordinary mail is called phishing, BEC or malware."""
    wrong = [(s.path, s.verdict, s.signals) for s in judged
             if s.label == "clean" and s.verdict in DANGEROUS]
    assert not wrong


def test_japanese_mail_is_clean(judged: list[inbound_eval.Sample]) -> None:
    """The ISO-2022-JP (and mislabelled EUC-JP) mails of the corpus are clean."""
    japanese = [s for s in judged if "iso-2022-jp" in s.path]
    assert japanese and all(s.verdict == "clean" for s in japanese)


def test_every_mail_is_judged_without_error(mail: Path) -> None:
    """Each file of the corpus, spam and malformed ones included, gets a verdict, quickly."""
    ctx = InboundContext.create(Config())
    for sample in inbound_eval.labels(mail):
        verdict = analyze_message((mail / sample.path).read_bytes(), ctx)
        assert verdict.error == "", sample.path
        assert verdict.elapsed_ms < 2000, sample.path
