"""The doveadm HTTP API as a DoveadmExecutor: kick and the Sieve steps without a local doveadm.

Dovecot's side (2.3), for example on the mail server's loopback::

    doveadm_api_key = SECRET
    service doveadm {
      inet_listener http {
        address = 127.0.0.1
        port = 8080
        #ssl = yes
      }
    }

What goes over the wire (Dovecot 2.3's doveadm-server): ``POST /doveadm/v1`` with
``Content-Type: application/json`` and ``Authorization: X-Dovecot-API <base64 of the key>``; the
body is a JSON array of commands, each ``[name, {parameters}, tag]`` with the name in camel case
(``sieveList``) and the parameter names `GET /doveadm/v1` lists (``user``, ``scriptname``,
``mask``). The answer is ``200`` with one entry per command, ``["doveadmResponse", result, tag]``
or ``["error", {"type": ..., "exitCode": N}, tag]``; a wrong key is ``401``, a malformed body
``400`` with a line of text. One command goes per request, under a random tag that must come back.

Every failure is a DoveadmApiError (a CommandFailed) naming the command, the HTTP status, the
doveadm error type and exitCode, whichever apply. Account and script names travel as JSON string
values only. The API key is kept as its Authorization header value and appears in no repr(),
message or log line. Each request has one deadline (connect, send, answer) and the reply is read
to at most max_reply_bytes.

Passwords: `doveadm pw` is not a command of the HTTP API (it runs in the client and needs no
server). DovecotResponder.reset_password writes a passwd-file on this machine anyway, so the hash
is made here too: commands in LOCAL_ONLY go to the `local` LocalExecutor, and without one they
fail with a DoveadmApiError that says so.
"""

from __future__ import annotations

import base64
import http.client
import json
import re
import reprlib
import secrets
import ssl
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from mailwarden.response.executor import (
    DEFAULT_TIMEOUT,
    CommandFailed,
    DoveadmCommand,
    DoveadmReply,
    LocalExecutor,
    parse_records,
)

API_PATH = "/doveadm/v1"
MAX_REPLY_BYTES = 8 * 1024 * 1024  # Sieve scripts are at most 1 MiB (sieve_max_script_size)
LOCAL_ONLY = frozenset({"pw"})
_READ_CHUNK = 64 * 1024
EXIT_CODES = {  # sysexits.h, as doveadm uses them
    64: "usage error", 65: "data error", 67: "no such user", 68: "not found",
    69: "unavailable", 70: "internal error", 75: "temporary failure", 77: "permission denied",
    78: "configuration error",
}
ERROR_TYPES = {
    "exitCode": "the command failed",
    "unknownMethod": "not a command of this doveadm HTTP API",
    "unAuthorized": "not allowed by doveadm_allowed_commands",
    "invalidRequest": "parameters refused",
    "internalError": "internal error in doveadm-server",
}


class DoveadmApiError(CommandFailed):
    """A doveadm HTTP API request failed, was refused or got an answer that cannot be read.

    status is the HTTP status, error_type and exit_code come from an ``["error", ...]`` reply;
    returncode is exit_code when there is one, None on a timeout and -1 otherwise.
    """

    def __init__(self, command: str, problem: str, *, status: int | None = None,
                 error_type: str | None = None, exit_code: int | None = None,
                 timed_out: bool = False) -> None:
        self.command = command
        self.problem = problem
        self.status = status
        self.error_type = error_type
        self.exit_code = exit_code
        returncode = None if timed_out else (-1 if exit_code is None else exit_code)
        super().__init__(("doveadm-http", command), returncode, problem)

    def describe(self) -> str:
        """`doveadm HTTP API: COMMAND, HTTP 200, error type T, exitCode 68 (not found): …`."""
        parts = [f"doveadm HTTP API: {self.command}"]
        if self.status is not None:
            parts.append(f"HTTP {self.status}")
        if self.error_type is not None:
            parts.append(f"error type {self.error_type}")
        if self.exit_code is not None:
            name = EXIT_CODES.get(self.exit_code)
            parts.append(f"exitCode {self.exit_code}" + (f" ({name})" if name else ""))
        return ", ".join(parts) + f": {self.problem[:500]}"


