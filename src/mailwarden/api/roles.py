"""The roles an API token has, each allowing what the one before it allows and more:

viewer     reads: incidents, checklists, plans, recorded actions, quarantined accounts;
responder  also contains and restores: runs playbook steps (quarantine, lock, kick, hold...),
           undoes them, releases accounts, ticks the checklist;
admin      everything, including the list of tokens.
"""

from __future__ import annotations

from enum import IntEnum


class Role(IntEnum):
    """A token's role; a higher one includes every lower one."""

    VIEWER = 1
    RESPONDER = 2
    ADMIN = 3

    @property
    def label(self) -> str:
        """The name people write: ``viewer``, ``responder``, ``admin``."""
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Role:
        """The role named ``text`` (any case); ValueError naming the roles otherwise."""
        for role in cls:
            if role.label == text.strip().lower():
                return role
        raise ValueError(f"unknown role {text[:40]!r}; the roles are: {', '.join(LABELS)}")


LABELS = tuple(role.label for role in Role)
