"""Japanese help on the terminal.

typer prints help with Rich, which breaks lines at spaces only; Japanese has none, so in typer's
tables a long run of it would be cut short with "…". While help is printed in Japanese, Rich may
break a line between any two Japanese characters, except before closing punctuation and small
kana or after an opening bracket (kinsoku), and folds what still does not fit. Neither typer
nor Rich has a setting for it: this swaps two of their internals for the time of one help
page, and leaves them alone when they are not there. Imported only to print help in Japanese.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

JAPANESE = "\u3000-\u303f\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
NO_LINE_START = ("、。，．・：；？！）」』】〕］｝〉》ー々"
                 "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ")
NO_LINE_END = "（「『【〔［｛〈《"
# What Rich keeps on one line: one Japanese character or a run of other characters, with the
# brackets before and the punctuation after that must stay with it, and the spaces after it.
UNIT = re.compile(rf"\s*[{NO_LINE_END}]*(?:[{JAPANESE}]|[^\s{JAPANESE}]+)[{NO_LINE_START}]*\s*")


@contextmanager
def japanese_wrapping() -> Iterator[None]:
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

    def folded(**kwargs: Any) -> Any:
        text = make(**kwargs)
        if getattr(text, "overflow", "fold") is None:  # rich.text.Text, not Markdown
            text.overflow = "fold"
        return text

    _wrap.re_word, rich_utils._make_rich_text = UNIT, folded
    try:
        yield
    finally:
        _wrap.re_word, rich_utils._make_rich_text = words, make
