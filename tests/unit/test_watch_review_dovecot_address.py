"""Dovecot 2.3 auth lines: the client address is the one Dovecot wrote, whatever the client's
user name (``auth_username_chars`` empty) or logged password (``auth_verbose_passwords``)."""

from __future__ import annotations

from datetime import UTC

from hypothesis import given, settings
from hypothesis import strategies as st

from mailwarden.events import Login
from mailwarden.sources.logs.dovecot import DovecotLogParser

HEAD = "Oct  6 04:10:00 mail dovecot: "
REAL = "203.0.113.5"
FAKE = "10.9.9.9"
# what Dovecot writes after "driver(user,ip,<session>): "
ENDINGS = [
    "Password mismatch",
    "unknown user",
    "invalid credentials",
    "Password mismatch (for LDAP bind)",
    "unknown user (SHA1 of given password: f638ff)",
    "Password mismatch (for LDAP bind) (SHA1 of given password: f638ff)",
    "pam_authenticate() failed: Authentication failure (password mismatch?)",
]
# a user name as Dovecot logs it: control characters replaced, at most 64 bytes
USERS = st.text(
    st.characters(blacklist_categories=("Cc", "Cs")), min_size=1, max_size=64
).filter(lambda user: len(user.encode()) <= 64)
# the default auth_username_chars
CLEAN_USERS = st.text(
    "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ01234567890.-_@", min_size=1,
    max_size=64,
)
PASSWORDS = st.text(st.characters(blacklist_characters="\r\n", blacklist_categories=("Cs",)),
                    max_size=200)


def failures(line: str) -> list[Login]:
    return [e for e in DovecotLogParser(UTC, 2025).feed(line) if not e.success]


def test_a_user_name_cannot_supply_the_address() -> None:
    """The reviewer's user name "a,10.9.9.9): Password mismatch (" leaves the address Dovecot's."""
    user = f"a,{FAKE}): Password mismatch ("
    line = f"{HEAD}auth: passwd-file({user},{REAL},<Hq2m8Ho3Yt65ZHUE>): Password mismatch"
    (event,) = failures(line)
    assert (event.address, event.account) == (REAL, user.lower())
    assert event.details["passdb"] == "passwd-file"


def test_a_user_name_imitating_a_password_note_cannot_supply_the_address() -> None:
    """A user name ending in "(given password: " is not taken for Dovecot's note."""
    user = f"a,{FAKE}): Password mismatch (given password: "
    for ending in ("Password mismatch", "unknown user (SHA1 of given password: f638ff)"):
        line = f"{HEAD}auth: sql({user},{REAL}): {ending}"
        (event,) = failures(line)
        assert event.address == REAL, ending


def test_a_logged_password_cannot_supply_the_address() -> None:
    """With auth_verbose_passwords = plain, a password shaped like an address and a reason,
    even ending like one of Dovecot's notes, changes nothing."""
    for password in (f"x,{FAKE}): Password mismatch",
                     f"x,{FAKE}): Password mismatch (for LDAP bind",
                     f"x,{FAKE}): unknown user (given password: y"):
        line = (f"{HEAD}auth: passwd-file(info@example.jp,{REAL},<S>): Password mismatch "
                f"(given password: {password})")
        (event,) = failures(line)
        assert (event.address, event.account) == (REAL, "info@example.jp"), password
        assert all(password not in value for value in event.details.values())


def test_a_worker_line_with_a_prefix_keeps_its_address() -> None:
    """``conn unix:auth-worker (pid=..): auth-worker<N>: pam(...)`` with a crafted user name."""
    user = f"w,{FAKE}): unknown user ("
    line = (f"{HEAD}auth-worker(3270): conn unix:auth-worker (pid=27359,uid=97): "
            f"auth-worker<128>: pam({user},{REAL}): pam_authenticate() failed: "
            "Authentication failure (password mismatch?)")
    (event,) = failures(line)
    assert (event.address, event.account, event.details["passdb"]) == (REAL, user, "pam")


@settings(max_examples=300, deadline=None)
@given(USERS, st.sampled_from(ENDINGS), st.booleans())
def test_no_user_name_chooses_the_address(user: str, ending: str, session: bool) -> None:
    """Any user name Dovecot can log: the failure is from the address Dovecot wrote."""
    ident = f"{user},{REAL},<Hq2m8Ho3Yt65ZHUE>" if session else f"{user},{REAL}"
    line = f"{HEAD}auth: passwd-file({ident}): {ending}"
    (event,) = failures(line)
    assert event.address == REAL


@settings(max_examples=300, deadline=None)
@given(CLEAN_USERS, PASSWORDS, st.booleans())
def test_no_logged_password_chooses_the_address(user: str, password: str, ldap: bool) -> None:
    """auth_verbose_passwords = plain with the default auth_username_chars: any password (the
    login has a session id, as logins through Dovecot's login processes do)."""
    note = " (for LDAP bind)" if ldap else ""
    line = (f"{HEAD}auth: ldap({user},{REAL},<Hq2m8Ho3Yt65ZHUE>): Password mismatch{note} "
            f"(given password: {password})")
    (event,) = failures(line)
    assert (event.address, event.account) == (REAL, user.lower())


def test_dovecot_24_tags_keep_their_address() -> None:
    """2.4 names the request in the tag, ``auth(user,ip,sasl:mech)<session>: ...``: a user name
    holding ``)<x>: sql: Password mismatch (`` or a ``: `` cannot supply the address."""
    for user in (f"a,{FAKE},sasl:plain)<x>: sql: Password mismatch (", f"x: y,{FAKE}",
                 f"b,{FAKE})<1><x>: request [1]: sql: unknown user ("):
        for tag in (f"auth({user},{REAL},sasl:login)<CvN+E95Uf4e7eEnj>",
                    f"auth-worker({user},{REAL})<4001084><CvN+E95Uf4e7eEnj>: request [12]"):
            line = f"Nov 28 10:57:20 {tag}: Info: sql: Password mismatch"
            (event,) = failures(line)
            assert (event.address, event.account) == (REAL, user.lower()), line
            assert event.details["passdb"] == "sql"
            assert event.details["session"] == "CvN+E95Uf4e7eEnj"


@settings(max_examples=300, deadline=None)
@given(USERS, st.sampled_from(ENDINGS[:4]), st.booleans())
def test_no_user_name_chooses_the_address_in_dovecot_24(user: str, ending: str,
                                                        worker: bool) -> None:
    """Any user name Dovecot can log, in a 2.4 auth or auth-worker line."""
    if worker:
        tag = f"auth-worker({user},{REAL})<4001084><CvN+E95Uf4e7eEnj>: request [12]"
    else:
        tag = f"auth({user},{REAL},sasl:plain)<CvN+E95Uf4e7eEnj>"
    (event,) = failures(f"Nov 28 10:57:20 {tag}: Info: sql: {ending}")
    assert event.address == REAL
