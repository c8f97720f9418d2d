"""The evidence bundle of an incident: one zip with records, log excerpts, held messages.

Contents: the incident, its timeline and policy decisions (JSON and CSV), the checklist, the
lines of the given logs that mention the account, the incident's addresses or held queue ids
within the incident's time range plus a margin, a ``postcat`` copy of each held message, the
``postqueue -j`` entries of the account, a README, the chain of custody and a SHA-256 manifest
(see :mod:`mailwarden.response.custody`). What cannot be collected (no Postfix here, a message
already gone) is recorded as "not collected" with the reason; it never stops the export.
Commands run with an argument list, never through a shell.
"""

from __future__ import annotations

import csv
import hashlib
import io
import ipaddress
import json
import os
import re
import shutil
import subprocess
import time
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from importlib import metadata
from pathlib import Path
from typing import Any

from mailwarden import i18n
from mailwarden.response.checklist import Checklist
from mailwarden.response.custody import MANIFEST, Bundle, CustodyLog, clean, zip_stamp
from mailwarden.sources.logs.files import LogFileError, read_lines
from mailwarden.sources.logs.timestamps import SyslogClock
from mailwarden.store.actions_store import ActionStore
from mailwarden.store.store import Batch, Store
from mailwarden.timefmt import iso

COMMAND_TIMEOUT = 60.0
MAX_EXCERPT_BYTES = 64 * 1024 * 1024
SBIN = "/usr/sbin:/usr/local/sbin:/usr/bin:/bin"
_QUEUE_ID = re.compile(r"[0-9A-Za-z]{1,32}")
_TOKEN = re.compile(r"[\w.@+:%-]+")
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")  # in a log's name, for its name inside the zip
# timeline entries of the response, not of the incident: they do not widen the log excerpt
RESPONSE_EVENTS = frozenset({"checklist", "evidence_exported", "action"})


class ExportError(Exception):
    """An export that cannot be made: ``key`` names the sentence, ``value`` what was wrong."""

    def __init__(self, key: str, value: str) -> None:
        self.key, self.value = key, value
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return i18n.render(self.key, lang, value=self.value)


@dataclass(frozen=True)
class Tools:
    """The Postfix commands found here (None: missing) and the config folder to give them."""

    postcat: str | None
    postqueue: str | None
    config_dir: Path | None = None

    @classmethod
    def find(cls, config_dir: Path | None = None, search_path: str | None = None) -> Tools:
        path = search_path if search_path is not None else os.environ.get("PATH", "") + ":" + SBIN
        return cls(shutil.which("postcat", path=path), shutil.which("postqueue", path=path),
                   config_dir)

    def argv(self, program: str, *args: str) -> list[str]:
        config = ["-c", str(self.config_dir)] if self.config_dir is not None else []
        return [program, *config, *args]


@dataclass(frozen=True)
class Scope:
    """What belongs to the incident: its account, addresses, held queue ids and time range."""

    account: str
    terms: frozenset[str]
    queue_ids: tuple[str, ...]
    start: float
    end: float

    def mentions(self, line: str) -> bool:
        for token in _TOKEN.findall(line.lower()):
            word = token.strip(":.")
            if token in self.terms or word in self.terms:
                return True
            if ":" in word and any(part in self.terms for part in word.split(":")):
                return True
        return False


def _walk(value: Any, key: str = "") -> Iterator[tuple[str, str]]:
    if isinstance(value, dict):
        for k, v in value.items():
            yield from _walk(v, str(k))
    elif isinstance(value, list):
        for v in value:
            yield from _walk(v, key)
    elif isinstance(value, str):
        yield key, value


