"""Where a server listens: ``HOST:PORT``, ``[v6]:PORT`` or ``off``.

Its own small module so that the commands that only parse an address (``simulate``, ``serve``
before it starts) do not import ``mailwarden.service`` and everything it wires together.
"""

from __future__ import annotations


class ListenError(ValueError):
    """A ``--NAME-listen`` value that is neither ``HOST:PORT`` nor ``off``: the option's
    ``name`` and the ``value`` given."""

    def __init__(self, name: str, value: str) -> None:
        self.name = name
        self.value = value
        super().__init__(f"--{name}-listen: expected HOST:PORT or off, got {value!r}")

    def text(self, lang: str) -> str:
        """The error in ``lang`` (ja or en)."""
        from mailwarden import i18n

        return i18n.render("cli.listen.bad", lang, name=self.name, value=repr(self.value))


def parse_listen(value: str, name: str) -> tuple[str, int] | None:
    """``HOST:PORT``, ``[v6]:PORT`` or ``off`` (None); :class:`ListenError` otherwise."""
    if value.strip().lower() == "off":
        return None
    host, sep, port = value.rpartition(":")
    if not sep or not (port.isascii() and port.isdigit()) or not 0 <= int(port) <= 65535:
        raise ListenError(name, value)
    return host.strip("[]") or "127.0.0.1", int(port)
