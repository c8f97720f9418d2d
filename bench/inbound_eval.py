"""Evaluate the inbound analyser on the mail corpus: precision and recall per class.

    python bench/inbound_eval.py            # writes the section of docs/benchmarks.md
    python bench/inbound_eval.py --print    # only prints

The corpus is ``$MAILWARDEN_CORPORA/mail`` (default ``../shared/corpora`` beside the
repository). Labels come from ``tests/data/inbound/corpus-labels.txt``; the organisation from
``tests/data/inbound/corpus-config.toml`` plus the corpus's two phishing feeds. The run is
repeated with the shipped defaults only (no organisation, no feeds) to show what needs
configuration.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(ROOT / "bench"))

from _doc import write_section  # noqa: E402
from mailwarden.config import Config, load  # noqa: E402
from mailwarden.inbound.analyze import InboundContext, analyze_message  # noqa: E402

CLASSES = ("clean", "phishing", "bec", "malware")
VERDICTS = ("clean", "suspicious", "phishing", "bec", "malware")
LABELS = ROOT / "tests" / "data" / "inbound" / "corpus-labels.txt"
CONFIG = ROOT / "tests" / "data" / "inbound" / "corpus-config.toml"
NOT_MAIL = {"LICENSE", "openphish-feed.txt", "phishtank-feed.csv"}


def corpora() -> Path:
    return Path(os.environ.get("MAILWARDEN_CORPORA", ROOT.parent / "shared" / "corpora"))


@dataclass
class Sample:
    path: str
    label: str
    verdict: str = ""
    score: float = 0.0
    signals: str = ""


def labels(mail: Path) -> list[Sample]:
    """Every mail of the corpus with its label."""
    given = {}
    for line in LABELS.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            path, label = line.split()
            given[path] = label
    out = []
    for path in sorted(p for p in mail.rglob("*") if p.is_file() and p.name not in NOT_MAIL):
        rel = path.relative_to(mail).as_posix()
        default = "clean" if "/nice/" in rel else "spam"
        out.append(Sample(rel, given.get(rel, default)))
    return out


def corpus_config(mail: Path) -> Config:
    cfg = load(CONFIG)
    cfg.inbound.url_feeds = [str(mail / "spamassassin" / "phishing" / "openphish-feed.txt"),
                             str(mail / "spamassassin" / "phishing" / "phishtank-feed.csv")]
    return cfg


def run(mail: Path, cfg: Config) -> tuple[list[Sample], float]:
    ctx = InboundContext.create(cfg)
    samples = labels(mail)
    started = time.perf_counter()
    for sample in samples:
        verdict = analyze_message((mail / sample.path).read_bytes(), ctx)
        sample.verdict, sample.score = verdict.verdict, verdict.score
        sample.signals = ", ".join(r.signal for r in verdict.reasons)
    return samples, time.perf_counter() - started


def scores(samples: list[Sample]) -> list[tuple[str, int, int, int, str, str]]:
    """Per class: (class, samples, predicted, correct, precision, recall)."""
    rows = []
    counted = [s for s in samples if s.label in CLASSES]
    for cls in CLASSES:
        truth = [s for s in counted if s.label == cls]
        predicted = [s for s in counted if s.verdict == cls]
        hits = [s for s in truth if s.verdict == cls]
        precision = f"{len(hits) / len(predicted):.2f}" if predicted else "–"
        recall = f"{len(hits) / len(truth):.2f}" if truth else "–"
        rows.append((cls, len(truth), len(predicted), len(hits), precision, recall))
    return rows


def matrix(samples: list[Sample]) -> list[str]:
    lines = ["| label \\ verdict | " + " | ".join(VERDICTS) + " |",
             "|---|" + "---:|" * len(VERDICTS)]
    for label in (*CLASSES, "spam"):
        counts = Counter(s.verdict for s in samples if s.label == label)
        lines.append(f"| {label} | " + " | ".join(str(counts[v]) for v in VERDICTS) + " |")
    return lines


def flagged(samples: list[Sample]) -> str:
    dangerous = [s for s in samples if s.label in ("phishing", "bec", "malware")]
    caught = [s for s in dangerous if s.verdict in ("phishing", "bec", "malware")]
    return f"{len(caught)} of {len(dangerous)}"


def report(mail: Path) -> str:
    configured, took = run(mail, corpus_config(mail))
    defaults, _ = run(mail, Config())
    clean = [s for s in configured if s.label == "clean"]
    wrong = [s for s in clean if s.verdict in ("phishing", "bec", "malware")]
    lines = [
        "## Inbound analyser: precision and recall on the mail corpus (`bench/inbound_eval.py`)",
        "",
        f"Measured {time.strftime('%Y-%m-%d')} with `python bench/inbound_eval.py` over "
        f"`{len(configured)}` mails of `$MAILWARDEN_CORPORA/mail` (SpamAssassin's test mails "
        "and Sublime's sample mails), labelled in `tests/data/inbound/corpus-labels.txt`. "
        "The organisation is configured as in `tests/data/inbound/corpus-config.toml` "
        "(sublimesecurity.com and example.com, authserv-id mx.google.com, the CEO and one "
        "colleague as protected people) with the corpus's OpenPhish and PhishTank sample feeds. "
        "`spam` samples are unwanted mail of no class here: they are shown, not counted.",
        "",
        "| class | samples | predicted | correct | precision | recall |",
        "|---|---:|---:|---:|---:|---:|",
        *[f"| {c} | {n} | {p} | {h} | {pr} | {rc} |" for c, n, p, h, pr, rc in scores(configured)],
        "",
        f"Phishing, BEC and malware samples flagged as one of the three: {flagged(configured)}. "
        f"Ordinary mails called phishing, BEC or malware: {len(wrong)} of {len(clean)} "
        f"(the Japanese ISO-2022-JP ones included). All {len(configured)} mails took "
        f"{took:.2f} s.",
        "",
        *matrix(configured),
        "",
        "With the shipped defaults only (no organisation, no people, no feeds): "
        f"{flagged(defaults)} flagged.",
        "",
        *matrix(defaults),
        "",
        "The corpus is small and the weights were set while looking at it: these figures say "
        "the signals cover these cases, not how they fare on mail never seen. What needs "
        "configuration and what is not detected at all is listed in "
        "[inbound.md](inbound.md#evaluation-and-what-is-missed).",
        "",
        "Every dangerous sample, and every other sample not judged as its label suggests "
        "(configured run):",
        "",
        "| sample | label | verdict | score | signals |",
        "|---|---|---|---:|---|",
        *[f"| `{s.path}` | {s.label} | {s.verdict} | {s.score:.2f} | {s.signals} |"
          for s in configured if s.label in ("phishing", "bec", "malware")
          or (s.label == "clean" and s.verdict != "clean")
          or (s.label == "spam" and s.verdict in ("phishing", "bec", "malware"))],
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--print", action="store_true", help="print only")
    args = parser.parse_args()
    mail = corpora() / "mail"
    if not mail.is_dir():
        sys.exit(f"no corpus at {mail} (set MAILWARDEN_CORPORA)")
    text = report(mail)
    print(text)
    if not args.print:
        write_section("inbound_eval", text)


if __name__ == "__main__":
    main()
