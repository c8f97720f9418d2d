"""The long-running service: the policy server, the write-behind flusher, release polling."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import os
import secrets
import signal
import sys
import threading
import time
from collections import deque
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import uvicorn

from mailwarden.config import Config
from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.engine import LoginEngine
from mailwarden.engine.state import MemoryStates
from mailwarden.guard import OutboundGuard
from mailwarden.listen import parse_listen as parse_listen  # where it was before listen.py
from mailwarden.login_guard import LoginGuard
from mailwarden.response import notify
from mailwarden.response.runner import ResponseRunner
from mailwarden.sources.dovecot_policy import AuthPolicyApp
from mailwarden.sources.postfix_policy import PolicyServer
from mailwarden.store.store import Batch, Store

log = logging.getLogger("mailwarden.service")
STATES_PER_FLUSH = 600  # account states written per flush at most (the rest: next flushes)
STATES_PER_SLICE = 20  # serialised between two chances for requests to be answered
ABSENT_RECHECK = 0.5  # seconds between checks that no other process inserted account states
# While the store fails, what is not written yet is kept for the next flush. Incidents, their
# quarantine flags and timeline entries other than per-message ones are always kept; beyond
# these bounds, the oldest held-message records, their timeline entries and login findings
# (the mail itself waits in Postfix's hold queue; bound of each kind) and the oldest evicted
# states that are not quarantined are dropped.
UNWRITTEN_RECORDS_MAX = 100_000
UNWRITTEN_STATES_MAX = 50_000
PER_MESSAGE_EVENTS = frozenset({"hold", "warn", "defer"})
FINAL_FLUSH_ATTEMPTS = 5  # at shutdown, a failing store is tried this often, a second apart
QUARANTINED_MARK = '"quarantine":[true'  # in a state serialised by AccountState.to_json


class Runtime:
    """Everything ``serve`` wires together; also used by tests and benchmarks in-process."""

    def __init__(self, cfg: Config, store: Store | None = None) -> None:
        self.cfg = cfg
        self.store = store or Store(cfg.store_url)
        self.evicted: dict[str, str] = {}
        self.states = MemoryStates(cfg.store.max_accounts_in_memory, self._load, self._evict)
        self.engine = Engine(cfg, self.states)
        self.guard = OutboundGuard(cfg, self.engine)
        self.logins = LoginGuard(cfg, LoginEngine(cfg, self.states, self.engine.geo))
        self.last_flag = self.store.flag_seq()  # the store's flag changes applied so far
        self.unwritten = Batch()  # records of failed writes, written with the next flush
        self.write_failures = 0  # failed flushes in a row
        if cfg.outbound.exempt_senders:
            log.warning("[outbound] exempt_senders applies only when the sender is the account "
                        "itself (or unauthenticated mail tracked by sender), never to another "
                        "account sending as it: list bulk-sending SASL accounts in "
                        "exempt_accounts (docs/outbound-guard.md)")
        self.notify: notify.Dispatcher | None = None
        self.response: ResponseRunner | None = None
        self.responding: set[asyncio.Future[None]] = set()
        self._response_pool: ThreadPoolExecutor | None = None
        self._not_started: list[str] = []  # incidents whose playbook has not started yet
        self._arrived: deque[str] = deque()  # incidents no worker has taken yet, oldest first
        self._running: dict[str, deque[str]] = {}  # account with a playbook under way -> the
        # incidents of that account that came meanwhile (its worker runs them next)
        self._taking = threading.Lock()  # one worker at a time takes the oldest incident
        self._stopping = False  # set by finish_responses: no playbook starts any more
        self._start_lock = threading.Lock()

        # While the store holds no account state but ours (see ``_absent``), a first sighting
        # needs no lookup: the accounts whose state we inserted, and when that was checked.
        self._ours: set[str] | None = set() if self.store.inserted_states() == 0 else None
        self._absent_checked = time.monotonic()

    def _load(self, account: str) -> str | None:
        data = self.evicted.pop(account, None)
        if data is not None:  # not written yet: it must be, from memory now
            self.states.dirty.add(account)
            return data
        if self._absent():
            return None
        data = self.store.load_state(account)
        if data is not None and QUARANTINED_MARK in data:
            data = self._flag_is_truth(account, data)
        return data

    def _flag_is_truth(self, account: str, data: str) -> str:
        """A stored state that says quarantined while the account's flag says released (a
        state written back after a release) is released: the flag decides."""
        flag = self.store.flag(account)
        if flag is None or flag["quarantined"]:
            return data
        try:
            parsed = json.loads(data)
            parsed["quarantine"] = [False, 0.0, ""]
            parsed["windows"] = {}
        except (ValueError, TypeError):
            return data  # damaged: the engine starts it afresh anyway
        log.warning("account %s: stored state said quarantined, its flag says released "
                    "(by %s); released", account, flag["updated_by"])
        self.states.dirty.add(account)
        return json.dumps(parsed, separators=(",", ":"))

    def _absent(self) -> bool:
        """True when the store surely has no state of an account that is not in memory.

        That holds from a start on a store without account states for as long as no state
        has left memory and every state inserted in the store is one of ours; the latter is
        re-checked every ABSENT_RECHECK seconds (another process, e.g. ``logs import`` or a
        second Mailwarden, may insert states), so such a state is seen at most that late.
        """
        if self._ours is None:
            return False
        now = time.monotonic()
        if now - self._absent_checked >= ABSENT_RECHECK:
            self._absent_checked = now
            inserted = self.store.inserted_states()
            if inserted is None or inserted > len(self._ours):
                self._ours = None
                return False
        return True

    def _evict(self, account: str, data: str) -> None:
        self._ours = None  # a state left memory: from now on, ask the store
        self.evicted[account] = data

    def collect(self, everything: bool = False, states: int = STATES_PER_FLUSH) -> Batch:
        """Take what must be written (runs on the event loop): all records, evicted states,
        and ``states`` changed account states (all of them when ``everything``)."""
        batch, self.unwritten = self.unwritten, Batch()
        batch.merge(self.guard.take_batch()).merge(self.logins.take_batch())
        batch.states = self.states.take_dirty(None if everything else states)
        batch.states += list(self.evicted.items())
        self._inserting(batch)
        return batch

    def _inserting(self, batch: Batch) -> None:
        """Count the states about to be written as ours before they are (see ``_absent``)."""
        if self._ours is not None:
            self._ours.update(account for account, _data in batch.states)

    def ask_store(self) -> None:
        """Look every account not in memory up in the store from now on (e.g. a write of
        ours failed, so what it counted as ours is uncertain)."""
        self._ours = None

    async def collect_politely(self, everything: bool) -> Batch:
        """Like ``collect``, serialising account states a few at a time and letting waiting
        requests be answered in between (one big batch paused answers for ~10 ms)."""
        if everything:
            return self.collect(everything=True)
        batch = self.collect(states=0)
        for _ in range(STATES_PER_FLUSH // STATES_PER_SLICE):
            await asyncio.sleep(0)
            more = self.states.take_dirty(STATES_PER_SLICE)
            if not more:
                break
            batch.states += more
            self._inserting(Batch(states=more))
        return batch

    def respond(self, incident_ids: Sequence[str]) -> None:
        """Run the playbook of newly stored incidents in worker threads (commands take time;
        detection never waits for them): up to ``[response] max_parallel_playbooks`` at once,
        so one slow step delays no other account; those of one account one after the other
        (they edit the same map and deny entries)."""
        if self.response is None or not incident_ids:
            return
        if self._response_pool is None:
            self._response_pool = ThreadPoolExecutor(self.cfg.response.max_parallel_playbooks,
                                                     "mailwarden-response")
        loop = asyncio.get_running_loop()
        for incident_id in incident_ids:
            with self._start_lock:
                self._not_started.append(incident_id)
                self._arrived.append(incident_id)
            future = loop.run_in_executor(self._response_pool, self._respond_next)
            self.responding.add(future)
            future.add_done_callback(self.responding.discard)

    def _respond_next(self) -> None:
        """Take the oldest incident no worker has taken; run its playbook, then those of its
        account that came meanwhile. While a playbook of its account is under way, leave it to
        that one's worker, so no worker sits waiting for an account while other accounts'
        playbooks could run, and one account's playbooks run in the order they came."""
        with self._taking:  # its account looked up and claimed before the next is taken
            with self._start_lock:
                if self._stopping or not self._arrived:
                    return
                incident_id = self._arrived.popleft()
            account = self._account_of(incident_id)
            with self._start_lock:
                if account in self._running:
                    self._running[account].append(incident_id)
                    return
                self._running[account] = deque()
        while True:
            with self._start_lock:
                if self._stopping:  # this one and those waiting: skipped by finish_responses
                    del self._running[account]
                    return
                self._not_started.remove(incident_id)
            self._run_playbook(incident_id)
            with self._start_lock:
                waiting = self._running[account]
                if not waiting or self._stopping:
                    del self._running[account]
                    return
                incident_id = waiting.popleft()

    def _account_of(self, incident_id: str) -> str:
        """The key the incident's playbook is serialised by: its account (case-folded), or
        the incident itself when it cannot be read (its playbook then fails and is logged)."""
        assert self.response is not None
        try:
            return "account:" + str(self.response.incident(incident_id)["account"]).casefold()
        except Exception:
            return "incident:" + incident_id

    def _run_playbook(self, incident_id: str) -> None:
        assert self.response is not None
        try:
            for outcome in self.response.run_automatic(incident_id):
                op = outcome.operation
                log.warning("incident %s: %s.%s %s on %s%s", incident_id, op.target,
                            op.operation, outcome.status, op.account,
                            f": {outcome.error}" if outcome.error else "")
        except Exception:  # the playbook must never stop the service
            log.exception("playbook of incident %s failed", incident_id)

    async def finish_responses(self, timeout: float) -> None:
        """Let running playbooks finish (each action's record shows how far it got); a
        playbook that has not started by then is recorded as skipped, never silently lost."""
        if self.responding:
            await asyncio.wait(set(self.responding), timeout=timeout)
        with self._start_lock:
            self._stopping = True
            waiting, self._not_started = self._not_started, []
            self._arrived.clear()
        if waiting:
            await asyncio.to_thread(self._skip_responses, waiting)
        if self._response_pool is not None:
            self._response_pool.shutdown(wait=False, cancel_futures=True)

    def _skip_responses(self, incident_ids: list[str]) -> None:
        assert self.response is not None
        for incident_id in incident_ids:
            why = (f"service stopped before the playbook ran; run "
                   f"`mailwarden incidents respond {incident_id}`")
            log.warning("incident %s: %s", incident_id, why)
            try:
                self.response.skip_automatic(incident_id, why)
            except Exception:  # logged above; the other incidents are still recorded
                log.exception("incident %s: cannot record the skipped playbook", incident_id)

    def written(self, batch: Batch) -> None:
        """Forget evicted states once stored (unless evicted again, newer, meanwhile); tell
        the notifier about what is stored now."""
        for account, data in batch.states:
            if self.evicted.get(account) == data:
                del self.evicted[account]
        if self.notify is not None:
            self.notify.submit_batch(batch)

    def failed(self, batch: Batch) -> None:
        """A write of ``batch`` failed: its records go with the next flush, its states are
        written again from memory (changed again) or kept as evicted (if not evicted anew
        since), within the bounds of what is kept while the store fails."""
        self.ask_store()
        for account, data in batch.states:
            if self.states.peek(account) is not None:
                self.states.dirty.add(account)
            else:
                self.evicted.setdefault(account, data)
        batch.states = []
        self.unwritten = batch.merge(self.unwritten)
        self._bound_unwritten()

    def _bound_unwritten(self) -> None:
        """Drop the oldest per-message records and non-quarantined evicted states beyond the
        bounds, loudly; incidents, flags and other timeline entries are never dropped."""
        kept = self.unwritten
        per_message = sum(e[2] in PER_MESSAGE_EVENTS for e in kept.events)
        excess = [max(0, n - UNWRITTEN_RECORDS_MAX)
                  for n in (len(kept.decisions), len(kept.findings), per_message)]
        if any(excess):
            del kept.decisions[:excess[0]]
            del kept.findings[:excess[1]]
            kept.events = _drop_oldest(kept.events, excess[2])
            log.error("the store keeps failing: dropped the oldest unwritten records: %d held "
                      "messages, %d login findings, %d timeline entries of held messages "
                      "(incidents and quarantine flags are kept; held mail stays in the hold "
                      "queue)", *excess)
        over = len(self.evicted) - UNWRITTEN_STATES_MAX
        if over > 0:
            dropped = [a for a, d in self.evicted.items() if QUARANTINED_MARK not in d][:over]
            for account in dropped:
                del self.evicted[account]
            log.error("the store keeps failing: dropped %d unwritten account states that left "
                      "memory (their recent windows and learning; quarantined ones are kept)",
                      len(dropped))

    def poll_flags(self) -> list[tuple[str, str, float, bool]]:
        """Quarantine flags changed in the store since the last poll (runs in a thread).

        Changes are numbered by the store in commit order (``account_flags.seq``), never by
        a writer's clock: a flag stamped by a host whose clock is ahead, or before the clock
        was stepped back, hides no later change."""
        changes = []
        for flag in self.store.flags_after(self.last_flag):
            self.last_flag = max(self.last_flag, int(flag["seq"]))
            changes.append((str(flag["account"]), str(flag["incident_id"]),
                            float(flag["since"]), bool(flag["quarantined"])))
        return changes

    def quarantined_at_start(self) -> list[tuple[str, str, float, bool]]:
        """Quarantines recorded while the service was down (or whose account state was lost
        in a crash before it was written), to apply once at start."""
        return [(str(f["account"]), str(f["incident_id"]), float(f["since"]), True)
                for f in self.store.quarantined()]

    def apply_flags(self, changes: list[tuple[str, str, float, bool]]) -> None:
        """Apply releases and quarantines made outside the engine (on the event loop)."""
        for account, incident, since, quarantined in changes:
            if not quarantined and self.engine.release(account):
                log.warning("account %s released", account)
            elif quarantined and self.engine.quarantine(account, incident, since):
                log.warning("account %s quarantined (incident %s)", account, incident)

    def poll_releases(self) -> None:
        """Poll and apply in one go (tests and tools without an event loop)."""
        self.apply_flags(self.poll_flags())


