"""The registry of built-in inbound signals, in the order their reasons are shown."""

from __future__ import annotations

from mailwarden.inbound.signals.active_document import ActiveDocument
from mailwarden.inbound.signals.authentication import AuthFail
from mailwarden.inbound.signals.base import Context, Signal
from mailwarden.inbound.signals.brand import BrandImpersonation
from mailwarden.inbound.signals.credential_form import CredentialForm
from mailwarden.inbound.signals.display_address import DisplayNameAddress
from mailwarden.inbound.signals.display_org import DisplayNameOrg
from mailwarden.inbound.signals.display_person import DisplayNamePerson
from mailwarden.inbound.signals.double_extension import DoubleExtension
from mailwarden.inbound.signals.encrypted import EncryptedAttachment
from mailwarden.inbound.signals.executable import ExecutableAttachment
from mailwarden.inbound.signals.feed import PhishingFeed
from mailwarden.inbound.signals.freemail import FreemailClaim
from mailwarden.inbound.signals.history_changed import CorrespondentChanged
from mailwarden.inbound.signals.history_first import FirstTimeSender
from mailwarden.inbound.signals.html_redirect import HtmlRedirect
from mailwarden.inbound.signals.idn import IdnHomograph
from mailwarden.inbound.signals.link_ip import LinkIp
from mailwarden.inbound.signals.link_lookalike import LinkLookalike
from mailwarden.inbound.signals.link_shortener import LinkShortener
from mailwarden.inbound.signals.link_text import LinkTextMismatch
from mailwarden.inbound.signals.link_tld import LinkSuspiciousTld
from mailwarden.inbound.signals.link_userinfo import LinkUserinfo
from mailwarden.inbound.signals.lookalike import LookalikeDomain
from mailwarden.inbound.signals.lure import LureLanguage
from mailwarden.inbound.signals.macro import OfficeMacro
from mailwarden.inbound.signals.mime_anomaly import MimeAnomaly
from mailwarden.inbound.signals.nested_archive import NestedArchive
from mailwarden.inbound.signals.own_domain import OwnDomainSpoof
from mailwarden.inbound.signals.payment_change import PaymentChange
from mailwarden.inbound.signals.qr_code import QrCode
from mailwarden.inbound.signals.reply_to import ReplyToMismatch
from mailwarden.inbound.signals.return_path import ReturnPathMismatch
from mailwarden.inbound.signals.smuggling import HtmlSmuggling
from mailwarden.inbound.signals.type_mismatch import TypeMismatch

INBOUND: list[Signal] = [
    # who sends it
    AuthFail(),
    OwnDomainSpoof(),
    DisplayNamePerson(),
    DisplayNameOrg(),
    DisplayNameAddress(),
    BrandImpersonation(),
    FreemailClaim(),
    LookalikeDomain(),
    IdnHomograph(),
    ReplyToMismatch(),
    ReturnPathMismatch(),
    # where its links go
    PhishingFeed(),
    LinkLookalike(),
    LinkTextMismatch(),
    LinkIp(),
    LinkUserinfo(),
    LinkShortener(),
    LinkSuspiciousTld(),
    CredentialForm(),
    HtmlRedirect(),
    QrCode(),
    # what it says
    PaymentChange(),
    LureLanguage(),
    # what it carries
    ExecutableAttachment(),
    DoubleExtension(),
    OfficeMacro(),
    HtmlSmuggling(),
    EncryptedAttachment(),
    ActiveDocument(),
    TypeMismatch(),
    NestedArchive(),
    MimeAnomaly(),
    # what the store remembers
    CorrespondentChanged(),
    FirstTimeSender(),
]

__all__ = ["INBOUND", "Context", "Signal"]
