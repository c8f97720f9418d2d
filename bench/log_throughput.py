"""Log lines per second: ``mailwarden logs scan`` against ``fail2ban-regex``, on one mixed log.

Generates (once, cached in a temporary folder) a 1,000,000-line syslog of Postfix and Dovecot
lines with brute-force sources among normal traffic (``bench/_logsynth.py``), then runs, in
interleaved rounds, the installed commands over the same file:

* ``mailwarden logs scan FILE --json`` (the timeline and the findings) and ``--findings-only``;
* ``fail2ban-regex FILE postfix[mode=auth]`` (the filter of Debian's ``[postfix-sasl]`` jail) and
  ``fail2ban-regex FILE dovecot``: it reads one filter at a time, so both are run and their
  times added for the comparison.

Reports median lines per second, the ratio, and checks both against the generator's ground
truth: the failures fail2ban matched and the failed logins Mailwarden reported.

    python bench/log_throughput.py                   # 1,000,000 lines, 3 rounds
    python bench/log_throughput.py --lines 100000 --rounds 1 --no-write
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
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import _logsynth
from _doc import DOC, write_section
from policy_throughput import machine_busy_seconds, wait_for_quiet

SECTION = "log_throughput"
ROOT = Path(__file__).resolve().parents[1]
CONFIG = '[organization]\ndomains = ["city.example.jp"]\nhome_countries = ["JP"]\n'
F2B_FILTERS = {"f2b-postfix": "postfix[mode=auth]", "f2b-dovecot": "dovecot"}
Result = dict[str, Any]


@dataclass(frozen=True)
class Tool:
    """One measured command."""

    name: str
    argv: list[str]
    capture: bool  # keep stdout (fail2ban's small report); else it goes to /dev/null


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    """Command line."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--lines", type=int, default=1_000_000, help="lines of the log")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seed", type=int, default=20251006)
    parser.add_argument(
        "--cache",
        type=Path,
        default=Path(tempfile.gettempdir()) / "mailwarden-bench-logs",
        help="folder the generated log is kept in",
    )
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds allowed per run")
    parser.add_argument(
        "--cpu",
        type=int,
        default=-1,
        help="pin every command to this CPU (default: the last one; -2: none)",
    )
    parser.add_argument("--no-write", action="store_true", help="leave docs/benchmarks.md alone")
    parser.add_argument("--json", type=Path, help="also write every run's raw result here")
    return parser.parse_args(argv)


def mailwarden_exe() -> list[str]:
    """The installed ``mailwarden`` script next to this Python, else on PATH."""
    path = os.pathsep.join([str(Path(sys.executable).parent), os.environ.get("PATH", "")])
    exe = shutil.which("mailwarden", path=path)
    return [exe] if exe else [sys.executable, "-m", "mailwarden"]


def tools(log: Path, work: Path) -> list[Tool]:
    """The four commands, over the same file."""
    (work / "mailwarden.toml").write_text(CONFIG)
    scan = [
        *mailwarden_exe(),
        "logs",
        "scan",
        str(log),
        "--json",
        "--year",
        str(_logsynth.YEAR),
        "--config",
        str(work / "mailwarden.toml"),
        "--data-dir",
        str(work / "data"),
    ]
    found: list[Tool] = [
        Tool("mw-json", scan, False),
        Tool("mw-findings", [*scan, "--findings-only"], False),
    ]
    f2b = shutil.which("fail2ban-regex")
    if f2b:
        for name, filt in F2B_FILTERS.items():
            found.append(Tool(name, [f2b, "--print-no-missed", str(log), filt], True))
    return found


