"""Playbooks of different incidents run at once: a blocked step of one account delays no other
account, two playbooks of one account never overlap (and leave their worker free), concurrent
rewrites of the map, deny and passwd files keep every account's line, the lock files keep other
processes out, and playbooks not started at shutdown are recorded as skipped.

Postfix and doveadm are a Python object here (each step must be blocked and released at will);
tests/integration/test_e2e_playbook_concurrency.py runs the same against real Postfix and Dovecot.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

import pytest

from mailwarden.config import Config, ConfigError, load
from mailwarden.engine.incident import Incident
from mailwarden.response.dovecot import DovecotResponder
from mailwarden.response.executor import (
    BytesResult,
    CommandResult,
    DoveadmCommand,
    DoveadmReply,
)
from mailwarden.response.files import TEMP_SUFFIX
from mailwarden.response.locks import LOCKS, account_lock_path
from mailwarden.response.postfix import PostfixResponder
from mailwarden.response.runner import ResponseRunner
from mailwarden.service import Runtime
from mailwarden.store.store import Batch

WAIT = 20.0  # seconds a test waits for something that takes milliseconds
T = TypeVar("T")
HASH = "{SHA512-CRYPT}$6$salt$" + "h" * 86


class Tools:
    """Postfix's tools and doveadm in-process: every call is recorded; `doveadm kick` of an
    account in blocked waits until release(account); postmap takes a moment and counts how many
    run at once."""

    def __init__(self, postmap_seconds: float = 0.0) -> None:
        self.guard = threading.Lock()
        self.calls: list[tuple[str, ...]] = []
        self.blocked: dict[str, threading.Event] = {}
        self.entered: dict[str, threading.Event] = {}
        self.postmap_seconds = postmap_seconds
        self.postmaps_at_once = 0
        self.most_postmaps_at_once = 0

    def block(self, account: str) -> None:
        self.blocked[account] = threading.Event()
        self.entered[account] = threading.Event()

    def release(self, account: str) -> None:
        self.blocked[account].set()

    def _record(self, *call: str) -> None:
        with self.guard:
            self.calls.append(call)

    def postfix(self, tool: str, *args: str, stdin: str = "", check: bool = True
                ) -> CommandResult:
        self._record(tool, *args)
        if tool == "postmap":
            with self.guard:
                self.postmaps_at_once += 1
                self.most_postmaps_at_once = max(self.most_postmaps_at_once,
                                                 self.postmaps_at_once)
            time.sleep(self.postmap_seconds)
            with self.guard:
                self.postmaps_at_once -= 1
        return CommandResult((tool, *args), 0, "", "")

    def postfix_bytes(self, tool: str, *args: str, check: bool = True) -> BytesResult:
        raise AssertionError(f"{tool} is not used by these playbooks")

    def doveadm(self, *args: str, stdin: str = "", check: bool = True) -> CommandResult:
        raise AssertionError("doveadm runs through doveadm_call")

    def doveadm_call(self, command: DoveadmCommand) -> DoveadmReply:
        self._record("doveadm", *command.argv())
        if command.name == "pw":
            return DoveadmReply(stdout=HASH + "\n")
        if command.name == "kick":
            (account,) = command.parameters()["mask"]
            if account in self.blocked:
                self.entered[account].set()
                assert self.blocked[account].wait(WAIT), f"kick of {account} never released"
        return DoveadmReply()


def make_config(tmp_path: Path, parallel: int = 4) -> Config:
    """Postfix map, deny file and passwd-file in tmp_path; high: quarantine, lock, kick."""
    cfg = Config()
    cfg.data_dir = tmp_path / "data"
    r = cfg.response
    r.sasl_access_map = str(tmp_path / "sasl_access")
    r.dovecot, r.deny_file, r.passwd_file = True, str(tmp_path / "deny"), str(tmp_path / "passwd")
    r.max_parallel_playbooks = parallel
    cfg.playbook.high = ["quarantine", "lock", "kick"]
    return cfg


def serving(tmp_path: Path, tools: Tools, parallel: int = 4) -> Runtime:
    """A Runtime whose playbook runs on tools."""
    cfg = make_config(tmp_path, parallel)
    rt = Runtime(cfg)
    rt.response = ResponseRunner(cfg, rt.store, executors=(tools, tools))
    return rt


def open_incidents(rt: Runtime, *accounts: str) -> list[str]:
    """One high incident per account given (an account may come twice); their ids."""
    incidents = [Incident(f"INC-{n:02d}", float(n), account, "suspicious_login", "high", 3.0, [])
                 for n, account in enumerate(accounts)]
    rt.store.write(Batch(incidents=incidents), 1.0)
    return [incident.id for incident in incidents]


def statuses(rt: Runtime, incident_id: str) -> list[tuple[str, str, str]]:
    """(target, operation, status) of the incident's recorded actions, in order."""
    assert rt.response is not None
    return [(r["target"], r["operation"], r["status"])
            for r in rt.response.actions.for_incident(incident_id)]


