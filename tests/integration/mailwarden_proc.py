"""`mailwarden serve` as a real process for end-to-end tests (so it can be killed with -9)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from mailstack import free_port, wait_for
from mailstack.common import port_open

CONFIG = """\
[organization]
domains = ["city.example.jp"]
home_countries = ["JP"]
timezone = "Asia/Tokyo"

[store]
flush_interval = 0.2
"""


class MailwardenProcess:
    """A `mailwarden serve` with its own data folder, policy, auth policy, API and milter
    ports."""

    def __init__(self, config: str = CONFIG, extra: str = "", args: tuple[str, ...] = ()) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="mw-serve-"))
        self.config = self.root / "mailwarden.toml"
        self.config.write_text(config + extra, encoding="utf-8")
        self.data_dir = self.root / "data"
        self.policy_port = free_port()
        self.auth_port = free_port()
        self.api_port = free_port()
        self.milter_port = free_port()
        own_api = "--api-listen" in args  # a test that passes its own wins (the last one does)
        own_milter = "--milter-listen" in args
        self.log = (self.root / "serve.log").open("w")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "mailwarden", "serve", "--config", str(self.config),
             "--data-dir", str(self.data_dir), "--policy-listen",
             f"127.0.0.1:{self.policy_port}", "--auth-policy-listen",
             f"127.0.0.1:{self.auth_port}", "--api-listen", f"127.0.0.1:{self.api_port}",
             "--milter-listen", f"127.0.0.1:{self.milter_port}", *args],
            stdout=self.log, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        wait_for(lambda: (port_open(self.policy_port) and port_open(self.auth_port)
                          and (own_api or port_open(self.api_port))
                          and (own_milter or port_open(self.milter_port)))
                 or self.proc.poll() is not None, timeout=30)
        if self.proc.poll() is not None:
            raise RuntimeError("mailwarden serve exited:\n" + self.output())

    @property
    def api_key(self) -> str:
        return (self.data_dir / "auth-policy.key").read_text(encoding="utf-8").strip()

    @property
    def api_token(self) -> str:
        """The administrators' API token (generated into the data folder, or [api] token)."""
        return (self.data_dir / "api.token").read_text(encoding="utf-8").strip()

    def api_url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.api_port}{path}"

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Run another `mailwarden` command on the same configuration and data."""
        return subprocess.run(
            [sys.executable, "-m", "mailwarden", *args, "--config", str(self.config),
             "--data-dir", str(self.data_dir)],
            capture_output=True, text=True, timeout=60, check=False)

    def cli_json(self, *args: str) -> list[dict[str, object]]:
        out = self.cli(*args, "--json")
        assert out.returncode == 0, out.stderr
        return [json.loads(line) for line in out.stdout.splitlines() if line.strip()]

    def output(self) -> str:
        self.log.flush()
        return (self.root / "serve.log").read_text(encoding="utf-8", errors="replace")

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.kill9()
        self.log.close()


def settle(seconds: float) -> None:
    time.sleep(seconds)
