"""A private Postfix instance: `postfix -c DIR start` with its own queue, ports and log file."""

from __future__ import annotations

import json
import os
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, TypeVar

from .common import (
    LOOPBACK,
    cleanup_on_error,
    free_port,
    kill_pids,
    pid_alive,
    pids_with_environ,
    port_open,
    read_lines,
    require_program,
    require_root,
    stop_at_exit,
    wait_for,
)
from .submission import submit

T = TypeVar("T")

# Services of a minimal instance; nothing chrooted (Debian's own master.cf chroots most of them).
_MASTER_CF = """\
# Written by tests/integration/mailstack/postfix.py
{host}:{port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n -  0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n -  - trivial-rewrite
bounce    unix  - - n -  0 bounce
defer     unix  - - n -  0 bounce
trace     unix  - - n -  0 bounce
verify    unix  - - n -  1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n -  - proxymap
proxywrite unix - - n -  1 proxymap
smtp      unix  - - n -  - smtp
relay     unix  - - n -  - smtp
showq     unix  n - n -  - showq
error     unix  - - n -  - error
retry     unix  - - n -  - error
discard   unix  - - n -  - discard
local     unix  - n n -  - local
anvil     unix  - - n -  1 anvil
scache    unix  - - n -  1 scache
tlsmgr    unix  - - n 1000? 1 tlsmgr
postlog   unix-dgram n - n - 1 postlogd
"""


def write_config(path: Path, text: str) -> None:
    """Write a Postfix configuration file dated 2 s in the past.

    Every Postfix program re-reads a configuration file whose mtime is not yet in the past, in
    steps of 0.3 s, until it is (a guard against half-written files): a freshly written main.cf
    costs each command about a second.
    """
    path.write_text(text, encoding="utf-8")
    past = time.time() - 2
    os.utime(path, (past, past))


def policy_check(address: str | int) -> str:
    """The restriction `check_policy_service { ADDRESS, timeout=10s, default_action=DUNNO }`.

    An int is a port on 127.0.0.1; a str is a Postfix address such as inet:127.0.0.1:10040.
    """
    if isinstance(address, int):
        address = f"inet:{LOOPBACK}:{address}"
    return f"check_policy_service {{ {address}, timeout=10s, default_action=DUNNO }}"


def base_main_cf(root: Path, relayhost: str) -> dict[str, str]:
    """main.cf of a loopback-only instance that relays everything to relayhost, without DNS."""
    return {
        "compatibility_level": "3.6",
        "queue_directory": f"{root}/queue",
        "data_directory": f"{root}/data",
        "mail_owner": "postfix",
        "setgid_group": "postdrop",
        "myhostname": "mx.mailwarden.test",
        "mydomain": "mailwarden.test",
        "myorigin": "$mydomain",
        "mydestination": "",
        "local_recipient_maps": "",
        "relay_domains": "",
        "alias_maps": "",
        "alias_database": "",
        "relayhost": relayhost,
        "inet_interfaces": LOOPBACK,
        "inet_protocols": "ipv4",
        "mynetworks": "127.0.0.0/8",
        "smtp_dns_support_level": "disabled",
        "smtpd_peername_lookup": "no",
        "biff": "no",
        "append_dot_mydomain": "no",
        "maillog_file": f"{root}/postfix.log",
        "maillog_file_prefixes": str(root),
        "smtpd_banner": "$myhostname ESMTP",
        "smtpd_authorized_xclient_hosts": "127.0.0.0/8",
        "smtpd_relay_restrictions": "permit_sasl_authenticated, reject",
        "smtpd_error_sleep_time": "0s",
        "smtpd_policy_service_try_limit": "2",
        "smtpd_policy_service_retry_delay": "1s",
        "queue_run_delay": "1s",
        "minimal_backoff_time": "1s",
        "maximal_backoff_time": "2s",
        "delay_warning_time": "0h",
        "smtp_connect_timeout": "5s",
    }


