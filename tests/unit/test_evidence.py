"""Evidence bundles: export of a real incident, manifest and custody, verification, tampering."""

from __future__ import annotations

import contextlib
import gzip
import hashlib
import io
import itertools
import json
import os
import shutil
import tempfile
import warnings
import zipfile
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.unit.scenarios import BRAZIL_IP, JST
from tests.unit.test_store import burst, runtime
from typer.testing import CliRunner

from mailwarden.cli.main import app
from mailwarden.response import custody
from mailwarden.response.checklist import Checklist
from mailwarden.response.custody import CUSTODY, GENESIS, MANIFEST, entry_hash, verify
from mailwarden.response.evidence import (
    ExportError,
    ExportOptions,
    Scope,
    Tools,
    export,
    to_csv,
)

ACCOUNT = "a@city.example.jp"
STRICT = os.environ.get("MAILWARDEN_STRICT") == "1"


def syslog(when: datetime, text: str) -> str:
    return when.astimezone(JST).strftime("%b %e %H:%M:%S") + " mx " + text


def write_logs(folder: Path) -> tuple[Path, Path]:
    """A mail log (and its gzip twin) around now: incident lines, other lines, an old line."""
    now = datetime.now(JST)
    lines = [
        syslog(now, f"postfix/smtpd[7]: Q8: client=unknown[{BRAZIL_IP}], "
                    f"sasl_method=PLAIN, sasl_username={ACCOUNT}"),
        syslog(now, "postfix/smtpd[7]: Z1: client=unknown[133.242.10.20], "
                    "sasl_username=somu@city.example.jp"),
        syslog(now, "postfix/qmgr[9]: Q88: from=<somu@city.example.jp>, size=100"),
        syslog(now, "postfix/qmgr[9]: Q11: from=<A@City.Example.JP>, size=977, nrcpt=1"),
        syslog(now - timedelta(hours=5), f"postfix/smtpd[7]: X2: client=unknown[{BRAZIL_IP}]"),
        syslog(now, "dovecot: imap-login: Login: user=<a@city.example.jp>, "
                    "rip=::ffff:200.147.67.142, lip=10.0.0.1"),
    ]
    plain = folder / "mail.log"
    plain.write_text("\n".join(lines) + "\n", encoding="utf-8")
    packed = folder / "mail.log.1.gz"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    return plain, packed


def make_incident(folder: Path):
    """A store with a real incident: the engine held a burst from Brazil (Q8..Q11 held)."""
    rt = runtime(folder)
    burst(rt)
    rt.store.write(rt.collect(everything=True), 1.0)
    return rt, rt.store.incidents()[0]["id"]


def no_postfix(folder: Path) -> Tools:
    """The tools as found on a machine without Postfix (an empty search path)."""
    empty = folder / "no-bin"
    empty.mkdir(exist_ok=True)
    return Tools.find(search_path=str(empty))


def exported(folder: Path, name: str = "bundle.zip"):
    rt, incident = make_incident(folder)
    logs = write_logs(folder)
    opts = ExportOptions(folder / name, "tester", logs, no_postfix(folder))
    return rt, incident, export(rt.store, incident, opts, rt.cfg.tz)


def members(path: Path) -> dict[str, bytes]:
    with zipfile.ZipFile(path) as zf:
        return {info.filename: zf.read(info) for info in zf.infolist()}


def rewrite(path: Path, files: dict[str, bytes]) -> Path:
    out = path.with_name("tampered-" + path.name)
    out.unlink(missing_ok=True)
    with warnings.catch_warnings(), zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")  # duplicate names are written on purpose
        for name, data in files.items():
            zf.writestr(name, data)
    return out


def keys(report) -> set[tuple[str, str]]:
    return {(p.key, p.file) for p in report.problems}


@pytest.fixture
def bundle(tmp_path):
    return exported(tmp_path)