def api_name(command: str) -> str:
    """The HTTP API's name of a command: "sieve list" -> "sieveList"."""
    first, *rest = re.split(r"[ -]+", command.strip())
    return first + "".join(word[:1].upper() + word[1:] for word in rest)


_SHORT = reprlib.Repr()
_SHORT.maxlevel, _SHORT.maxstring, _SHORT.maxother = 3, 60, 60


def _shown(value: object) -> str:
    """A short, escaped picture of a reply value (bounded depth and length)."""
    text = _SHORT.repr(value)
    return text if len(text) <= 120 else text[:120] + "…"


def parse_reply(body: bytes, command: str, tag: str, *,
                limit: int = MAX_REPLY_BYTES) -> DoveadmReply:
    """The records of a 200 answer to one command sent under tag; DoveadmApiError otherwise."""
    if len(body) > limit:
        raise DoveadmApiError(command, f"reply of {len(body)} bytes is over the {limit} limit")
    try:
        value = json.loads(body.decode("utf-8"))
    except UnicodeDecodeError:
        raise DoveadmApiError(command, "reply is not UTF-8") from None
    except (ValueError, RecursionError) as exc:
        raise DoveadmApiError(command, f"reply is not JSON ({str(exc)[:120]})") from None
    if not (isinstance(value, list) and len(value) == 1
            and isinstance(value[0], list) and len(value[0]) == 3):
        raise DoveadmApiError(command, f"reply is not [[kind, result, tag]]: {_shown(value)}")
    kind, payload, echoed = value[0]
    if echoed != tag:
        raise DoveadmApiError(command, f"reply carries tag {_shown(echoed)}, not {tag!r}")
    if kind == "error":
        raise _error_reply(command, payload)
    if kind != "doveadmResponse":
        raise DoveadmApiError(command, f"unknown reply kind {_shown(kind)}")
    try:
        records = parse_records(payload, command)
    except ValueError as exc:
        raise DoveadmApiError(command, str(exc)) from None
    return DoveadmReply(records, json.dumps(payload, ensure_ascii=False))


def _error_reply(command: str, payload: Any) -> DoveadmApiError:
    """The DoveadmApiError for ``["error", {"type": ..., "exitCode": N}, tag]``."""
    error_type = payload.get("type") if isinstance(payload, dict) else None
    exit_code = payload.get("exitCode") if isinstance(payload, dict) else None
    if not isinstance(error_type, str) or type(exit_code) is not int:
        return DoveadmApiError(command, f"error reply without type and exitCode: "
                                        f"{_shown(payload)}")
    problem = ERROR_TYPES.get(error_type, "unknown error type")
    return DoveadmApiError(command, problem, error_type=_printable(error_type[:80]),
                           exit_code=exit_code)


def _status_error(command: str, status: int, reason: str, body: bytes) -> DoveadmApiError:
    """The DoveadmApiError for an HTTP status other than 200."""
    if status == 401:
        problem = "the API key was refused (check doveadm_api_key)"
    else:
        detail = _printable(body[:300].decode("utf-8", "replace"))
        problem = _printable(reason[:80]) + (f": {detail}" if detail else "")
    return DoveadmApiError(command, problem, status=status)


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else " " for c in text).strip()


