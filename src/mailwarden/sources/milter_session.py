"""One milter connection's state: the negotiation, the envelope and the message it collects.

No I/O: :meth:`Session.receive` takes a packet and says what to write back, whether a
message is complete and waits for a decision (then :meth:`Session.finish` encodes it), or
whether the connection must close. The message is collected up to ``max_message_bytes``
(header fields as ``Name: value`` lines and the body, CRLF line ends); what comes beyond is
counted, not kept, and the message is marked truncated.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter_codec import MilterProtocolError, Packet

# What we ask of the MTA: add and delete header fields, quarantine; no HELO, DATA, EOH or
# unknown-command events; no replies to CONNECT, MAIL, RCPT and each header; SKIP understood.
WANT_ACTIONS = mc.F_ADDHDRS | mc.F_CHGHDRS | mc.F_QUARANTINE
WANT_PROTOCOL = (mc.P_NOHELO | mc.P_NODATA | mc.P_NOEOH | mc.P_NOUNKNOWN | mc.P_NR_CONN
                 | mc.P_NR_MAIL | mc.P_NR_RCPT | mc.P_NR_HDR | mc.P_SKIP)
MAX_RECIPIENTS = 1000
MAX_WATCHED = 1000  # distinct watched header names counted per message
CONNECTION_STAGES = (mc.CONNECT, mc.HELO)


@dataclass(slots=True)
class MilterMessage:
    """What was collected of one message, for the handler."""

    mail_from: str = ""
    recipients: tuple[str, ...] = ()
    raw: bytes = b""
    size: int = 0  # bytes of the message seen, also beyond the bound
    truncated: bool = False
    watched: dict[str, tuple[str, int]] = field(default_factory=dict)  # lower -> (name, count)
    queue_id: str = ""
    client_address: str = ""
    client_name: str = ""
    auth_user: str = ""


@dataclass(slots=True)
class MilterActions:
    """What the handler decided for one message. ``delete_headers`` names fields to remove
    (every instance), ``quarantine`` (non-empty) holds the message with that reason,
    ``reply`` (``4xx``/``5xx`` text) refuses it; otherwise it is accepted."""

    add_headers: list[tuple[str, str]] = field(default_factory=list)
    delete_headers: list[tuple[str, int]] = field(default_factory=list)  # (name, count)
    quarantine: str = ""
    reply: str = ""


@dataclass(slots=True)
class Step:
    """What to do after a packet: write ``reply``; decide ``message``; or close."""

    reply: bytes = b""
    message: MilterMessage | None = None
    close: bool = False


class Session:
    """The protocol state of one connection from the MTA."""

    def __init__(self, max_message_bytes: int, watch: tuple[str, ...] = ()) -> None:
        self.max_message_bytes = max_message_bytes
        self.watch = tuple(w.lower() for w in watch)
        self.negotiated: mc.OptNeg | None = None
        self.macros: dict[bytes, dict[str, str]] = {}
        self.client = mc.Connect("", "U", 0, "")
        self._reset_message()

    def _reset_message(self) -> None:
        self.mail_from = ""
        self.recipients: list[str] = []
        self.headers = bytearray()
        self.body = bytearray()
        self.size = 0
        self.truncated = False
        self.watched: dict[str, tuple[str, int]] = {}

    def _end_message(self) -> None:
        """Forget the message and its macros (the connection's stay)."""
        self._reset_message()
        for stage in [s for s in self.macros if s not in CONNECTION_STAGES]:
            del self.macros[stage]

    # --- packets --------------------------------------------------------------------------

    def receive(self, packet: Packet) -> Step:
        """Handle one packet from the MTA (raises MilterProtocolError on a bad one)."""
        code = packet.code
        if code not in mc.COMMANDS:
            raise MilterProtocolError(f"unknown command {code!r}")
        if code == mc.OPTNEG:
            return Step(self._negotiate(mc.parse_optneg(packet.data)))
        if self.negotiated is None:
            raise MilterProtocolError(f"command {code!r} before option negotiation")
        if code == mc.BODYEOB:
            self._body(packet.data)
            return Step(message=self._message())
        if code in (mc.QUIT, mc.QUIT_NC):
            self._end_message()
            if code == mc.QUIT_NC:
                self.macros.clear()
                self.client = mc.Connect("", "U", 0, "")
            return Step(close=code == mc.QUIT)
        handled = self._event(code, packet.data)
        if handled is not None:
            return handled
        return Step(self._continue(code))

    def _event(self, code: bytes, data: bytes) -> Step | None:
        if code == mc.MACRO:
            stage, values = mc.parse_macros(data)
            self.macros.setdefault(stage, {}).update(values)
            return Step()
        if code == mc.ABORT:
            self._end_message()
            return Step()
        if code == mc.CONNECT:
            self.client = mc.parse_connect(data)
        elif code == mc.MAIL:
            self._reset_message()
            self.mail_from = mc.address(mc.parse_args(data, "MAIL")[0])
        elif code == mc.RCPT:
            rcpt = mc.address(mc.parse_args(data, "RCPT")[0])
            if len(self.recipients) < MAX_RECIPIENTS:
                self.recipients.append(rcpt)
        elif code == mc.HEADER:
            self._header(*mc.parse_header(data))
        elif code == mc.BODY:
            self._body(data)
            if self.truncated and self._agreed(mc.P_SKIP) and not self._agreed(mc.P_NR_BODY):
                return Step(mc.encode(mc.R_SKIP))
        return None

    def _continue(self, code: bytes) -> bytes:
        """CONTINUE, unless the negotiation said this command gets no reply."""
        flag = mc.NO_REPLY.get(code, 0)
        return b"" if flag and self._agreed(flag) else mc.encode(mc.R_CONTINUE)

    # --- negotiation ----------------------------------------------------------------------

    def _negotiate(self, offer: mc.OptNeg) -> bytes:
        if offer.version < 2:
            raise MilterProtocolError(f"OPTNEG: protocol version {offer.version} is too old")
        version = min(offer.version, mc.VERSION)
        self.negotiated = mc.OptNeg(version, WANT_ACTIONS & offer.actions,
                                    WANT_PROTOCOL & offer.protocol)
        return mc.optneg_reply(version, self.negotiated.actions, self.negotiated.protocol)

    def _agreed(self, flag: int) -> bool:
        return self.negotiated is not None and bool(self.negotiated.protocol & flag)

    def may(self, action: int) -> bool:
        """Whether the MTA allows this action (SMFIF_*)."""
        return self.negotiated is not None and bool(self.negotiated.actions & action)

    # --- the message ----------------------------------------------------------------------

    def _take(self, size: int) -> bool:
        """Count ``size`` more bytes of the message; False when they no longer fit."""
        self.size += size
        if self.size > self.max_message_bytes:
            self.truncated = True
            return False
        return True

    def _header(self, name: bytes, value: bytes) -> None:
        lowered = mc.text(name, 200).lower()
        if any(lowered.startswith(w) for w in self.watch):
            shown, count = self.watched.get(lowered, (mc.text(name, 200), 0))
            if lowered in self.watched or len(self.watched) < MAX_WATCHED:
                self.watched[lowered] = (shown, count + 1)
        line = name + b": " + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
        if self._take(len(line)):
            self.headers += line

    def _body(self, data: bytes) -> None:
        if data and self._take(len(data)):
            self.body += data

    def _message(self) -> MilterMessage:
        """The message just ended, for a decision (the state is kept until ``finish``)."""
        macros: dict[str, str] = {}
        for values in self.macros.values():
            macros.update(values)
        return MilterMessage(
            self.mail_from, tuple(self.recipients), bytes(self.headers) + b"\r\n" + self.body,
            self.size, self.truncated, dict(self.watched), macros.get("i", ""),
            self.client.address, self.client.hostname, macros.get("auth_authen", ""))

    def finish(self, actions: MilterActions) -> bytes:
        """The end-of-message reply: edits the MTA allows, then the final answer; the next
        message starts afresh."""
        self._end_message()
        out = bytearray()
        if self.may(mc.F_CHGHDRS):
            for name, count in actions.delete_headers:
                for index in range(count, 0, -1):  # the last first: indexes stay valid
                    out += mc.change_header(index, name, "")
        if self.may(mc.F_ADDHDRS):
            for name, value in actions.add_headers:
                out += mc.add_header(name, value)
        if actions.quarantine and self.may(mc.F_QUARANTINE):
            out += mc.quarantine(actions.quarantine)
        if actions.reply:
            out += mc.reply_code(actions.reply)
        else:
            out += mc.encode(mc.R_CONTINUE)
        return bytes(out)
