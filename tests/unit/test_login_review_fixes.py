"""The login guard after review: refusals, trusted networks, IPv6, bounded and swept memory."""

from __future__ import annotations

from tests.unit.scenarios import BRAZIL_IP, HOME_IP, US_IP, config

from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.denylist import DenyList
from mailwarden.engine.logins.engine import LoginEngine
from mailwarden.engine.logins.tracker import MAX_KEYS, Failures, network_of
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Login
from mailwarden.login_guard import LoginGuard

T0 = 1_760_000_000.0
ATTACKER = "45.155.205.10"
OFFICE = "203.0.113.0/24"  # the office NAT and its neighbours


def engines(internal: list[str] | None = None, **login):
    cfg = config()
    cfg.organization.internal_networks = list(internal or [])
    for key, value in login.items():
        setattr(cfg.login, key, value)
    states = MemoryStates()
    outbound = Engine(cfg, states)
    return cfg, states, LoginEngine(cfg, states, outbound.geo)


def guard(internal: list[str] | None = None, **login):
    cfg, states, eng = engines(internal, **login)
    now = [T0]
    return LoginGuard(cfg, eng, clock=lambda: now[0]), now, states


def report(g, account, remote, pwhash, success=False, policy_reject=False, fail_type=""):
    g("report", {"login": account, "remote": remote, "pwhash": pwhash, "protocol": "imap",
                 "success": "true" if success else "false",
                 "policy_reject": "true" if policy_reject else "false",
                 "fail_type": fail_type})


def allow(g, account, remote):
    return g("allow", {"login": account, "remote": remote, "pwhash": "x"})[0]


def fail(eng, t, account, address=ATTACKER, pwhash=None):
    return eng.observe(Login(t, account, address, False, pwhash=pwhash or f"h{t}{account}"))


def ok(eng, t, account, address=HOME_IP, **kw):
    return eng.observe(Login(t, account, address, True, **kw))


def signals(findings):
    return [f.signal for f in findings]


# 1. refusals and internal failures are not wrong passwords; trusted networks are not refused

def test_refused_logins_with_the_right_password_do_not_keep_the_refusal_alive():
    """Staff refused (policy_reject) after an attack are not counted: the refusal ends."""
    g, now, _ = guard()
    for i in range(10):
        report(g, "taro@city.example.jp", ATTACKER, f"guess{i}")
    assert allow(g, "hanako@city.example.jp", ATTACKER) == -1
    for minute in range(1, 121):  # two hours of 12 colleagues polling with right passwords
        now[0] = T0 + minute * 60
        for k in range(12):
            report(g, f"staff{k}@city.example.jp", ATTACKER, f"right{k}", policy_reject=True)
    now[0] = T0 + 121 * 60
    assert allow(g, "staff0@city.example.jp", ATTACKER) == 0


def test_failures_that_are_not_wrong_credentials_are_not_counted():
    """fail_type internal/expired/disabled/policy count for nothing; credentials/account do."""
    for fail_type, expected in (("internal", 0), ("expired", 0), ("disabled", 0),
                                ("policy", 0), ("credentials", -1), ("account", -1), ("", -1)):
        g, _, _ = guard()
        for i in range(12):
            report(g, "taro@city.example.jp", ATTACKER, f"p{i}", fail_type=fail_type)
        assert allow(g, "taro@city.example.jp", ATTACKER) == expected, fail_type


def test_refused_attempts_are_still_seen_as_events(tmp_path):
    """A refused attempt from a deny-listed address is still reported as denied_address."""
    deny = tmp_path / "deny.txt"
    deny.write_text("45.155.205.0/24\n", encoding="utf-8")
    _, _, eng = engines(deny_files=[str(deny)])
    login = Login(T0, "a@city.example.jp", ATTACKER, False, pwhash="p",
                  details={"policy_reject": "true"})
    assert signals(eng.observe(login)) == ["denied_address"]
    assert eng.tracker.peek(eng.tracker.addresses, ATTACKER, T0) is None


