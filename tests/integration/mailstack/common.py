"""Helpers shared by the real-service fixtures: finding programs, ports, waiting, temp folders."""

from __future__ import annotations

import atexit
import contextlib
import os
import shutil
import signal
import socket
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TypeVar

import pytest

T = TypeVar("T")

STRICT_ENV = "MAILWARDEN_STRICT"
KEEP_ENV = "MAILWARDEN_KEEP_TMP"
LOOPBACK = "127.0.0.1"

_handed_out: set[int] = set()
_stoppers: list[Callable[[], None]] = []


def stop_at_exit(stop: Callable[[], None]) -> None:
    """Also run stop() when the interpreter exits: a last resort if a teardown never ran.

    stop must be idempotent; fixtures still stop every service at teardown.
    """
    _stoppers.append(stop)


@atexit.register
def _stop_leftovers() -> None:
    for stop in reversed(_stoppers):
        with contextlib.suppress(Exception):
            stop()


def strict_mode() -> bool:
    """True when a missing component must fail the test instead of skipping it."""
    return os.environ.get(STRICT_ENV, "").strip().lower() not in ("", "0", "false", "no")


def missing_component(message: str) -> None:
    """Skip the running test, or fail it under MAILWARDEN_STRICT=1."""
    if strict_mode():
        pytest.fail(f"{STRICT_ENV}=1 and a required component is missing: {message}", pytrace=False)
    pytest.skip(message)


def require_program(name: str, package: str) -> str:
    """Return the path of a system program (PATH, then /usr/sbin, /usr/bin) or skip/fail."""
    found = shutil.which(name)
    if found is None:
        for folder in ("/usr/sbin", "/usr/bin", "/sbin"):
            candidate = Path(folder) / name
            if os.access(candidate, os.X_OK):
                found = str(candidate)
                break
    if found is None:
        missing_component(f"{name} not found; install the Debian package {package} (scripts/test)")
        raise AssertionError("unreachable")  # pytest.skip/fail raise
    return found


def require_root(component: str) -> None:
    """Postfix and Dovecot instances are started as root, like their packaged services."""
    if os.geteuid() != 0:
        missing_component(f"{component} fixtures must run as root")


def free_port() -> int:
    """A loopback TCP port that nothing listens on and that this process has not handed out."""
    for _ in range(50):
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
            sock.bind((LOOPBACK, 0))
            port = int(sock.getsockname()[1])
        if port not in _handed_out:
            _handed_out.add(port)
            return port
    raise RuntimeError("no free loopback port found in 50 tries")


def port_open(port: int, host: str = LOOPBACK) -> bool:
    """True when something accepts TCP connections on host:port."""
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_for(
    predicate: Callable[[], T], timeout: float = 10.0, interval: float = 0.05, what: str = ""
) -> T:
    """Poll predicate until it returns a truthy value and return that value; TimeoutError else."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() >= deadline:
            name = what or getattr(predicate, "__name__", repr(predicate))
            raise TimeoutError(f"waited {timeout:.1f}s for {name}; last value {value!r}")
        time.sleep(interval)


def make_root(kind: str) -> Path:
    """A fresh folder under /tmp that unprivileged service users (postfix, dovecot) can traverse.

    pytest's tmp_path is mode 0700 below /tmp/pytest-of-root, which the dovecot and postfix users
    cannot enter, and unix socket paths must stay short; hence a short world-traversable folder.
    """
    root = Path(tempfile.mkdtemp(prefix=f"mw-{kind}-", dir="/tmp"))
    root.chmod(0o755)
    return root


def remove_root(root: Path) -> None:
    """Delete a folder made by make_root, unless MAILWARDEN_KEEP_TMP asks to keep it."""
    if os.environ.get(KEEP_ENV):
        return
    shutil.rmtree(root, ignore_errors=True)


def read_lines(path: Path) -> list[str]:
    """The lines of a log file, or [] when it does not exist yet."""
    try:
        return path.read_text(encoding="utf-8", errors="replace").splitlines()
    except FileNotFoundError:
        return []


def pids_with_environ(name: str, value: str) -> list[int]:
    """Processes whose initial environment holds name=value (how Postfix marks its instance)."""
    needle = f"{name}={value}".encode()
    found: list[int] = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        with contextlib.suppress(OSError):
            if needle in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
    return found


def pid_alive(pid: int) -> bool:
    """True while a process exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[-1].split()[0] != "Z"


def kill_pids(pids: list[int], sig: int = signal.SIGKILL) -> None:
    """Send sig to each of pids, ignoring the ones already gone."""
    for pid in pids:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


@contextlib.contextmanager
def cleanup_on_error(stop: Callable[[], None]) -> Iterator[None]:
    """Run stop() when the body raises (a half-started service must not stay behind)."""
    try:
        yield
    except BaseException:
        stop()
        raise