class PostfixInstance:
    """Postfix from its own configuration folder; see conftest.postfix_factory for the options."""

    def __init__(
        self,
        root: Path,
        *,
        sasl_path: str | None = None,
        relayhost: str | None = None,
        policy: str | int | None = None,
        recipient_restrictions: str | None = None,
        end_of_data_restrictions: str | None = None,
        main_cf: Mapping[str, str] | None = None,
    ) -> None:
        require_root("Postfix")
        self._postfix = require_program("postfix", "postfix")
        self._postqueue = require_program("postqueue", "postfix")
        self._postsuper = require_program("postsuper", "postfix")
        self._postconf = require_program("postconf", "postfix")
        self.root = root
        self.host = LOOPBACK
        self.port = free_port()
        self.config_dir = root / "etc"
        self.queue_dir = root / "queue"
        self.log_path = root / "postfix.log"
        self.params = base_main_cf(root, relayhost or f"[{LOOPBACK}]:{free_port()}")
        if sasl_path is not None:
            self.params.update(
                smtpd_sasl_auth_enable="yes", smtpd_sasl_type="dovecot", smtpd_sasl_path=sasl_path
            )
        self.params.update(
            self._restrictions(policy, recipient_restrictions, end_of_data_restrictions)
        )
        self.params.update(main_cf or {})
        self._started = False

    def __repr__(self) -> str:
        return f"PostfixInstance(port={self.port}, config_dir={self.config_dir})"

    @staticmethod
    def _restrictions(
        policy: str | int | None, recipient: str | None, end_of_data: str | None
    ) -> dict[str, str]:
        checks = [policy_check(policy)] if policy is not None else []
        if recipient is None:
            recipient = ", ".join([*checks, "permit_sasl_authenticated", "reject"])
        if end_of_data is None:
            end_of_data = ", ".join(checks)
        return {
            "smtpd_recipient_restrictions": recipient,
            "smtpd_end_of_data_restrictions": end_of_data,
        }

    # --- life cycle -------------------------------------------------------------------------

    def start(self) -> PostfixInstance:
        """Write main.cf/master.cf, `postfix -c DIR start`, wait for the submission port."""
        self.config_dir.mkdir(mode=0o755, exist_ok=True)
        self.queue_dir.mkdir(mode=0o755, exist_ok=True)  # postfix start creates what is missing
        self._write_main_cf()
        write_config(
            self.config_dir / "master.cf", _MASTER_CF.format(host=self.host, port=self.port)
        )
        with cleanup_on_error(self.stop):
            self._started = True
            stop_at_exit(self.stop)
            self._run(self._postfix, "start", timeout=60)
            wait_for(lambda: port_open(self.port), 15, what=f"Postfix smtpd on {self.port}")
        return self

    def _write_main_cf(self) -> None:
        text = "".join(f"{name} = {value}\n" for name, value in self.params.items())
        write_config(self.config_dir / "main.cf", text)

    def stop(self) -> None:
        """`postfix -c DIR stop`, wait for the master, then kill what is left of this instance."""
        if not self._started:
            return
        self._started = False
        master = self.master_pid()
        subprocess.run(
            [self._postfix, "-c", str(self.config_dir), "stop"],
            capture_output=True,
            timeout=30,
            check=False,
        )
        try:
            if master is not None:
                wait_for(lambda: not pid_alive(master), 10, what="the Postfix master to exit")
        finally:
            kill_pids(self.pids())

    def reload(self) -> None:
        """Rewrite main.cf from self.params, `postfix reload`, and wait until every smtpd that
        ran with the old settings has exited (new connections then see the new ones)."""
        self._write_main_cf()
        old_smtpd = [pid for pid in self.pids() if _comm(pid) == "smtpd"]
        self._run(self._postfix, "reload")
        wait_for(lambda: not any(pid_alive(pid) for pid in old_smtpd), 15, what="old smtpd exit")

    def set_params(self, **params: str) -> None:
        """Change main.cf parameters and reload."""
        self.params.update(params)
        self.reload()

    def set_policy(self, policy: str | int | None) -> None:
        """Point both restriction lists at another policy service (None: no policy), reload."""
        self.params.update(self._restrictions(policy, None, None))
        self.reload()

    def master_pid(self) -> int | None:
        """The master's pid from queue/pid/master.pid, if any."""
        try:
            return int((self.queue_dir / "pid" / "master.pid").read_text().split()[0])
        except (OSError, ValueError, IndexError):
            return None

    def pids(self) -> list[int]:
        """Every process of this instance (Postfix passes MAIL_CONFIG to all its daemons)."""
        return pids_with_environ("MAIL_CONFIG", str(self.config_dir))

    # --- queue and logs ---------------------------------------------------------------------

    def _run(self, program: str, *args: str, stdin: str = "", timeout: float = 30) -> str:
        result = subprocess.run(
            [program, "-c", str(self.config_dir), *args],
            input=stdin,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
        if result.returncode != 0:
            raise RuntimeError(
                f"{Path(program).name} {' '.join(args)} exited {result.returncode}: "
                f"{result.stderr.strip()}\n" + "\n".join(self.log_lines()[-20:])
            )
        return result.stdout

    def postconf(self, *args: str) -> str:
        """Run `postconf -c DIR args...` and return its output."""
        return self._run(self._postconf, *args)

    def postsuper(self, *args: str, queue_ids: Sequence[str] = ()) -> str:
        """Run `postsuper -c DIR args...`; queue_ids go on stdin (for '-h -', '-H -', '-d -')."""
        return self._run(self._postsuper, *args, stdin="".join(f"{q}\n" for q in queue_ids))

    def postqueue_json(self) -> list[dict[str, Any]]:
        """The queue as `postqueue -j` reports it: one dict per message (queue_name, queue_id,
        sender, recipients, ...); queue_name is 'hold' for held mail."""
        out = self._run(self._postqueue, "-j")
        return [json.loads(line) for line in out.splitlines() if line.strip()]

    def queue_ids(self, queue_name: str | None = None) -> list[str]:
        """Queue ids of the messages in queue_name ('hold', 'active', 'deferred', ...) or all."""
        return [
            str(entry["queue_id"])
            for entry in self.postqueue_json()
            if queue_name is None or entry.get("queue_name") == queue_name
        ]

    def flush(self) -> None:
        """`postqueue -f`: attempt delivery of deferred mail now."""
        self._run(self._postqueue, "-f")

    def log_lines(self) -> list[str]:
        """The lines Postfix logged so far (maillog_file, written by postlogd)."""
        return read_lines(self.log_path)

    def wait_for(self, predicate: Callable[[], T], timeout: float = 10.0, what: str = "") -> T:
        """Poll predicate until it returns something truthy (returned); TimeoutError with the log
        tail otherwise."""
        try:
            return wait_for(predicate, timeout, what=what)
        except TimeoutError as exc:
            tail = "\n".join(self.log_lines()[-15:])
            raise TimeoutError(f"{exc}\n--- postfix log tail ---\n{tail}") from None

    def wait_for_log(self, text: str, timeout: float = 10.0) -> str:
        """Wait until a log line contains text and return that line."""

        def find() -> str:
            return next((line for line in self.log_lines() if text in line), "")

        return self.wait_for(find, timeout, what=f"log line with {text!r}")

    # --- submission -------------------------------------------------------------------------

    def submit(
        self,
        user: str | None,
        password: str | None,
        sender: str,
        rcpts: Sequence[str],
        *,
        xclient_addr: str | None = None,
        **options: Any,
    ) -> str:
        """Submit through this instance's smtpd (see submission.submit); returns the queue id."""
        return submit(
            self.host,
            self.port,
            user,
            password,
            sender,
            rcpts,
            xclient_addr=xclient_addr,
            **options,
        )


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""
