"""Timestamps as people and machines read them."""

from __future__ import annotations

from datetime import UTC, datetime


def iso(t: float) -> str:
    """A timestamp (seconds since the epoch) as RFC 3339 UTC with seconds."""
    return datetime.fromtimestamp(t, UTC).isoformat(timespec="seconds").replace("+00:00", "Z")
