"""Writes realistic Postfix logs (submission, cleanup, qmgr, smtp, removed) for tests."""

from __future__ import annotations

import itertools
import random
from collections.abc import Iterator
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

JST = ZoneInfo("Asia/Tokyo")
_ids = itertools.count(0x10000)


def queue_id() -> str:
    return f"{next(_ids):X}A{random.randint(0, 0xFFF):03X}"


def stamp(t: datetime, rfc3339: bool) -> str:
    if rfc3339:
        return t.isoformat(timespec="microseconds")
    return t.strftime("%b %e %H:%M:%S")


def message_lines(t: datetime, account: str, ip: str, rcpts: list[str],
                  rfc3339: bool = False, host: str = "mail") -> list[str]:
    """The lines Postfix writes for one authenticated submission delivered to ``rcpts``."""
    qid = queue_id()
    pid = random.randint(1000, 60000)
    s = stamp(t, rfc3339)
    d = stamp(t + timedelta(seconds=1), rfc3339)
    lines = [
        f"{s} {host} postfix/submission/smtpd[{pid}]: {qid}: client=unknown[{ip}], "
        f"sasl_method=PLAIN, sasl_username={account}",
        f"{s} {host} postfix/cleanup[{pid + 1}]: {qid}: message-id=<{qid}@{host}>",
        f"{s} {host} postfix/qmgr[99]: {qid}: from=<{account}>, size=2345, "
        f"nrcpt={len(rcpts)} (queue active)",
    ]
    for r in rcpts:
        lines.append(f"{d} {host} postfix/smtp[{pid + 2}]: {qid}: to=<{r}>, "
                     f"relay=mx.example.net[198.51.100.7]:25, delay=1.2, "
                     f"delays=0.1/0/0.5/0.6, dsn=2.0.0, status=sent (250 2.0.0 Ok)")
    lines.append(f"{d} {host} postfix/qmgr[99]: {qid}: removed")
    return lines


def office_log(start: datetime, days: int, accounts: list[str], contacts: list[str],
               per_day: int = 6, ip: str = "133.242.10.20", rfc3339: bool = False,
               seed: int = 1) -> Iterator[tuple[datetime, list[str]]]:
    """Weekday office mail of several accounts: (time, lines) per message, in time order."""
    rnd = random.Random(seed)
    for d in range(days):
        day = start + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        msgs = []
        for account in accounts:
            for _ in range(per_day):
                t = day.replace(hour=rnd.randint(9, 17), minute=rnd.randint(0, 59),
                                second=rnd.randint(0, 59), tzinfo=JST)
                msgs.append((t, account, [rnd.choice(contacts)]))
        for t, account, rcpts in sorted(msgs):
            yield t, message_lines(t, account, ip, rcpts, rfc3339)


def burst_log(t0: datetime, account: str, ip: str, count: int, rate: float = 3.0,
              rfc3339: bool = False) -> Iterator[tuple[datetime, list[str]]]:
    for i in range(count):
        t = t0 + timedelta(seconds=i / rate)
        yield t, message_lines(t, account, ip, [f"target{i}@victim{i % 40}.example.org"],
                               rfc3339)


def write_log(path, *streams: Iterator[tuple[datetime, list[str]]]) -> int:
    """Merge message streams in time order into one log file; returns the line count."""
    merged = sorted((item for s in streams for item in s), key=lambda x: x[0])
    n = 0
    with open(path, "w", encoding="utf-8") as f:
        for _, lines in merged:
            for line in lines:
                f.write(line + "\n")
                n += 1
    return n
