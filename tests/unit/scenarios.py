"""Builders of realistic sending histories for engine tests (all times JST, Asia/Tokyo)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from mailwarden.config import Config
from mailwarden.engine.engine import Engine, Verdict
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Submission

JST = ZoneInfo("Asia/Tokyo")
HOME_IP = "133.242.10.20"  # SAKURA Internet, JP
BRAZIL_IP = "200.147.67.142"  # Universo Online, BR
US_IP = "8.8.4.4"  # a hotel network abroad, US
VIETNAM_IP = "14.160.0.1"


def config(**outbound: object) -> Config:
    cfg = Config()
    cfg.organization.domains = ["city.example.jp"]
    for key, value in outbound.items():
        setattr(cfg.outbound, key, value)
    return cfg


def new_engine(cfg: Config | None = None) -> Engine:
    return Engine(cfg or config(), MemoryStates())


def ts(day: datetime, hour: int, minute: int = 0, second: float = 0.0) -> float:
    return (day.replace(hour=hour, minute=minute, tzinfo=JST)
            + timedelta(seconds=second)).timestamp()


def send(engine: Engine, t: float, account: str, rcpts: list[str], ip: str = HOME_IP,
         sender: str | None = None) -> Verdict:
    """Decide and commit one message, as the policy server would."""
    sub = Submission(t, account, sender or account, tuple(rcpts), len(rcpts), ip)
    verdict = engine.check(sub)
    engine.commit(sub, verdict.hold)
    return verdict


def office_history(engine: Engine, account: str, start: datetime, weeks: int,
                   contacts: list[str], per_day: int = 8) -> None:
    """Weekdays 09:00-17:00 from the office, to a stable set of contacts."""
    for d in range(weeks * 7):
        day = start + timedelta(days=d)
        if day.weekday() >= 5:
            continue
        for i in range(per_day):
            t = ts(day, 9 + i % 8, (i * 7) % 60)
            engine.learn(Submission(t, account, account, (contacts[(d + i) % len(contacts)],),
                                    1, HOME_IP))