ALL_DONE = [("outbound", "quarantine", "done"), ("postfix", "lock", "done"),
            ("dovecot", "lock", "done"), ("dovecot", "kick", "done")]


def wait_until(check: Callable[[], bool], what: str, timeout: float = WAIT) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not within {timeout} s: {what}")
        time.sleep(0.01)


async def settle(check: Callable[[], bool], what: str) -> None:
    """Wait (without blocking the loop) until check() holds."""
    await asyncio.to_thread(wait_until, check, what)


def map_accounts(path: Path) -> list[str]:
    return sorted(line.split()[0] for line in path.read_text().splitlines())


# -- different accounts run at once ---------------------------------------------------------

def test_a_blocked_playbook_delays_no_other_account(tmp_path: Path) -> None:
    """30 accounts taken over at once: the first one's kick hangs; the 29 others are
    quarantined, locked in Postfix and Dovecot and kicked meanwhile (with 4 workers); once the
    hang ends, the first one's playbook finishes too, and the map and deny file hold all 30."""
    tools = Tools(postmap_seconds=0.002)
    rt = serving(tmp_path, tools)
    accounts = [f"user{n:02d}@city.example.jp" for n in range(30)]
    first, *others = open_incidents(rt, *accounts)
    tools.block(accounts[0])

    async def campaign() -> None:
        rt.respond([first, *others])
        await settle(lambda: tools.entered[accounts[0]].is_set()
                     and all(statuses(rt, i) == ALL_DONE for i in others),
                     "the first kick hanging, the 29 other playbooks done")
        assert statuses(rt, first) == [*ALL_DONE[:3], ("dovecot", "kick", "started")]
        tools.release(accounts[0])
        await rt.finish_responses(WAIT)

    asyncio.run(campaign())
    assert statuses(rt, first) == ALL_DONE
    assert map_accounts(tmp_path / "sasl_access") == accounts
    assert sorted((tmp_path / "deny").read_text().split()) == accounts
    assert tools.most_postmaps_at_once == 1


def test_playbooks_of_one_account_never_overlap_and_leave_their_worker_free(
    tmp_path: Path
) -> None:
    """Two incidents of one account and one of another, two workers: while the first
    playbook of the account hangs, the second records nothing (it waits for the first, not
    on a worker), so the other account's playbook runs on the free worker; then the second
    runs, after the first's last step."""
    tools = Tools()
    rt = serving(tmp_path, tools, parallel=2)
    victim, bystander = "keisatsu@city.example.jp", "kacho@city.example.jp"
    first, second, other = open_incidents(rt, victim, victim, bystander)
    tools.block(victim)

    async def two_incidents() -> None:
        rt.respond([first, second, other])
        await settle(lambda: tools.entered[victim].is_set()
                     and statuses(rt, other) == ALL_DONE,
                     "the first kick hanging, the other account done")
        await asyncio.sleep(0.1)  # room for the second playbook to start, were it allowed to
        assert statuses(rt, second) == []
        tools.release(victim)
        await settle(lambda: statuses(rt, second) == ALL_DONE, "the second playbook done")
        await rt.finish_responses(WAIT)

    asyncio.run(two_incidents())
    assert rt.response is not None
    rows = {i: rt.response.actions.for_incident(i) for i in (first, second)}
    assert max(r["finished_at"] for r in rows[first]) <= min(r["started_at"] for r in rows[second])
    assert max(r["id"] for r in rows[first]) < min(r["id"] for r in rows[second])
    assert statuses(rt, first) == ALL_DONE