def run_tool(tool: Tool, args: argparse.Namespace, work: Path, keep: Path | None = None) -> Result:
    """Run one command to completion: wall and CPU seconds, peak memory, other processes' CPU.
    Its output goes to /dev/null (or ``keep``); fail2ban's small report is read."""
    cpu = pin_cpu(args.cpu)
    wait_for_quiet(0.25, patience=20.0)
    out_path = keep or (work / "report.txt" if tool.capture else Path(os.devnull))
    with out_path.open("wb") as out, (work / "stderr.txt").open("wb") as err:
        busy = machine_busy_seconds()
        start = time.perf_counter()
        proc = subprocess.Popen(
            tool.argv,
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=err,
            cwd=work,
            preexec_fn=_pinner(cpu),
        )
        timer = threading.Timer(args.timeout, proc.kill)
        timer.start()
        _, status, usage = os.wait4(proc.pid, 0)
        wall = time.perf_counter() - start
        timer.cancel()
        proc.returncode = os.waitstatus_to_exitcode(status)
        busy = machine_busy_seconds() - busy
    if proc.returncode != 0:
        tail = (work / "stderr.txt").read_text(errors="replace")[-600:]
        if proc.returncode == -9 and wall >= args.timeout:
            return {"failed": f"timed out after {args.timeout:g} s"}
        return {"failed": f"exit status {proc.returncode}: {tail}"}
    used = usage.ru_utime + usage.ru_stime
    result: Result = {
        "wall": wall,
        "cpu": used,
        "rss_mib": usage.ru_maxrss / 1024,
        "other_cpu": max(0.0, (busy - used) / wall),
    }
    if tool.capture:
        result.update(parse_f2b(out_path.read_text(errors="replace")))
    return result


def pin_cpu(choice: int) -> int | None:
    """The CPU to pin commands to: ``choice``, the last allowed one (-1), or none (-2)."""
    if choice == -2:
        return None
    return choice if choice >= 0 else max(os.sched_getaffinity(0))


def _pinner(cpu: int | None) -> Callable[[], None] | None:
    return None if cpu is None else (lambda: os.sched_setaffinity(0, {cpu}))


_F2B_LINES = re.compile(r"^Lines: (\d+) lines, (\d+) ignored, (\d+) matched, (\d+) missed", re.M)
_F2B_REGEX = re.compile(r"^\|\s+(\d+)\) \[(\d+)\] ", re.M)
_F2B_TIME = re.compile(r"^\[processed in ([\d.]+) sec\]", re.M)


def parse_f2b(report: str) -> Result:
    """Lines read and matched, hits per failregex (numbered from 1), fail2ban's own timing."""
    lines = _F2B_LINES.search(report)
    if lines is None:
        return {"failed": f"no 'Lines:' in fail2ban-regex output: {report[-300:]!r}"}
    processed = _F2B_TIME.search(report)
    return {
        "lines_read": int(lines.group(1)),
        "matched": int(lines.group(3)),
        "per_regex": {int(n): int(hits) for n, hits in _F2B_REGEX.findall(report)},
        "processed_s": float(processed.group(1)) if processed else None,
    }


def check_mailwarden(path: Path) -> Result:
    """What ``logs scan --json`` reported: failed logins by where they came from, findings."""
    failures: Counter[str] = Counter()
    attempts: Counter[str] = Counter()
    signals: Counter[str] = Counter()
    addresses: set[str] = set()
    summary: dict[str, Any] = {}
    with path.open(encoding="utf-8") as records:
        for line in records:
            record = json.loads(line)
            kind = record["type"]
            if kind == "login" and not record["success"]:
                origin = {"smtp": "postfix", "": "dovecot-auth"}.get(
                    record["protocol"], "dovecot-login"
                )
                failures[origin] += 1
                attempts[origin] += record["attempts"]
                addresses.add(record["address"])
            elif kind == "finding":
                signals[record["signal"]] += 1
            elif kind == "summary":
                summary = record
    return {
        "failures": dict(failures),
        "attempts": dict(attempts),
        "addresses": len(addresses),
        "signals": dict(signals.most_common()),
        "summary": summary,
    }


def run_rounds(args: argparse.Namespace, log: Path, work: Path) -> dict[str, list[Result]]:
    """Every command once a round, the order rotating each round."""
    measured = tools(log, work)
    runs: dict[str, list[Result]] = {tool.name: [] for tool in measured}
    for number in range(args.rounds):
        shift = number % len(measured)
        for tool in measured[shift:] + measured[:shift]:
            result = run_tool(tool, args, work)
            runs[tool.name].append(result)
            print(f"round {number + 1} {tool.name}: {_brief(result, args.lines)}", file=sys.stderr)
    return runs