def test_bundle_holds_records_logs_custody_and_manifest(bundle):
    """The zip has the incident, timeline, decisions, excerpts, README, custody and manifest."""
    _rt, incident, result = bundle
    files = members(result.path)
    assert set(files) >= {
        "incident.json", "timeline.json", "timeline.csv", "decisions.json", "decisions.csv",
        "checklist.json", "logs/01-mail.log.txt", "logs/02-mail.log.1.txt", "README.txt",
        "not-collected.txt", CUSTODY, MANIFEST}
    record = json.loads(files["incident.json"])
    assert record["id"] == incident and record["account"] == ACCOUNT
    assert "timeline" not in record
    timeline = json.loads(files["timeline.json"])
    assert [e["kind"] for e in timeline][:2] == ["opened", "hold"]
    assert b"opened" in files["timeline.csv"]
    held = {d["queue_id"] for d in json.loads(files["decisions.json"])}
    assert held >= {"Q8", "Q9", "Q10", "Q11"}
    assert b"Q11" in files["decisions.csv"]
    assert "Mailwarden" in files["README.txt"].decode() and "証拠" in files["README.txt"].decode()


def test_log_excerpt_keeps_lines_of_the_account_addresses_and_queue_ids_in_time(bundle):
    """Lines naming the account, its client address or held ids are kept; others and old not."""
    _rt, _incident, result = bundle
    files = members(result.path)
    excerpt = files["logs/01-mail.log.txt"].decode()
    assert "Q8: client=unknown[200.147.67.142]" in excerpt
    assert "Q11: from=<A@City.Example.JP>" in excerpt  # account, any case
    assert "rip=::ffff:200.147.67.142" in excerpt  # IPv4-mapped address
    assert "Z1:" not in excerpt and "Q88:" not in excerpt  # other accounts, similar ids
    assert "X2:" not in excerpt  # five hours before the incident
    assert files["logs/02-mail.log.1.txt"] == files["logs/01-mail.log.txt"]  # gzip read too


def test_odd_log_file_names_become_plain_member_names(tmp_path):
    """Logs named with colons, spaces, non-ASCII or undecodable bytes give a bundle that
    verifies."""
    rt, incident = make_incident(tmp_path)
    plain, _packed = write_logs(tmp_path)
    odd = tmp_path / "mail:log 2 ログ.gz"
    odd.write_bytes(gzip.compress(plain.read_bytes()))
    undecodable = tmp_path / os.fsdecode(b"mail-\xff.log")
    undecodable.write_bytes(plain.read_bytes())
    opts = ExportOptions(tmp_path / "odd.zip", os.fsdecode(b"t\xfe"), (odd, undecodable),
                         no_postfix(tmp_path))
    result = export(rt.store, incident, opts, rt.cfg.tz)
    assert {"logs/01-mail_log_2___.txt", "logs/02-mail-_.log.txt"} <= set(result.files)
    assert verify(result.path).intact


def test_manifest_lists_the_sha256_of_every_file(bundle):
    """manifest.sha256 is sha256sum format over every other file of the zip."""
    _rt, _incident, result = bundle
    files = members(result.path)
    lines = files[MANIFEST].decode().splitlines()
    listed = {name: digest for digest, name in (line.split("  ", 1) for line in lines)}
    assert set(listed) == set(files) - {MANIFEST}
    for name, digest in listed.items():
        assert hashlib.sha256(files[name]).hexdigest() == digest, name
    assert result.sha256 == hashlib.sha256(result.path.read_bytes()).hexdigest()


def test_custody_chain_records_who_what_when_how_where(bundle):
    """Each custody entry names collector, host, source, method, place; chained by SHA-256."""
    _rt, _incident, result = bundle
    entries = json.loads(members(result.path)[CUSTODY])
    assert entries[0]["prev"] == GENESIS
    for before, entry in itertools.pairwise(entries):
        assert entry["prev"] == before["entry_sha256"] == entry_hash(before)
    first = entries[0]
    assert first["collector"] == "tester" and first["stored_in"] == str(result.path)
    assert first["host"] and first["time"].endswith("Z") and first["how"] and first["source"]
    assert entries[-1]["action"] == "sealed" and entries[-1]["entry_sha256"] == result.head
    logs = [e for e in entries if e["item"] == "logs/01-mail.log.txt"]
    assert logs[0]["source"].endswith("mail.log") and logs[0]["lines"] == 3


