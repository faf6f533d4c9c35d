"""Fitting text into a service's length limit without cutting an escape sequence in half.

Services count their limits on the text they receive, so escaping happens first and the cut is
made between escaped characters; a cut text ends in an ellipsis.
"""

from __future__ import annotations

from collections.abc import Callable

ELLIPSIS = "…"


def utf16_len(text: str) -> int:
    """Length in UTF-16 code units, as Telegram and JavaScript-based services count it."""
    return len(text.encode("utf-16-le")) // 2


def fit(
    text: str,
    limit: int,
    escape: Callable[[str], str] = lambda ch: ch,
    measure: Callable[[str], int] = len,
) -> str:
    """`escape(text)`, cut to at most `limit` as `measure` counts, whole escapes only."""
    whole = escape(text)
    if measure(whole) <= limit:
        return whole
    budget = limit - measure(ELLIPSIS)
    kept: list[str] = []
    used = 0
    for char in text:
        piece = escape(char)
        size = measure(piece)
        if used + size > budget:
            break
        kept.append(piece)
        used += size
    return "".join(kept) + ELLIPSIS if budget >= 0 else ""
