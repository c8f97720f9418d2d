"""One milter connection's state: the negotiation, the envelope and the message it collects.

No I/O: :meth:`Session.receive` takes a packet and says what to write back, whether a
message is complete and waits for a decision (then :meth:`Session.finish` encodes it), or
whether the connection must close. The message is collected into one buffer (header fields as
``Name: value`` lines, an empty line, the body; CRLF line ends) up to ``max_message_bytes``
and as long as the milter's shared memory budget has room; from the first chunk that does not
fit on, the rest is counted, not kept, and the message is marked truncated. The buffer becomes
the message's ``raw`` without a copy; the message then holds its bytes of the budget until
:meth:`MilterMessage.release`.
"""

from __future__ import annotations

import io
import sys
from dataclasses import dataclass, field

from mailwarden.sources import milter_codec as mc
from mailwarden.sources.milter_budget import Hold, MemoryBudget
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
    over_budget: bool = False  # truncated because the memory budget was full
    hold: Hold | None = field(default=None, repr=False, compare=False)

    def release(self) -> None:
        """Give the bytes of ``raw`` back to the memory budget (when done with them)."""
        if self.hold is not None:
            self.hold.release()


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

    def __init__(self, max_message_bytes: int, watch: tuple[str, ...] = (),
                 budget: MemoryBudget | None = None) -> None:
        self.max_message_bytes = max_message_bytes
        self.watch = tuple(w.lower() for w in watch)
        self.budget = budget if budget is not None else MemoryBudget(sys.maxsize)
        self.negotiated: mc.OptNeg | None = None
        self.macros: dict[bytes, dict[str, str]] = {}
        self.client = mc.Connect("", "U", 0, "")
        self.hold = self.budget.hold()
        self._reset_message()

    def _reset_message(self) -> None:
        """Drop the message being collected; its bytes go back to the budget."""
        self.hold.release()
        self.mail_from = ""
        self.recipients: list[str] = []
        self.buffer = io.BytesIO()  # getvalue() hands its bytes over without a copy
        self.in_body = False
        self.size = 0
        self.truncated = False
        self.over_budget = False
        self.watched: dict[str, tuple[str, int]] = {}

    @property
    def kept(self) -> int:
        """Bytes of the message collected so far (what it holds of the budget)."""
        return self.hold.size

    def close(self) -> None:
        """The connection is gone: drop the message being collected."""
        self._reset_message()

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
            self._macros(*mc.parse_macros(data))
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

    def _macros(self, stage: bytes, values: dict[str, str]) -> None:
        """Keep the macros of a command (a stage), at most MAX_MACROS names each: a peer
        sending MACRO after MACRO with new names (or stages) does not grow the connection."""
        if stage not in mc.COMMANDS:
            return
        kept = self.macros.setdefault(stage, {})
        for name, value in values.items():
            if name in kept or len(kept) < mc.MAX_MACROS:
                kept[name] = value

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
        """Count ``size`` more bytes of the message; False when they are not to be kept:
        beyond ``max_message_bytes``, over the memory budget, or after either."""
        self.size += size
        if self.truncated:
            return False
        if self.size > self.max_message_bytes:
            self.truncated = True
            return False
        if not self.hold.grow(size):
            self.truncated = self.over_budget = True
            self.budget.note_truncated()
            return False
        return True

    def _header(self, name: bytes, value: bytes) -> None:
        lowered = mc.text(name, 200).lower()
        if any(lowered.startswith(w) for w in self.watch):
            shown, count = self.watched.get(lowered, (mc.text(name, 200), 0))
            if lowered in self.watched or len(self.watched) < MAX_WATCHED:
                self.watched[lowered] = (shown, count + 1)
        line = name + b": " + value.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
        if self.in_body:  # a field after the body (no MTA sends one): counted, not kept
            self.size += len(line)
        elif self._take(len(line)):
            self.buffer.write(line)

    def _end_header(self) -> None:
        if not self.in_body:
            self.in_body = True
            self.buffer.write(b"\r\n")  # two bytes, not counted

    def _body(self, data: bytes) -> None:
        if data:
            self._end_header()
            if self._take(len(data)):
                self.buffer.write(data)

    def _message(self) -> MilterMessage:
        """The message just ended, for a decision. It takes the buffer and its hold on the
        budget (release it when done); the envelope and macros stay until ``finish``."""
        self._end_header()
        macros: dict[str, str] = {}
        for values in self.macros.values():
            macros.update(values)
        raw = self.buffer.getvalue()  # CPython: the buffer's own bytes object, no copy
        self.buffer = io.BytesIO()
        message = MilterMessage(
            self.mail_from, tuple(self.recipients), raw, self.size, self.truncated,
            dict(self.watched), macros.get("i", ""), self.client.address,
            self.client.hostname, macros.get("auth_authen", ""), self.over_budget, self.hold)
        self.hold = self.budget.hold()
        return message

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