def test_missing_postfix_is_recorded_as_not_collected(bundle):
    """Without postcat/postqueue the export still succeeds and says what it could not collect."""
    _rt, _incident, result = bundle
    missing = {item: en for item, en, _ja in result.missing}
    assert "postqueue not found" in missing["queue.jsonl"]
    assert "postcat not found" in missing["messages/Q8.txt"]
    assert set(missing) >= {f"messages/Q{i}.txt" for i in (8, 9, 10, 11)}
    text = members(result.path)["not-collected.txt"].decode()
    assert "messages/Q8.txt" in text and "見つかりません" in text
    entries = json.loads(members(result.path)[CUSTODY])
    assert any(e["action"] == "not_collected" and e["item"] == "queue.jsonl" for e in entries)


@pytest.mark.skipif(shutil.which("postcat", path="/usr/sbin:/usr/bin") is None and not STRICT,
                    reason="Postfix (postcat) is not installed")
def test_unreadable_held_message_is_recorded_missing_not_fatal(tmp_path):
    """postcat failing on a queue id (no such Postfix instance) records the message missing."""
    rt, incident = make_incident(tmp_path)
    tools = Tools.find(config_dir=tmp_path / "no-such-postfix")
    assert tools.postcat is not None
    result = export(rt.store, incident, ExportOptions(tmp_path / "b.zip", "t", (), tools),
                    rt.cfg.tz)
    missing = {item: en for item, en, _ja in result.missing}
    assert "could not be read" in missing["messages/Q9.txt"]
    assert "failed" in missing["queue.jsonl"]
    assert verify(result.path).intact


def test_export_ticks_preserve_evidence_and_notes_the_bundle_in_the_timeline(bundle):
    """After an export, the checklist step is done by mailwarden and the timeline names it."""
    rt, incident, result = bundle
    step = next(e for e in Checklist(rt.store).entries(incident)
                if e.step == "preserve_evidence")
    assert step.state == "done" and step.by == "mailwarden" and result.sha256 in step.note
    event = next(e for e in rt.store.incident(incident)["timeline"]
                 if e["kind"] == "evidence_exported")
    assert event["sha256"] == result.sha256 and event["chain_head"] == result.head


def test_export_never_overwrites_and_names_an_unknown_incident(bundle, tmp_path):
    """An existing output file and an unknown incident are errors naming the value."""
    rt, incident, result = bundle
    before = result.path.read_bytes()
    with pytest.raises(ExportError) as exists:
        export(rt.store, incident, ExportOptions(result.path, "t", (), no_postfix(tmp_path)),
               rt.cfg.tz)
    assert exists.value.value == str(result.path) and result.path.read_bytes() == before
    with pytest.raises(ExportError) as unknown:
        export(rt.store, "INC-none", ExportOptions(tmp_path / "x.zip", "t"), rt.cfg.tz)
    assert "INC-none" in str(unknown.value)
    assert not list(tmp_path.glob(".*.part"))


def test_cli_export_then_verify(tmp_path):
    """`incidents export --json` writes the bundle; `evidence verify` says intact, exit 0."""
    _rt, incident = make_incident(tmp_path)
    plain, _packed = write_logs(tmp_path)
    out = tmp_path / "cli.zip"
    runner = CliRunner()
    done = runner.invoke(app, ["incidents", "export", incident, "--out", str(out), "--log",
                               str(plain), "--by", "keibu", "--data-dir", str(tmp_path),
                               "--postqueue-config", str(tmp_path / "none"), "--json"])
    assert done.exit_code == 0, done.output
    assert json.loads(done.output)["path"] == str(out)
    checked = runner.invoke(app, ["evidence", "verify", str(out), "--lang", "ja"])
    assert checked.exit_code == 0 and "改ざんなし" in checked.output and "keibu" in checked.output
    again = runner.invoke(app, ["incidents", "export", incident, "--out", str(out),
                                "--data-dir", str(tmp_path)])
    assert again.exit_code == 1 and "never overwritten" in again.output


