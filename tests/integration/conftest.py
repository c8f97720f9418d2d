"""Factory fixtures for real mail services: a sink SMTP server, Dovecot and Postfix.

Each factory call starts one service in its own folder under /tmp on free 127.0.0.1 ports; every
service a test started is stopped at teardown, also when the test failed. A missing component
skips the test, or fails it under MAILWARDEN_STRICT=1.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Generator, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest
from mailstack import DovecotInstance, MailStack, PostfixInstance, SinkServer
from mailstack.clamd import ClamdInstance
from mailstack.common import make_root, remove_root, require_program
from mailstack.factories import DovecotFactory, MailStackFactory, PostfixFactory, SinkFactory


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """Remember each phase's report on the item, so teardown can tell that a test failed."""
    report = yield
    setattr(item, f"mailstack_{report.when}", report)
    return report


@dataclass(frozen=True)
class _Started:
    """A service a factory started: how to stop it, read its log, and its folder (if any)."""

    name: str
    stop: Callable[[], None]
    logs: Callable[[], list[str]]
    root: Path | None = None


def _failed(request: pytest.FixtureRequest) -> bool:
    return any(
        getattr(getattr(request.node, f"mailstack_{when}", None), "failed", False)
        for when in ("setup", "call")
    )


def _dump_logs(name: str, lines: list[str]) -> None:
    """Print a log tail; pytest shows it under 'Captured stdout teardown' of a failed test."""
    sys.stdout.write(f"--- last lines of {name} ---\n" + "\n".join(lines[-40:]) + "\n")


def _teardown(
    request: pytest.FixtureRequest,
    started: list[_Started],
) -> None:
    """Stop what a factory started (newest first), dump logs of a failed test, remove folders."""
    errors: list[BaseException] = []
    for service in reversed(started):
        try:
            service.stop()
        except Exception as exc:  # keep stopping the others
            errors.append(exc)
        if _failed(request):
            _dump_logs(service.name, service.logs())
        if service.root is not None:
            remove_root(service.root)
    if errors:
        raise errors[0]


@pytest.fixture
def sink_factory(request: pytest.FixtureRequest) -> Iterator[SinkFactory]:
    """sink_factory(port=None) -> SinkServer: a started recording SMTP server on 127.0.0.1."""
    started: list[_Started] = []

    def factory(port: int | None = None) -> SinkServer:
        sink = SinkServer(port)

        def received() -> list[str]:
            return [repr(message) for message in sink.messages]

        started.append(_Started(f"sink {sink.port}", sink.stop, received))
        return sink.start()

    yield factory
    _teardown(request, started)


@pytest.fixture
def dovecot_factory(request: pytest.FixtureRequest) -> Iterator[DovecotFactory]:
    """dovecot_factory(users, scheme='PLAIN', extra_config=()) -> a started DovecotInstance.

    users maps login to password (hashed with `doveadm pw -s scheme`, or given as '{SCHEME}...');
    extra_config lines are appended to dovecot.conf (e.g. auth_policy_server_url = ...).
    """
    started: list[_Started] = []

    def factory(
        users: Mapping[str, str], scheme: str = "PLAIN", extra_config: Sequence[str] = ()
    ) -> DovecotInstance:
        require_program("dovecot", "dovecot-core")
        root = make_root("dovecot")
        try:
            dovecot = DovecotInstance(root, users, scheme, extra_config)
        except BaseException:
            remove_root(root)
            raise
        started.append(_Started(f"dovecot {root}", dovecot.stop, dovecot.log_lines, root))
        return dovecot.start()

    yield factory
    _teardown(request, started)


@pytest.fixture
def postfix_factory(request: pytest.FixtureRequest) -> Iterator[PostfixFactory]:
    """postfix_factory(dovecot=, relay=, policy=, recipient_restrictions=,
    end_of_data_restrictions=, main_cf=) -> a started PostfixInstance.

    dovecot: SASL through it (smtpd_sasl_type = dovecot); relay: a SinkServer or a relayhost
    string (default: a closed port); policy: port or 'inet:127.0.0.1:PORT' put into
    check_policy_service at RCPT and END-OF-DATA (None: no policy check); the two restriction
    strings replace the generated lists; main_cf overrides any parameter.
    """
    started: list[_Started] = []

    def factory(
        *,
        dovecot: DovecotInstance | None = None,
        relay: SinkServer | str | None = None,
        policy: str | int | None = None,
        recipient_restrictions: str | None = None,
        end_of_data_restrictions: str | None = None,
        main_cf: Mapping[str, str] | None = None,
    ) -> PostfixInstance:
        require_program("postfix", "postfix")
        relayhost = f"[{relay.host}]:{relay.port}" if isinstance(relay, SinkServer) else relay
        root = make_root("postfix")
        try:
            postfix = PostfixInstance(
                root,
                sasl_path=dovecot.sasl_path if dovecot is not None else None,
                relayhost=relayhost,
                policy=policy,
                recipient_restrictions=recipient_restrictions,
                end_of_data_restrictions=end_of_data_restrictions,
                main_cf=main_cf,
            )
        except BaseException:
            remove_root(root)
            raise
        started.append(_Started(f"postfix {root}", postfix.stop, postfix.log_lines, root))
        return postfix.start()

    yield factory
    _teardown(request, started)


@pytest.fixture
def clamd_factory(request: pytest.FixtureRequest) -> Iterator[Callable[[], ClamdInstance]]:
    """clamd_factory() -> a started ClamdInstance: Debian's clamd with a test signature
    database of one EICAR signature, on a unix socket and a loopback TCP port."""
    started: list[_Started] = []

    def factory() -> ClamdInstance:
        require_program("clamd", "clamav-daemon")
        root = make_root("clamd")
        try:
            clamd = ClamdInstance(root)
        except BaseException:
            remove_root(root)
            raise
        started.append(_Started(f"clamd {root}", clamd.stop, clamd.log_lines, root))
        return clamd.start()

    yield factory
    _teardown(request, started)


@pytest.fixture
def mailstack_factory(
    sink_factory: SinkFactory, dovecot_factory: DovecotFactory, postfix_factory: PostfixFactory
) -> MailStackFactory:
    """mailstack_factory(users, policy=None, scheme='PLAIN', dovecot_config=(), main_cf=None)
    -> MailStack(sink, dovecot, postfix): Postfix with SASL through Dovecot, relaying to the sink.
    """

    def factory(
        users: Mapping[str, str],
        *,
        policy: str | int | None = None,
        scheme: str = "PLAIN",
        dovecot_config: Sequence[str] = (),
        main_cf: Mapping[str, str] | None = None,
    ) -> MailStack:
        dovecot = dovecot_factory(users, scheme, dovecot_config)
        sink = sink_factory()
        postfix = postfix_factory(dovecot=dovecot, relay=sink, policy=policy, main_cf=main_cf)
        return MailStack(sink=sink, dovecot=dovecot, postfix=postfix)

    return factory
