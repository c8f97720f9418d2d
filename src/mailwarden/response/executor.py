"""Running Postfix and Dovecot tools: argument lists only, never a shell, always a timeout.

Every command is a list of strings handed to the program as is (no shell, so a hostile account
name is one argument and nothing more). Output is captured and bounded; a failure raises
CommandFailed naming the command, its exit status and what it said on stderr.

Dovecot's containment commands are DoveadmCommand values run through a DoveadmExecutor:
LocalExecutor renders them into a doveadm argument list, DoveadmHttpExecutor
(response/doveadm_http.py) into a doveadm HTTP API request; both answer a DoveadmReply.
"""

from __future__ import annotations

import json
import shlex
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

MAX_OUTPUT_CHARS = 64 * 1024 * 1024  # postqueue -j of a large queue stays well below this
MAX_OUTPUT_BYTES = 64 * 1024 * 1024  # a queue file (postcat -q) is far smaller
DEFAULT_TIMEOUT = 60.0


@dataclass(frozen=True)
class ToolPaths:
    """Where the programs are; the defaults are Debian's."""

    postqueue: str = "/usr/sbin/postqueue"
    postsuper: str = "/usr/sbin/postsuper"
    postmap: str = "/usr/sbin/postmap"
    postcat: str = "/usr/sbin/postcat"
    doveadm: str = "/usr/bin/doveadm"


@dataclass(frozen=True)
class CommandResult:
    """What a finished command did."""

    argv: tuple[str, ...]
    returncode: int
    stdout: str
    stderr: str


@dataclass(frozen=True)
class BytesResult:
    """What a finished command printed, as the exact bytes (postcat -q of a message in
    Shift_JIS or 8-bit must be copied as it is). complete is False when stdout was longer than
    the bound and was cut: such a copy is not the message."""

    argv: tuple[str, ...]
    returncode: int
    stdout: bytes
    stderr: str
    complete: bool


class CommandFailed(RuntimeError):
    """A command exited non-zero, timed out or could not be started.

    returncode is the exit status; None when the command timed out, -1 when it never ran.
    """

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        super().__init__(self.describe())

    def describe(self) -> str:
        """The message: command, status, the start of what it said."""
        status = "timed out" if self.returncode is None else f"exited {self.returncode}"
        return f"{' '.join(self.argv)} {status}: {self.stderr.strip()[:500]}"


DoveadmValue = str | tuple[str, ...]
"""A doveadm parameter value: a string, or a tuple for doveadm's array parameters."""

OPTION_FLAGS: Mapping[str, str] = {"user": "-u", "scheme": "-s"}
"""The named parameters DoveadmCommand knows: HTTP API name -> command-line flag."""


@dataclass(frozen=True)
class DoveadmCommand:
    """One doveadm command, independent of how it is run.

    name is the command as typed after `doveadm` ("sieve get"); options are named parameters
    (a key of OPTION_FLAGS, e.g. ("user", USER) for `-u USER`); args are the positional
    arguments in order, each under its HTTP API parameter name (("scriptname", NAME)). A tuple
    value is sent to the HTTP API as a JSON array: use one exactly where doveadm declares an
    array parameter (kick's mask), since Dovecot 2.3 aborts on an array for a string parameter.
    records asks for doveadm's JSON records (`-f json`). stdin is for commands run locally only
    (`pw` reads the password there); it is left out of repr().
    """

    name: str
    options: tuple[tuple[str, str], ...] = ()
    args: tuple[tuple[str, DoveadmValue], ...] = ()
    records: bool = False
    stdin: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        for key, _ in self.options:
            if key not in OPTION_FLAGS:
                raise ValueError(f"doveadm {self.name}: unknown option {key!r}")

    def argv(self) -> tuple[str, ...]:
        """The arguments after `doveadm [-c CONF]`; `--` ends the options before a positional
        argument starting with '-' (a Sieve script may be named "-A")."""
        output = ("-f", "json") if self.records else ()
        values = self._values()
        end = ("--",) if any(value.startswith("-") for value in values) else ()
        return (*output, *self.name.split(), *self._options(), *end, *values)

    def label(self) -> str:
        """The command for messages: `sieve get -u USER NAME`, quoted, at most 200 characters."""
        parts = [*self.name.split(), *self._options(), *self._values()]
        text = " ".join(shlex.quote(p) if p.isprintable() else repr(p) for p in parts)
        return text if len(text) <= 200 else text[:200] + "…"

    def _options(self) -> list[str]:
        return [part for key, value in self.options for part in (OPTION_FLAGS[key], value)]

    def _values(self) -> list[str]:
        return [item for _, value in self.args for item in _items(value)]

    def parameters(self) -> dict[str, str | list[str]]:
        """The HTTP API parameter object: options and positional arguments by name."""
        named = [*self.options, *self.args]
        return {key: list(value) if isinstance(value, tuple) else value for key, value in named}


def _items(value: DoveadmValue) -> tuple[str, ...]:
    return value if isinstance(value, tuple) else (value,)


@dataclass(frozen=True)
class DoveadmReply:
    """What a DoveadmCommand gave: its JSON records (when asked for), and its output text
    (doveadm's stdout and stderr locally; the reply's result as JSON from the HTTP API)."""

    records: tuple[Mapping[str, str], ...] = ()
    stdout: str = ""
    stderr: str = ""


