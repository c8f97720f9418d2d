"""The doveadm HTTP executor without Dovecot: the reply parser under garbage (Hypothesis), the
command rendering for both executors, and the transport against a hostile loopback server that
hangs, floods, answers 500, or speaks TLS with its own CA."""

from __future__ import annotations

import json
import os
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailwarden.response.doveadm_http import (
    DoveadmApiError,
    DoveadmHttpExecutor,
    api_name,
    parse_reply,
)
from mailwarden.response.executor import DoveadmCommand, DoveadmReply

TAG = "5eed"
KEY = "s3cret-api-key"
LIST = DoveadmCommand("sieve list", (("user", "u@x.jp"),), records=True)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner,
                                                                max_size=4),
    max_leaves=20,
)


def parsed_or_error(body: bytes, limit: int = 4096) -> DoveadmReply | DoveadmApiError:
    """parse_reply's answer, or the DoveadmApiError it raised (anything else fails the test)."""
    try:
        return parse_reply(body, "sieve list -u u@x.jp", TAG, limit=limit)
    except DoveadmApiError as error:
        assert error.command == "sieve list -u u@x.jp" and error.problem
        assert str(error).isprintable()  # nothing from the reply can forge a log line
        return error


@given(st.binary(max_size=300))
def test_any_bytes_give_records_or_a_clear_error(body: bytes) -> None:
    """Arbitrary bytes never crash the parser: records, or a DoveadmApiError naming the command
    in a printable message."""
    parsed_or_error(body)


@given(json_values, json_values, json_values)
def test_any_json_shape_gives_records_or_a_clear_error(kind: object, payload: object,
                                                       tag: object) -> None:
    """Every JSON value, also in the [kind, result, tag] frame, gives records of strings or a
    DoveadmApiError."""
    for value in (kind, [[kind, payload, tag]], [["doveadmResponse", payload, TAG]],
                  [["error", payload, TAG]]):
        answer = parsed_or_error(json.dumps(value).encode())
        if isinstance(answer, DoveadmReply):
            assert all(isinstance(v, str) for record in answer.records for v in record.values())


@given(st.lists(st.dictionaries(st.text(max_size=10), st.text(max_size=30), max_size=3),
                max_size=5))
def test_records_come_back_unchanged(records: list[dict[str, str]]) -> None:
    """A well-formed doveadmResponse gives exactly its records."""
    body = json.dumps([["doveadmResponse", records, TAG]]).encode()
    assert list(parse_reply(body, "sieve list", TAG).records) == records


@given(st.text(max_size=30), st.integers(min_value=0, max_value=1 << 40))
def test_error_replies_carry_type_and_exit_code(error_type: str, code: int) -> None:
    """["error", {type, exitCode}, tag] raises with both (the type made printable), and the
    exitCode as returncode."""
    body = json.dumps([["error", {"type": error_type, "exitCode": code}, TAG]]).encode()
    answer = parsed_or_error(body)
    assert isinstance(answer, DoveadmApiError)
    assert (answer.exit_code, answer.returncode) == (code, code)
    assert answer.error_type is not None and str(answer).isprintable()
    if error_type.isprintable() and error_type == error_type.strip():
        assert answer.error_type == error_type
    assert f"exitCode {code}" in str(answer)