def _brief(result: Result, lines: int) -> str:
    if "failed" in result:
        return "FAILED " + str(result["failed"])
    return (
        f"{result['wall']:.1f} s, {lines / result['wall']:,.0f} lines/s, cpu "
        f"{result['cpu']:.1f} s, rss {result['rss_mib']:.0f} MiB, other cpu "
        f"{result['other_cpu']:.0%}"
        + (f", matched {result['matched']}" if "matched" in result else "")
    )


def median_wall(results: list[Result]) -> float | None:
    """Median wall seconds of the successful runs."""
    walls = [r["wall"] for r in results if "failed" not in r]
    return statistics.median(walls) if walls else None


def _fill(text: str, indent: str = "") -> str:
    return textwrap.fill(
        text, 100, subsequent_indent=indent, break_long_words=False, break_on_hyphens=False
    )


def versions() -> str:
    """Mailwarden's and fail2ban's versions and Pythons."""
    import importlib.metadata

    try:
        mailwarden = importlib.metadata.version("mailwarden")
    except importlib.metadata.PackageNotFoundError:
        mailwarden = "? (work tree)"
    f2b = "not installed"
    if shutil.which("fail2ban-regex"):
        done = subprocess.run(
            ["fail2ban-regex", "--version"], capture_output=True, text=True, check=False
        )
        with Path(shutil.which("fail2ban-regex") or "").open(encoding="utf-8") as script:
            head = script.readline()
        interpreter = head[2:].strip().split()[0] if head.startswith("#!") else "python3"
        py = subprocess.run([interpreter, "--version"], capture_output=True, text=True, check=False)
        f2b = f"{done.stdout.strip()} (Debian package, {py.stdout.strip()})"
    return f"Mailwarden {mailwarden} (Python {platform.python_version()}); {f2b}"


def machine_note(cpu: int | None) -> str:
    """CPU, memory, OS and pinning."""
    model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        "?",
    )
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    debian = Path("/etc/debian_version")
    system = f"Debian {debian.read_text().strip()}" if debian.exists() else platform.platform()
    pinning = f"every command pinned to CPU {cpu}" if cpu is not None else "no CPU pinning"
    return (
        f"{os.cpu_count()} × {model}, {memory:.0f} GiB, {system}, Linux "
        f"{platform.release()}; {pinning}"
    )


def both_walls(runs: dict[str, list[Result]]) -> list[float]:
    """Per round, fail2ban's two filters' wall seconds added."""
    pairs = zip(runs.get("f2b-postfix", []), runs.get("f2b-dovecot", []), strict=False)
    return [a["wall"] + b["wall"] for a, b in pairs if "failed" not in a and "failed" not in b]


def speed_table(runs: dict[str, list[Result]], lines: int) -> str:
    """Median lines per second of every command, and the ratio to fail2ban's two filters."""
    both = both_walls(runs)
    reference = statistics.median(both) if both else None
    rows = [
        "| command | lines/s (median) | × fail2ban (both filters) | seconds per round "
        "| CPU s | peak RSS |",
        "|---|---:|---:|---|---:|---:|",
    ]
    titles = {
        "mw-json": "`mailwarden logs scan FILE --json`",
        "mw-findings": "`mailwarden logs scan FILE --json --findings-only`",
        "f2b-postfix": "`fail2ban-regex FILE postfix[mode=auth]`",
        "f2b-dovecot": "`fail2ban-regex FILE dovecot`",
    }
    for name, title in titles.items():
        results = runs.get(name)
        if not results:
            rows.append(f"| {title} | not run | | | | |")
            continue
        wall = median_wall(results)
        good = [r for r in results if "failed" not in r]
        if wall is None:
            rows.append(f"| {title} | failed: {results[0]['failed'][:80]} | | | | |")
            continue
        ratio = f"{reference / wall:.2f}×" if reference and name.startswith("mw") else ""
        rounds = ", ".join(f"{r['wall']:.1f}" for r in good)
        cpu = statistics.median(r["cpu"] for r in good)
        rss = max(r["rss_mib"] for r in good)
        rows.append(
            f"| {title} | {lines / wall:,.0f} | {ratio} | {rounds} | {cpu:.1f} | {rss:,.0f} MiB |"
        )
    if both and reference:
        rows.append(
            f"| fail2ban-regex, both filters (times added) | {lines / reference:,.0f} "
            f"| 1× | {', '.join(f'{w:.1f}' for w in both)} | | |"
        )
    return "\n".join(rows)


