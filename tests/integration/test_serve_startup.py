"""`mailwarden serve` gets ready before it listens: the GeoIP data is loaded before the policy
server accepts its first request, so the first mail after a restart does not wait ~0.3 s for it."""

from __future__ import annotations

from mailwarden_proc import MailwardenProcess


def test_geoip_is_loaded_before_the_policy_server_listens() -> None:
    mw = MailwardenProcess()
    try:
        lines = mw.output().splitlines()
    finally:
        mw.stop()
    loaded = [n for n, line in enumerate(lines) if line == "mailwarden: GeoIP data loaded"]
    listening = [n for n, line in enumerate(lines)
                 if line.startswith("mailwarden: policy server listening on 127.0.0.1:")]
    assert loaded and listening, "\n".join(lines)
    assert loaded[0] < listening[0]