def test_trusted_networks_are_tarpitted_never_refused_by_brute_force_or_spray(tmp_path):
    """From internal_networks brute force and spray tarpit at most; deny lists still refuse."""
    _, _, eng = engines([OFFICE])
    for i in range(15):
        fail(eng, T0 + i, "taro@city.example.jp", "203.0.113.5", pwhash=f"p{i}")
    assert eng.allow(Login(T0 + 20, "taro@city.example.jp", "203.0.113.5", False)).status == 5
    _, _, spray = engines([OFFICE])
    for i in range(12):  # ten or more staff each mistyping once
        fail(spray, T0 + 30 + i, f"staff{i}@city.example.jp", f"203.0.113.{100 + i}")
    answer = spray.allow(Login(T0 + 60, "staff0@city.example.jp", "203.0.113.200", False))
    assert answer.status == 5 and answer.signal == "password_spray"
    deny = tmp_path / "deny.txt"
    deny.write_text("203.0.113.5\n", encoding="utf-8")
    eng.deny = DenyList.load([str(deny)])
    assert eng.allow(Login(T0 + 61, "taro@city.example.jp", "203.0.113.5", False)).status == -1


def test_a_spray_from_outside_needs_many_accounts_and_few_attempts_each():
    """Ten staff in one outside /24 mistyping once is a spray; nine, or one with many, is not."""
    _, _, eng = engines()
    for i in range(10):
        fail(eng, T0 + i, f"u{i}@city.example.jp", f"198.51.100.{i + 1}")
    assert eng.allow(Login(T0 + 20, "x@city.example.jp", "198.51.100.99", False)).status == -1
    _, _, eng = engines()
    for i in range(9):
        fail(eng, T0 + i, f"u{i}@city.example.jp", f"198.51.100.{i + 1}")
    assert eng.allow(Login(T0 + 20, "x@city.example.jp", "198.51.100.99", False)).status == 0
    _, _, eng = engines()
    for i in range(10):
        for j in range(4 if i == 0 else 1):
            fail(eng, T0 + i, f"u{i}@city.example.jp", f"198.51.100.{i + 1}", pwhash=f"{i}{j}")
    assert eng.allow(Login(T0 + 20, "x@city.example.jp", "198.51.100.99", False)).status == 0


# 3. IPv4-mapped IPv6 addresses are plain IPv4 everywhere

def test_ipv4_mapped_addresses_are_plain_ipv4(tmp_path):
    """::ffff:a.b.c.d meets IPv4 deny lists, shares counts with a.b.c.d and has a country."""
    assert network_of("::ffff:203.0.113.9") == "203.0.113.0/24"
    deny = tmp_path / "deny.txt"
    deny.write_text("203.0.113.0/24\n", encoding="utf-8")
    _, _, eng = engines(deny_files=[str(deny)])
    assert eng.allow(Login(T0, "a@city.example.jp", "::ffff:203.0.113.9", False)).status == -1
    assert "::ffff:203.0.113.9" in eng.deny
    for i in range(5):
        fail(eng, T0 + i, "a@city.example.jp", f"::ffff:{ATTACKER}", pwhash=f"m{i}")
        fail(eng, T0 + i, "a@city.example.jp", ATTACKER, pwhash=f"p{i}")
    assert eng.allow(Login(T0 + 9, "b@city.example.jp", ATTACKER, False)).status == -1
    found = ok(eng, T0 + 20, "c@city.example.jp", f"::FFFF:{BRAZIL_IP}")
    foreign = [f for f in found if f.signal == "foreign_login"]
    assert foreign and foreign[0].address == BRAZIL_IP and "BR" in foreign[0].reasons[0].en


# 5. a full failure record evicts its oldest source

def test_decoy_failures_do_not_hide_a_later_login_after_failures():
    """256 decoy sources first, then the real one's failures and success: still found."""
    _, _, eng = engines()
    account = "kyoju@city.example.jp"
    for i in range(300):
        fail(eng, T0 + i, account, f"10.{i // 200}.{i % 200}.1", pwhash=f"d{i}")
    for i in range(4):
        fail(eng, T0 + 400 + i, account, ATTACKER, pwhash=f"g{i}")
    assert "login_after_failures" in signals(ok(eng, T0 + 410, account, ATTACKER))


def test_failures_evict_the_least_recent_key_when_full():
    """The key failed longest ago leaves for a new one; the counts stay exact."""
    failures = Failures()
    for i in range(MAX_KEYS):
        failures.add(f"s{i}", "p", float(i))
    failures.add("s0", "q", 1000.0)  # s0 failed again: now s1 is the least recent
    failures.add("new", "p", 1001.0)
    assert "new" in failures.by_account and "s1" not in failures.by_account
    assert "s0" in failures.by_account and failures.accounts() == MAX_KEYS
    assert failures.distinct() == sum(map(len, failures.by_account.values()))
    assert failures.max_per_account() == 2
    failures.prune(2000.0)
    assert failures.distinct() == 0 and not failures.by_account


