"""Carrying out the playbook: run an incident's steps, record each operation before and after,
tick the checklist, and undo.

Every operation is recorded as ``started`` (committed) before it runs and completed as
``done`` or ``failed`` after; an operation that cannot run here is recorded as ``skipped`` with
the reason, a dry run as ``planned``. A failing operation never stops the next one, and neither
does a failure to record it (logged with the action id; the row then stays ``started``).
Two kinds of lock files in the data folder (response/locks.py) keep operations apart, across
threads and processes (the service's playbooks, its API, an administrator's command):
- the account's lock (DATA_DIR/locks/account-HASH.lock) around each operation: two operations
  on one account never run at once, while operations on different accounts do (a hold_queue of
  120,000 messages does not delay another account's lock); an undo checks and marks its action
  inside that lock, so one action is never undone twice;
- the machine-wide lock (DATA_DIR/response.lock) around each read-modify-write of a shared
  file: the check_sasl_access map with its postmap, the deny file, the passwd-file. A thread
  takes the account's lock first, then this one, never the other way round.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mailwarden import i18n
from mailwarden.config import Config
from mailwarden.response.actions import Action, Undo, validate_account
from mailwarden.response.checklist import Checklist, UnknownIncident
from mailwarden.response.doveadm_http import DoveadmHttpExecutor
from mailwarden.response.dovecot import DovecotResponder
from mailwarden.response.executor import DoveadmExecutor, Executor, LocalExecutor, ToolPaths
from mailwarden.response.files import real_folder
from mailwarden.response.locks import LOCKS, account_lock_path
from mailwarden.response.playbook import TICKS, Operation, Plan, operations, plan
from mailwarden.response.postfix import PostfixResponder
from mailwarden.store.actions_store import ActionStore
from mailwarden.store.store import Store

PLAYBOOK_ACTOR = "mailwarden (playbook)"
log = logging.getLogger("mailwarden.response")


class ResponseError(ValueError):
    """An undo or step request that cannot be carried out."""

    def __init__(self, key: str, value: str, **params: Any) -> None:
        self.key, self.value, self.params = key, value, params
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return i18n.render(self.key, lang, value=self.value, **self.params)


@dataclass(frozen=True)
class Outcome:
    """What happened to one operation (secret: a new password, shown once, never stored)."""

    action_id: int | None
    operation: Operation
    status: str
    changed: bool = False
    result: dict[str, Any] = field(default_factory=dict)
    error: str = ""
    secret: str | None = field(default=None, repr=False)


def make_executors(cfg: Config) -> tuple[Executor, DoveadmExecutor]:
    """The executors the configuration asks for: Postfix tools, and doveadm."""
    r = cfg.response
    local = LocalExecutor(
        paths=ToolPaths(r.postqueue, r.postsuper, r.postmap, r.postcat, r.doveadm),
        postfix_config_dir=Path(r.postfix_config_dir) if r.postfix_config_dir else None,
        dovecot_config=Path(r.dovecot_config) if r.dovecot_config else None,
        timeout=r.command_timeout,
    )
    if r.doveadm_executor == "http":
        remote = DoveadmHttpExecutor(r.doveadm_url, r.doveadm_api_key,
                                     timeout=r.command_timeout,
                                     ca_file=Path(r.doveadm_ca_file) if r.doveadm_ca_file else None,
                                     local=local)
        return local, remote
    return local, local


class ResponseRunner:
    """Runs and undoes containment operations for incidents in the store."""

    def __init__(self, cfg: Config, store: Store, *,
                 executors: tuple[Executor, DoveadmExecutor] | None = None,
                 clock: Callable[[], float] = time.time) -> None:
        self.cfg = cfg
        self.store = store
        self.actions = ActionStore(store)
        self.checklist = Checklist(store, clock)
        self.executor, self.doveadm = executors or make_executors(cfg)
        self.clock = clock
        self.lock_path = cfg.data_dir / "response.lock"
        self.account_locks = cfg.data_dir / "locks"
        with contextlib.suppress(OSError):
            _lock_folder(self.account_locks, cfg.data_dir)

    # -- responders ------------------------------------------------------------------------
    def _datetime(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), UTC)

    def postfix(self, actor: str) -> PostfixResponder:
        r = self.cfg.response
        return PostfixResponder(self.executor, access_map=Path(r.sasl_access_map or "-"),
                                map_type=r.sasl_access_type, actor=actor, clock=self._datetime,
                                exclusive=self._serialised)

    def dovecot(self, actor: str) -> DovecotResponder:
        r = self.cfg.response
        return DovecotResponder(self.doveadm, deny_file=Path(r.deny_file or "-"),
                                passwd_file=Path(r.passwd_file) if r.passwd_file else None,
                                actor=actor, clock=self._datetime, exclusive=self._serialised)

    @contextlib.contextmanager
    def _serialised(self) -> Iterator[None]:
        """Hold the machine-wide lock: the shared files' read-modify-writes (re-entrant)."""
        with LOCKS.hold(self.lock_path, self.cfg.data_dir):
            yield

    @contextlib.contextmanager
    def _account_serialised(self, account: str) -> Iterator[None]:
        """Hold the account's lock: one operation on it at a time (re-entrant)."""
        with LOCKS.hold(account_lock_path(self.account_locks, account), self.cfg.data_dir):
            yield

    def _recorded(self, action_id: int | None, what: str, write: Callable[[], object]) -> None:
        """Write to the store; a failure is logged with the action id and does not stop the
        operations that follow (the action's row then stays as it was)."""
        try:
            write()
        except Exception:
            log.exception("action %s: could not record %s", action_id, what)

    # -- plans -----------------------------------------------------------------------------
    def incident(self, incident_id: str) -> dict[str, Any]:
        found = self.store.incident(incident_id)
        if found is None:
            raise UnknownIncident(incident_id)
        return found

    def plan(self, incident_id: str) -> Plan:
        inc = self.incident(incident_id)
        return plan(self.cfg, incident_id, str(inc["account"]), str(inc["severity"]))

    # -- running ---------------------------------------------------------------------------
    def run_automatic(self, incident_id: str) -> list[Outcome]:
        """What the service does when an incident opens: the playbook's automatic steps for
        its severity (recorded as planned in dry-run mode; nothing when off)."""
        mode = self.cfg.playbook.mode
        if mode == "off":
            return []
        inc = self.incident(incident_id)
        steps = self.cfg.playbook.automatic(str(inc["severity"]))
        reason = f"playbook: {inc['severity']} incident ({inc['kind']})"
        return self.run(incident_id, steps, actor=PLAYBOOK_ACTOR, reason=reason,
                        dry_run=mode == "dry-run", record_plan=True)

    def skip_automatic(self, incident_id: str, why: str) -> list[Outcome]:
        """Record the playbook's automatic steps for the incident as ``skipped`` with why (the
        service stopped before they ran), so the record shows they are still to be done."""
        if self.cfg.playbook.mode == "off":
            return []
        inc = self.incident(incident_id)
        steps = self.cfg.playbook.automatic(str(inc["severity"]))
        reason = f"playbook: {inc['severity']} incident ({inc['kind']})"
        return [Outcome(self._record_only(incident_id, op, PLAYBOOK_ACTOR, reason, "skipped",
                                          why), op, "skipped", error=why)
                for op in operations(self.cfg, steps, str(inc["account"]))]

    def run(self, incident_id: str, steps: list[str], *, actor: str, reason: str,
            dry_run: bool = False, record_plan: bool = False) -> list[Outcome]:
        """Run the steps for the incident's account, in the playbook's order."""
        inc = self.incident(incident_id)
        outcomes = []
        for op in operations(self.cfg, steps, str(inc["account"])):
            if dry_run:
                action_id = self._record_only(incident_id, op, actor, reason, "planned", "") \
                    if record_plan else None
                outcomes.append(Outcome(action_id, op, "planned"))
            elif op.unavailable:
                action_id = self._record_only(incident_id, op, actor, reason, "skipped",
                                              op.unavailable)
                outcomes.append(Outcome(action_id, op, "skipped", error=op.unavailable))
            else:
                outcomes.append(self._execute_guarded(incident_id, op, actor, reason))
        return outcomes

    def _execute_guarded(self, incident_id: str, op: Operation, actor: str,
                         reason: str) -> Outcome:
        """_execute; a store failure before the operation ran (begin) fails this operation
        only, the next one still runs."""
        try:
            return self._execute(incident_id, op, actor, reason)
        except Exception as exc:
            log.exception("incident %s: %s.%s not run: cannot record it", incident_id,
                          op.target, op.operation)
            return Outcome(None, op, "failed", error=f"{type(exc).__name__}: {exc}")

    def _record_only(self, incident_id: str, op: Operation, actor: str, reason: str,
                     status: str, error: str) -> int:
        action_id = self.actions.begin(incident_id=incident_id, account=op.account,
                                       step=op.step, target=op.target,
                                       operation=op.operation, actor=actor, reason=reason,
                                       now=self.clock())
        self._recorded(action_id, f"its status {status}", lambda: self.actions.finish(
            action_id, status=status, now=self.clock(), error=error))
        return action_id

    def _execute(self, incident_id: str, op: Operation, actor: str, reason: str,
                 undo_of: int | None = None, undo: Undo | None = None) -> Outcome:
        action_id = self.actions.begin(incident_id=incident_id, account=op.account,
                                       step=op.step, target=op.target,
                                       operation=op.operation, actor=actor, reason=reason,
                                       now=self.clock(), undo_of=undo_of)
        try:
            with self._account_serialised(op.account):
                if undo is None:
                    action = self._operation(incident_id, op, actor, reason)
                else:
                    action = self._undo_operation(op, undo, actor, reason)
        except Exception as exc:  # recorded; the next operation still runs
            error = f"{type(exc).__name__}: {exc}"
            self._recorded(action_id, "its failure", lambda: self.actions.finish(
                action_id, status="failed", now=self.clock(), error=error))
            return Outcome(action_id, op, "failed", error=error)
        recorded_undo = None if action.undo is None or undo is not None else {
            "operation": action.undo.operation, "arguments": dict(action.undo.arguments)}
        no_undo = action.no_undo_reason or ("" if recorded_undo else
                                            "nothing changed" if undo is None else "an undo")
        self._recorded(action_id, "its outcome", lambda: self.actions.finish(
            action_id, status="done", now=self.clock(), changed=action.changed,
            result=dict(action.result), undo=recorded_undo, no_undo_reason=no_undo))
        tick = TICKS.get((op.target, op.operation))
        if tick and undo is None:
            self._recorded(action_id, f"the checklist tick {tick}", lambda: self.checklist.tick(
                incident_id, tick, by=actor, note=f"action {action_id}"))
        return Outcome(action_id, op, "done", action.changed, dict(action.result),
                       secret=action.secret)

    def _operation(self, incident_id: str, op: Operation, actor: str, reason: str) -> Action:
        account = op.account
        if op.target == "outbound":
            return self._quarantine(incident_id, account, actor, reason)
        if op.target == "postfix":
            postfix = self.postfix(actor)
            if op.operation == "lock":
                if self.cfg.response.lock_mode == "REJECT":
                    return postfix.lock(account, reason=reason, mode="REJECT")
                return postfix.lock(account, reason=reason, mode="HOLD")
            return postfix.hold(account, reason=reason)
        dovecot = self.dovecot(actor)
        calls: dict[str, Callable[..., Action]] = {
            "lock": dovecot.lock, "kick": dovecot.kick,
            "sieve_deactivate": dovecot.sieve_deactivate,
            "reset_password": dovecot.reset_password}
        return calls[op.operation](account, reason=reason)

    def _quarantine(self, incident_id: str, account: str, actor: str, reason: str) -> Action:
        """Quarantine in the store (a running service applies it within a flush interval)."""
        validate_account(account)
        changed = self.store.quarantine(account, incident_id, self.clock(), actor, reason)
        flag = self.store.flag(account) or {}
        by_incident = str(flag.get("incident_id", ""))
        ours = by_incident == incident_id
        undo = Undo("release", {"account": account}) if ours else None
        return Action("quarantine", account, actor, reason, self._datetime(), changed,
                      {"incident": by_incident, "since": flag.get("since")}, undo,
                      "" if ours else f"quarantined by incident {by_incident}")

    # -- undo ------------------------------------------------------------------------------
    def undo(self, incident_id: str, action_id: int, *, actor: str, reason: str) -> Outcome:
        """Undo one recorded action of the incident; ResponseError when it cannot be."""
        row = self._undoable(incident_id, action_id)
        # two undos of one action: the second waits for the first and sees its mark
        with self._account_serialised(str(row["account"])):
            with self._serialised():  # also an undo by a process that holds only this lock
                row = self._undoable(incident_id, action_id)
            undo = _recorded_undo(action_id, row["undo"])
            op = Operation(row["step"], row["target"], undo.operation, row["account"])
            outcome = self._execute(incident_id, op, actor, reason, undo_of=action_id, undo=undo)
            done_by = outcome.action_id
            if outcome.status == "done" and done_by is not None:
                self._recorded(done_by, f"that it undid action {action_id}",
                               lambda: self.actions.mark_undone(action_id, done_by))
        return outcome

    def _undoable(self, incident_id: str, action_id: int) -> dict[str, Any]:
        """The action's record; ResponseError when it is not the incident's, was undone, or
        has no undo."""
        row = self.actions.get(action_id)
        if row is None or row["incident_id"] != incident_id:
            raise ResponseError("playbook.error.action", str(action_id))
        if row["undone_by"] is not None:
            raise ResponseError("playbook.error.undone", str(action_id), by=row["undone_by"])
        if row["status"] != "done" or not row["undo"]:
            why = row["no_undo_reason"] or row["error"] or row["status"]
            raise ResponseError("playbook.error.no_undo", str(action_id), why=why)
        return row

    def undo_all(self, incident_id: str, *, actor: str, reason: str) -> list[Outcome]:
        """Undo every action of the incident that can be undone, newest first."""
        self.incident(incident_id)
        rows = [r for r in self.actions.for_incident(incident_id)
                if r["undo_of"] is None and r["undone_by"] is None and r["status"] == "done"
                and r["undo"]]
        outcomes = []
        for row in reversed(rows):
            try:
                outcomes.append(self.undo(incident_id, int(row["id"]), actor=actor,
                                          reason=reason))
            except ResponseError as exc:  # e.g. undone meanwhile: the others still are
                op = Operation(row["step"], row["target"], "undo", row["account"])
                outcomes.append(Outcome(None, op, "failed", error=str(exc)))
        return outcomes

    def _undo_operation(self, op: Operation, undo: Undo, actor: str, reason: str) -> Action:
        if op.target == "outbound":
            return self._release(op.account, actor, reason)
        original = Action(op.step, op.account, actor, reason, self._datetime(), True, {}, undo)
        if op.target == "postfix":
            return self.postfix(actor).undo(original, reason=reason)
        return self.dovecot(actor).undo(original, reason=reason)

    def _release(self, account: str, actor: str, reason: str) -> Action:
        validate_account(account)
        released = self.store.release(account, self.clock(), actor, reason)
        return Action("release", account, actor, reason, self._datetime(), released is not None,
                      {"incident": released or ""}, None)

    # -- deleting held mail ----------------------------------------------------------------
    def delete_held(self, incident_id: str, *, actor: str, reason: str,
                    queue_ids: list[str] | None = None) -> Outcome:
        """Delete the account's held mail, each message copied into the evidence folder first
        (DATA_DIR/evidence/INCIDENT/deleted/); an administrator's explicit action only."""
        inc = self.incident(incident_id)
        op = Operation("delete_held", "postfix", "delete", str(inc["account"]))
        folder = self.evidence_folder(incident_id) / "deleted"
        action_id = self.actions.begin(incident_id=incident_id, account=op.account,
                                       step=op.step, target=op.target, operation=op.operation,
                                       actor=actor, reason=reason, now=self.clock())
        try:
            with self._account_serialised(op.account):
                action = self.postfix(actor).delete(op.account, reason=reason, copies=folder,
                                                    top=self.cfg.data_dir,
                                                    queue_ids=queue_ids)
        except Exception as exc:
            error = f"{type(exc).__name__}: {exc}"
            self._recorded(action_id, "its failure", lambda: self.actions.finish(
                action_id, status="failed", now=self.clock(), error=error))
            return Outcome(action_id, op, "failed", error=error)
        self._recorded(action_id, "its outcome", lambda: self.actions.finish(
            action_id, status="done", now=self.clock(), changed=action.changed,
            result=dict(action.result), no_undo_reason=action.no_undo_reason))
        return Outcome(action_id, op, "done", action.changed, dict(action.result))

    def evidence_folder(self, incident_id: str) -> Path:
        safe = hashlib.sha256(incident_id.encode()).hexdigest()[:12]
        name = "".join(c for c in incident_id if c.isalnum() or c in "-_")[:80] or safe
        return self.cfg.data_dir / "evidence" / name