def _is_ip(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def scope_of(incident: dict[str, Any], decisions: list[dict[str, Any]],
             margin: float, actions: list[dict[str, Any]] | None = None) -> Scope:
    """The incident's account, IP addresses, senders and held queue ids (held by a decision
    or by a containment action), times ± ``margin``."""
    account = str(incident["account"]).lower()
    found = [*_walk(incident.get("evidence", {})), *_walk(incident.get("timeline", []))]
    terms = {account} | {v.lower() for k, v in found if _is_ip(v) or (k == "sender" and v)}
    held = [str(d["queue_id"]) for d in decisions if d["action"] == "hold" and d["queue_id"]]
    held += [str(q) for a in actions or () if a["operation"] == "hold" and a["status"] == "done"
             for q in a["result"].get("queue_ids", [])]
    queue_ids = tuple(dict.fromkeys(held))
    times = [datetime.fromisoformat(str(incident["opened_at"])).timestamp()]
    times += [float(e["time"]) for e in incident.get("timeline", [])
              if e.get("kind") not in RESPONSE_EVENTS]
    times += [float(d["time"]) for d in decisions]
    return Scope(account, frozenset(terms | {q.lower() for q in queue_ids}), queue_ids,
                 min(times) - margin, max(times) + margin)


def excerpt(path: Path, scope: Scope, tz: tzinfo) -> tuple[bytes, int, str]:
    """The matching lines of one log file, their count, and why reading stopped early ("")."""
    out, count, when = bytearray(), 0, None
    try:
        clock = SyslogClock(tz, not_after=path.stat().st_mtime)
        for line in read_lines(path):
            parsed = clock.parse(line)
            when = parsed[0] if parsed is not None else when  # continuation lines follow
            if (when is None or scope.start <= when <= scope.end) and scope.mentions(line):
                out += line.encode("utf-8", "replace") + b"\n"
                count += 1
                if len(out) > MAX_EXCERPT_BYTES:
                    return bytes(out), count, f"cut at {MAX_EXCERPT_BYTES} bytes"
    except (LogFileError, OSError) as exc:
        return bytes(out), count, str(exc)
    return bytes(out), count, ""


def run(argv: list[str]) -> tuple[bytes | None, str]:
    """A command's output, or None and why it failed."""
    try:
        done = subprocess.run(argv, capture_output=True, timeout=COMMAND_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError) as exc:
        return None, str(exc)
    if done.returncode != 0:
        why = done.stderr.decode("utf-8", "replace").strip().splitlines()[:1]
        return None, f"exit {done.returncode}: {why[0] if why else ''}".strip()
    return done.stdout, ""


def _cell(value: Any) -> str:
    """A CSV cell that a spreadsheet will not run as a formula."""
    if not isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    return "'" + value if value[:1] in ("=", "+", "-", "@", "\t", "\r") else value


def to_csv(rows: list[dict[str, Any]], columns: list[str]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\r\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([_cell(row.get(c, "")) for c in columns])
    return buf.getvalue().encode("utf-8-sig")


def to_json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, indent=1, default=str).encode() + b"\n"


@dataclass(frozen=True)
class ExportOptions:
    """What to collect and who collects it."""

    out: Path
    collector: str
    logs: tuple[Path, ...] = ()
    tools: Tools = field(default_factory=Tools.find)
    margin: float = 3600.0
    max_messages: int = 500
    host: str = field(default_factory=lambda: os.uname().nodename)


@dataclass(frozen=True)
class ExportResult:
    """The written bundle: its SHA-256, the chain head, its files and what was not collected."""

    path: Path
    sha256: str
    head: str
    files: tuple[str, ...]
    missing: tuple[tuple[str, str, str], ...]


def collect_records(bundle: Bundle, incident: dict[str, Any], decisions: list[dict[str, Any]],
                    checklist: list[dict[str, Any]], source: str) -> None:
    how = "query of the Mailwarden store"
    record = {k: v for k, v in incident.items() if k not in ("timeline", "decisions")}
    bundle.add("incident.json", to_json(record), how, source)
    timeline = [{"at": iso(e["time"]), **e} for e in incident.get("timeline", [])]
    bundle.add("timeline.json", to_json(timeline), how, source)
    rows = [{"at": e["at"], "kind": e["kind"],
             "details": {k: v for k, v in e.items() if k not in ("at", "time", "kind")}}
            for e in timeline]
    bundle.add("timeline.csv", to_csv(rows, ["at", "kind", "details"]), how, source)
    held = [{"at": iso(d["time"]), **d} for d in decisions]
    bundle.add("decisions.json", to_json(held), how, source)
    columns = ["at", "account", "instance", "queue_id", "action", "score", "incident_id",
               "reasons"]
    bundle.add("decisions.csv", to_csv(held, columns), how, source)
    bundle.add("checklist.json", to_json(checklist), how, source)


ACTION_COLUMNS = ["id", "started_at", "finished_at", "actor", "reason", "step", "target",
                  "operation", "status", "changed", "undo_of", "undone_by", "error", "result"]


def collect_actions(bundle: Bundle, actions: list[dict[str, Any]], source: str) -> None:
    """The containment actions (who, when, why, result), the Sieve scripts found and kept by
    sieve_deactivate, and the copies of messages deleted from the queue."""
    how = "query of the Mailwarden store (containment actions)"
    rows = [{**a, "started_at": iso(a["started_at"]),
             "finished_at": iso(a["finished_at"]) if a["finished_at"] is not None else None}
            for a in actions]
    bundle.add("actions.json", to_json(rows), how, source)
    bundle.add("actions.csv", to_csv(rows, ACTION_COLUMNS), how, source)
    for action in actions:
        result = action["result"]
        if action["operation"] == "sieve_deactivate" and isinstance(result.get("scripts"), dict):
            for name, text in result["scripts"].items():
                safe = _UNSAFE.sub("_", str(name))[:100]
                bundle.add(f"sieve/{action['id']}-{safe}.sieve", str(text).encode(),
                           "doveadm sieve get, kept by the sieve_deactivate action", source)
        if action["operation"] == "delete" and isinstance(result.get("copies"), dict):
            _collect_deleted(bundle, result["copies"])


def _collect_deleted(bundle: Bundle, copies: dict[str, Any]) -> None:
    how = "postcat -q copy made before the message was deleted from the queue"
    for queue_id, copy in copies.items():
        name = f"messages/deleted/{_UNSAFE.sub('_', str(queue_id))[:40]}.txt"
        path = Path(str(copy.get("file", "")))
        try:
            data = path.read_bytes()
        except OSError as exc:
            bundle.skip(name, how, str(path), "evidence.message_missing", queue_id=queue_id,
                        error=str(exc))
            continue
        if hashlib.sha256(data).hexdigest() != copy.get("sha256"):
            bundle.skip(name, how, str(path), "evidence.message_missing", queue_id=queue_id,
                        error="the copy no longer matches the SHA-256 recorded when it was made")
            continue
        bundle.add(name, data, how, str(path))


def collect_logs(bundle: Bundle, logs: tuple[Path, ...], scope: Scope, tz: tzinfo) -> None:
    how = (f"lines mentioning the account, its addresses or held queue ids, "
           f"{iso(scope.start)} .. {iso(scope.end)}")
    for number, path in enumerate(logs, 1):
        plain = _UNSAFE.sub("_", path.name.removesuffix(".gz"))[:100]
        name = f"logs/{number:02d}-{plain}.txt"
        data, count, stopped = excerpt(path, scope, tz)
        if data or not stopped:
            bundle.add(name, data, how, str(path.absolute()), lines=count)
        if stopped:
            bundle.skip(name, how, str(path.absolute()), "evidence.log_unreadable",
                        error=stopped)


def collect_queue(bundle: Bundle, tools: Tools, scope: Scope) -> None:
    name, how = "queue.jsonl", "postqueue -j, entries of the account or its held queue ids"
    if tools.postqueue is None:
        bundle.skip(name, how, "", "evidence.command_missing", command="postqueue")
        return
    argv = tools.argv(tools.postqueue, "-j")
    out, why = run(argv)
    if out is None:
        bundle.skip(name, how, " ".join(argv), "evidence.command_failed",
                    command=" ".join(argv), error=why)
        return
    kept = [line for line in out.splitlines() if _queue_entry_matches(line, scope)]
    bundle.add(name, b"".join(line + b"\n" for line in kept), how, " ".join(argv))


def _queue_entry_matches(line: bytes, scope: Scope) -> bool:
    try:
        entry = json.loads(line)
    except ValueError:
        return False
    if not isinstance(entry, dict):
        return False
    return (entry.get("queue_id") in scope.queue_ids
            or str(entry.get("sender", "")).lower() in scope.terms)


def collect_messages(bundle: Bundle, tools: Tools, scope: Scope, limit: int) -> None:
    how = "postcat -q: the queue file as Postfix holds it (envelope, headers, body)"
    for queue_id in scope.queue_ids[:limit]:
        name = f"messages/{queue_id}.txt"
        if tools.postcat is None or not _QUEUE_ID.fullmatch(queue_id):
            key = "evidence.command_missing" if tools.postcat is None else "evidence.bad_queue_id"
            bundle.skip(name[:200], how, "", key, command="postcat", value=queue_id[:100])
            continue
        argv = tools.argv(tools.postcat, "-q", queue_id)
        out, why = run(argv)
        if out is None:
            bundle.skip(name, how, " ".join(argv), "evidence.message_missing",
                        queue_id=queue_id, error=why)
        else:
            bundle.add(name, out, how, " ".join(argv))
    if len(scope.queue_ids) > limit:
        bundle.skip("messages/", how, "", "evidence.message_limit", limit=limit,
                    more=len(scope.queue_ids) - limit)


def _tool() -> str:
    try:
        return "mailwarden " + metadata.version("mailwarden")
    except metadata.PackageNotFoundError:
        return "mailwarden"


def _readme(incident: dict[str, Any], opts: ExportOptions, now: float) -> str:
    params = {"incident": incident["id"], "account": incident["account"],
              "collector": opts.collector, "at": iso(now), "host": opts.host}
    return (i18n.render("evidence.readme", "en", **params) + "\n\n"
            + i18n.render("evidence.readme", "ja", **params) + "\n")


def export(store: Store, incident_id: str, opts: ExportOptions, tz: tzinfo,
           clock: Callable[[], float] = time.time) -> ExportResult:
    """Write the incident's bundle to ``opts.out`` (never over an existing file), note it in
    the timeline and tick the checklist step ``preserve_evidence``."""
    incident = store.incident(incident_id)
    if incident is None:
        raise ExportError("evidence.no_incident", incident_id)
    out = opts.out.absolute()
    if out.exists() or not out.parent.is_dir():
        raise ExportError("evidence.out_exists" if out.exists() else "evidence.out_dir", str(out))
    decisions = [d for d in store.decisions(account=incident["account"])
                 if d["incident_id"] == incident_id]
    actions = ActionStore(store).for_incident(incident_id)
    checklist = Checklist(store, clock)
    steps = [e.to_dict() for e in checklist.entries(incident_id)]
    custody = CustodyLog(opts.collector, opts.host, str(out), _tool(), lambda: iso(clock()))
    source = store.engine.url.render_as_string(hide_password=True)
    part = out.with_name(f".{out.name}.{os.getpid()}.part")
    try:
        with os.fdopen(os.open(part, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600), "wb") as raw:
            bundle = Bundle(zipfile.ZipFile(raw, "w"), custody, zip_stamp(clock()))
            with bundle.zf:
                collect_records(bundle, incident, decisions, steps, source)
                collect_actions(bundle, actions, source)
                scope = scope_of(incident, decisions, opts.margin, actions)
                collect_logs(bundle, opts.logs, scope, tz)
                collect_queue(bundle, opts.tools, scope)
                collect_messages(bundle, opts.tools, scope, opts.max_messages)
                bundle.seal(_readme(incident, opts, clock()))
        os.replace(part, out)
        with out.open("rb") as written:
            digest = hashlib.file_digest(written, "sha256").hexdigest()
    except OSError as exc:
        raise ExportError("evidence.write_failed", f"{out}: {exc}") from exc
    finally:
        part.unlink(missing_ok=True)
    result = ExportResult(out, digest, custody.head, (*sorted(bundle.hashes), MANIFEST),
                          tuple(bundle.missing))
    _record(store, checklist, incident_id, result, opts.collector, clock())
    return result


def _record(store: Store, checklist: Checklist, incident_id: str, result: ExportResult,
            collector: str, now: float) -> None:
    path = clean(str(result.path))
    store.write(Batch(events=[(incident_id, now, "evidence_exported", {
        "file": path, "sha256": result.sha256, "chain_head": result.head,
        "by": clean(collector), "not_collected": [item for item, _, _ in result.missing]})]), now)
    checklist.tick(incident_id, "preserve_evidence",
                   note=f"evidence bundle {path} (sha256 {result.sha256})")
