"""Text is cut to a limit between whole escapes, with an ellipsis."""

from __future__ import annotations

from rebalancer.notify.slack import escape_mrkdwn
from rebalancer.notify.text import fit, utf16_len


def test_short_text_is_only_escaped() -> None:
    assert fit("a<b", 10, escape_mrkdwn) == "a&lt;b"


def test_long_text_is_cut_with_an_ellipsis() -> None:
    assert fit("abcdef", 4) == "abc…"


def test_a_cut_never_splits_an_escape() -> None:
    cut = fit("ab&&&&", 8, escape_mrkdwn)
    assert cut == "ab&amp;…"
    assert len(cut) <= 8


def test_utf16_length_counts_astral_characters_twice() -> None:
    assert utf16_len("a🚀") == 3
    assert utf16_len(fit("🚀" * 10, 5, measure=utf16_len)) <= 5