async def flush(rt: Runtime, everything: bool) -> bool:
    """One write-behind flush; False when the store failed (what it held is kept for the
    next: see ``Runtime.failed``). Notifications and playbooks follow only a stored batch."""
    batch = await rt.collect_politely(everything=everything)
    loop = asyncio.get_running_loop()
    try:
        await loop.run_in_executor(None, rt.store.write, batch, time.time())
    except Exception:  # the store must never stop decisions; retry next round
        rt.write_failures += 1
        if rt.write_failures >= SPLIT_AFTER:
            written, refused = await loop.run_in_executor(None, write_each, rt.store, batch,
                                                          time.time())
            if written:  # the store works: what it refuses on its own blocked every write
                _refused(refused)
                rt.write_failures = 0
                rt.written(written)
                rt.respond([incident.id for incident in written.incidents])
                return True
        rt.failed(batch)
        u = rt.unwritten
        log.exception("write-behind flush failed; kept for the next: %d incidents, %d flags, "
                      "%d decisions, %d findings, %d states out of memory", len(u.incidents),
                      len(u.flags), len(u.decisions), len(u.findings), len(rt.evicted))
        return False
    rt.write_failures = 0
    rt.written(batch)
    rt.respond([incident.id for incident in batch.incidents])
    return True


SPLIT_AFTER = 3  # failed flushes in a row before the batch is written one record at a time
BATCH_KINDS = ("incidents", "flags", "events", "states", "decisions", "findings")


