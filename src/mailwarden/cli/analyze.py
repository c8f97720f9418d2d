"""``mailwarden analyze``: phishing, BEC and malware verdicts for .eml files, folders
(Maildir and others) and mbox files."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, BinaryIO

import typer

from mailwarden.cli.common import (
    CLI_LANG,
    ConfigOpt,
    DataDirOpt,
    JsonOpt,
    LangOpt,
    settings,
    tr,
)

if TYPE_CHECKING:
    from mailwarden.config import Config
    from mailwarden.inbound.history import History
    from mailwarden.inbound.verdict import Verdict

PathsArg = Annotated[list[Path], typer.Argument(help=tr(
    ".eml files, folders (searched recursively, e.g. a Maildir) or mbox files.",
    ".eml ファイル、フォルダ（Maildir など。中を再帰的に探します）または mbox ファイル。"))]
MAX_FILES = 1_000_000

ANALYZE_HELP = tr(
    "Judge mails: clean, suspicious, phishing, bec or malware, with the reasons.\n\n"
    "With --json, one JSON object per message (its file, index in an mbox, verdict, score, "
    "reasons in English and Japanese, facts and notes).",
    "メールを判定します: clean（問題なし）、suspicious（不審）、phishing（フィッシング）、"
    "bec（ビジネスメール詐欺）、malware（マルウェア）のいずれかを、理由とともに示します。\n\n"
    "--json を付けると、メール1通ごとに JSON オブジェクトを1つ出力します（ファイル、mbox 内の"
    "番号、判定、スコア、英語と日本語の理由、判定に使った事実、注記）。")


def analyze_command(
    paths: PathsArg, config: ConfigOpt = None, data_dir: DataDirOpt = None,
    as_json: JsonOpt = False, lang: LangOpt = CLI_LANG,
    history: Annotated[bool | None, typer.Option(
        "--history/--no-history", help=tr(
            "Use the store's record of who wrote to whom (default: when the store exists).",
            "ストアに記録された、誰が誰にメールを送ったかの履歴を使います（既定: ストアが"
            "あれば使う）。"), show_default=False)] = None,
    learn: Annotated[bool, typer.Option(
        "--learn", help=tr(
            "Record the mails judged clean or suspicious in the store's history "
            "(to build it from an archive).",
            "問題なし・不審と判定したメールをストアの履歴に記録します（過去のメールから履歴を"
            "作るため）。"))] = False,
) -> None:
    """The ``analyze`` command (help: ``ANALYZE_HELP``)."""
    from mailwarden.inbound import texts
    from mailwarden.inbound.analyze import InboundContext, analyze_message, remember

    cfg = settings(config, data_dir, lang)
    store_history = _history(cfg, history, learn)
    ctx = InboundContext.create(cfg, store_history)
    failed = False
    for where, raw, error in _messages(paths, cfg.inbound.max_message_bytes):
        if error:
            failed = True
            typer.echo(texts.render("cli.unreadable", lang, path=where, error=error), err=True)
            continue
        verdict = analyze_message(raw, ctx)
        if learn and store_history is not None and not verdict.dangerous:
            remember(store_history, verdict, _when(verdict))
        _print(where, verdict, as_json, lang)
    if failed:
        raise typer.Exit(1)


def _history(cfg: Config, wanted: bool | None, learn: bool) -> History | None:
    if wanted is False:
        return None
    url = cfg.store_url
    exists = not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).exists()
    if not (wanted or learn or exists):
        return None
    from mailwarden.store.inbound_store import StoreHistory
    from mailwarden.store.store import Store

    return StoreHistory(Store(url))


def _when(verdict: Verdict) -> float:
    date = verdict.facts.get("date")
    return float(date) if isinstance(date, int | float) else time.time()


def _messages(paths: list[Path], limit: int) -> Iterator[tuple[str, bytes, str]]:
    """(where, bytes, error) for every message under ``paths``."""
    count = 0
    for path in paths:
        files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
        for file in files:
            count += 1
            if count > MAX_FILES:
                return
            yield from _file(file, limit)


def _file(path: Path, limit: int) -> Iterator[tuple[str, bytes, str]]:
    try:
        with path.open("rb") as f:
            head = f.read(limit + 1)
            if head.startswith(b"From ") and b"\nFrom " in head:
                f.seek(0)
                yield from _mbox(str(path), f, limit)
                return
    except OSError as exc:
        yield str(path), b"", exc.strerror or str(exc)
        return
    yield str(path), head[:limit + 1], ""


def _mbox(name: str, f: BinaryIO, limit: int) -> Iterator[tuple[str, bytes, str]]:
    """The messages of an mbox file, each cut at ``limit`` bytes."""
    index, size, blank = 0, 0, True
    lines: list[bytes] = []
    for line in f:
        if line.startswith(b"From ") and blank and lines:
            index += 1
            yield f"{name}#{index}", b"".join(lines), ""
            lines, size = [], 0
        blank = line in (b"\n", b"\r\n")
        if size <= limit:
            lines.append(line)
            size += len(line)
    if lines:
        index += 1
        yield f"{name}#{index}", b"".join(lines), ""


def _print(where: str, verdict: Verdict, as_json: bool, lang: str) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"file": where, **verdict.to_dict()}, ensure_ascii=False)
                         + "\n")
        return
    subject = str(verdict.facts.get("subject", ""))[:80]
    sender = verdict.facts.get("from", "")
    typer.echo(f"{where}: {verdict.title(lang)}  {sender} 「{subject}」")
    for reason in verdict.reasons:
        sentence = reason.ja if lang == "ja" else reason.en
        typer.echo(f"  - [{reason.signal} {reason.weight:.2f}] {sentence}")
    for note in verdict.note_texts(lang):
        typer.echo(f"  * {note}")
