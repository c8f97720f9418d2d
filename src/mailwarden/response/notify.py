"""The notification dispatcher: incidents in, alerts out on every enabled channel.

Detection never waits for it: ``submit`` only puts into a bounded queue (when full, the oldest
alert is dropped and counted). A router de-duplicates (one alert per incident, or per account and
signal, within ``dedup_minutes``; repeats become one summary when the window ends) and hands each
alert to one lane per channel. A lane's worker obeys the channel's rate limit and retries failed
deliveries with bounded exponential backoff; a failing channel is logged and never stops another.
Blocking sends run in the dispatcher's own threads, never in the store's.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from secrets import SystemRandom
from typing import Any

from mailwarden.config import Config
from mailwarden.response.channels.base import (
    Alert,
    Channel,
    DeliveryError,
    alert_from_finding,
    alert_from_incident,
    summary_alert,
)
from mailwarden.store.store import Batch

log = logging.getLogger("mailwarden.notify")
SWEEP_SECONDS = 1.0
SAMPLE = 50
_random = SystemRandom()


@dataclass
class RateLimit:
    """A token bucket: ``burst`` at once, then ``per_minute``."""

    per_minute: float
    burst: int
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    stamp: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens, self.stamp = float(self.burst), self.clock()

    def take(self) -> float:
        """Take a token; returns how long to wait first (0 when one was there)."""
        now = self.clock()
        rate = self.per_minute / 60.0
        self.tokens = min(float(self.burst), self.tokens + (now - self.stamp) * rate)
        self.stamp = now
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / rate


@dataclass
class Repeats:
    """The alerts of one key within its window: the one sent, and a sample of the repeats."""

    first: Alert
    until: float
    count: int = 0
    sample: list[Alert] = field(default_factory=list)

    def add(self, alert: Alert) -> None:
        self.count += 1
        if len(self.sample) < SAMPLE:
            self.sample.append(alert)
        else:
            self.sample[-1] = alert  # the newest is always kept


class Dedup:
    """Sends the first alert of a key, counts repeats within ``window`` seconds, and sends one
    summary per window while the repeats continue."""

    def __init__(self, window: float, summarise: Callable[[Repeats], Alert],
                 max_keys: int = 10_000) -> None:
        self.window, self.summarise, self.max_keys = window, summarise, max_keys
        self.windows: dict[str, Repeats] = {}
        self.pending: list[Alert] = []

    def admit(self, alert: Alert, now: float) -> list[Alert]:
        """What to send now for this alert: nothing (a repeat), or it (after a due summary)."""
        if self.window <= 0:
            return [alert]
        entry = self.windows.pop(alert.key, None)
        if entry is not None and now < entry.until:
            entry.add(alert)
            self.windows[alert.key] = entry
            return []
        out = [self.summarise(entry)] if entry is not None and entry.count else []
        self.windows[alert.key] = Repeats(alert, now + self.window)
        if len(self.windows) > self.max_keys:
            oldest = self.windows.pop(next(iter(self.windows)))
            if oldest.count:
                self.pending.append(self.summarise(oldest))
        return [*out, alert]

    def expired(self, now: float) -> list[Alert]:
        """Summaries of windows that closed with repeats (a new window starts for each)."""
        out, self.pending = self.pending, []
        for key, entry in list(self.windows.items()):
            if now < entry.until:
                continue
            del self.windows[key]
            if entry.count:
                out.append(self.summarise(entry))
                self.windows[key] = Repeats(entry.first, now + self.window)
        return out

    def flush(self) -> list[Alert]:
        """All pending summaries now (at shutdown)."""
        out, self.pending = self.pending, []
        for entry in self.windows.values():
            if entry.count:
                out.append(self.summarise(entry))
                entry.count, entry.sample = 0, []
        return out


@dataclass
class Lane:
    """One channel's queue, rate limit and counters."""

    channel: Channel
    queue: asyncio.Queue[Alert]
    limit: RateLimit
    stats: dict[str, int] = field(default_factory=lambda: dict.fromkeys(
        ("sent", "failed", "retried", "dropped"), 0))


def _put(queue: asyncio.Queue[Alert], alert: Alert) -> bool:
    """Put without waiting; when full, drop the oldest. True when one was dropped."""
    dropped = False
    if queue.full():
        queue.get_nowait()
        queue.task_done()
        dropped = True
    queue.put_nowait(alert)
    return dropped


