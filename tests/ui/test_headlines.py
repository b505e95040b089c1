"""Headline rows: as many metrics to a row as fit at 1440 px, spread evenly, never a column too narrow for its
longest text (the browser check is tests/browser/test_layout.py)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from lessons.base import Headline
from ui.headlines import MAIN_PX, column_px, delta_style, needed_px, per_row

texts = st.text(alphabet="abcdefghij :%,.0123456789", min_size=1, max_size=40)
headline = st.builds(
    Headline, label=texts, value=st.text(alphabet="0123456789.,%", min_size=1, max_size=9),
    delta=st.none() | texts, help=st.none() | st.just("why"),
)  # fmt: skip


@given(st.lists(headline, min_size=1, max_size=9))
def test_every_column_is_wide_enough_in_the_fewest_rows(heads):
    k = per_row(heads)
    rows = [heads[i : i + k] for i in range(0, len(heads), k)]
    need = max(needed_px(h) for h in heads)
    assert column_px(k) >= need or k == 1  # nothing is cut (one to a row is the last resort)
    for wider in range(
        k + 1, len(heads) + 1
    ):  # the fewest rows: more to a row would not fit or not save a row
        assert column_px(wider) < need or -(-len(heads) // wider) == len(rows)


def test_the_rate_limiters_six_headlines_go_three_and_three():
    """'Token bucket: admitted' was cut to 'Token bucket: admi…' with six to a row."""
    labels = ["Requests in the trace", "Token bucket: admitted", "Leaking bucket: admitted",
              "Fixed window: admitted", "Sliding log: admitted", "Sliding counter: admitted"]  # fmt: skip
    heads = [Headline(label, "56.1%", help="?") for label in labels]
    assert per_row(heads) == 3
    assert per_row([Headline("Stale gets", "0", help="?")] * 6) == 6  # short ones stay six to a row


def test_a_narrow_container_takes_fewer():
    heads = [Headline("Replicas read-repaired", "0", help="?")] * 4
    assert per_row(heads) == 4 and per_row(heads, width_px=MAIN_PX / 2) == 2


def test_a_change_of_zero_has_no_direction():
    """The breaker's 'Healthy requests failed 0' showed '+0' as a red rise."""
    for delta in ("+0", "+0.0 pts", "-0.00 ms vs A", "+0 vs A"):
        assert delta_style(Headline("x", "1", delta, delta_color="inverse")) == ("off", "off")
    for delta in ("+0.5 points", "+1,000", "-0.01 ms", "+05"):
        assert delta_style(Headline("x", "1", delta, delta_color="inverse")) == ("inverse", "auto")
    assert delta_style(Headline("x", "1", "+3", delta_color="off")) == ("off", "off")
    assert delta_style(Headline("x", "1", "+3"), arrow="off") == ("normal", "off")