@pytest.mark.parametrize(("body", "problem"), [
    (b"", "not JSON"),
    (b"\xff\xfe[]", "not UTF-8"),
    (b"[" * 200_000 + b"]" * 200_000, "not JSON"),
    (b"1" * 5000, "not JSON"),  # past Python's int digit limit
    (b"[" * 900 + b"]" * 900, "reply is not [[kind, result, tag]]"),
    (b'[["error", {"type": "\\u001b[2Jboom", "exitCode": 1}, "5eed"]]', "error type [2Jboom"),
    (b'[["doveadmResponse", [], "other-tag"]]', "tag"),
    (b'[["doveadmResponse", [], "5eed"], ["doveadmResponse", [], "5eed"]]', "kind, result"),
    (b'[["doveadmResponse", [{"script": 1}], "5eed"]]', "not an object of strings"),
    (b'[["doveadmResponse", {"script": "x"}, "5eed"]]', "not a list of records"),
    (b'[["error", {"type": "exitCode"}, "5eed"]]', "without type and exitCode"),
    (b'[["error", {"type": "exitCode", "exitCode": true}, "5eed"]]', "without type"),
    (b'[["surprise", [], "5eed"]]', "unknown reply kind"),
    (b" " * (1 << 20) + b"[]", "over the 1048576 limit"),
])
def test_hostile_replies_name_their_problem(body: bytes, problem: str) -> None:
    """Nesting bombs, huge numbers, foreign tags, wrong shapes and oversize bodies are each a
    DoveadmApiError that says what was wrong."""
    answer = parsed_or_error(body, limit=1 << 20)
    assert isinstance(answer, DoveadmApiError) and problem in str(answer)


def test_commands_render_to_argv_and_to_api_json() -> None:
    """One DoveadmCommand gives the doveadm argv and the API's camel-case name and parameters;
    `--` guards a positional argument that starts with '-'."""
    kick = DoveadmCommand("kick", args=(("mask", ("a+b@x.jp",)),))
    get = DoveadmCommand("sieve get", (("user", "u@x.jp"),), (("scriptname", "-A"),), True)
    assert kick.argv() == ("kick", "a+b@x.jp")
    assert get.argv() == ("-f", "json", "sieve", "get", "-u", "u@x.jp", "--", "-A")
    assert DoveadmCommand("pw", (("scheme", "SHA512-CRYPT"),)).argv() == ("pw", "-s",
                                                                          "SHA512-CRYPT")
    assert kick.parameters() == {"mask": ["a+b@x.jp"]}
    assert get.parameters() == {"user": "u@x.jp", "scriptname": "-A"}
    assert (api_name("sieve get"), api_name("kick"), api_name("force-resync")) == (
        "sieveGet", "kick", "forceResync")
    with pytest.raises(ValueError, match="unknown option 'all'"):
        DoveadmCommand("sieve list", (("all", "yes"),))


def test_labels_quote_hostile_names_and_repr_hides_stdin() -> None:
    """Messages show a script name with a line break escaped, and never the stdin (password)."""
    get = DoveadmCommand("sieve get", (("user", "u@x.jp"),), (("scriptname", "a\nDROP"),))
    assert "\n" not in get.label() and "'a\\nDROP'" in get.label()
    assert "hunter2" not in repr(DoveadmCommand("pw", stdin="hunter2\nhunter2\n"))


@pytest.mark.parametrize(("url", "kwargs", "problem"), [
    ("ftp://127.0.0.1:1/", {}, "expected http"),
    ("http://doveadm:pw@127.0.0.1:1/", {}, "no user"),
    ("http://127.0.0.1:1/?x=1", {}, "no user, query"),
    ("http://127.0.0.1:1/", {"ca_file": Path("/etc/ssl/certs/ca-certificates.crt")}, "https"),
    ("http://127.0.0.1:1/", {"timeout": 0}, "positive"),
])
def test_constructor_refuses_unsafe_settings(url: str, kwargs: dict[str, object],
                                             problem: str) -> None:
    """Credentials in the URL, a CA file for plain http and other mistakes fail at once."""
    with pytest.raises(ValueError, match=problem):
        DoveadmHttpExecutor(url, KEY, **kwargs)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="api_key") as caught:
        DoveadmHttpExecutor("http://127.0.0.1:1/", "")
    assert KEY not in str(caught.value)