def write_each(store: Store, batch: Batch, now: float) -> tuple[Batch, Batch]:
    """Write ``batch`` one record at a time (incidents before their timeline): what was
    written and what the store refused. After failed flushes in a row, this tells a store that
    is down (it refuses everything: all is kept for later) from one record the store cannot
    hold (say, a value longer than its column), which would otherwise fail every later write
    with it: incidents, quarantine flags, the playbooks and notifications after them."""
    written, refused = Batch(), Batch()
    for kind in BATCH_KINDS:
        for record in getattr(batch, kind):
            one = Batch()
            getattr(one, kind).append(record)
            try:
                store.write(one, now)
            except Exception:
                getattr(refused, kind).append(record)
            else:
                getattr(written, kind).append(record)
    return written, refused


def _refused(refused: Batch) -> None:
    """Say, loudly, which records the store refused on their own (they are dropped)."""
    for kind in BATCH_KINDS:
        records = getattr(refused, kind)
        if records:
            log.critical("the store refused %d %s one by one while it wrote the others: dropped "
                         "(first: %.300r)", len(records), kind, records[0])


async def final_flush(rt: Runtime) -> bool:
    """Write everything on the way out, trying a failing store a few times; what cannot be
    written is named in the log."""
    for attempt in range(FINAL_FLUSH_ATTEMPTS):
        if await flush(rt, everything=True):
            return True
        if attempt < FINAL_FLUSH_ATTEMPTS - 1:
            await asyncio.sleep(1.0)
    u = rt.unwritten
    log.critical("the store failed at shutdown: NOT written: incidents %s, quarantine flags of "
                 "%s, %d held-message records, %d account states; quarantine those accounts "
                 "again with `mailwarden accounts`", [i.id for i in u.incidents],
                 sorted({str(f["account"]) for f in u.flags if f["quarantined"]}),
                 len(u.decisions), len(rt.evicted) + len(rt.states.dirty))
    return False