def test_fresh_bundle_verifies(bundle):
    """A bundle as written is intact, with the chain head reported at export."""
    _rt, _incident, result = bundle
    report = verify(result.path, expect=result.head)
    assert report.intact, report.problems
    assert report.head == result.head and report.files == len(result.files)


def tamper_cases(files: dict[str, bytes]) -> dict[str, tuple[dict[str, bytes], set[tuple]]]:
    changed = dict(files)
    data = bytearray(files["incident.json"])
    data[10] ^= 0x01
    changed["incident.json"] = bytes(data)
    removed = {k: v for k, v in files.items() if k != "logs/01-mail.log.txt"}
    added = {**files, "extra.txt": b"planted"}
    entries = json.loads(files[CUSTODY])
    edited_entries = [dict(e) for e in entries]
    edited_entries[1]["collector"] = "someone else"
    edited = {**files, CUSTODY: json.dumps(edited_entries).encode()}
    swapped = [entries[0], entries[2], entries[1], *entries[3:]]
    reordered = {**files, CUSTODY: json.dumps(swapped).encode()}
    cut = {**files, CUSTODY: json.dumps(entries[:-1]).encode()}
    return {
        "changed byte": (changed, {("evidence.changed", "incident.json")}),
        "removed file": (removed, {("evidence.missing", "logs/01-mail.log.txt")}),
        "added file": (added, {("evidence.added", "extra.txt")}),
        "edited custody entry": (edited, {("evidence.custody_edited", CUSTODY),
                                          ("evidence.changed", CUSTODY)}),
        "reordered chain": (reordered, {("evidence.chain_broken", CUSTODY)}),
        "cut chain": (cut, {("evidence.not_sealed", CUSTODY)}),
    }


@pytest.mark.parametrize("case", ["changed byte", "removed file", "added file",
                                  "edited custody entry", "reordered chain", "cut chain"])
def test_each_tampering_is_detected_and_named(bundle, case):
    """Every kind of tampering fails verification, naming the file; the CLI exits 1."""
    _rt, _incident, result = bundle
    files, expected = tamper_cases(members(result.path))[case]
    tampered = rewrite(result.path, files)
    report = verify(tampered)
    assert not report.intact
    assert expected <= keys(report), report.problems
    cli = CliRunner().invoke(app, ["evidence", "verify", str(tampered)])
    assert cli.exit_code == 1
    name = next(iter(expected))[1]
    assert f"tampered-bundle.zip: {name}: " in cli.output


def test_edited_custody_with_a_fixed_manifest_is_still_caught(bundle):
    """Editing an entry and re-hashing the manifest still breaks the entry's own hash."""
    _rt, _incident, result = bundle
    files = members(result.path)
    entries = json.loads(files[CUSTODY])
    entries[3]["time"] = "2020-01-01T00:00:00Z"
    files[CUSTODY] = json.dumps(entries).encode()
    files[MANIFEST] = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in
                              sorted(files.items()) if k != MANIFEST).encode()
    assert keys(verify(rewrite(result.path, files))) == {("evidence.custody_edited", CUSTODY)}