def _recorded_undo(action_id: int, value: object) -> Undo:
    """The Undo stored with an action; ResponseError when the record is not one (a damaged or
    hand-edited row must give a clear error, not a KeyError deep inside a responder)."""
    if not isinstance(value, dict):
        raise ResponseError("playbook.error.no_undo", str(action_id),
                            why=f"the recorded undo is not an object ({type(value).__name__})")
    operation, arguments = value.get("operation"), value.get("arguments")
    if not isinstance(operation, str) or not operation:
        raise ResponseError("playbook.error.no_undo", str(action_id),
                            why="the recorded undo names no operation")
    if not isinstance(arguments, dict) or not all(isinstance(k, str) for k in arguments):
        raise ResponseError("playbook.error.no_undo", str(action_id),
                            why="the recorded undo has no arguments object")
    return Undo(operation, arguments)


def _lock_folder(folder: Path, data_dir: Path) -> None:
    """Make the account locks' folder, owned like the data folder: an administrator's command
    run as root (postsuper needs root) must not leave a folder the service, running as its own
    user, cannot add lock files to. Lock files root makes in it are opened read-only by the
    service (response/locks.py)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    # the folder itself, never what a link planted in its place points to
    with real_folder(folder, data_dir) as fd:
        if os.geteuid() != 0:
            return
        owner = data_dir.stat()
        made = os.fstat(fd)
        if (made.st_uid, made.st_gid) != (owner.st_uid, owner.st_gid):
            os.fchown(fd, owner.st_uid, owner.st_gid)