class DoveadmHttpExecutor:
    """Runs DoveadmCommands through the doveadm HTTP API at url (http or https).

    ca_file: the CA certificates that verify an https server (default: the system's); the
    host name is always checked. local runs the LOCAL_ONLY commands (`pw`) on this machine.
    """

    def __init__(self, url: str, api_key: str, *, timeout: float = DEFAULT_TIMEOUT,
                 ca_file: Path | None = None, local: LocalExecutor | None = None,
                 max_reply_bytes: int = MAX_REPLY_BYTES) -> None:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"doveadm HTTP API url {url!r}: expected http(s)://HOST:PORT[/PATH]")
        if parts.username is not None or parts.query or parts.fragment:
            raise ValueError(f"doveadm HTTP API url {parts.hostname!r}: no user, query or "
                             "fragment (the key goes in api_key)")
        if ca_file is not None and parts.scheme != "https":
            raise ValueError("ca_file applies to an https url only")
        if not api_key or not api_key.isprintable():
            raise ValueError("api_key is empty or holds control characters")
        if timeout <= 0 or max_reply_bytes <= 0:
            raise ValueError("timeout and max_reply_bytes must be positive")
        self.url = url
        self.host, self.port = parts.hostname, parts.port  # .port: ValueError when malformed
        self.path = parts.path if parts.path not in ("", "/") else API_PATH
        self.timeout = timeout
        self.ca_file = ca_file
        self.local = local
        self.max_reply_bytes = max_reply_bytes
        self._tls = ssl.create_default_context(cafile=ca_file) if parts.scheme == "https" else None
        self._authorization = "X-Dovecot-API " + base64.b64encode(api_key.encode()).decode()

    def __repr__(self) -> str:
        return (f"DoveadmHttpExecutor(url={self.url!r}, timeout={self.timeout}, "
                f"ca_file={self.ca_file!r}, local={self.local!r})")

    def doveadm_call(self, command: DoveadmCommand) -> DoveadmReply:
        """Send command and return its records; DoveadmApiError when it cannot or fails."""
        if command.name in LOCAL_ONLY:
            if self.local is None:
                raise DoveadmApiError(command.label(), f"`doveadm {command.name}` is not a "
                                      "command of the HTTP API and no local executor was given")
            return self.local.doveadm_call(command)
        if command.stdin:
            raise ValueError(f"doveadm {command.name}: standard input cannot go over HTTP")
        tag = secrets.token_hex(8)
        body = json.dumps([[api_name(command.name), command.parameters(), tag]]).encode()
        status, reason, data = self._post(body, command.label())
        if status != 200:
            raise _status_error(command.label(), status, reason, data)
        return parse_reply(data, command.label(), tag, limit=self.max_reply_bytes)

    def _connection(self) -> http.client.HTTPConnection:
        assert self.host is not None
        if self._tls is not None:
            return http.client.HTTPSConnection(self.host, self.port, timeout=self.timeout,
                                               context=self._tls)
        return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)

    def _post(self, body: bytes, label: str) -> tuple[int, str, bytes]:
        """POST body; (status, reason, reply body), all within one deadline."""
        deadline = time.monotonic() + self.timeout
        connection = self._connection()
        headers = {"Authorization": self._authorization, "Content-Type": "application/json",
                   "Accept": "application/json", "User-Agent": "mailwarden"}
        try:
            connection.request("POST", self.path, body=body, headers=headers)
            sock = connection.sock  # getresponse() may drop it from the connection
            _remaining(sock, deadline)
            response = connection.getresponse()
            data = self._read(response, sock, deadline, label)
            return response.status, response.reason, data
        except TimeoutError:
            raise DoveadmApiError(label, f"no answer from {self.url} within {self.timeout} s",
                                  timed_out=True) from None
        except (OSError, http.client.HTTPException) as exc:
            problem = _printable(str(exc)[:200]) or type(exc).__name__
            raise DoveadmApiError(label, f"cannot talk to {self.url}: {problem}") from None
        finally:
            connection.close()

    def _read(self, response: http.client.HTTPResponse, sock: Any, deadline: float,
              label: str) -> bytes:
        """The reply body; DoveadmApiError as soon as it is known to exceed max_reply_bytes."""
        limit = self.max_reply_bytes
        length = response.getheader("Content-Length", "").strip()
        declared = int(length) if length.isdigit() else 0
        chunks: list[bytes] = []
        received = 0
        while max(declared, received) <= limit:
            _remaining(sock, deadline)
            chunk = response.read1(_READ_CHUNK)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            received += len(chunk)
        raise DoveadmApiError(label, f"reply of more than {limit} bytes",
                              status=response.status)


def _remaining(sock: Any, deadline: float) -> None:
    """Give the socket what is left of the deadline; TimeoutError when nothing is."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError
    if sock is not None:
        sock.settimeout(left)