def test_a_complete_forgery_only_fails_against_the_noted_chain_head(bundle):
    """Re-hashing everything makes a self-consistent zip; the head noted at export exposes it."""
    _rt, _incident, result = bundle
    files = members(result.path)
    files["incident.json"] = files["incident.json"].replace(b"high", b"low!")
    entries = json.loads(files[CUSTODY])
    prev = GENESIS
    for entry in entries:
        if entry["item"] == "incident.json":
            entry["sha256"] = hashlib.sha256(files["incident.json"]).hexdigest()
        entry["prev"] = prev
        entry["entry_sha256"] = prev = entry_hash(entry)
    files[CUSTODY] = json.dumps(entries).encode()
    files[MANIFEST] = "".join(f"{hashlib.sha256(v).hexdigest()}  {k}\n" for k, v in
                              sorted(files.items()) if k != MANIFEST).encode()
    forged = rewrite(result.path, files)
    assert verify(forged).intact
    report = verify(forged, expect=result.head)
    assert keys(report) == {("evidence.head_mismatch", CUSTODY)}


def test_flipped_byte_in_the_compressed_data_names_the_file(bundle):
    """A byte changed inside the zip itself is found (CRC or hash) and the member named."""
    _rt, _incident, result = bundle
    with zipfile.ZipFile(result.path) as zf:
        info = zf.getinfo("incident.json")
    raw = bytearray(result.path.read_bytes())
    start = info.header_offset + 30 + len(info.filename.encode()) + len(info.extra)
    raw[start + info.compress_size // 2] ^= 0x40
    broken = result.path.with_name("flipped.zip")
    broken.write_bytes(bytes(raw))
    report = verify(broken)
    assert {p.file for p in report.problems} >= {"incident.json"}
    assert not report.intact


@pytest.mark.parametrize("name", ["../evil.txt", "/etc/passwd", "a\\..\\b.txt", "dir/",
                                  "a//b", "./x", "c:x"])
def test_unsafe_member_names_are_problems_and_nothing_is_extracted(bundle, name, tmp_path,
                                                                   monkeypatch):
    """Path traversal, absolute and folder names are refused; verify writes no file."""
    _rt, _incident, result = bundle
    files = {**members(result.path), name: b"x"}
    tampered = rewrite(result.path, files)
    monkeypatch.chdir(tmp_path)
    before = sorted(p.name for p in tmp_path.iterdir())
    report = verify(tampered)
    assert ("evidence.unsafe_name", name) in keys(report)
    assert sorted(p.name for p in tmp_path.iterdir()) == before
    assert not Path("/evil.txt").exists() and not (tmp_path.parent / "evil.txt").exists()


def test_duplicate_names_are_a_problem(bundle):
    """A second member with the name of an existing one is reported."""
    _rt, _incident, result = bundle
    tampered = result.path.with_name("dup.zip")
    shutil.copy(result.path, tampered)
    with warnings.catch_warnings(), zipfile.ZipFile(tampered, "a") as zf:
        warnings.simplefilter("ignore")
        zf.writestr("incident.json", b"{}")
    assert ("evidence.duplicate", "incident.json") in keys(verify(tampered))


def test_zip_bomb_and_member_flood_stop_at_the_limits(bundle, monkeypatch):
    """A member inflating past the limit, or too many members, stops checking cleanly."""
    _rt, _incident, result = bundle
    monkeypatch.setattr(custody, "MAX_MEMBER_BYTES", 1 << 20)
    bomb = rewrite(result.path, {**members(result.path), "bomb.txt": bytes(8 << 20)})
    assert ("evidence.too_big", "bomb.txt") in keys(verify(bomb))
    monkeypatch.setattr(custody, "MAX_MEMBERS", 5)
    assert "evidence.too_many" in {p.key for p in verify(result.path).problems}


def test_not_a_zip_and_no_file(tmp_path):
    """Garbage and a missing path are reported as unreadable zips, not raised."""
    junk = tmp_path / "junk.zip"
    junk.write_bytes(b"PK\x03\x04 not really")
    assert [p.key for p in verify(junk).problems] == ["evidence.bad_zip"]
    assert [p.key for p in verify(tmp_path / "none.zip").problems] == ["evidence.bad_zip"]
    cli = CliRunner().invoke(app, ["evidence", "verify", str(junk)])
    assert cli.exit_code == 1 and "not a readable zip" in cli.output


def test_scope_matches_whole_tokens_only():
    """Queue ids and addresses match as whole tokens, case-insensitively; prefixes do not."""
    scope = Scope("a@x.jp", frozenset({"a@x.jp", "q8", "200.147.67.142", "2001:db8::1"}),
                  ("Q8",), 0.0, 1.0)
    assert scope.mentions("postfix/qmgr[1]: Q8: removed")
    assert scope.mentions("from=<A@X.JP>")
    assert scope.mentions("connect from unknown[200.147.67.142]:4711")
    assert scope.mentions("rip=2001:db8::1, lip=::1")
    assert not scope.mentions("postfix/qmgr[1]: Q88: removed")
    assert not scope.mentions("client=unknown[200.147.67.1420]")
    assert not scope.mentions("from=<ba@x.jp>")


def test_csv_cells_cannot_run_as_spreadsheet_formulas():
    """A sender like =HYPERLINK(...) is written as text in the CSV, numbers stay numbers."""
    data = to_csv([{"sender": "=HYPERLINK(\"http://x\")", "score": -1.5}], ["sender", "score"])
    assert "'=HYPERLINK" in data.decode("utf-8-sig") and ",-1.5" in data.decode("utf-8-sig")


# --- Hypothesis: verify never crashes and never passes unless intact ----------------------------

def verify_bytes(data: bytes):
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "b.zip"
        path.write_bytes(data)
        return verify(path)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=4096))
