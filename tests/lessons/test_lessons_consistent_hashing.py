"""The hashing page's words that follow the run."""

from __future__ import annotations

from lessons.consistent_hashing import SCHEME_LABELS, comparison_caption
from sdcore.hashing.experiment import SchemeRow


def test_a_negative_move_beyond_the_minimum_is_explained_only_when_shown():
    fair = SchemeRow("ring", moved_fraction=0.20, minimum_fraction=0.20, max_over_mean=1.1, cv=0.05)
    lucky = SchemeRow("ring", moved_fraction=0.19, minimum_fraction=0.20, max_over_mean=1.1, cv=0.05)
    assert "negative" not in comparison_caption(1_000, (fair,))
    text = comparison_caption(1_000, (lucky,))
    assert f"slightly negative for {SCHEME_LABELS['ring']}" in text and "never that a scheme beat" in text
    assert text.startswith("On 1,000 keys.")
