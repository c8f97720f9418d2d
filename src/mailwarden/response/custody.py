"""Integrity of an evidence bundle: writing it with a manifest and chain of custody; verifying.

The chain of custody follows RFC 3227 (section 4.1): who collected what, when, where from, how,
and where it is stored. Each entry carries the SHA-256 of the previous entry and of itself, so
an edited, removed, inserted or reordered entry breaks the chain. The manifest lists every file
of the bundle in ``sha256sum`` format (``sha256sum -c manifest.sha256`` works after unzipping).

A bundle to verify is untrusted: it is read from the zip in memory, never extracted; names,
member count and sizes are bounded, and anything unexpected is a problem, not a crash.
"""

from __future__ import annotations

import hashlib
import json
import lzma
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailwarden import i18n

MANIFEST = "manifest.sha256"
CUSTODY = "custody.json"
GENESIS = "0" * 64
FILE_ACTIONS = ("collected", "created")  # entries that put a file into the bundle
MAX_MEMBERS = 100_000
MAX_MEMBER_BYTES = 512 * 1024 * 1024
MAX_TOTAL_BYTES = 4 * 1024 * 1024 * 1024
MAX_INDEX_BYTES = 64 * 1024 * 1024  # manifest and custody record are parsed in memory
_CHUNK = 1024 * 1024
_HEX = re.compile(r"[0-9a-f]{64}")
_ZIP_ERRORS = (zipfile.BadZipFile, zipfile.LargeZipFile, zlib.error, lzma.LZMAError, OSError,
               EOFError, ValueError, NotImplementedError, RuntimeError, struct.error,
               KeyError, IndexError, OverflowError, UnicodeError)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def clean(text: str) -> str:
    """``text`` without lone surrogates (undecodable file names), which UTF-8 cannot hold."""
    return text.encode("utf-8", "backslashreplace").decode("utf-8")


def entry_hash(entry: dict[str, Any]) -> str:
    """The SHA-256 of an entry's canonical JSON, without its own ``entry_sha256``."""
    body = {k: v for k, v in entry.items() if k != "entry_sha256"}
    text = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return sha256(text.encode("utf-8", "surrogatepass"))


@dataclass
class CustodyLog:
    """The chain of custody of one bundle, built entry by entry."""

    collector: str
    host: str
    stored_in: str
    tool: str
    clock: Callable[[], str]
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def head(self) -> str:
        return self.entries[-1]["entry_sha256"] if self.entries else GENESIS

    def add(self, action: str, item: str, how: str, source: str, **more: Any) -> dict[str, Any]:
        entry = {"seq": len(self.entries) + 1, "time": self.clock(), "action": action,
                 "item": item, "how": how, "source": source, "collector": self.collector,
                 "host": self.host, "stored_in": self.stored_in, "tool": self.tool, **more}
        entry = {k: clean(v) if isinstance(v, str) else v for k, v in entry.items()}
        entry["prev"] = self.head
        entry["entry_sha256"] = entry_hash(entry)
        self.entries.append(entry)
        return entry

    def to_bytes(self) -> bytes:
        return json.dumps(self.entries, ensure_ascii=False, indent=1).encode() + b"\n"


def manifest(hashes: dict[str, str]) -> bytes:
    """``sha256sum`` lines for the files, sorted by name."""
    return "".join(f"{h}  {name}\n" for name, h in sorted(hashes.items())).encode()


