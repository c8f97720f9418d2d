"""The ClamAV client against a real clamd (Debian's clamav-daemon, with a test database of one
EICAR signature): findings in files and in mail attachments, over unix and TCP sockets, and
clear errors, never exceptions, when clamd refuses or is gone."""

from __future__ import annotations

from collections.abc import Callable

from mailstack.clamd import EICAR, SIGNATURE, ClamdInstance, eicar_mail

from mailwarden.inbound.clamd import Clamd, ClamdResult


def test_finds_eicar_in_a_file_and_in_an_attachment(
    clamd_factory: Callable[[], ClamdInstance]
) -> None:
    """The file itself and the same file attached to a mail are found, over both sockets;
    ordinary mail is clean."""
    clamd = clamd_factory()
    for address in (clamd.unix_address, clamd.tcp_address):
        client = Clamd(address, timeout=10)
        assert client.scan(EICAR).found.startswith(SIGNATURE)
        assert client.scan(eicar_mail()).found.startswith(SIGNATURE)
        assert client.scan(b"From: a@b.example\r\n\r\nHello.\r\n") == ClamdResult()


def test_a_message_over_clamds_limit_is_an_error_not_an_exception(
    clamd_factory: Callable[[], ClamdInstance]
) -> None:
    """clamd refuses a stream over its StreamMaxLength (2 MiB here): the result says so."""
    clamd = clamd_factory()
    result = Clamd(clamd.unix_address, timeout=10).scan(b"x" * (3 * 1024 * 1024))
    assert not result.found and "limit" in result.error.lower()


def test_gone_clamd_is_an_error(clamd_factory: Callable[[], ClamdInstance]) -> None:
    """A stopped clamd gives an error result at once."""
    clamd = clamd_factory()
    clamd.stop()
    for address in (clamd.unix_address, clamd.tcp_address):
        result = Clamd(address, timeout=5).scan(EICAR)
        assert result.error and not result.found
