"""The text helpers every page's words use: numbers never in scientific notation, plurals right, echoed input
bounded and printable, durations in the unit that reads best; and the one Preset and Param."""

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from lessons.base import Param, Preset, echo, num, pct, plural, preset_table, seconds


@given(st.integers(min_value=-(10**15), max_value=10**15))
def test_whole_numbers_have_thousands_separators_and_read_back(n):
    """num(n) never uses an exponent and parses back to n once the separators are removed."""
    text = num(n)
    assert "e" not in text and int(text.replace(",", "")) == n


@pytest.mark.parametrize(("x", "text"), [(1e6, "1,000,000"), (2147483648.0, "2,147,483,648"), (0.5, "0")])
def test_floats_round_like_a_sentence(x, text):
    assert num(x) == text


def test_non_finite_numbers_are_words_not_nan():
    assert (num(math.nan), num(math.inf), num(-math.inf)) == ("—", "∞", "−∞")
    assert pct(0.0974) == "9.7%" and pct(1.0, 0) == "100%"


@pytest.mark.parametrize(
    ("n", "text"), [(0, "0 points"), (1, "1 point"), (2, "2 points"), (1000, "1,000 points")]
)
def test_plurals(n, text):
    assert plural(n, "point") == text
    assert plural(1, "child", "children") == "1 child" and plural(3, "child", "children") == "3 children"


@given(st.text(max_size=500))
def test_echo_is_bounded_and_printable(text):
    out = echo(text, limit=40)
    assert len(out) <= 40 and out.isprintable()
    if len(text) <= 40 and text.isprintable():
        assert out == text


@pytest.mark.parametrize(
    ("s", "text"),
    [
        (0.00035, "350 µs"),
        (0.0123, "12 ms"),
        (4.25, "4.2 s"),
        (200, "3 min 20 s"),
        (7200, "2.0 h"),
        (3 * 86400, "3.0 days"),
    ],
)
def test_durations(s, text):
    assert seconds(s) == text


def test_preset_values_are_read_only_and_names_unique():
    p = Preset("A", "desc", {"n": 3})
    with pytest.raises(TypeError):
        p.values["n"] = 4  # type: ignore[index]
    assert p.params is p.values
    with pytest.raises(ValueError, match="unique"):
        preset_table((p, Preset("A", "again")))


def test_param_parses_url_text_and_refuses_out_of_range():
    p = Param("n", 3, lo=1, hi=7)
    assert p.parse("5") == 5 and p.encode(5) == "5"
    with pytest.raises(ValueError, match="between 1 and 7"):
        p.parse("9")
    multi = Param("v", ["a"], options=("a", "b"), multi=True)
    assert multi.parse("a,b,a,,b") == ["a", "b"]  # repeats count once
    assert Param("m", "a", options=("a", "b"), labels={"a": "Alpha"}).format("a") == "Alpha"
    assert (Param("x", 1.0).widget_kind(), Param("t", True).widget_kind(), Param("s", "").widget_kind()) == (
        "number",
        "toggle",
        "text",
    )


def test_a_link_notice_states_big_bounds_in_plain_digits():
    """A seed out of range said "must be between 0 and 2.14748e+09"."""
    with pytest.raises(ValueError) as e:
        Param("seed", 0, lo=0, hi=2**31 - 1).parse("-5")
    assert str(e.value) == "must be between 0 and 2,147,483,647"


@given(st.floats(min_value=-1e12, max_value=1e12, allow_nan=False))
def test_a_float_in_a_link_reads_back_exactly(x):
    """Floats went into links as '%g', six digits: 1234567.0 came back as 1234570."""
    p = Param("x", 1.0)
    assert p.parse(p.encode(x)) == x
    assert p.encode(0.5) == "0.5" and p.encode(100.0) == "100"  # the short form links always had


@pytest.mark.parametrize(
    "hostile",
    ["[log in again](http://evil.example)", "![x](http://evil.example/a.png)", "<b>x</b>", "a`b``c", "*x*"],
)
def test_md_text_puts_user_input_in_a_code_span(hostile):
    """Whatever the input, the result is one code span holding it verbatim: no markdown link, image or
    emphasis can form (a code span's content is literal)."""
    from lessons.base import md_text

    out = md_text(hostile)
    fence = out[: len(out) - len(out.lstrip("`"))]
    assert out.endswith(fence) and fence not in out[len(fence) : -len(fence)]
    assert out[len(fence) : -len(fence)].strip() == hostile


@pytest.mark.parametrize(
    ("hostile", "forbidden"),
    [
        ("[log in](http://evil.example)", "](http://"),
        ("![x](y)", "!["),
        ("<img src=x>", "<img"),
        ("www.evil.example", "www.evil"),
    ],
)
def test_md_escape_leaves_no_link_image_or_tag(hostile, forbidden):
    import re

    from lessons.base import md_escape

    assert not re.search(r"(?<!\\)" + re.escape(forbidden), md_escape(hostile))  # only escaped, if at all
    assert md_escape("node D is not in this cluster of 3 (A–C)") == "node D is not in this cluster of 3 (A–C)"