class Dispatcher:
    """Fan-out of alerts to channels; ``submit`` is called on the event loop's thread."""

    def __init__(self, cfg: Config, channels: Sequence[Channel]) -> None:
        self.cfg, self.n = cfg, cfg.notify
        self.queue: asyncio.Queue[Alert] = asyncio.Queue(self.n.queue_size)
        self.lanes = [Lane(c, asyncio.Queue(self.n.queue_size),
                           RateLimit(self.n.rate_per_minute, self.n.burst)) for c in channels]
        self.dedup = Dedup(self.n.dedup_minutes * 60, self._summary)
        self.counters = dict.fromkeys(("submitted", "dropped", "suppressed", "summaries"), 0)
        self.pool = ThreadPoolExecutor(max(1, len(self.lanes)), "mailwarden-notify")
        self.tasks: list[asyncio.Task[None]] = []

    # -- the caller's side: never blocks, never raises ------------------------------------
    def submit(self, alert: Alert) -> None:
        self.counters["submitted"] += 1
        if _put(self.queue, alert):
            self.counters["dropped"] += 1
            self._warn_dropped("queue", self.counters["dropped"])

    def submit_batch(self, batch: Batch) -> None:
        """Hand over the new incidents (and high findings, if configured) of a flush."""
        try:
            for inc in batch.incidents:
                self.submit(alert_from_incident(inc))
            if self.n.high_findings:
                for finding in batch.findings:
                    if finding.get("severity") == "high":
                        self.submit(alert_from_finding(finding))
        except Exception:  # notifications must never stop the flusher
            log.exception("could not queue notifications")

    @staticmethod
    def _warn_dropped(where: str, count: int) -> None:
        if count & (count - 1) == 0:  # 1, 2, 4, 8, ...: counted, not flooding
            log.warning("notification %s full: dropped the oldest alert (%d dropped so far)",
                        where, count)

    # -- the loop's side ------------------------------------------------------------------
    async def start(self) -> None:
        self.tasks = [asyncio.create_task(self._route(), name="notify-route"),
                      asyncio.create_task(self._sweep(), name="notify-sweep")]
        self.tasks += [asyncio.create_task(self._work(lane), name=f"notify-{lane.channel.name}")
                       for lane in self.lanes]

    async def stop(self, drain: float = 5.0) -> None:
        """Send what is queued (and pending summaries) for up to ``drain`` seconds, then stop."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._drain(), drain)
        for task in self.tasks:
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        self.tasks = []
        self.pool.shutdown(wait=False, cancel_futures=True)

    async def _drain(self) -> None:
        await self.queue.join()
        self._fan_out(self.dedup.flush())
        for lane in self.lanes:
            await lane.queue.join()

    def stats(self) -> dict[str, Any]:
        return {**self.counters, "channels": {lane.channel.name: dict(lane.stats)
                                              for lane in self.lanes}}

    async def _route(self) -> None:
        while True:
            alert = await self.queue.get()
            try:
                send = self.dedup.admit(alert, time.monotonic())
                if not send:
                    self.counters["suppressed"] += 1
                self._fan_out(send)
            finally:
                self.queue.task_done()

    async def _sweep(self) -> None:
        while True:
            await asyncio.sleep(SWEEP_SECONDS)
            self._fan_out(self.dedup.expired(time.monotonic()))

    def _fan_out(self, alerts: Iterable[Alert]) -> None:
        for alert in alerts:
            for lane in self.lanes:
                if _put(lane.queue, alert):
                    lane.stats["dropped"] += 1
                    self._warn_dropped(f"lane {lane.channel.name}", lane.stats["dropped"])

    def _summary(self, entry: Repeats) -> Alert:
        self.counters["summaries"] += 1
        return summary_alert(entry.first, entry.sample, entry.count, self.cfg.tz)

    async def _work(self, lane: Lane) -> None:
        while True:
            alert = await lane.queue.get()
            try:
                wait = lane.limit.take()
                if wait > 0:
                    await asyncio.sleep(wait)
                await self._deliver(lane, alert)
            finally:
                lane.queue.task_done()

    async def _deliver(self, lane: Lane, alert: Alert) -> None:
        loop, name = asyncio.get_running_loop(), lane.channel.name
        for attempt in range(max(0, self.n.retries) + 1):
            try:
                await loop.run_in_executor(self.pool, lane.channel.send, alert)
            except DeliveryError as exc:
                if not exc.retry or attempt >= self.n.retries:
                    lane.stats["failed"] += 1
                    log.error("notification %s %s not delivered after %d attempt(s): %s",
                              alert.kind, alert.id, attempt + 1, exc)
                    return
                delay = self._backoff(attempt, exc.retry_after)
                lane.stats["retried"] += 1
                log.warning("notification %s %s: %s; retry in %.1fs", alert.kind, alert.id,
                            exc, delay)
                await asyncio.sleep(delay)
            except Exception:  # a bug in a channel: log it, keep the lane alive
                lane.stats["failed"] += 1
                log.exception("notification channel %s failed on %s %s", name, alert.kind,
                              alert.id)
                return
            else:
                lane.stats["sent"] += 1
                return

    def _backoff(self, attempt: int, retry_after: float | None) -> float:
        """Exponential with jitter, never longer than backoff_max_seconds."""
        base = self.n.backoff_seconds * (2.0 ** attempt)
        delay = base * _random.uniform(0.75, 1.25)
        if retry_after is not None:
            delay = max(delay, retry_after)
        return min(delay, self.n.backoff_max_seconds)


def channels_for(cfg: Config) -> list[Channel]:
    """The configured channels, in the order of ``notify.channels``."""
    from mailwarden.response.channels.ecs import EcsChannel
    from mailwarden.response.channels.email import EmailChannel
    from mailwarden.response.channels.slack import SlackChannel
    from mailwarden.response.channels.syslog import SyslogChannel
    from mailwarden.response.channels.teams import TeamsChannel
    from mailwarden.response.channels.webhook import WebhookChannel

    known: dict[str, Callable[[Config], Channel]] = {
        "email": EmailChannel, "slack": SlackChannel, "teams": TeamsChannel,
        "webhook": WebhookChannel, "syslog": SyslogChannel, "ecs": EcsChannel}
    return [known[name](cfg) for name in dict.fromkeys(cfg.notify.channels)]


def from_config(cfg: Config) -> Dispatcher | None:
    """A dispatcher for the configured channels, or None when no channel is enabled."""
    channels = channels_for(cfg)
    return Dispatcher(cfg, channels) if channels else None
