"""The typed events that sources hand to the engine.

Every event carries its own timestamp (seconds since the epoch, UTC) so that live traffic,
``replay`` of old logs and ``logs import`` run the same engine code in their own clock.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Submission:
    """A message an account submits for delivery (whole, or as far as seen at RCPT time).

    ``recipients`` holds the recipient addresses known so far; ``recipient_count`` is the
    number of accepted recipients when known (Postfix END-OF-MESSAGE), else 0.
    """

    time: float
    account: str
    sender: str = ""
    recipients: tuple[str, ...] = ()
    recipient_count: int = 0
    client_address: str = ""
    queue_id: str = ""
    instance: str = ""
    source: str = "policy"

    @property
    def size(self) -> int:
        """The number of recipients this message counts for."""
        return max(self.recipient_count, len(self.recipients))


@dataclass(frozen=True, slots=True)
class Delivery:
    """A delivery attempt of a queued message to one recipient, as logged by Postfix."""

    time: float
    queue_id: str
    recipient: str
    status: str
    relay: str = ""
    dsn: str = ""


@dataclass(frozen=True, slots=True)
class Login:
    """An authentication attempt (successful or not) seen by a mail server.

    ``attempts`` is the number of failed attempts a failure stands for: 1 for a line per attempt,
    more for a session summary such as Dovecot's ``(auth failed, 3 attempts in 16 secs)`` whose
    attempts were not already reported one by one. Summing it over failures counts each attempt
    once.
    """

    time: float
    account: str
    address: str
    success: bool
    protocol: str = ""
    mechanism: str = ""
    source: str = ""
    details: dict[str, str] = field(default_factory=dict)
    attempts: int = 1
    pwhash: str = ""  # Dovecot auth policy: truncated hash of nonce, user and password
    device: str = ""  # client id (IMAP ID, device_id) when known
    tls: str = ""  # "yes", "no", "secured" (trusted network) or "" when unknown
