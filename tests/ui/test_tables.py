"""Fitted tables: labels and printf formats shown, raw values kept, the index hidden."""

from __future__ import annotations

import pandas as pd

from ui.tables import frame, styled


def test_styled_shows_labels_and_formats_and_keeps_the_values():
    df = pd.DataFrame({"algorithm": ["a", "b"], "admitted_pct": [51.234, float("nan")], "n": [3, 4]})
    s = styled(df, {"admitted_pct": ("admitted %", "%.1f%%"), "n": ("count", None)})
    html = s.to_html()
    assert list(s.data.columns) == ["algorithm", "admitted %", "count"]
    assert "51.2%" in html and "51.234" not in html  # the format, not the raw number, is shown
    assert s.data["admitted %"].iloc[0] == 51.234  # the data keeps the raw value
    assert "nan" not in html.lower()  # a missing value shows as blank
    assert s.hidden_rows == [] and s.hide_index_ == [True]


def test_frame_takes_rows_of_dicts_in_the_order_given():
    got = frame([{"b": 1, "a": 2}], ["a", "b"])
    assert list(got.columns) == ["a", "b"] and got.iloc[0].tolist() == [2, 1]


def test_numbers_without_a_format_read_as_the_grid_showed_them():
    """The Styler's default printed 15.800000; a count reads with thousands separators; text is untouched."""
    df = pd.DataFrame(
        {"name": ["push"], "ms": [15.8], "writes": [1234567], "tiny": [0.0000123], "ok": [True]}
    )
    html = styled(df).to_html()
    assert ">15.8<" in html and "15.800000" not in html
    assert ">1,234,567<" in html
    assert ">0.000012<" in html and "e-05" not in html
    assert ">push<" in html and ">True<" in html
