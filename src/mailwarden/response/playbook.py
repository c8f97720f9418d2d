"""The playbook: which containment operations a step means, in which order they run, whether
each can run here, and what it would do (in words, for dry runs and for people to approve).

A step is what an administrator thinks in ("lock the account"); it expands to operations on
targets (``outbound`` = Mailwarden's own quarantine, ``postfix``, ``dovecot``). The
configuration (``[playbook]``) says which steps run by themselves per severity.
"""

from __future__ import annotations

from dataclasses import dataclass

from mailwarden import i18n
from mailwarden.config import Config

# The order steps run in, whatever order they were asked in: first stop new mail; deactivate
# Sieve before the lock (with a static userdb Dovecot checks that a user exists through the
# passdb, and a user in the deny passdb "doesn't exist" for doveadm); shut the door, throw the
# intruder out, then hold what is already queued; a new password last.
ORDER: tuple[str, ...] = ("quarantine", "sieve_deactivate", "lock", "kick", "hold_queue",
                          "reset_password")

OPERATIONS: dict[str, tuple[tuple[str, str], ...]] = {
    "quarantine": (("outbound", "quarantine"),),
    "lock": (("postfix", "lock"), ("dovecot", "lock")),
    "kick": (("dovecot", "kick"),),
    "hold_queue": (("postfix", "hold"),),
    "sieve_deactivate": (("dovecot", "sieve_deactivate"),),
    "reset_password": (("dovecot", "reset_password"),),
}

# checklist steps ticked when an operation is done
TICKS: dict[tuple[str, str], str] = {
    ("dovecot", "kick"): "end_sessions",
    ("dovecot", "sieve_deactivate"): "check_forwarding",
    ("dovecot", "reset_password"): "change_password",
}


class UnknownStep(ValueError):
    """A step name that is not in the playbook."""

    def __init__(self, value: str) -> None:
        self.value = value
        super().__init__(self.text("en"))

    def text(self, lang: str) -> str:
        return i18n.render("playbook.error.step", lang, value=self.value,
                           steps=", ".join(ORDER))


def ordered(steps: list[str] | tuple[str, ...]) -> list[str]:
    """The steps, each once, in the order they run; UnknownStep for a name not known."""
    for step in steps:
        if step not in OPERATIONS:
            raise UnknownStep(step)
    return [step for step in ORDER if step in steps]


@dataclass(frozen=True)
class Operation:
    """One operation of a step, for one account, and whether it can run here."""

    step: str
    target: str
    operation: str
    account: str
    unavailable: str = ""  # why it cannot run here ("" = it can)

    def describe(self, cfg: Config, lang: str) -> str:
        r = cfg.response
        text = i18n.render(f"playbook.{self.target}.{self.operation}", lang,
                           account=self.account, mode=r.lock_mode,
                           map=f"{r.sasl_access_type}:{r.sasl_access_map}",
                           file=r.deny_file if self.operation == "lock" else r.passwd_file)
        if self.unavailable:
            text += " — " + i18n.render("playbook.unavailable", lang, what=self.unavailable)
        return text


def unavailable(cfg: Config, target: str, operation: str) -> str:
    """Why an operation cannot run with this configuration ("" when it can)."""
    r = cfg.response
    if target == "postfix" and operation == "lock" and not r.sasl_access_map:
        return "[response] sasl_access_map"
    if target == "dovecot":
        if not r.dovecot:
            return "[response] dovecot = true"
        if operation == "lock" and not r.deny_file:
            return "[response] deny_file"
        if operation == "reset_password" and not r.passwd_file:
            return "[response] passwd_file"
    return ""


def operations(cfg: Config, steps: list[str] | tuple[str, ...], account: str) -> list[Operation]:
    """The operations the steps expand to, in running order."""
    return [Operation(step, target, operation, account, unavailable(cfg, target, operation))
            for step in ordered(steps) for target, operation in OPERATIONS[step]]


@dataclass(frozen=True)
class Plan:
    """What the playbook does for one incident."""

    incident_id: str
    account: str
    severity: str
    mode: str
    automatic: list[Operation]
    manual: list[Operation]

    def lines(self, cfg: Config, lang: str) -> list[str]:
        out = [i18n.render("playbook.title", lang, incident=self.incident_id,
                           account=self.account, severity=self.severity, mode=self.mode)]
        for key, ops in (("playbook.automatic", self.automatic),
                         ("playbook.manual", self.manual)):
            out.append(i18n.render(key, lang))
            out += [f"  - [{op.step}] {op.describe(cfg, lang)}" for op in ops]
            if not ops:
                out.append("  " + i18n.render("playbook.none", lang))
        return out


def plan(cfg: Config, incident_id: str, account: str, severity: str) -> Plan:
    """The playbook of an incident of this severity."""
    book = cfg.playbook
    return Plan(incident_id, account, severity, book.mode,
                operations(cfg, book.automatic(severity), account),
                operations(cfg, book.manual(severity), account))
