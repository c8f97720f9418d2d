"""The login engine: brute force, spraying, compromise signs, and the auth policy answers."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from tests.unit.scenarios import BRAZIL_IP, HOME_IP, VIETNAM_IP, config, send

from mailwarden.engine.engine import Engine
from mailwarden.engine.logins.denylist import DenyList
from mailwarden.engine.logins.engine import LoginEngine
from mailwarden.engine.logins.tracker import Failures
from mailwarden.engine.state import MemoryStates
from mailwarden.events import Login

T0 = 1_760_000_000.0  # 2025-10-09 17:53 JST
ATTACKER = "45.155.205.10"


def engines(**login):
    cfg = config()
    for key, value in login.items():
        setattr(cfg.login, key, value)
    states = MemoryStates()
    outbound = Engine(cfg, states)
    return cfg, outbound, LoginEngine(cfg, states, outbound.geo)


def fail(eng, t, account, address=ATTACKER, pwhash=None, **kw):
    return eng.observe(Login(t, account, address, False, pwhash=pwhash or f"h{t}", **kw))


def ok(eng, t, account, address=HOME_IP, **kw):
    return eng.observe(Login(t, account, address, True, **kw))


def signals(findings):
    return [f.signal for f in findings]


def test_dictionary_attack_is_tarpitted_then_rejected():
    """Distinct wrong passwords from one address: tarpit at 5, reject at 10."""
    _, _, eng = engines()
    answers = []
    for i in range(12):
        answers.append(eng.allow(Login(T0 + i, "taro@city.example.jp", ATTACKER, False)).status)
        fail(eng, T0 + i, "taro@city.example.jp", pwhash=f"pw{i}")
    assert answers[:5] == [0] * 5
    assert answers[5:10] == [5] * 5
    assert answers[10:] == [-1, -1]


def test_a_phone_retrying_one_stale_password_is_not_an_attack():
    """A hundred failures with the same password hash count as one."""
    _, _, eng = engines()
    findings = []
    for i in range(100):
        findings += fail(eng, T0 + i, "hanako@city.example.jp", HOME_IP, pwhash="stale")
    assert eng.allow(Login(T0 + 101, "hanako@city.example.jp", HOME_IP, False)).status == 0
    assert not findings


def test_brute_force_findings_fire_once_per_window():
    """The brute-force finding is reported once, not on every further attempt."""
    _, _, eng = engines()
    found = [s for i in range(30) for s in signals(fail(eng, T0 + i, "a@city.example.jp"))]
    assert found.count("brute_force_address") == 1
    assert found.count("brute_force_account") == 1


def test_password_spray_across_thirty_accounts_is_caught():
    """One address trying 30 accounts with two passwords each is a spray, and refused."""
    _, _, eng = engines()
    found = []
    for i in range(30):
        for j in range(2):
            found += signals(fail(eng, T0 + i * 2 + j, f"user{i}@city.example.jp",
                                  pwhash=f"Spring2025!{j}"))
    assert "password_spray" in found
    assert eng.allow(Login(T0 + 100, "user99@city.example.jp", ATTACKER, False)).status == -1


def test_spray_from_a_network_of_rotating_addresses():
    """Addresses of one /24 sharing a spray are caught as a network."""
    _, _, eng = engines()
    found = []
    for i in range(12):
        found += fail(eng, T0 + i, f"u{i}@city.example.jp", f"45.155.205.{i + 1}")
    spray = [f for f in found if f.signal == "password_spray"]
    assert spray and "45.155.205.0/24" in spray[0].reasons[0].en


def test_success_after_failures_from_vietnam_raises_risk_and_holds_mail():
    """A right password from Vietnam after failures is high risk: the next mail is held."""
    _, outbound, eng = engines()
    account = "kyoju@city.example.jp"
    for i in range(4):
        fail(eng, T0 + i, account, VIETNAM_IP, pwhash=f"guess{i}")
    findings = ok(eng, T0 + 10, account, VIETNAM_IP)
    assert {"login_after_failures", "foreign_login"} <= set(signals(findings))
    assert eng.at_risk(account, T0 + 20)
    # even from home, to a single recipient: the login alone holds the first message
    verdict = send(outbound, T0 + 60, account, ["student@example.ac.jp"], HOME_IP)
    assert verdict.hold and [r.signal for r in verdict.reasons] == ["login_risk"]
    assert "login_after_failures" in verdict.reasons[0].en


def test_ordinary_login_does_not_raise_risk():
    """A login from home with the right password teaches the profile and raises nothing."""
    _, _, eng = engines()
    assert ok(eng, T0, "b@city.example.jp") == []
    assert not eng.at_risk("b@city.example.jp", T0 + 1)


def warm(eng, account, days=10):
    for d in range(days):
        for h in (9, 13, 17):
            ok(eng, T0 + d * 86400 + (h - 17) * 3600, account, device="iPhone")


def test_warm_account_new_country_network_device_and_travel():
    """A warm account logging in from Brazil an hour after Japan: every sign is named."""
    _, _, eng = engines()
    account = "c@city.example.jp"
    warm(eng, account)
    t = T0 + 9 * 86400 + 3600
    found = set(signals(ok(eng, t, account, BRAZIL_IP, device="Windows PC")))
    assert {"foreign_login", "new_country", "new_login_network", "new_device",
            "impossible_travel"} <= found
    assert eng.at_risk(account, t + 1)


def test_risky_login_teaches_nothing():
    """The attacker's country does not become usual for the account."""
    _, outbound, eng = engines()
    account = "d@city.example.jp"
    for i in range(4):
        fail(eng, T0 + i, account, VIETNAM_IP)
    ok(eng, T0 + 10, account, VIETNAM_IP)
    assert "VN" not in (outbound.states.get(account).logins.countries)


