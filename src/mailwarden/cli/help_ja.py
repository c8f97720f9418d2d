"""Japanese help on the terminal.

typer prints help with Rich, which breaks lines at spaces only; Japanese has none, so in typer's
tables a long run of it would be cut short with "…". While help is printed in Japanese, Rich may
break a line between any two Japanese characters, except before closing punctuation and small
kana or after an opening bracket (kinsoku), and folds what still does not fit. Neither typer
nor Rich has a setting for it: this swaps two of their internals for the time of one help
page, and leaves them alone when they are not there. typer's own labels on the page
("Arguments", "Options", "[default: ...]", "[required]"...) are put in Japanese the same way
(click's "Usage:" line stays as it is: click's formatter writes it, with no setting).
Imported only to print help in Japanese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from typing import Any

JAPANESE = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
NO_LINE_START = ("、。，．・：；？！）」』】〕］｝〉》ー々"
                 "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
NO_LINE_END = "（「『【〔［｛〈《"
# What Rich keeps on one line: one Japanese character or a run of other characters, with the
# brackets before and the punctuation after that must stay with it, and the spaces after it.
UNIT = re.compile(rf"\s*[{NO_LINE_END}]*(?:[{JAPANESE}]|[^\s{JAPANESE}]+)[{NO_LINE_START}]*\s*")

# typer's own labels on a help page (typer.rich_utils constants), in Japanese.
LABELS_JA = {
    "ARGUMENTS_PANEL_TITLE": "引数",
    "OPTIONS_PANEL_TITLE": "オプション",
    "COMMANDS_PANEL_TITLE": "コマンド",
    "DEFAULT_STRING": "[既定: {}]",
    "REQUIRED_LONG_STRING": "[必須]",
    "ENVVAR_STRING": "[環境変数: {}]",
    "DEPRECATED_STRING": "(非推奨) ",
}


@contextmanager
def japanese_wrapping() -> Iterator[None]:
    """Within it (one help page in Japanese), Japanese text is wrapped as Japanese is, and
    typer's own labels ("Options", "[default: ...]"...) are in Japanese."""
    with ExitStack() as stack:
        stack.enter_context(rich_wrapping())
        stack.enter_context(japanese_labels())
        yield


@contextmanager
def japanese_labels() -> Iterator[None]:
    """Within it, typer's labels of ``LABELS_JA`` are in Japanese (those typer has)."""
    try:
        from typer import rich_utils
    except ImportError:
        yield
        return
    saved = {name: getattr(rich_utils, name) for name in LABELS_JA
             if isinstance(getattr(rich_utils, name, None), str)}
    for name in saved:
        setattr(rich_utils, name, LABELS_JA[name])
    try:
        yield
    finally:
        for name, value in saved.items():
            setattr(rich_utils, name, value)


@contextmanager
def rich_wrapping() -> Iterator[None]:
    """Within it, Rich wraps Japanese text as Japanese is wrapped."""
    try:
        from rich import _wrap
        from typer import rich_utils
    except ImportError:  # typer without Rich prints help with click's formatter
        yield
        return
    words = getattr(_wrap, "re_word", None)
    make = getattr(rich_utils, "_make_rich_text", None)
    if not isinstance(words, re.Pattern) or make is None:
        yield
        return

    def folded(*args: Any, **kwargs: Any) -> Any:
        text = make(*args, **kwargs)
        if getattr(text, "overflow", "fold") is None:  # rich.text.Text, not Markdown
            text.overflow = "fold"
        return text

    _wrap.re_word, rich_utils._make_rich_text = UNIT, folded
    try:
        yield
    finally:
        _wrap.re_word, rich_utils._make_rich_text = words, make