def test_many_incidents_of_one_account_run_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Eight incidents of one account and eight of others, four workers: the account's
    playbooks never run two at a time, they run in the order they came, and all of them run."""
    tools = Tools(postmap_seconds=0.005)
    rt = serving(tmp_path, tools)
    assert rt.response is not None
    real, incident = rt.response.run_automatic, rt.response.incident
    running: dict[str, int] = {}
    most: dict[str, int] = {}
    order: list[str] = []
    guard = threading.Lock()

    def counted(incident_id: str) -> Any:
        account = str(incident(incident_id)["account"])
        with guard:
            running[account] = running.get(account, 0) + 1
            most[account] = max(most.get(account, 0), running[account])
            order.append(incident_id)
        try:
            time.sleep(0.02)
            return real(incident_id)
        finally:
            with guard:
                running[account] -= 1

    monkeypatch.setattr(rt.response, "run_automatic", counted)
    victim = "keisatsu@city.example.jp"
    accounts = [victim if n % 2 else f"user{n}@city.example.jp" for n in range(16)]
    ids = open_incidents(rt, *accounts)

    async def burst() -> None:
        rt.respond(ids)
        await rt.finish_responses(WAIT)

    asyncio.run(burst())
    assert most[victim] == 1
    assert max(most.values()) == 1 and len(most) == 9
    assert all(statuses(rt, i) == ALL_DONE for i in ids)
    theirs = [i for i, account in zip(ids, accounts, strict=True) if account == victim]
    assert [i for i in order if i in theirs] == theirs


# -- shared files: concurrent writers --------------------------------------------------------

def at_once(count: int, work: Callable[[int], T]) -> list[T]:
    """Run work(0..count-1) in count threads released together; their results."""
    start = threading.Barrier(count)
    results: dict[int, T] = {}

    def one(n: int) -> None:
        start.wait(WAIT)
        results[n] = work(n)

    threads = [threading.Thread(target=one, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(WAIT)
    return [results[n] for n in range(count)]


ACCOUNTS = [f"user{n:02d}@city.example.jp" for n in range(16)]


def test_concurrent_lock_steps_keep_every_line_of_the_map_and_deny_file(tmp_path: Path) -> None:
    """16 lock steps of 16 accounts started at the same moment through the runner: the map
    and the deny file hold all 16 (and the hand-written lines), postmap never ran twice at once
    and ran after each map change, no temporary file is left."""
    tools = Tools(postmap_seconds=0.003)
    rt = serving(tmp_path, tools)
    assert rt.response is not None
    runner = rt.response
    (tmp_path / "sasl_access").write_text("# by hand\nboss@city.example.jp REJECT\n")
    (tmp_path / "deny").write_text("# by hand\nformer@city.example.jp\n")
    ids = open_incidents(rt, *ACCOUNTS)

    outcomes = at_once(16, lambda n: runner.run(ids[n], ["lock"], actor="t", reason="r"))

    assert all([o.status for o in out] == ["done", "done"] for out in outcomes)
    assert map_accounts(tmp_path / "sasl_access")[1:] == ["boss@city.example.jp", *ACCOUNTS]
    assert (tmp_path / "sasl_access").read_text().startswith("# by hand\n")
    deny = (tmp_path / "deny").read_text().split()
    assert deny[:3] == ["#", "by", "hand"] and sorted(deny[3:]) == sorted(
        ["former@city.example.jp", *ACCOUNTS])
    assert tools.most_postmaps_at_once == 1
    assert sum(call[0] == "postmap" for call in tools.calls) == 16
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(TEMP_SUFFIX)]


def test_concurrent_responders_keep_every_line_without_a_runner(tmp_path: Path) -> None:
    """The responders on their own (their default lock): 16 threads lock 16 accounts in the
    map and deny file and give 16 accounts new passwords; every line is there, then 16
    unlocks at once leave only the hand-written lines."""
    tools = Tools(postmap_seconds=0.002)
    pf = PostfixResponder(tools, access_map=tmp_path / "sasl_access")
    dc = DovecotResponder(tools, deny_file=tmp_path / "deny", passwd_file=tmp_path / "passwd")
    (tmp_path / "sasl_access").write_text("boss@city.example.jp REJECT\n")
    (tmp_path / "deny").write_text("former@city.example.jp\n")
    passwd = "".join(f"{a}:{{PLAIN}}old::::::\n" for a in ACCOUNTS)
    (tmp_path / "passwd").write_text(passwd)

    def lock_all(n: int) -> tuple[object, ...]:
        return (pf.lock(ACCOUNTS[n], reason="r"), dc.lock(ACCOUNTS[n], reason="r"),
                dc.reset_password(ACCOUNTS[n], reason="r"))

    at_once(16, lock_all)
    assert map_accounts(tmp_path / "sasl_access") == sorted(["boss@city.example.jp", *ACCOUNTS])
    assert sorted((tmp_path / "deny").read_text().split()) == sorted(
        ["former@city.example.jp", *ACCOUNTS])
    assert (tmp_path / "passwd").read_text() == passwd.replace("{PLAIN}old", HASH)
    at_once(16, lambda n: (pf.unlock(ACCOUNTS[n], reason="r"), dc.unlock(ACCOUNTS[n], reason="r")))
    assert (tmp_path / "sasl_access").read_text() == "boss@city.example.jp REJECT\n"
    assert (tmp_path / "deny").read_text() == "former@city.example.jp\n"


# -- the lock files keep other processes out -------------------------------------------------

HOLDER = """
import fcntl, sys
handle = open(sys.argv[1], "a+b")
fcntl.flock(handle, fcntl.LOCK_EX)
print("held", flush=True)
sys.stdin.read()
"""


@pytest.fixture
def holder() -> Iterator[Callable[[Path], Callable[[], None]]]:
    """holder(path) -> release: another process holds the lock file path until release()
    or the end of the test."""
    started: list[subprocess.Popen[str]] = []

    def release(process: subprocess.Popen[str]) -> None:
        if process.stdin is not None and not process.stdin.closed:
            process.stdin.close()
        process.wait(WAIT)

    def hold(path: Path) -> Callable[[], None]:
        path.parent.mkdir(parents=True, exist_ok=True)
        process = subprocess.Popen([sys.executable, "-c", HOLDER, str(path)],
                                   stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(process)
        assert process.stdout is not None and process.stdout.readline() == "held\n"
        return lambda: release(process)

    yield hold
    for process in started:
        release(process)


def test_another_process_editing_a_shared_file_holds_only_the_file_steps(
    tmp_path: Path, holder: Callable[[Path], Callable[[], None]]
) -> None:
    """While another process (e.g. `mailwarden incidents undo`) holds the machine-wide lock,
    a playbook's quarantine is done and its Postfix lock waits; an account's own lock file held
    by another process stops that account only; released, both finish."""
    tools = Tools()
    rt = serving(tmp_path, tools)
    assert rt.response is not None
    runner = rt.response
    waits_for_file, waits_for_account = open_incidents(rt, "a@city.example.jp",
                                                       "b@city.example.jp")
    releases = [holder(runner.lock_path),
                holder(account_lock_path(runner.account_locks, "B@city.example.jp"))]
    threads = [threading.Thread(target=runner.run_automatic, args=(i,))
               for i in (waits_for_file, waits_for_account)]
    for thread in threads:
        thread.start()
    wait_until(lambda: statuses(rt, waits_for_file)[-1:] == [("postfix", "lock", "started")],
               "the Postfix lock under way")
    time.sleep(0.3)
    assert statuses(rt, waits_for_file) == [ALL_DONE[0], ("postfix", "lock", "started")]
    assert statuses(rt, waits_for_account) == [("outbound", "quarantine", "started")]
    assert not (tmp_path / "sasl_access").exists()
    for release in releases:
        release()
    for thread in threads:
        thread.join(WAIT)
    assert statuses(rt, waits_for_file) == statuses(rt, waits_for_account) == ALL_DONE


def test_lock_files_are_reentrant_and_forgotten_when_free(tmp_path: Path) -> None:
    """A thread takes its own lock again without waiting; another thread waits for it; once
    free, the process forgets it (one lock per account must not pile up in memory)."""
    path = tmp_path / "locks" / "x.lock"
    order: list[str] = []

    def other() -> None:
        with LOCKS.hold(path, path.parent):
            order.append("other")

    with LOCKS.hold(path, path.parent):
        with LOCKS.hold(path, path.parent):
            waiting = threading.Thread(target=other)
            waiting.start()
            time.sleep(0.2)
            order.append("owner")
        assert LOCKS.in_use(path) and order == ["owner"]
    waiting.join(WAIT)
    assert order == ["owner", "other"]
    assert not LOCKS.in_use(path)


# -- shutdown ------------------------------------------------------------------------------

def test_at_shutdown_running_playbooks_finish_and_waiting_ones_are_skipped(
    tmp_path: Path
) -> None:
    """Two workers, both busy with a hanging playbook; a second incident of one of those
    accounts waits for it, a third account waits for a worker: at shutdown both waiting
    playbooks are recorded as skipped (and never start); the two running ones finish."""
    tools = Tools()
    rt = serving(tmp_path, tools, parallel=2)
    a, b, c = "a@city.example.jp", "b@city.example.jp", "c@city.example.jp"
    run_a, run_b, again_a, wait_c = open_incidents(rt, a, b, a, c)
    tools.block(a)
    tools.block(b)

    async def stop_while_busy() -> None:
        rt.respond([run_a, run_b, again_a, wait_c])
        await settle(lambda: tools.entered[a].is_set() and tools.entered[b].is_set(),
                     "both kicks hanging")
        stopping = asyncio.create_task(rt.finish_responses(timeout=0.3))
        await asyncio.sleep(0.6)
        tools.release(a)
        tools.release(b)
        await stopping

    asyncio.run(stop_while_busy())
    wait_until(lambda: statuses(rt, run_a) == statuses(rt, run_b) == ALL_DONE,
               "the running playbooks finished")
    time.sleep(0.2)
    for waiting in (again_a, wait_c):
        assert {s for _t, _o, s in statuses(rt, waiting)} == {"skipped"}
        assert len(statuses(rt, waiting)) == 4
    assert not rt._running


# -- the setting ---------------------------------------------------------------------------

def test_max_parallel_playbooks_is_read_and_checked(tmp_path: Path) -> None:
    """[response] max_parallel_playbooks is 4 by default, read from the file, at least 1."""
    assert Config().response.max_parallel_playbooks == 4
    path = tmp_path / "mailwarden.toml"
    path.write_text("[response]\nmax_parallel_playbooks = 8\n")
    assert load(path, tmp_path).response.max_parallel_playbooks == 8
    path.write_text("[response]\nmax_parallel_playbooks = 0\n")
    with pytest.raises(ConfigError, match="max_parallel_playbooks must be at least 1"):
        load(path, tmp_path)
