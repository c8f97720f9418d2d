"""The call signatures of the factory fixtures in tests/integration/conftest.py, for annotations."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from . import MailStack
from .dovecot import DovecotInstance
from .postfix import PostfixInstance
from .sink import SinkServer


class SinkFactory(Protocol):
    """sink_factory(port=None) -> a started SinkServer."""

    def __call__(self, port: int | None = None) -> SinkServer: ...


class DovecotFactory(Protocol):
    """dovecot_factory(users, scheme, extra_config) -> a started DovecotInstance."""

    def __call__(
        self,
        users: Mapping[str, str],
        scheme: str = "PLAIN",
        extra_config: Sequence[str] = (),
    ) -> DovecotInstance: ...


class PostfixFactory(Protocol):
    """postfix_factory(dovecot=, relay=, policy=, ...) -> a started PostfixInstance."""

    def __call__(
        self,
        *,
        dovecot: DovecotInstance | None = None,
        relay: SinkServer | str | None = None,
        policy: str | int | None = None,
        recipient_restrictions: str | None = None,
        end_of_data_restrictions: str | None = None,
        main_cf: Mapping[str, str] | None = None,
    ) -> PostfixInstance: ...


class MailStackFactory(Protocol):
    """mailstack_factory(users, policy=, ...) -> MailStack(sink, dovecot, postfix)."""

    def __call__(
        self,
        users: Mapping[str, str],
        *,
        policy: str | int | None = None,
        scheme: str = "PLAIN",
        dovecot_config: Sequence[str] = (),
        main_cf: Mapping[str, str] | None = None,
    ) -> MailStack: ...
