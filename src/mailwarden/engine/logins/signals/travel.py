"""Impossible travel: two successful logins farther apart than a plane could go."""

from __future__ import annotations

import math
from functools import lru_cache

from mailwarden.engine.logins.signals.base import Finding, LoginContext


@lru_cache(maxsize=512)
def centroid(country: str) -> tuple[float, float] | None:
    """A country's approximate centre (latitude, longitude), from countryinfo's data."""
    try:
        from countryinfo import CountryInfo

        lat, lon = CountryInfo(country).latlng()[:2]
        return float(lat), float(lon)
    except Exception:  # unknown codes and data gaps: no verdict rather than a crash
        return None


def distance_km(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine)."""
    lat1, lon1, lat2, lon2 = map(math.radians, (*a, *b))
    h = (math.sin((lat2 - lat1) / 2) ** 2
         + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2)
    return 2 * 6371.0 * math.asin(math.sqrt(min(1.0, h)))


class ImpossibleTravel:
    name = "impossible_travel"
    on = "success"
    description = "Two successful logins farther apart than travel allows in the time between"

    def evaluate(self, ctx: LoginContext) -> Finding | None:
        p = ctx.profile
        country = ctx.facts.country
        if not ctx.login.success or p is None or not country or not p.last_country:
            return None
        if country == p.last_country:
            return None
        here, there = centroid(country), centroid(p.last_country)
        if here is None or there is None:
            return None
        km = distance_km(here, there)
        # logins may be processed out of order (log lines, several sources): the time between
        # them either way; the profile keeps the latest login by time, not by arrival
        hours = max(abs(ctx.login.time - p.last_time), 1.0) / 3600
        if km / hours <= ctx.cfg.login.impossible_travel_kmh:
            return None
        return ctx.finding(self.name, "high", 0.6, frm=p.last_country, to=country,
                           km=round(km), hours=round(hours, 1))