def test_pw_needs_a_local_executor_and_stdin_never_goes_over_http() -> None:
    """`pw` is not sent to the API: without a local executor it is a clear error; other
    commands with standard input are refused before any request."""
    executor = DoveadmHttpExecutor("http://127.0.0.1:1/", KEY, timeout=1)
    with pytest.raises(DoveadmApiError, match="not a command of the HTTP API") as caught:
        executor.doveadm_call(DoveadmCommand("pw", (("scheme", "SHA512-CRYPT"),), stdin="x\nx\n"))
    assert "x\nx" not in str(caught.value)
    with pytest.raises(ValueError, match="standard input"):
        executor.doveadm_call(DoveadmCommand("sieve put", stdin="keep;"))


# --- a hostile server -------------------------------------------------------------------------

Answer = Callable[[bytes], bytes | None]  # request -> raw reply; None: say nothing at all


class RawServer:
    """A loopback TCP server answering each request with answer(request) (TLS if given)."""

    def __init__(self, answer: Answer, tls: ssl.SSLContext | None = None) -> None:
        self.answer, self.tls = answer, tls
        self.requests: list[bytes] = []
        self.stop = threading.Event()
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.listener.settimeout(0.05)  # accept() notices stop soon
        self.port = self.listener.getsockname()[1]
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        while not self.stop.is_set():
            try:
                conn, _ = self.listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            try:
                if self.tls is not None:
                    conn = self.tls.wrap_socket(conn, server_side=True)
                self._handle(conn)
            except OSError:
                pass
            finally:
                conn.close()

    def _handle(self, conn: socket.socket) -> None:
        conn.settimeout(5)
        data = b""
        while b"\r\n\r\n" not in data:
            data += conn.recv(65536)
        head, _, body = data.partition(b"\r\n\r\n")
        length = next((int(line.split(b":")[1]) for line in head.split(b"\r\n")
                       if line.lower().startswith(b"content-length:")), 0)
        while len(body) < length:
            body += conn.recv(65536)
        self.requests.append(head + b"\r\n\r\n" + body)
        reply = self.answer(body)
        if reply is None:
            self.stop.wait(10)
            return
        conn.sendall(reply)

    def close(self) -> None:
        self.stop.set()
        self.thread.join(5)
        self.listener.close()


@pytest.fixture
def raw_server() -> Iterator[Callable[..., RawServer]]:
    """raw_server(answer, tls=None) -> a started RawServer, closed after the test."""
    servers: list[RawServer] = []

    def factory(answer: Answer, tls: ssl.SSLContext | None = None) -> RawServer:
        servers.append(RawServer(answer, tls))
        return servers[-1]

    yield factory
    for server in servers:
        server.close()


def http_reply(body: bytes, status: str = "200 OK", headers: str = "") -> bytes:
    """A complete HTTP/1.1 answer with Content-Length."""
    return (f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n{headers}"
            "Connection: close\r\n\r\n").encode() + body


def echo_tag(records: object) -> Answer:
    """An answer that returns records under the request's own tag."""
    def answer(request: bytes) -> bytes:
        tag = json.loads(request)[0][2]
        return http_reply(json.dumps([["doveadmResponse", records, tag]]).encode())
    return answer


def test_request_carries_key_header_and_hostile_names_as_json_values(
    raw_server: Callable[..., RawServer],
) -> None:
    """The request is POST /doveadm/v1 with the X-Dovecot-API header, and a hostile script
    name arrives as one JSON string, byte for byte."""
    server = raw_server(echo_tag([]))
    executor = DoveadmHttpExecutor(f"http://127.0.0.1:{server.port}", KEY, timeout=5)
    hostile = 'x"]], ["kick", {"mask": ["*"]}, "t"]]\n-A'
    executor.doveadm_call(DoveadmCommand("sieve get", (("user", "u@x.jp"),),
                                         (("scriptname", hostile),)))
    head, _, body = server.requests[0].partition(b"\r\n\r\n")
    assert head.startswith(b"POST /doveadm/v1 HTTP/1.1\r\n")
    assert b"Authorization: X-Dovecot-API czNjcmV0LWFwaS1rZXk=\r\n" in head
    (command,) = json.loads(body)
    assert command[:2] == ["sieveGet", {"user": "u@x.jp", "scriptname": hostile}]