def test_legacy_and_cleartext_auth_reported_per_account_once():
    """POP3 and PLAIN without TLS are reported, once per account and kind per window."""
    _, _, eng = engines()
    found = []
    for i in range(5):
        found += ok(eng, T0 + i, "e@city.example.jp", protocol="pop3", mechanism="PLAIN",
                    tls="no")
    legacy = [f for f in found if f.signal == "legacy_auth"]
    assert len(legacy) == 1 and "pop3+cleartext" in legacy[0].reasons[0].en


def test_deny_list_rejects_and_reports(tmp_path):
    """Addresses and networks in a deny-list file are refused at allow."""
    deny = tmp_path / "deny.txt"
    deny.write_text("# known bad\n45.155.205.0/24\n2001:db8::/32  # doc\n", encoding="utf-8")
    _, _, eng = engines(deny_files=[str(deny)])
    assert eng.allow(Login(T0, "x@city.example.jp", "45.155.205.77", False)).status == -1
    assert eng.allow(Login(T0, "x@city.example.jp", HOME_IP, False)).status == 0
    assert "denied_address" in signals(fail(eng, T0, "x@city.example.jp", "45.155.205.77"))


def test_deny_list_errors_name_file_and_line(tmp_path):
    """A bad deny-list line is a clear error naming the file and line."""
    deny = tmp_path / "deny.txt"
    deny.write_text("10.0.0.0/8\nnot-an-address\n", encoding="utf-8")
    try:
        DenyList.load([str(deny)])
    except ValueError as exc:
        assert f"{deny}:2" in str(exc)
    else:
        raise AssertionError("no error")


def test_reject_high_risk_option_locks_further_logins():
    """With reject_high_risk, an account at risk is refused until the risk ends."""
    _, _, eng = engines(reject_high_risk=True)
    account = "f@city.example.jp"
    for i in range(4):
        fail(eng, T0 + i, account, VIETNAM_IP)
    ok(eng, T0 + 10, account, VIETNAM_IP)
    assert eng.allow(Login(T0 + 20, account, HOME_IP, False)).status == -1
    assert eng.allow(Login(T0 + 25 * 3600, account, HOME_IP, False)).status == 0


def test_failures_are_forgotten_after_the_window():
    """An address that stopped failing an hour ago is allowed again."""
    _, _, eng = engines()
    for i in range(12):
        fail(eng, T0 + i, "g@city.example.jp", pwhash=f"p{i}")
    assert eng.allow(Login(T0 + 30, "g@city.example.jp", ATTACKER, False)).status == -1
    assert eng.allow(Login(T0 + 3700, "g@city.example.jp", ATTACKER, False)).status == 0


def test_login_from_elsewhere_during_an_attack_is_not_a_compromise():
    """The user logging in from home while an attacker guesses elsewhere is not flagged."""
    _, _, eng = engines()
    for i in range(8):
        fail(eng, T0 + i, "h@city.example.jp", pwhash=f"p{i}")
    assert "login_after_failures" not in signals(ok(eng, T0 + 20, "h@city.example.jp"))
    assert not eng.at_risk("h@city.example.jp", T0 + 21)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 5), st.integers(0, 8), st.integers(0, 7200)),
                max_size=120), st.integers(0, 9000))
def test_failure_counts_stay_exact_under_pruning(adds, later):
    """The running count of distinct wrong passwords always equals a recount."""
    failures = Failures()
    for account, secret, t in sorted(adds, key=lambda a: a[2]):
        failures.add(f"a{account}", f"s{secret}", float(t))
    failures.prune(float(later) - 3600)
    assert failures.distinct() == sum(len(v) for v in failures.by_account.values())
    assert all(t >= later - 3600 for v in failures.by_account.values() for t in v.values())


_ADDS = st.lists(st.tuples(st.sampled_from("abcd"), st.sampled_from("pqrstu"),
                           st.integers(0, 40), st.booleans()), max_size=60)


@settings(max_examples=200)
@given(_ADDS)
def test_failures_forget_exactly_what_the_window_dropped(steps):
    """Failures pruned through its heap hold what a plain scan of every entry would keep."""
    failures, model = Failures(), {}
    for account, secret, t, prune in steps:
        failures.add(account, secret, float(t))
        model[account] = model.pop(account, {})  # keys in order of their last failure
        model[account][secret] = float(t)
        if prune:
            horizon = float(t) - 10.0
            failures.prune(horizon)
            model = {a: kept for a, seen in model.items()
                     if (kept := {s: v for s, v in seen.items() if v >= horizon})}
        assert failures.by_account == model
        assert failures.distinct() == sum(map(len, model.values()))
        assert failures.max_per_account() == max(map(len, model.values()), default=0)
        assert list(failures.by_account) == list(model)