@dataclass
class Bundle:
    """A zip being written, with its custody log and the hashes for the manifest."""

    zf: zipfile.ZipFile
    custody: CustodyLog
    stamp: tuple[int, int, int, int, int, int]
    hashes: dict[str, str] = field(default_factory=dict)
    missing: list[tuple[str, str, str]] = field(default_factory=list)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=self.stamp)
        info.compress_type = zipfile.ZIP_DEFLATED
        info.external_attr = 0o600 << 16
        return info

    def _write(self, name: str, data: bytes) -> str:
        self.zf.writestr(self._info(name), data)
        self.hashes[name] = sha256(data)
        return self.hashes[name]

    def add(self, name: str, data: bytes, how: str, source: str, action: str = "collected",
            **more: Any) -> None:
        digest = self._write(name, data)
        self.custody.add(action, name, how, source, sha256=digest, bytes=len(data), **more)

    def skip(self, item: str, how: str, source: str, key: str, **params: Any) -> None:
        en, ja = i18n.render(key, "en", **params), i18n.render(key, "ja", **params)
        self.custody.add("not_collected", item, how, source, reason=en, reason_ja=ja)
        self.missing.append((item, en, ja))

    def seal(self, readme: str) -> None:
        self.add("README.txt", clean(readme).encode(), "written by mailwarden", "",
                 action="created")
        if self.missing:
            text = "".join(f"not collected / 未収集: {item}\n  {en}\n  {ja}\n"
                           for item, en, ja in self.missing)
            self.add("not-collected.txt", clean(text).encode(), "written by mailwarden", "",
                     action="created")
        self.custody.add("sealed", MANIFEST, "sha256 of every file", "",
                         files=len(self.hashes) + 1)
        self._write(CUSTODY, self.custody.to_bytes())
        self.zf.writestr(self._info(MANIFEST), manifest(self.hashes))


def zip_stamp(now: float) -> tuple[int, int, int, int, int, int]:
    t = datetime.fromtimestamp(max(now, 315532800.0), UTC)
    return (t.year, t.month, t.day, t.hour, t.minute, t.second)


@dataclass(frozen=True)
class Problem:
    """What is wrong with a bundle, and in which file of it."""

    key: str
    file: str = ""
    params: dict[str, Any] = field(default_factory=dict)

    def text(self, lang: str) -> str:
        return i18n.render(self.key, lang, file=self.file, **self.params)


@dataclass
class Report:
    """The outcome of verifying a bundle."""

    problems: list[Problem] = field(default_factory=list)
    files: int = 0
    entries: list[dict[str, Any]] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems

    @property
    def head(self) -> str:
        last = self.entries[-1] if self.entries else {}
        return str(last.get("entry_sha256", ""))


def safe_name(name: str) -> bool:
    """A plain relative path of the kind a bundle contains (no ``..``, no absolute path)."""
    if not name or len(name) > 255 or name.startswith("/") or "\\" in name or ":" in name:
        return False
    if any(ord(c) < 32 or ord(c) == 127 for c in name):
        return False
    return all(part not in ("", ".", "..") for part in name.split("/"))


def _read_member(zf: zipfile.ZipFile, info: zipfile.ZipInfo, budget: int,
                 keep: bool) -> tuple[str, int, bytes]:
    """SHA-256, size and (if ``keep``) the bytes of a member, reading at most ``budget``."""
    digest, size, kept = hashlib.sha256(), 0, bytearray()
    with zf.open(info) as member:
        while chunk := member.read(_CHUNK):
            size += len(chunk)
            if size > budget:
                raise _TooBig(size)
            digest.update(chunk)
            if keep:
                kept += chunk
    return digest.hexdigest(), size, bytes(kept)


class _TooBig(Exception):
    def __init__(self, size: int) -> None:
        self.size = size


def read_bundle(path: Path, report: Report) -> tuple[dict[str, str], dict[str, bytes]]:
    """Hashes of every member and the bytes of the manifest and custody record."""
    hashes: dict[str, str] = {}
    index: dict[str, bytes] = {}
    try:
        with zipfile.ZipFile(path) as zf:
            infos = zf.infolist()
            if len(infos) > MAX_MEMBERS:
                report.problems.append(Problem("evidence.too_many", params={"n": len(infos)}))
                return hashes, index
            _read_members(zf, infos, report, hashes, index)
    except _ZIP_ERRORS as exc:
        report.problems.append(Problem("evidence.bad_zip", path.name,
                                       {"error": str(exc) or type(exc).__name__}))
    return hashes, index


