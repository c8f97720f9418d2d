"""Which parsers a log line is for, told cheaply from its first characters.

One syslog file mixes Postfix, Dovecot and Exim lines; handing each line only to the parser of
its program saves parsing its timestamp three times. A line whose program cannot be told goes
to every parser (they ignore what is not theirs).
"""

from __future__ import annotations

ALL = ("dovecot", "exim", "postfix")
DOVECOT_TAGS = ("dovecot", "imap-login", "pop3-login", "submission-login", "managesieve-login",
                "lmtp(", "auth:", "auth-worker", "auth(", "imap(", "pop3(")
HEAD = 96


def route(line: str) -> tuple[str, ...]:
    """The names of the parsers to feed ``line`` to (all of them when it cannot be told)."""
    head = line[:HEAD]
    names: list[str] = []
    if "postfix" in head:
        names.append("postfix")
    if any(tag in head for tag in DOVECOT_TAGS):
        names.append("dovecot")
    if "exim" in head or (head[:4].isdigit() and head[10:11] == " "):
        names.append("exim")  # Exim's main log starts "YYYY-MM-DD HH:MM:SS"
    return tuple(names) or ALL
