"""How an account usually logs in, learned from its successful logins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.engine.baseline import remember

CAP = 50


@dataclass
class LoginProfile:
    """Countries, networks, devices and hours of an account's logins, and its current risk."""

    logins: int = 0
    days: int = 0
    last_day: int = -1
    countries: dict[str, float] = field(default_factory=dict)
    asns: dict[str, float] = field(default_factory=dict)
    devices: dict[str, float] = field(default_factory=dict)
    hours: dict[int, int] = field(default_factory=dict)
    last_time: float = 0.0
    last_country: str = ""
    last_address: str = ""
    legacy: dict[str, float] = field(default_factory=dict)
    risk_until: float = 0.0
    risk_reasons: list[str] = field(default_factory=list)

    def warm(self, min_logins: int) -> bool:
        return self.logins >= min_logins and self.days >= 2

    def learn(self, t: float, country: str, asn: str, device: str, hour: int,
              address: str) -> None:
        self.logins += 1
        day = int(t // 86400)
        if day != self.last_day:
            self.days += 1
            self.last_day = day
        remember(self.countries, country, t, CAP)
        remember(self.asns, asn, t, CAP)
        remember(self.devices, device, t, CAP)
        self.hours[hour] = self.hours.get(hour, 0) + 1
        if t >= self.last_time:
            self.last_time, self.last_country, self.last_address = t, country, address

    def to_dict(self) -> dict[str, Any]:
        return {"logins": self.logins, "days": self.days, "last_day": self.last_day,
                "countries": self.countries, "asns": self.asns, "devices": self.devices,
                "hours": {str(h): n for h, n in self.hours.items()},
                "last": [self.last_time, self.last_country, self.last_address],
                "legacy": self.legacy, "risk": [self.risk_until, self.risk_reasons]}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> LoginProfile:
        p = cls(int(d.get("logins", 0)), int(d.get("days", 0)), int(d.get("last_day", -1)))
        for name in ("countries", "asns", "devices", "legacy"):
            setattr(p, name, {str(k): float(v) for k, v in d.get(name, {}).items()})
        p.hours = {int(h) % 24: int(n) for h, n in d.get("hours", {}).items()}
        last = d.get("last", [0.0, "", ""])
        p.last_time, p.last_country, p.last_address = float(last[0]), str(last[1]), str(last[2])
        risk = d.get("risk", [0.0, []])
        p.risk_until, p.risk_reasons = float(risk[0]), [str(r) for r in risk[1]]
        return p