def parse_records(value: object, what: str) -> tuple[Mapping[str, str], ...]:
    """doveadm's JSON records: a list of objects with string values; ValueError otherwise."""
    if not isinstance(value, list):
        raise ValueError(f"doveadm {what}: not a list of records ({type(value).__name__})")
    for index, record in enumerate(value):
        if not isinstance(record, dict) or not all(
            isinstance(key, str) and isinstance(item, str) for key, item in record.items()
        ):
            raise ValueError(f"doveadm {what}: record {index} is not an object of strings")
    return tuple(value)


class Executor(Protocol):
    """Runs the response tools; LocalExecutor runs them on this machine.

    An Executor is also a DoveadmExecutor, so it can drive both responders.
    """

    def postfix(
        self, tool: str, *args: str, stdin: str = "", check: bool = True
    ) -> CommandResult: ...

    def postfix_bytes(self, tool: str, *args: str, check: bool = True) -> BytesResult: ...

    def doveadm(self, *args: str, stdin: str = "", check: bool = True) -> CommandResult: ...

    def doveadm_call(self, command: DoveadmCommand) -> DoveadmReply: ...


class DoveadmExecutor(Protocol):
    """Runs DoveadmCommands: LocalExecutor, or DoveadmHttpExecutor through the HTTP API.

    A failed command raises CommandFailed (or a subclass); unreadable output ValueError.
    """

    def doveadm_call(self, command: DoveadmCommand) -> DoveadmReply: ...


def _bounded(text: str) -> str:
    return text if len(text) <= MAX_OUTPUT_CHARS else text[:MAX_OUTPUT_CHARS]


class LocalExecutor:
    """Runs tools locally: `-c CONFIG_DIR` for Postfix tools, `-c dovecot.conf` for doveadm."""

    _POSTFIX_TOOLS = ("postqueue", "postsuper", "postmap", "postcat")

    def __init__(
        self,
        *,
        paths: ToolPaths | None = None,
        postfix_config_dir: Path | None = None,
        dovecot_config: Path | None = None,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        self.paths = paths or ToolPaths()
        self.postfix_config_dir = postfix_config_dir
        self.dovecot_config = dovecot_config
        self.timeout = timeout

    def postfix(
        self, tool: str, *args: str, stdin: str = "", check: bool = True
    ) -> CommandResult:
        """Run a Postfix tool (postqueue, postsuper, postmap, postcat) with -c CONFIG_DIR."""
        return self.run(self._postfix_argv(tool, args), stdin=stdin, check=check)

    def postfix_bytes(self, tool: str, *args: str, check: bool = True) -> BytesResult:
        """Like postfix(), its output as the exact bytes, bounded at MAX_OUTPUT_BYTES."""
        return self.run_bytes(self._postfix_argv(tool, args), check=check)

    def _postfix_argv(self, tool: str, args: Sequence[str]) -> list[str]:
        if tool not in self._POSTFIX_TOOLS:
            raise ValueError(f"unknown Postfix tool {tool!r}; expected {self._POSTFIX_TOOLS}")
        config = ["-c", str(self.postfix_config_dir)] if self.postfix_config_dir else []
        return [getattr(self.paths, tool), *config, *args]

    def doveadm(self, *args: str, stdin: str = "", check: bool = True) -> CommandResult:
        """Run doveadm with -c dovecot.conf when one is configured."""
        config = ["-c", str(self.dovecot_config)] if self.dovecot_config else []
        return self.run([self.paths.doveadm, *config, *args], stdin=stdin, check=check)

    def doveadm_call(self, command: DoveadmCommand) -> DoveadmReply:
        """Run command as `doveadm [-c CONF] ARGV`; its records parsed from `-f json` output."""
        done = self.doveadm(*command.argv(), stdin=command.stdin)
        if not command.records:
            return DoveadmReply((), done.stdout, done.stderr)
        try:
            value = json.loads(done.stdout or "[]")
        except (ValueError, RecursionError) as exc:
            raise ValueError(f"doveadm {command.label()}: not JSON ({exc})") from None
        return DoveadmReply(parse_records(value, command.label()), done.stdout, done.stderr)

    def run(self, argv: Sequence[str], *, stdin: str = "", check: bool = True) -> CommandResult:
        """Run argv (no shell; own session, so no tool can prompt on our terminal)."""
        argv = tuple(argv)
        returncode, out, err = self._run(argv, stdin.encode("utf-8", "replace"))
        stdout, stderr = (_bounded(out.decode("utf-8", "replace")),
                          _bounded(err.decode("utf-8", "replace")))
        if check and returncode != 0:
            raise CommandFailed(argv, returncode, stderr)
        return CommandResult(argv, returncode, stdout, stderr)

    def run_bytes(self, argv: Sequence[str], *, check: bool = True) -> BytesResult:
        """Run argv like run(); stdout as bytes, cut at MAX_OUTPUT_BYTES (complete=False)."""
        argv = tuple(argv)
        returncode, out, err = self._run(argv, b"")
        stderr = _bounded(err.decode("utf-8", "replace"))
        if check and returncode != 0:
            raise CommandFailed(argv, returncode, stderr)
        complete = len(out) <= MAX_OUTPUT_BYTES
        return BytesResult(argv, returncode, out[:MAX_OUTPUT_BYTES], stderr, complete)

    def _run(self, argv: tuple[str, ...], stdin: bytes) -> tuple[int, bytes, bytes]:
        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                timeout=self.timeout,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandFailed(argv, None, f"no answer within {self.timeout} s") from exc
        except OSError as exc:
            raise CommandFailed(argv, -1, f"cannot start: {exc}") from exc
        return done.returncode, done.stdout, done.stderr
