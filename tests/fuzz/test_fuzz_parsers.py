"""Every parser a visitor can reach, fed hostile input: uploads (empty, huge, binary, wrongly encoded, gzip
bombs, malformed rows), rules texts (alias bombs, deep nesting, thousands of rules), timelines and scripts
(thousands of bad lines), edge lists.

Invariant for each: it returns a result or raises ValueError with a sentence; nothing else escapes, its
work is bounded before it is done (a cap refuses oversized input up front), and the error it reports is
bounded in size whatever the input. Derandomized; FUZZ_EXAMPLES sets the number of examples (``make fuzz``
runs a long version).
"""

from __future__ import annotations

import gzip
import os

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sdcore.feed.graph import MAX_EDGE_LIST_BYTES, parse_edge_list
from sdcore.kvstore.lsm import parse_script
from sdcore.kvstore.timeline import MAX_LINES, parse_timeline
from sdcore.ratelimit.rules import parse_rules
from sdcore.ratelimit.traffic import MAX_CSV_BYTES, parse_trace_csv

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "60"))
FUZZ = settings(
    max_examples=EXAMPLES, derandomize=True, deadline=None, suppress_health_check=list(HealthCheck)
)
hostile_text = st.one_of(
    st.text(max_size=400),
    st.text(alphabet=st.sampled_from("[]()!<>*_`#|{}&:,-+\n\t\\ \x00é😀0123456789.e"), max_size=400),
    st.sampled_from(
        [
            "",
            "\x00" * 50,
            "[log in](http://evil.example)",
            "![x](http://evil.example/a.png)",
            "<script>alert(1)</script>",
            "1e309",
            "nan",
            "-inf",
            str(2**80),
            "9" * 5000,
        ]
    ),
)
hostile_bytes = st.one_of(
    st.binary(max_size=2000),
    hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")),
    hostile_text.map(lambda t: t.encode("utf-16")),
)


def _sentence(e: ValueError) -> None:
    text = str(e)
    assert text and len(text) < 20_000  # bounded whatever the input


def _either(fn, *args) -> None:
    try:
        fn(*args)
    except ValueError as e:
        _sentence(e)


@FUZZ
@given(hostile_bytes)
def test_trace_uploads(data):
    _either(parse_trace_csv, data)


@FUZZ
@given(hostile_bytes)
def test_edge_lists(data):
    _either(parse_edge_list, data)


@FUZZ
@given(hostile_text)
def test_rules_texts(text):
    _either(parse_rules, text)


@FUZZ
@given(hostile_text)
def test_timelines(text):
    _either(parse_timeline, text)


@FUZZ
@given(hostile_text)
def test_storage_scripts(text):
    _either(parse_script, text)


def test_oversized_uploads_are_refused_before_parsing():
    with pytest.raises(ValueError, match="MB|bytes|large"):
        parse_trace_csv(b"0.1\n" * (MAX_CSV_BYTES // 4 + 10))
    with pytest.raises(ValueError, match="MB|bytes|large"):
        parse_edge_list(b"1,2\n" * (MAX_EDGE_LIST_BYTES // 4 + 10))


def test_a_gzip_bomb_as_a_csv_upload_is_just_bad_bytes():
    """The CSV parser takes no gzip: a 10 MB-of-zeros bomb (10 KB compressed) is refused as not a trace."""
    bomb = gzip.compress(b"\0" * 10_000_000)
    assert len(bomb) < 20_000
    with pytest.raises(ValueError):
        parse_trace_csv(bomb)


def test_a_hundred_thousand_bad_timeline_lines_report_boundedly():
    """At most MAX_LINES steps are read; the report of bad lines stays small."""
    text = "\n".join(f"{i} frobnicate cart" for i in range(100_000))
    timeline = parse_timeline(text)
    assert len(timeline.steps) <= MAX_LINES
    assert len(timeline.errors) <= MAX_LINES + 1
