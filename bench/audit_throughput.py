"""Domains audited per second: ``mailwarden audit`` against ``checkdmarc``, on the same generated
domains served by a real DNS server on loopback, and every verdict on which the two disagree.

Generates (deterministic for a seed, ``bench/_audit_zones.py``) 2,000 domains with good and
broken SPF, DMARC, MX, DKIM, MTA-STS, TLS-RPT and BIMI records, a few SERVFAIL zones and a few
questions that are never answered; serves them with Knot DNS on 127.0.0.1:53 inside a network
namespace of its own (``bench/_audit_dns.py``: nothing can leave the machine, and port 53 is
free there); measures the server alone first (a dnspython flood, against the tests' dnslib
ZoneServer too); then runs, in interleaved rounds, each command over the same domain list:

* ``mailwarden audit --file F --nameserver 127.0.0.1:53 --json --timeout 1`` (every DNS area);
* the same audit limited to the areas checkdmarc also checks (``bench/_audit_mw_areas.py``);
* ``checkdmarc F --nameserver 127.0.0.1 --timeout 3`` (sequential: it has no parallel mode).

Reports median domains per second, the ratios, and compares what both reported for each domain
(``bench/_audit_verdicts.py``): every kind of disagreement with its count and why.

Must run as root (``unshare --net``, nftables); needs Debian's ``knot`` and ``nftables``.

    python bench/audit_throughput.py                   # 2,000 domains, 3 rounds
    python bench/audit_throughput.py --domains 200 --rounds 1 --no-write
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _audit_dns
import _audit_explain
import _audit_verdicts
import _audit_zones
from _doc import DOC, write_section
from log_throughput import machine_note, mailwarden_exe
from policy_throughput import machine_busy_seconds, wait_for_quiet

SECTION = "audit_throughput"
ROOT = Path(__file__).resolve().parents[1]
SHARED_AREAS = ("spf", "dmarc", "mx", "mta_sts", "tls_rpt", "bimi", "dnssec")
Result = dict[str, Any]


@dataclass(frozen=True)
class Tool:
    """One measured command."""

    name: str
    title: str
    argv: list[str]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--domains", type=int, default=2000, help="names to audit")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251006)
    parser.add_argument("--concurrency", type=int, default=20,
                        help="mailwarden audit --concurrency (its default: 20)")
    parser.add_argument("--timeout", type=float, default=1.0,
                        help="Mailwarden's --timeout: seconds per try, 3 tries per question; "
                        "checkdmarc gets 3× this as its per-question lifetime")
    parser.add_argument("--flood", type=float, default=4.0, help="seconds of each server flood")
    parser.add_argument("--run-timeout", type=float, default=1800.0,
                        help="a command taking longer is stopped and reported as failed")
    parser.add_argument("--max-other", type=float, default=0.5,
                        help="repeat a run in which other processes used more than this "
                        "share of a core")
    parser.add_argument("--retries", type=int, default=1,
                        help="repeats allowed per run (the quietest attempt is kept)")
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, help="also write every run's raw result here")
    return parser.parse_args(argv)


def cpus() -> tuple[int | None, int | None]:
    """(server CPU, tool CPU): the first and the last allowed CPU, or no pinning on one."""
    allowed = sorted(os.sched_getaffinity(0))
    return (allowed[0], allowed[-1]) if len(allowed) > 1 else (None, None)


def tools(domains: Path, args: argparse.Namespace) -> list[Tool]:
    """The three commands, over the same file and nameserver."""
    checkdmarc = Path(sys.executable).parent / "checkdmarc"
    mw = [*mailwarden_exe(), "audit", "--file", str(domains), "--nameserver",
          f"{_audit_dns.ADDRESS}:{_audit_dns.PORT}", "--json", "--timeout", f"{args.timeout:g}",
          "--concurrency", str(args.concurrency)]
    areas = [sys.executable, str(ROOT / "bench" / "_audit_mw_areas.py"), "--areas",
             ",".join(SHARED_AREAS), str(domains), f"{_audit_dns.ADDRESS}:{_audit_dns.PORT}",
             f"{args.timeout:g}", str(args.concurrency)]
    cd = [str(checkdmarc), str(domains), "--nameserver", _audit_dns.ADDRESS, "--timeout",
          f"{args.timeout * 3:g}"]
    return [
        Tool("mw-all", "`mailwarden audit --file F --json` (all 9 DNS areas)", mw),
        Tool("mw-shared", "Mailwarden, the 7 areas checkdmarc also checks", areas),
        Tool("checkdmarc", "`checkdmarc F`", cd),
    ]


def run_tool(tool: Tool, knot: _audit_dns.Knot, cpu: int | None, out: Path,
             timeout: float) -> Result:
    """Run one command to completion: wall and CPU seconds, questions Knot answered and
    its CPU, questions dropped, other processes' CPU."""
    wait_for_quiet(0.3, patience=5.0)
    assert knot.proc is not None
    stats, knot_cpu, drops = knot.stats(), _audit_dns.cpu_seconds(knot.proc.pid), \
        _audit_dns.dropped()
    with out.open("wb") as stdout, out.with_suffix(".err").open("wb") as stderr:
        busy = machine_busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(tool.argv, stdin=subprocess.DEVNULL, stdout=stdout,
                                stderr=stderr, preexec_fn=_audit_dns.pinner(cpu))
        timer = threading.Timer(timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        busy = machine_busy_seconds() - busy
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        tail = out.with_suffix(".err").read_text(errors="replace")[-600:]
        return {"failed": f"exit status {code}: {tail}"}
    used = usage.ru_utime + usage.ru_stime
    served = _audit_dns.cpu_seconds(knot.proc.pid) - knot_cpu
    return {
        "wall": wall, "cpu": used, "rss_mib": usage.ru_maxrss / 1024,
        "questions": _audit_dns.answered(knot.stats()) - _audit_dns.answered(stats),
        "dropped": _audit_dns.dropped() - drops, "knot_cpu": served,
        "other_cpu": max(0.0, (busy - used - served) / wall),
    }


def run_rounds(args: argparse.Namespace, measured: list[Tool], knot: _audit_dns.Knot,
               work: Path) -> dict[str, list[Result]]:
    """Every command once a round, the order rotating each round; the last output of each
    command is kept in ``work/NAME.json``."""
    _, tool_cpu = cpus()
    runs: dict[str, list[Result]] = {tool.name: [] for tool in measured}
    for number in range(args.rounds):
        shift = number % len(measured)
        for tool in measured[shift:] + measured[:shift]:
            result = run_tool(tool, knot, tool_cpu, work / f"{tool.name}.json",
                              args.run_timeout)
            for _ in range(args.retries):
                if "failed" in result or result["other_cpu"] <= args.max_other:
                    break
                print(f"round {number + 1} {tool.name}: other processes used "
                      f"{result['other_cpu']:.0%} of a core, again", file=sys.stderr)
                again = run_tool(tool, knot, tool_cpu, work / f"{tool.name}.json",
                                 args.run_timeout)
                if "failed" in again or again["other_cpu"] < result["other_cpu"]:
                    result = again
            runs[tool.name].append(result)
            print(f"round {number + 1} {tool.name}: {_brief(result, args.domains)}",
                  file=sys.stderr)
    return runs


def _brief(result: Result, domains: int) -> str:
    if "failed" in result:
        return "FAILED " + str(result["failed"])
    return (f"{result['wall']:.1f} s, {domains / result['wall']:,.1f} domains/s, cpu "
            f"{result['cpu']:.1f} s, {result['questions']:,} questions, knotd cpu "
            f"{result['knot_cpu']:.2f} s, dropped {result['dropped']}, other cpu "
            f"{result['other_cpu']:.0%}")


def server_check(corpus: _audit_zones.Corpus, knot: _audit_dns.Knot,
                 seconds: float) -> dict[str, Result]:
    """Each server alone under a dnspython flood (client pinned to the tools' CPU): answers
    per second, and the server's CPU seconds per answer."""
    server_cpu, tool_cpu = cpus()
    questions = [(n, t) for n in corpus.domains[:400] if n not in corpus.dropped
                 for t in ("TXT", "MX")]
    questions += [(f"_dmarc.{n}", "TXT") for n in corpus.domains[:400]
                  if f"_dmarc.{n}" not in corpus.dropped]
    found: dict[str, Result] = {}
    assert knot.proc is not None
    before = _audit_dns.cpu_seconds(knot.proc.pid)
    found["knotd"] = _audit_dns.flood(_audit_dns.PORT, questions, seconds, cpu=tool_cpu)
    found["knotd"]["server_cpu"] = _audit_dns.cpu_seconds(knot.proc.pid) - before
    proc, port = _audit_dns.zoneserver(corpus, server_cpu)
    try:
        before = _audit_dns.cpu_seconds(proc.pid)
        found["zoneserver"] = _audit_dns.flood(port, questions, seconds, cpu=tool_cpu)
        found["zoneserver"]["server_cpu"] = _audit_dns.cpu_seconds(proc.pid) - before
    finally:
        assert proc.stdin is not None
        proc.stdin.write("\n")
        proc.stdin.flush()
        proc.wait(30)
    for name, result in found.items():
        result["seconds"] = seconds
        print(f"flood {name}: {result['qps']:,.0f} answers/s, server cpu "
              f"{result['server_cpu']:.2f} s of {seconds:g} s", file=sys.stderr)
    return found


def verdicts(corpus: _audit_zones.Corpus, work: Path) -> dict[str, Any]:
    """Read the kept outputs; compare Mailwarden's verdicts with checkdmarc's, and the two
    Mailwarden runs with each other."""
    outputs: dict[str, dict[str, _audit_verdicts.Verdicts]] = {}
    problems: list[str] = []
    for name, reader in (("mw-all", _audit_verdicts.mailwarden),
                         ("mw-shared", _audit_verdicts.mailwarden),
                         ("checkdmarc", _audit_verdicts.checkdmarc)):
        path = work / f"{name}.json"
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            problems.append(f"{name}: no readable JSON output ({exc})")
            continue
        items = data["domains"] if isinstance(data, dict) else data
        outputs[name] = {item["domain"]: reader(item) for item in items}
        if len(outputs[name]) != len(corpus.domains):
            problems.append(f"{name}: {len(outputs[name])} domains in its output, "
                            f"{len(corpus.domains)} audited")
    scenario = {d: _audit_explain.scenario(corpus.truth[d]) for d in corpus.domains}
    result: dict[str, Any] = {"problems": problems}
    if "mw-all" in outputs and "checkdmarc" in outputs:
        result["compared"] = _audit_verdicts.compare(outputs["mw-all"], outputs["checkdmarc"],
                                                      scenario)
    if "mw-all" in outputs and "mw-shared" in outputs:
        same = _audit_verdicts.compare(outputs["mw-all"], outputs["mw-shared"], scenario)
        if same[2]:
            problems.append(f"the two Mailwarden runs disagree on {same[0] - same[1]} verdicts "
                            f"(first: {same[2][0].field} of {same[2][0].domains[0]})")
    return result


# -- the section -------------------------------------------------------------------------------

def median_wall(results: list[Result]) -> float | None:
    walls = [r["wall"] for r in results if "failed" not in r]
    return statistics.median(walls) if walls else None


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(text, 100, subsequent_indent=indent, break_long_words=False,
                         break_on_hyphens=False)


def speed_table(runs: dict[str, list[Result]], measured: list[Tool], domains: int) -> str:
    """Median domains per second of every command, the ratio to checkdmarc, and what each
    asked the server."""
    reference = median_wall(runs.get("checkdmarc", []))
    rows = ["| command | domains/s (median) | × checkdmarc | seconds per round | CPU s "
            "| domains per CPU-second | DNS questions per domain | knotd CPU "
            "| unanswered questions | other processes | peak RSS |",
            "|---|---:|---:|---|---:|---:|---:|---:|---:|---:|---:|"]
    for tool in measured:
        results = runs.get(tool.name, [])
        wall = median_wall(results)
        good = [r for r in results if "failed" not in r]
        if wall is None:
            why = results[0]["failed"][:80] if results else "not run"
            rows.append(f"| {tool.title} | failed: {why} | | | | | | | | | |")
            continue
        ratio = f"{reference / wall:.2f}×" if reference else ""
        rounds = ", ".join(f"{r['wall']:.1f}" for r in good)
        cpu = statistics.median(r["cpu"] for r in good)
        questions = statistics.median(r["questions"] for r in good) / domains
        knot = statistics.median(r["knot_cpu"] / r["wall"] for r in good)
        dropped = statistics.median(r["dropped"] for r in good)
        rss = max(r["rss_mib"] for r in good)
        other = statistics.median(r["other_cpu"] for r in good)
        rows.append(f"| {tool.title} | {domains / wall:,.1f} | {ratio} | {rounds} | {cpu:.1f} "
                    f"| {domains / cpu:,.1f} | {questions:.1f} | {knot:.1%} | {dropped:.0f} "
                    f"| {other:.0%} of a core | {rss:,.0f} MiB |")
    return "\n".join(rows)


def time_note(runs: dict[str, list[Result]], measured: list[Tool], domains: int) -> str:
    """Where each command's time went, and what 20× would take."""
    lines = []
    med: dict[str, dict[str, float]] = {}
    for tool in measured:
        good = [r for r in runs.get(tool.name, []) if "failed" not in r]
        if not good:
            continue
        med[tool.name] = {k: statistics.median(r[k] for r in good)
                          for k in ("wall", "cpu", "questions", "dropped")}
        m = med[tool.name]
        lines.append(f"{tool.title}: {m['cpu'] / domains * 1000:.1f} ms of CPU per domain, "
                     f"{m['cpu'] / m['questions'] * 1e6:.0f} µs per DNS question, busy "
                     f"{m['cpu'] / m['wall']:.0%} of its wall time")
    text = "Where the time goes (medians): " + "; ".join(lines) + "."
    cd, shared = med.get("checkdmarc"), med.get("mw-shared")
    if cd:
        text += (f" checkdmarc waits on one answer at a time, about {cd['dropped']:.0f} s of it "
                 "on questions that never get one (a second per unanswered try).")
    if cd and shared:
        target = 20 * domains / cd["wall"]
        per_question = 1 / target / (shared["questions"] / domains)
        text += (f" 20× checkdmarc on the shared areas is {target:,.0f} domains/s: at most "
                 f"{1000 / target:.1f} ms of CPU per domain on one core, "
                 f"{per_question * 1e6:.0f} µs per question at Mailwarden's "
                 f"{shared['questions'] / domains:.1f} questions per domain.")
    return _fill(text)


def server_table(flood: dict[str, Result]) -> str:
    rows = ["| server | answers/s to the flood | server CPU during the flood "
            "| answers per server CPU-second |", "|---|---:|---:|---:|"]
    names = {"knotd": "Knot DNS 3 (`knotd`, 1 UDP worker), used for the runs",
             "zoneserver": "the tests' `ZoneServer` (dnslib, a thread per question)"}
    for name, result in flood.items():
        busy = result["server_cpu"] / result["seconds"]
        per_cpu = result["answered"] / result["server_cpu"] if result["server_cpu"] else 0
        rows.append(f"| {names[name]} | {result['qps']:,.0f} | {busy:.0%} of a core "
                    f"| {per_cpu:,.0f} |")
    return "\n".join(rows)


def disagreement_table(compared: tuple[int, int, list[_audit_verdicts.Disagreement]],
                       ) -> tuple[str, list[str]]:
    """Every kind of disagreement with its count, an example and the explanation; the kinds
    that have none."""
    total, agreed, groups = compared
    rows = ["| verdict | Mailwarden | checkdmarc | domains | made as (generator) | example "
            "| why | who is right |", "|---|---|---|---:|---|---|---|---|"]
    unexplained: list[str] = []
    for group in groups:
        why, right = _audit_explain.explain(group)
        if not why:
            unexplained.append(f"{group.field}: Mailwarden {group.mailwarden}, checkdmarc "
                               f"{group.checkdmarc} ({group.domains[0]})")
            why, right = "not explained yet", "?"
        made = ", ".join(f"{k} ({v})" for k, v in sorted(group.scenarios.items(),
                                                          key=lambda kv: -kv[1])[:4])
        rows.append(f"| `{group.field}` | {group.mailwarden} | {group.checkdmarc} "
                    f"| {len(group.domains)} | {made} | {group.domains[0]} | {why} | {right} |")
    head = (f"{total:,} verdicts compared on the same domains, {agreed:,} agreed "
            f"({agreed / total:.1%}); {len(groups)} kinds of disagreement "
            f"({total - agreed:,} verdicts):")
    return head + "\n\n" + "\n".join(rows), unexplained


def versions() -> str:
    import importlib.metadata

    def version(name: str) -> str:
        try:
            return importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            return "not installed"

    knot = subprocess.run([shutil.which("knotd") or "/usr/sbin/knotd", "--version"],
                          capture_output=True, text=True, check=False).stdout.strip()
    return (f"Mailwarden {version('mailwarden')}, checkdmarc {version('checkdmarc')} (both "
            f"Python {platform.python_version()}, dnspython {version('dnspython')}); {knot}")


def section(args: argparse.Namespace, corpus: _audit_zones.Corpus, measured: list[Tool],
            runs: dict[str, list[Result]], flood: dict[str, Result],
            found: dict[str, Any]) -> tuple[str, list[str]]:
    """The markdown section and the problems found."""
    today = dt.date.today().isoformat()
    command = ("python bench/audit_throughput.py " + shlex.join(sys.argv[1:])).rstrip()
    problems = list(found["problems"])
    problems += [f"{name}: {r['failed'][:200]}" for name, rs in runs.items() for r in rs
                 if "failed" in r]
    server_cpu, tool_cpu = cpus()
    shown = {t.name: shlex.join(t.argv).replace(str(ROOT) + "/", "") for t in measured}
    shown = {name: re.sub(r"/tmp/bench-audit-[^/ ]+/domains.txt", "F", text)
             for name, text in shown.items()}
    mw_all, cd = median_wall(runs.get("mw-all", [])), median_wall(runs.get("checkdmarc", []))
    shared = median_wall(runs.get("mw-shared", []))
    goal = ""
    if cd and mw_all and shared:
        best = max(cd / mw_all, cd / shared)
        goal = (f"**Goal (≥ 20× checkdmarc's throughput): not met** — {cd / mw_all:.2f}× "
                f"with every area, {cd / shared:.2f}× on the shared areas."
                if best < 20 else f"**Goal (≥ 20× checkdmarc's throughput): met** "
                f"({best:.1f}×).")
    text, unexplained = ("", [])
    if "compared" in found:
        text, unexplained = disagreement_table(found["compared"])
    problems += [f"unexplained disagreement: {u}" for u in unexplained]
    kinds = _audit_explain.corpus_summary(corpus)
    parts = [
        "## Posture audit: domains per second against checkdmarc",
        f"{today}, `{command}` ({args.rounds} rounds, commands interleaved; medians). "
        + _fill(f"{machine_note(tool_cpu)}, Knot to CPU {server_cpu}. {versions()}."),
        speed_table(runs, measured, len(corpus.domains)),
        goal,
        time_note(runs, measured, len(corpus.domains)),
        _audit_explain.PROFILE,
        _fill(f"The {len(corpus.domains):,} names ({kinds}) are served by Knot DNS from "
              f"{len(corpus.zones) + 1:,} zones (each domain its own zone, delegated from "
              "`test.`; shared mail providers and their reverse zones), inside a network "
              "namespace of the benchmark's own where only loopback exists. "
              f"Zones configured without data, so that Knot answers SERVFAIL for every name in "
              f"them: {len(corpus.servfail_zones)}. Names whose questions nftables drops before "
              f"Knot sees them (timeouts): {_audit_explain.dropped_summary(corpus)}."),
        "Commands, as run:\n\n" + "\n".join(f"- `{t.name}`: `{shown[t.name]}`"
                                            for t in measured),
        _audit_explain.DESIGN.format(timeout=args.timeout, lifetime=args.timeout * 3,
                                     concurrency=args.concurrency),
        "The server alone (a dnspython client on the commands' CPU, 64 questions in flight, "
        "parsing every answer; the same records):\n\n" + server_table(flood),
        _audit_explain.SERVER_NOTE,
        "### Where the two disagree\n\n" + text if text else "",
        _audit_explain.NOT_COMPARED,
        "Checks:\n" + "\n".join(_fill(f"- {p}", "  ") for p in problems) if problems else
        "Checks: every command exited 0 and reported every domain; the two Mailwarden runs "
        "gave the same verdicts; every disagreement is explained.",
    ]
    return "\n\n".join(p for p in parts if p) + "\n", problems


def main(argv: list[str] | None = None) -> int:
    """Enter the namespace, generate, serve, flood, run the rounds, compare, write."""
    _audit_dns.enter_netns([sys.argv[0], *(sys.argv[1:] if argv is None else argv)])
    args = parse_args(argv)
    started = time.monotonic()
    corpus = _audit_zones.make(args.domains, args.seed)
    server_cpu, _ = cpus()
    with tempfile.TemporaryDirectory(prefix="bench-audit-") as tmp:
        work = Path(tmp)
        domains = work / "domains.txt"
        domains.write_text("\n".join(corpus.domains) + "\n", encoding="utf-8")
        knot = _audit_dns.Knot(corpus, work / "knot", server_cpu).start()
        try:
            _audit_dns.drop_rules(corpus.dropped)
            flood = server_check(corpus, knot, args.flood)
            measured = tools(domains, args)
            runs = run_rounds(args, measured, knot, work)
        finally:
            knot.stop()
        found = verdicts(corpus, work)
    text, problems = section(args, corpus, measured, runs, flood, found)
    print(text)
    print(f"total {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        compared = found.get("compared")
        groups = [vars(g) for g in compared[2]] if compared else []
        args.json.write_text(json.dumps({"runs": runs, "flood": flood, "disagreements": groups,
                                         "problems": problems}, indent=1, default=dict))
    if not args.no_write:
        write_section(SECTION, text)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
