"""The registry of login signals. Their names are stable: SIEM rules are built on them."""

from __future__ import annotations

from mailwarden.engine.logins.signals.after_failures import LoginAfterFailures
from mailwarden.engine.logins.signals.base import Finding, LoginContext, LoginSignal
from mailwarden.engine.logins.signals.brute_force import BruteForceAccount, BruteForceAddress
from mailwarden.engine.logins.signals.habits import DeniedAddress, LegacyAuth, UnusualLoginHour
from mailwarden.engine.logins.signals.location import (
    ForeignLogin,
    NewCountry,
    NewDevice,
    NewNetwork,
)
from mailwarden.engine.logins.signals.spray import PasswordSpray
from mailwarden.engine.logins.signals.travel import ImpossibleTravel

LOGIN_SIGNALS: list[LoginSignal] = [
    DeniedAddress(),
    BruteForceAddress(),
    BruteForceAccount(),
    PasswordSpray(),
    LoginAfterFailures(),
    ForeignLogin(),
    NewCountry(),
    NewNetwork(),
    NewDevice(),
    ImpossibleTravel(),
    UnusualLoginHour(),
    LegacyAuth(),
]

__all__ = ["LOGIN_SIGNALS", "Finding", "LoginContext", "LoginSignal"]