def test_silent_server_times_out_within_the_deadline(raw_server: Callable[..., RawServer]) -> None:
    """A server that never answers is a timeout (returncode None) after the given seconds."""
    server = raw_server(lambda request: None)
    executor = DoveadmHttpExecutor(f"http://127.0.0.1:{server.port}", KEY, timeout=0.5)
    with pytest.raises(DoveadmApiError, match=r"no answer .* within 0\.5 s") as caught:
        executor.doveadm_call(LIST)
    assert caught.value.returncode is None


@pytest.mark.parametrize(("reply", "problem"), [
    (b"HTTP/1.1 200 OK\r\nContent-Length: 999999999\r\n\r\n[", "more than 4096 bytes"),
    (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
     + b"1000\r\n" + b"[" * 4096 + b"\r\n" + b"1000\r\n" + b"[" * 4096 + b"\r\n0\r\n\r\n",
     "more than 4096 bytes"),
    (http_reply(b"doveadm broke\x1b[2J", "500 Internal Server Error"),
     "HTTP 500: Internal Server Error: doveadm broke"),
    (b"SSH-2.0-OpenSSH\r\n", "cannot talk to"),
])
def test_floods_errors_and_garbage_are_named(raw_server: Callable[..., RawServer], reply: bytes,
                                             problem: str) -> None:
    """An oversize body (declared or chunked) is cut off at the limit; a 500 is named with its
    status and a sanitised body; a non-HTTP answer is a transport error."""
    server = raw_server(lambda request: reply)
    executor = DoveadmHttpExecutor(f"http://127.0.0.1:{server.port}", KEY, timeout=5,
                                   max_reply_bytes=4096)
    with pytest.raises(DoveadmApiError) as caught:
        executor.doveadm_call(LIST)
    assert problem in str(caught.value) and "\x1b" not in str(caught.value)
    assert "sieve list -u u@x.jp" in str(caught.value)


def test_closed_port_is_a_transport_error() -> None:
    """Nothing listening: DoveadmApiError naming the URL, returncode -1."""
    with socket.create_server(("127.0.0.1", 0)) as placeholder:
        port = placeholder.getsockname()[1]
    executor = DoveadmHttpExecutor(f"http://127.0.0.1:{port}/", KEY, timeout=5)
    with pytest.raises(DoveadmApiError, match=f"cannot talk to http://127.0.0.1:{port}/") as c:
        executor.doveadm_call(LIST)
    assert c.value.returncode == -1


def self_signed(folder: Path) -> tuple[Path, Path]:
    """A certificate for IP 127.0.0.1 and its key, made with the openssl program."""
    if shutil.which("openssl") is None:
        if os.environ.get("MAILWARDEN_STRICT", "") not in ("", "0"):
            pytest.fail("MAILWARDEN_STRICT=1 and openssl is missing")
        pytest.skip("openssl not found")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
                    "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                    "-keyout", str(key), "-out", str(cert)], check=True, capture_output=True)
    return cert, key


def test_https_verifies_with_the_given_ca_file(raw_server: Callable[..., RawServer],
                                               tmp_path: Path) -> None:
    """Over https the server's certificate is checked: trusted through ca_file the call works,
    with the system's CAs it fails as a transport error."""
    cert, key = self_signed(tmp_path)
    tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    tls.load_cert_chain(cert, key)
    server = raw_server(echo_tag([{"script": "forward", "active": "ACTIVE"}]), tls)
    url = f"https://127.0.0.1:{server.port}/doveadm/v1"

    trusted = DoveadmHttpExecutor(url, KEY, timeout=5, ca_file=cert)
    assert trusted.doveadm_call(LIST).records == ({"script": "forward", "active": "ACTIVE"},)
    with pytest.raises(DoveadmApiError, match="CERTIFICATE_VERIFY_FAILED"):
        DoveadmHttpExecutor(url, KEY, timeout=5).doveadm_call(LIST)
