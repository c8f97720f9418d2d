"""Which parsers a log line is for, told cheaply from its first characters.

One syslog file mixes Postfix, Dovecot and Exim lines; handing each line only to the parser of
its program saves parsing its timestamp three times. A line whose program cannot be told goes
to every parser (they ignore what is not theirs).

This runs once per line: each test is a substring search of the line's head in C, the rarer
Dovecot tags only confirmed by a regular expression once a cheap search found their stem.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import TypeVar

T = TypeVar("T")
ALL = ("dovecot", "exim", "postfix")
DOVECOT_TAGS = ("dovecot", "imap-login", "pop3-login", "submission-login", "managesieve-login",
                "lmtp(", "auth:", "auth-worker", "auth(", "imap(", "pop3(")
HEAD = 96
_LOGIN_TAG = re.compile(r"(?:imap|pop3|submission|managesieve)-login")
_AUTH_TAG = re.compile(r"auth(?::|-worker|\()")
# the parsers of each combination of (postfix, dovecot, exim) found, indexed 4p + 2d + e
_NAMES = [
    tuple(name for name, on in (("postfix", p), ("dovecot", d), ("exim", e)) if on) or ALL
    for p in (False, True)
    for d in (False, True)
    for e in (False, True)
]


def router(targets: Mapping[str, T]) -> Callable[[str], tuple[T, ...]]:
    """Like :func:`route`, but gives ``targets[name]`` (a parser's ``feed``) for each name."""
    table = [tuple(targets[name] for name in names) for names in _NAMES]
    login_tag, auth_tag = _LOGIN_TAG.search, _AUTH_TAG.search

    def targets_of(line: str) -> tuple[T, ...]:
        head = line[:HEAD]
        dovecot = (  # one of DOVECOT_TAGS
            "dovecot" in head
            or "lmtp(" in head
            or "imap(" in head
            or "pop3(" in head
            or ("-login" in head and login_tag(head) is not None)
            or ("auth" in head and auth_tag(head) is not None)
        )
        # Exim's main log starts "YYYY-MM-DD HH:MM:SS"
        exim = "exim" in head or (head[:4].isdigit() and head[10:11] == " ")
        return table[("postfix" in head) * 4 + dovecot * 2 + exim]

    return targets_of


_route = router({name: name for name in ALL})


def route(line: str) -> tuple[str, ...]:
    """The names of the parsers to feed ``line`` to (all of them when it cannot be told)."""
    return _route(line)