async def _flusher(rt: Runtime, policy: PolicyServer | None, stop: asyncio.Event) -> None:
    """Flush every ``flush_interval``; once ``stop`` is set, write everything and return."""
    loop = asyncio.get_running_loop()
    while True:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), rt.cfg.store.flush_interval)
        if stop.is_set():
            await final_flush(rt)
            return
        try:
            await flush(rt, everything=False)
            rt.apply_flags(await loop.run_in_executor(None, rt.poll_flags))
            rt.guard.expire(time.time())
            if policy is not None:
                policy.close_idle()
        except Exception:  # polling must never stop decisions either; retry next round
            log.exception("polling quarantine flags failed; will retry")


def _drop_oldest(events: list[tuple[str, float, str, dict[str, Any]]],
                 count: int) -> list[tuple[str, float, str, dict[str, Any]]]:
    """``events`` without the ``count`` oldest per-message ones."""
    kept = []
    for event in events:
        if count > 0 and event[2] in PER_MESSAGE_EVENTS:
            count -= 1
        else:
            kept.append(event)
    return kept


def _tune_gc() -> None:
    """Keep the garbage collector and the writer thread from pausing decisions.

    Account states are many, long-lived objects without reference cycles; full collections
    walking them caused pauses of hundreds of milliseconds (bench/policy_throughput.py).
    Start-up objects are frozen out of collection and the thresholds raised, so collections
    are rare and cheap.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 1000)
    # The write-behind thread runs Python code (SQLAlchemy); with the default 5 ms switch
    # interval it can keep the event loop from answering for that long. 0.5 ms keeps
    # decisions prompt; the thread's work is small and not latency-bound.
    sys.setswitchinterval(0.0005)


def api_key(cfg: Config) -> str:
    """The auth policy API key: configured, or generated once into the data folder."""
    if cfg.login.api_key:
        return cfg.login.api_key
    path = cfg.data_dir / "auth-policy.key"
    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    cfg.data_dir.mkdir(parents=True, exist_ok=True)
    key = secrets.token_urlsafe(32)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(key + "\n")
    return key


class _EmbeddedServer(uvicorn.Server):
    """uvicorn inside our loop: signals are ours, not uvicorn's."""

    serving: asyncio.Task[None] | None = None

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, let requests under way be answered (at most ``timeout``)."""
        self.should_exit = True
        if self.serving is not None:
            await asyncio.wait({self.serving}, timeout=timeout)

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


async def start_auth_policy(rt: Runtime, listen: tuple[str, int]) -> _EmbeddedServer:
    key = api_key(rt.cfg)
    app = AuthPolicyApp(rt.logins, rt.cfg.login.api_header, key, rt.cfg.login.max_body_bytes)
    config = uvicorn.Config(app, host=listen[0], port=listen[1], log_level="warning",
                            access_log=False, lifespan="off", http="httptools",
                            timeout_keep_alive=30)
    server = _EmbeddedServer(config)
    task = server.serving = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            task.result()  # raises the start-up error (port in use, ...)
            raise OSError(f"auth policy server did not start on {listen[0]}:{listen[1]}")
        await asyncio.sleep(0.02)
    print(f"mailwarden: Dovecot auth policy server listening on {listen[0]}:{listen[1]}\n"
          f"  dovecot.conf: auth_policy_server_url = http://{listen[0]}:{listen[1]}/\n"
          f"                auth_policy_server_api_header = {rt.cfg.login.api_header}:<key in "
          f"{rt.cfg.data_dir / 'auth-policy.key'} or [login] api_key>", flush=True)
    return server


async def serve(cfg: Config, policy_listen: tuple[str, int] | None,
                auth_listen: tuple[str, int] | None = None,
                ready: asyncio.Event | None = None, follow: Sequence[Path] = (),
                journald: bool = False, journald_units: Sequence[str] = (),
                api_listen: tuple[str, int] | None = None,
                milter_listen: tuple[str, int] | None = None) -> None:
    """Run until SIGTERM/SIGINT; flush on the way out."""
    rt = Runtime(cfg)
    rt.apply_flags(rt.quarantined_at_start())
    if rt.engine.geo.preload():  # before listening: the first request must not wait for it
        print("mailwarden: GeoIP data loaded", flush=True)
    rt.notify = notify.from_config(cfg)
    if cfg.playbook.mode != "off":
        rt.response = ResponseRunner(cfg, rt.store)
    if rt.notify is not None:
        await rt.notify.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, stop.set)
    policy = None
    if policy_listen is not None:
        policy = PolicyServer(rt.guard, max_request_bytes=cfg.policy.max_request_bytes,
                              max_attributes=cfg.policy.max_attributes,
                              idle_timeout=cfg.policy.idle_timeout)
        host, port = await policy.start(*policy_listen)
        print(f"mailwarden: policy server listening on {host}:{port}", flush=True)
    auth = await start_auth_policy(rt, auth_listen) if auth_listen is not None else None
    api = None
    if api_listen is not None:
        from mailwarden.api.server import ApiServer  # the API builds on this module

        api = ApiServer(rt, api_listen)
        await api.start()
    milter = None
    if milter_listen is not None:
        from mailwarden.inbound.milter import start_milter  # the inbound analyser's server

        milter = await start_milter(cfg, rt.store, milter_listen)
    print(f"mailwarden: data in {cfg.data_dir} (store {cfg.store_url.split('://')[0]})",
          flush=True)
    watchers: list[asyncio.Task[None]] = []
    if follow or journald:
        from mailwarden.watcher import run_watchers  # the watcher builds on this module

        watchers = await run_watchers(rt, follow, journald, journald_units)
        print(f"mailwarden: following {', '.join(map(str, follow)) or '-'}"
              f"{' and journald' if journald else ''}", flush=True)
    if ready is not None:
        ready.set()
    _tune_gc()
    done = asyncio.Event()  # set once nothing can make decisions any more
    flusher = asyncio.create_task(_flusher(rt, policy, done))
    await stop.wait()
    # Stop accepting first, so that every decision made is in the final flush.
    if policy is not None:
        await policy.stop()
    if auth is not None:
        await auth.stop()
    if milter is not None:
        await milter.stop()
    if api is not None:
        await api.stop()
    for task in watchers:
        task.cancel()
    await asyncio.gather(*watchers, return_exceptions=True)
    done.set()
    await flusher  # the final flush; the playbooks of its incidents start
    await rt.finish_responses(cfg.response.command_timeout)
    await final_flush(rt)  # anything recorded meanwhile (usually nothing)
    if rt.notify is not None:
        await rt.notify.stop()