def sanity(
    truth: dict[str, Any], runs: dict[str, list[Result]], scan: Result
) -> tuple[str, list[str]]:
    """Failures in the log against what each tool counted; the problems found."""
    kinds, attempts = truth["kinds"], truth["attempts"]
    sasl = kinds.get(_logsynth.SASL_FAIL, 0)
    auth = kinds.get(_logsynth.AUTH_FAIL, 0)
    summaries = kinds.get(_logsynth.SUMMARY_FAIL, 0)
    plain = kinds.get(_logsynth.PLAINTEXT, 0)
    postfix = next((r for r in runs.get("f2b-postfix", []) if "failed" not in r), {})
    dovecot = next((r for r in runs.get("f2b-dovecot", []) if "failed" not in r), {})
    per_regex = dovecot.get("per_regex", {})
    failures, tried = scan.get("failures", {}), scan.get("attempts", {})
    f2b_total = postfix.get("matched", 0) + dovecot.get("matched", 0)
    mw_total = sum(tried.values())
    rows = [
        "| failure records | in the log | fail2ban matched | Mailwarden reported |",
        "|---|---:|---:|---:|",
        f"| Postfix `warning: …[IP]: SASL … authentication failed: …` (client failures) "
        f"| {sasl:,} | {postfix.get('matched', 0):,} | {failures.get('postfix', 0):,} events |",
        f"| Postfix `… failed: Connection lost to authentication server` (server fault) "
        f"| {kinds.get(_logsynth.SASL_FAULT, 0):,} | not matched (excluded) | not reported |",
        f"| Dovecot `auth: passwd-file(user,IP,<session>): Password mismatch` / `unknown user` "
        f"(one line per wrong password) | {auth:,} | {per_regex.get(4, 0):,} (failregex 4) | "
        f"{tried.get('dovecot-auth', 0):,} attempts |",
        f"| Dovecot `imap-login: Disconnected (auth failed, N attempts …)` / `pop3-login: "
        f"Aborted login (…)` (session summaries) | {summaries:,} lines, "
        f"{attempts.get(_logsynth.SUMMARY_FAIL, 0):,} attempts | "
        f"{per_regex.get(2, 0):,} (failregex 2, with the next row) | "
        f"{max(0, failures.get('dovecot-login', 0) - plain):,} events (attempts already "
        "counted) |",
        f"| Dovecot `(tried to use disallowed plaintext auth)` | {plain:,} | (in failregex 2) | "
        f"{min(plain, failures.get('dovecot-login', 0)):,} events |",
        f"| **total** | {sasl + auth + plain:,} wrong passwords | **{f2b_total:,}** matches | "
        f"**{mw_total:,}** failed attempts |",
    ]
    problems = []
    expected = {
        "fail2ban postfix[mode=auth] matches": (postfix.get("matched"), sasl),
        "fail2ban dovecot matches": (dovecot.get("matched"), auth + summaries + plain),
        "Mailwarden Postfix failures": (failures.get("postfix"), sasl),
        "Mailwarden failed attempts": (mw_total, sasl + auth + plain),
    }
    for what, (got, want) in expected.items():
        if got != want:
            problems.append(f"{what}: {got} (expected {want})")
    return "\n".join(rows), problems


