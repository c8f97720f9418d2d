"""Sliding windows agree with a brute-force count, and stay small."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.engine.windows import SPANS, Window, Windows

events = st.lists(
    st.tuples(st.floats(0, 200_000), st.integers(0, 50), st.integers(0, 50)),
    max_size=200,
)


@settings(max_examples=150, deadline=None)
@given(events, st.sampled_from(SPANS))
def test_window_matches_brute_force_on_ordered_events(evs, spec):
    """In time order, a window counts exactly the events in its last ``n`` buckets."""
    _, span, n = spec
    w = Window(span, n)
    evs = sorted(evs)
    for t, r, e in evs:
        w.add(t, r, e, frozenset())
    if not evs:
        return
    now = evs[-1][0]
    width = span / n
    low = int(now // width) - n
    inside = [(r, e) for t, r, e in evs if int(t // width) > low]
    totals = w.totals(now)
    assert totals.messages == len(inside)
    assert totals.recipients == sum(r for r, _ in inside)
    assert totals.external == sum(e for _, e in inside)
    assert len(w.buckets) <= n


@settings(max_examples=100, deadline=None)
@given(events)
def test_windows_survive_any_order_and_round_trip(evs):
    """Out-of-order events never break a window; serialising keeps the totals."""
    ws = Windows()
    for t, r, e in evs:
        ws.add(t, r, e, frozenset({f"d{r % 7}.example"}))
    back = Windows()
    back.load(ws.to_dict())
    for t in (0.0, 50_000.0, 200_000.0):
        assert back.totals(t) == ws.totals(t)
    assert all(len(w.buckets) <= 2 * w.n for w in ws.by_name.values())


def test_old_events_leave_the_window():
    """A message counted now is gone from the minute window two minutes later."""
    w = Window(60, 12)
    w.add(1000.0, 3, 2, frozenset({"example.net"}))
    assert w.totals(1001.0).messages == 1 and w.totals(1001.0).domains == 1
    assert w.totals(1130.0).messages == 0 and w.totals(1130.0).domains == 0
