"""The registry of built-in outbound signals, in the order their reasons are shown."""

from __future__ import annotations

from mailwarden.engine.signals.base import Context, Reason, Signal
from mailwarden.engine.signals.bounces import Bounces
from mailwarden.engine.signals.foreign_country import ForeignCountry
from mailwarden.engine.signals.hourly_profile import HourlyProfile
from mailwarden.engine.signals.login_risk import LoginRisk
from mailwarden.engine.signals.new_network import NewNetwork
from mailwarden.engine.signals.new_sender import NewSender
from mailwarden.engine.signals.rate import Rate
from mailwarden.engine.signals.recipients import RecipientsPerMessage
from mailwarden.engine.signals.unknown_recipients import UnknownRecipients
from mailwarden.engine.signals.unusual_hour import UnusualHour

OUTBOUND: list[Signal] = [
    Rate(),
    RecipientsPerMessage(),
    HourlyProfile(),
    ForeignCountry(),
    NewNetwork(),
    UnusualHour(),
    NewSender(),
    UnknownRecipients(),
    LoginRisk(),
    Bounces(),
]

__all__ = ["OUTBOUND", "Context", "Reason", "Signal"]