def section(
    args: argparse.Namespace, truth: dict[str, Any], runs: dict[str, list[Result]], scan: Result
) -> tuple[str, list[str]]:
    """The markdown section."""
    lines = truth["lines"]
    checks, problems = sanity(truth, runs, scan)
    failed = [f"{name}: {r['failed']}" for name, rs in runs.items() for r in rs if "failed" in r]
    problems += failed
    other = max(
        (r["other_cpu"] for rs in runs.values() for r in rs if "failed" not in r), default=0.0
    )
    command = shlex.join(["python", "bench/log_throughput.py", *sys.argv[1:]])
    summary = scan.get("summary", {})
    kinds = truth["kinds"]
    failure_lines = sum(kinds.get(k, 0) for k in _logsynth.FAILURE_KINDS)
    signals = ", ".join(f"{name} {count:,}" for name, count in scan.get("signals", {}).items())
    parts = [
        "## Log throughput (`bench/log_throughput.py`)",
        f"Measured {dt.date.today().isoformat()} with\n\n    {command}",
        _fill(
            f"Machine: {machine_note(pin_cpu(args.cpu))}. Versions: {versions()}. Other "
            f"processes used up to {other:.0%} of a core during the runs (the machine is "
            "shared: compare the ratios, measured in the same rounds)."
        ),
        _fill(
            f"The log: {lines:,} syslog lines ({truth['hours']:g} hours from "
            f"{truth['start'].replace('T', ' ')} JST; {truth['postfix_lines']:,} Postfix, "
            f"{lines - truth['postfix_lines']:,} Dovecot 2.3 with `auth_verbose = yes`), made "
            "by `bench/_logsynth.py` (seed "
            f"{truth['seed']}) and cached in `{args.cache}`: mail from the Internet delivered by "
            "LMTP, RBL and unknown-user rejections, submissions of 1,500 accounts, IMAP/POP3 "
            "sessions, scanners, and among them SMTP AUTH and IMAP/POP3 guessing from known "
            f"sources and a botnet, a password spray from one /24, phones retrying a stale "
            f"password and one account broken into at 04:45 — {failure_lines:,} failure lines "
            f"from {truth['failing_addresses']:,} addresses."
        ),
        _fill(
            f"Each command ran over the whole file once per round, {args.rounds} round(s), the "
            "order rotating each round; lines/s is the file's line count over the command's "
            "wall time from start to exit (interpreter start-up included), median over the "
            "rounds. Mailwarden's output went to /dev/null; fail2ban-regex ran with "
            "`--print-no-missed`. fail2ban-regex reads one filter per run, so the two filters' "
            "times of the same round are added for the comparison with Mailwarden, which reads "
            "Postfix, Dovecot and Exim lines in one pass. CPU s is user + system time of the "
            "process; peak RSS its maximum resident memory."
        ),
        speed_table(runs, lines),
        "What each tool counted (from one extra `--json` run of Mailwarden, kept in a file, "
        "and fail2ban-regex's report of the first round):",
        checks,
        _fill(
            "fail2ban counts lines: with `auth_verbose = yes` every wrong password is one auth "
            "line and the session's summary matches again, so each failed Dovecot session is "
            "counted once more than it had wrong passwords (a jail's `maxretry` is reached "
            "early). Mailwarden counts each wrong password once: a summary adds only attempts no "
            "auth line reported for that address within 10 minutes. Both skip Postfix's "
            "`Connection lost to authentication server` (the server's fault)."
        ),
        _fill(
            f"Mailwarden's summary: {summary.get('logins', 0):,} logins (successful and "
            f"failed), {summary.get('submissions', 0):,} submissions, "
            f"{summary.get('deliveries', 0):,} deliveries, {summary.get('findings', 0):,} "
            f"findings ({signals or 'none'}); {scan.get('addresses', 0):,} distinct addresses "
            "failed."
        ),
        "Checks:\n" + "\n".join(_fill(f"- {p}", "  ") for p in problems)
        if problems
        else "Checks: every count above is what the generator wrote; every run exited 0.",
    ]
    return "\n\n".join(parts) + "\n", problems


def main(argv: list[str] | None = None) -> int:
    """Generate (or reuse) the log, run the rounds and the check, print and write the section."""
    args = parse_args(argv)
    started = time.monotonic()
    log, truth = _logsynth.cached(args.cache, args.lines, args.seed)
    print(f"log: {log} ({truth['lines']:,} lines)", file=sys.stderr)
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        work = Path(tmp)
        runs = run_rounds(args, log, work)
        keep = work / "scan.jsonl"
        check = run_tool(tools(log, work)[0], args, work, keep)
        print(f"check mw-json: {_brief(check, args.lines)}", file=sys.stderr)
        scan = check_mailwarden(keep) if "failed" not in check else {}
    text, problems = section(args, truth, runs, scan)
    print(text)
    print(f"total {time.monotonic() - started:.0f} s", file=sys.stderr)
    if args.json:
        args.json.write_text(json.dumps({"truth": truth, "runs": runs, "scan": scan}, indent=1))
    if not args.no_write:
        write_section(SECTION, text)
        print(f"wrote {DOC.relative_to(ROOT)}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