def _read_members(zf: zipfile.ZipFile, infos: list[zipfile.ZipInfo], report: Report,
                  hashes: dict[str, str], index: dict[str, bytes]) -> None:
    total = 0
    for info in infos:
        name = info.filename
        if not safe_name(name) or info.is_dir():
            report.problems.append(Problem("evidence.unsafe_name", name[:300]))
            continue
        if name in hashes:
            report.problems.append(Problem("evidence.duplicate", name))
            continue
        special = name in (MANIFEST, CUSTODY)
        budget = min(MAX_INDEX_BYTES if special else MAX_MEMBER_BYTES, MAX_TOTAL_BYTES - total)
        try:
            hashes[name], size, data = _read_member(zf, info, budget, special)
        except _TooBig:
            report.problems.append(Problem("evidence.too_big", name, {"limit": budget}))
            return
        except _ZIP_ERRORS as exc:
            report.problems.append(Problem("evidence.unreadable", name,
                                           {"error": str(exc) or type(exc).__name__}))
            continue
        total += size
        if special:
            index[name] = data


def parse_manifest(data: bytes, report: Report) -> dict[str, str]:
    listed: dict[str, str] = {}
    for number, line in enumerate(data.decode("utf-8", "replace").splitlines(), 1):
        digest, sep, name = line.partition("  ")
        if not sep or not _HEX.fullmatch(digest) or not safe_name(name) or name in listed:
            report.problems.append(Problem("evidence.manifest_line", MANIFEST, {"line": number}))
            continue
        listed[name] = digest
    return listed


def check_files(hashes: dict[str, str], listed: dict[str, str], report: Report) -> None:
    for name in sorted(listed.keys() - hashes.keys()):
        report.problems.append(Problem("evidence.missing", name))
    for name in sorted(hashes.keys() - listed.keys() - {MANIFEST}):
        report.problems.append(Problem("evidence.added", name))
    for name in sorted(hashes.keys() & listed.keys()):
        if hashes[name] != listed[name]:
            report.problems.append(Problem("evidence.changed", name))


def parse_custody(data: bytes, report: Report) -> list[dict[str, Any]]:
    try:
        entries = json.loads(data)
    except (ValueError, RecursionError):
        entries = None
    if not isinstance(entries, list) or not entries or not all(
            isinstance(e, dict) for e in entries):
        report.problems.append(Problem("evidence.custody_format", CUSTODY))
        return []
    return entries


def check_chain(entries: list[dict[str, Any]], listed: dict[str, str], report: Report) -> None:
    """Each entry hashes to itself and names its predecessor; items match the manifest."""
    prev, covered = GENESIS, set()
    for number, entry in enumerate(entries, 1):
        where = {"entry": number}
        if entry.get("seq") != number or entry.get("prev") != prev:
            report.problems.append(Problem("evidence.chain_broken", CUSTODY, where))
        if entry.get("entry_sha256") != entry_hash(entry):
            report.problems.append(Problem("evidence.custody_edited", CUSTODY, where))
        prev = str(entry.get("entry_sha256", ""))
        item = entry.get("item")
        if entry.get("action") in FILE_ACTIONS and isinstance(item, str):
            covered.add(item)
            if listed.get(item) != entry.get("sha256"):
                report.problems.append(Problem("evidence.custody_mismatch", item, where))
    for name in sorted(listed.keys() - covered - {CUSTODY}):
        report.problems.append(Problem("evidence.uncovered", name))
    if entries and entries[-1].get("action") != "sealed":
        report.problems.append(Problem("evidence.not_sealed", CUSTODY))


def verify(path: Path, expect: str | None = None) -> Report:
    """Re-compute every hash of the bundle at ``path`` and check its chain of custody."""
    report = Report()
    hashes, index = read_bundle(path, report)
    if report.problems and not hashes:
        return report
    report.files = len(hashes)
    if MANIFEST not in index:
        report.problems.append(Problem("evidence.no_manifest", MANIFEST))
        return report
    listed = parse_manifest(index[MANIFEST], report)
    check_files(hashes, listed, report)
    if CUSTODY not in index:
        report.problems.append(Problem("evidence.no_custody", CUSTODY))
        return report
    report.entries = parse_custody(index[CUSTODY], report)
    check_chain(report.entries, listed, report)
    if expect is not None and report.head != expect.strip().lower():
        report.problems.append(Problem("evidence.head_mismatch", CUSTODY,
                                       {"expected": expect, "found": report.head}))
    return report