def test_verify_on_arbitrary_bytes_never_crashes_or_passes(data):
    """Any bytes at all: a report, never an exception, never 'intact'."""
    assert not verify_bytes(data).intact


def zip_of(files: list[tuple[str, bytes]], manifest: bool, custody_doc: bytes | None) -> bytes:
    buf = io.BytesIO()
    with warnings.catch_warnings(), zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        warnings.simplefilter("ignore")
        for name, data in files:
            with contextlib.suppress(IndexError, ValueError):  # names zipfile cannot write
                zf.writestr(name, data)
        if custody_doc is not None:
            zf.writestr(CUSTODY, custody_doc)
            files = [*files, (CUSTODY, custody_doc)]
        if manifest:
            zf.writestr(MANIFEST, "".join(f"{hashlib.sha256(d).hexdigest()}  {n}\n"
                                          for n, d in files))
    return buf.getvalue()


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=4), max_leaves=20)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.text(min_size=1, max_size=30), st.binary(max_size=200)),
                max_size=6),
       st.booleans(),
       st.one_of(st.none(), st.binary(max_size=200),
                 st.lists(st.dictionaries(st.sampled_from(
                     ["seq", "prev", "entry_sha256", "action", "item", "sha256"]), json_values),
                     max_size=4).map(lambda v: json.dumps(v).encode())))
def test_verify_on_arbitrary_zips_never_crashes_or_passes(files, manifest, custody_doc):
    """Random members, names, manifests and custody records: never an exception, never intact."""
    assert not verify_bytes(zip_of(files, manifest, custody_doc)).intact


@pytest.fixture(scope="module")
def genuine(tmp_path_factory):
    folder = tmp_path_factory.mktemp("genuine")
    _rt, _incident, result = exported(folder)
    return result.path.read_bytes(), members(result.path)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.data())
def test_verify_on_a_mutated_bundle_passes_only_if_every_file_is_unchanged(genuine, data):
    """A byte changed or the zip cut anywhere: verify passes only when the content is intact."""
    original, files = genuine
    raw = bytearray(original)
    if data.draw(st.booleans()):
        at = data.draw(st.integers(0, len(raw) - 1))
        raw[at] ^= data.draw(st.integers(1, 255))
    else:
        del raw[data.draw(st.integers(0, len(raw) - 1)):]
    report = verify_bytes(bytes(raw))
    if report.intact:
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / "m.zip"
            path.write_bytes(bytes(raw))
            assert members(path) == files