# 6. IPv6: an address's brute-force limits apply to its /64

def test_rotating_ipv6_addresses_in_one_64_are_one_source():
    """Guesses from many addresses of one /64 are refused like one address's; IPv4 is not."""
    _, _, eng = engines()
    for i in range(12):
        fail(eng, T0 + i, "taro@city.example.jp", f"2001:db8:1:2::{i + 1:x}", pwhash=f"p{i}")
    answer = eng.allow(Login(T0 + 20, "taro@city.example.jp", "2001:db8:1:2::ffff", False))
    assert answer.status == -1 and answer.signal == "brute_force_address"
    _, _, eng = engines()
    for i in range(12):
        fail(eng, T0 + i, "taro@city.example.jp", f"198.51.100.{i + 1}", pwhash=f"p{i}")
    assert eng.allow(Login(T0 + 20, "taro@city.example.jp", "198.51.100.99", False)).status == 0


# 7. failures create no account state

def test_failed_logins_with_made_up_names_create_no_account_state():
    """Failures (and allow questions) about unknown names leave no account state behind."""
    _, states, eng = engines(reject_high_risk=True)
    for i in range(50):
        fail(eng, T0 + i, f"nobody{i}@city.example.jp", f"198.51.100.{i + 1}")
        eng.allow(Login(T0 + i, f"ghost{i}@city.example.jp", HOME_IP, False))
    assert len(states) == 0
    ok(eng, T0 + 100, "real@city.example.jp")
    assert len(states) == 1


# 9. out-of-order logins

def test_logins_processed_out_of_order_are_not_impossible_travel():
    """A login 12 h earlier from the US, processed after one from Japan, is no travel alarm."""
    _, states, eng = engines()
    account = "t@city.example.jp"
    ok(eng, T0 + 12 * 3600, account, HOME_IP)
    assert "impossible_travel" not in signals(ok(eng, T0, account, US_IP))
    profile = states.get(account).logins
    assert profile is not None and profile.last_country == "JP"  # the latest by time is kept
    assert "impossible_travel" in signals(ok(eng, T0 + 13 * 3600, account, US_IP))


# 13. old password hashes are swept

def test_old_failures_are_swept_in_bounded_steps_from_the_flush_hook():
    """Entries older than the window go, a bounded number per call, also at each flush."""
    g, now, _ = guard()
    eng = g.engine
    for i in range(40):
        report(g, f"u{i}@city.example.jp", f"198.51.{i}.1", f"p{i}")
    tracker = eng.tracker
    assert len(tracker.addresses) == 40
    assert eng.sweep(T0 + 10, budget=100) == 0  # nothing old yet
    assert eng.sweep(T0 + 2 * 3600, budget=10) == 10
    now[0] = T0 + 2 * 3600
    for _ in range(20):
        g.take_batch()
    assert not tracker.addresses and not tracker.networks and not tracker.accounts
    assert not tracker.fired


def test_the_engine_sweeps_by_itself_as_events_go_by():
    """Without a flush (scans, replays) the engine sweeps every so many events."""
    _, _, eng = engines()
    for i in range(100):
        fail(eng, T0 + i, f"u{i}@city.example.jp", f"198.51.{i}.1")
    for i in range(5000):
        ok(eng, T0 + 3 * 3600 + i, "live@city.example.jp")
    assert len(eng.tracker.addresses) == 0


def test_a_spray_refused_early_by_brute_force_is_still_named_a_spray():
    """A sprayer refused after five accounts is still reported as password_spray later on,
    from its refused attempts, which do not make the refusal outlast its wrong passwords."""
    g, now, _ = guard()
    for i in range(30):
        for guess in ("Spring2025!", "Password1"):
            refused = allow(g, f"staff{i}@city.example.jp", "185.220.101.33") == -1
            now[0] += 1
            report(g, f"staff{i}@city.example.jp", "185.220.101.33", f"{i}{guess}",
                   policy_reject=refused)
    found = [f["signal"] for f in g.batch.findings]
    assert "brute_force_address" in found and "password_spray" in found
    now[0] += 3600
    assert allow(g, "staff0@city.example.jp", "185.220.101.33") == 0
