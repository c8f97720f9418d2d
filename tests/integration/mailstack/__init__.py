"""Real Postfix, Dovecot and a sink SMTP server, each in its own folder on loopback ports."""

from __future__ import annotations

from dataclasses import dataclass

from .common import free_port, port_open, strict_mode, wait_for
from .dovecot import DovecotInstance
from .postfix import PostfixInstance, policy_check
from .sink import ReceivedMessage, SinkServer
from .submission import build_message, submit


@dataclass(frozen=True)
class MailStack:
    """Sink ← Postfix (SASL through Dovecot): what mailstack_factory returns."""

    sink: SinkServer
    dovecot: DovecotInstance
    postfix: PostfixInstance


__all__ = [
    "DovecotInstance",
    "MailStack",
    "PostfixInstance",
    "ReceivedMessage",
    "SinkServer",
    "build_message",
    "free_port",
    "policy_check",
    "port_open",
    "strict_mode",
    "submit",
    "wait_for",
]
