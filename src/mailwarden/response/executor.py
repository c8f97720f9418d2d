"""Running Postfix and Dovecot tools: argument lists only, never a shell, always a timeout.

Every command is a list of strings handed to the program as is (no shell, so a hostile account
name is one argument and nothing more). Output is captured and bounded; a failure raises
CommandFailed naming the command, its exit status and what it said on stderr.
"""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

MAX_OUTPUT_CHARS = 64 * 1024 * 1024  # postqueue -j of a large queue stays well below this
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


class CommandFailed(RuntimeError):
    """A command exited non-zero, timed out or could not be started."""

    def __init__(self, argv: Sequence[str], returncode: int | None, stderr: str) -> None:
        self.argv = tuple(argv)
        self.returncode = returncode
        self.stderr = stderr
        status = "timed out" if returncode is None else f"exited {returncode}"
        super().__init__(f"{' '.join(self.argv)} {status}: {stderr.strip()[:500]}")


class Executor(Protocol):
    """Runs the response tools; LocalExecutor runs them on this machine."""

    def postfix(
        self, tool: str, *args: str, stdin: str = "", check: bool = True
    ) -> CommandResult: ...

    def doveadm(self, *args: str, stdin: str = "", check: bool = True) -> CommandResult: ...


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
        if tool not in self._POSTFIX_TOOLS:
            raise ValueError(f"unknown Postfix tool {tool!r}; expected {self._POSTFIX_TOOLS}")
        config = ["-c", str(self.postfix_config_dir)] if self.postfix_config_dir else []
        return self.run([getattr(self.paths, tool), *config, *args], stdin=stdin, check=check)

    def doveadm(self, *args: str, stdin: str = "", check: bool = True) -> CommandResult:
        """Run doveadm with -c dovecot.conf when one is configured."""
        config = ["-c", str(self.dovecot_config)] if self.dovecot_config else []
        return self.run([self.paths.doveadm, *config, *args], stdin=stdin, check=check)

    def run(self, argv: Sequence[str], *, stdin: str = "", check: bool = True) -> CommandResult:
        """Run argv (no shell; own session, so no tool can prompt on our terminal)."""
        argv = tuple(argv)
        try:
            done = subprocess.run(
                argv,
                input=stdin,
                capture_output=True,
                text=True,
                errors="replace",
                timeout=self.timeout,
                check=False,
                start_new_session=True,
            )
        except subprocess.TimeoutExpired as exc:
            raise CommandFailed(argv, None, f"no answer within {self.timeout} s") from exc
        except OSError as exc:
            raise CommandFailed(argv, -1, f"cannot start: {exc}") from exc
        result = CommandResult(argv, done.returncode, _bounded(done.stdout), _bounded(done.stderr))
        if check and done.returncode != 0:
            raise CommandFailed(argv, done.returncode, result.stderr)
        return result
