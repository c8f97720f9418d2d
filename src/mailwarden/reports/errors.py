"""What went wrong with a report file, or what was noticed while reading it, in both languages."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from mailwarden.reports.messages import render

SHOWN_VALUE = 160  # characters of an untrusted value quoted back in a message


def shown(value: object) -> str:
    """An untrusted value as it may appear in a message: printable and short."""
    text = "".join(ch if ch.isprintable() else "\ufffd" for ch in str(value))
    return text if len(text) <= SHOWN_VALUE else text[:SHOWN_VALUE] + "…"


@dataclass(frozen=True, slots=True)
class Note:
    """A sentence by key with its values: an error's reason or a warning."""

    key: str
    params: tuple[tuple[str, str], ...] = ()

    @classmethod
    def of(cls, key: str, **params: Any) -> Note:
        return cls(key, tuple((k, shown(v)) for k, v in params.items()))

    def text(self, lang: str = "en") -> str:
        return render(self.key, lang, **dict(self.params))

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.key, **dict(self.params), "en": self.text("en"),
                "ja": self.text("ja")}


class ReportError(ValueError):
    """A file (or one report in it) that cannot be imported; says what and where."""

    def __init__(self, key: str, **params: Any) -> None:
        self.note = Note.of(key, **params)
        super().__init__(self.note.text("en"))

    def text(self, lang: str = "en") -> str:
        return self.note.text(lang)

    def to_dict(self) -> dict[str, Any]:
        return self.note.to_dict()


@dataclass
class Notes:
    """Warnings gathered while reading one report: the same kind is kept once, with a count."""

    limit: int = 20
    first: dict[str, Note] = field(default_factory=dict)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, key: str, **params: Any) -> None:
        self.counts[key] = self.counts.get(key, 0) + 1
        if key not in self.first and len(self.first) < self.limit:
            self.first[key] = Note.of(key, **params)

    def extend(self, notes: tuple[Note, ...]) -> None:
        for note in notes:
            self.add(note.key, **dict(note.params))

    def snapshot(self) -> tuple[dict[str, Note], dict[str, int]]:
        return dict(self.first), dict(self.counts)

    def restore(self, saved: tuple[dict[str, Note], dict[str, int]]) -> None:
        self.first, self.counts = dict(saved[0]), dict(saved[1])

    def done(self) -> tuple[Note, ...]:
        """The warnings, each followed by how many more of its kind were seen."""
        out: list[Note] = []
        for key, note in self.first.items():
            more = self.counts[key] - 1
            out.append(note if not more else Note(
                note.key, (*note.params, ("more", str(more)))))
        return tuple(out)


def note_text(note: Note, lang: str) -> str:
    """A warning with its repeat count, as one line."""
    params = dict(note.params)
    text = note.text(lang)
    if "more" in params:
        text += " " + render("warn.repeated", lang, count=params["more"])
    return text
