"""The burst sent from the page, without a server: where it may go, its checks, its summary and figure.

Invariants: only loopback hosts are accepted (the sandbox never sends traffic elsewhere), with a sentence
saying why a URL is refused; a refused URL sends nothing; the summary collapses runs of one status.
"""

from __future__ import annotations

import re

import pytest

from lessons.distributed_rate_limiting import burst_summary
from sdcore.charts.distributed import burst_figure
from sdcore.charts.style import BAD, GOOD
from sdcore.ratelimit.live.burst import BurstRow, ExampleApiServer, check_local_url, send_burst


@pytest.mark.parametrize(
    ("url", "sent_to"),
    [
        ("http://127.0.0.1:8000/search", "http://127.0.0.1:8000/search"),
        ("  http://localhost:8000/search?q=x  ", "http://localhost:8000/search?q=x"),
        ("https://[::1]:8443/feed", "https://[::1]:8443/feed"),
        ("http://127.0.0.2:9000", "http://127.0.0.2:9000/"),
        ("http://127.0.0.1:8000/search#frag", "http://127.0.0.1:8000/search"),
    ],
)
def test_loopback_urls_are_accepted(url, sent_to):
    assert check_local_url(url) == sent_to


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://10.0.0.1/search", "refused: the API URL's host '10.0.0.1' is not this machine"),
        ("http://example.com/search", "refused: the API URL's host 'example.com' is not this machine"),
        ("http://192.168.1.10:8000/", "not this machine"),
        ("http://[2001:db8::1]:8000/", "not this machine"),
        ("http://localhost.example.com/", "not this machine"),
        ("ftp://127.0.0.1/search", "must start with http:// or https://"),
        ("127.0.0.1:8000/search", "must start with http:// or https://"),
        ("http://user:pw@127.0.0.1:8000/", "user or password"),
        ("http://127.0.0.1:99999/", "port that is not a number"),
        ("http://127.0.0.1:0/", "port 0"),
        ("http:///search", "names no host"),
        ("", "empty value"),
    ],
)
def test_other_urls_are_refused_with_a_reason(url, words):
    with pytest.raises(ValueError, match=re.escape(words)):
        check_local_url(url)


def test_a_refused_url_sends_nothing():
    with pytest.raises(ValueError, match="not this machine"):
        send_burst("http://example.com/search", 3)


@pytest.mark.parametrize(
    ("kwargs", "word"),
    [({"n": 0}, "n must"), ({"n": 201}, "n must"), ({"timeout": 0}, "timeout"), ({"timeout": 60}, "timeout")],
)
def test_burst_parameters_are_bounded(kwargs, word):
    with pytest.raises(ValueError, match=word):
        send_burst("http://127.0.0.1:1/", **kwargs)


def test_example_api_settings_are_checked():
    with pytest.raises(ValueError, match="port"):
        ExampleApiServer(70000)
    with pytest.raises(ValueError, match="policy"):
        ExampleApiServer(policy="sometimes")
    with pytest.raises(ValueError, match="redis://"):
        ExampleApiServer(redis_url="http://127.0.0.1:6379")


ROWS = [BurstRow(i, i * 2.0, 1.0, 200, "10", str(10 - i)) for i in range(1, 11)] + [
    BurstRow(i, i * 2.0, 1.0, 429, "10", "0", "59", "endpoint=/search > remote_address")
    for i in range(11, 14)
]


def test_summary_and_rows():
    assert burst_summary(ROWS) == "200 × 10 → 429 × 3"
    gone = [*ROWS[:2], BurstRow(3, 5.0, 1000.0, None, error="ReadTimeout")]
    assert burst_summary(gone) == "200 × 2 → no answer × 1"
    row = ROWS[-1].row()
    assert row["status"] == "429" and row["Retry-After"] == "59" and row["decided by"].startswith("endpoint=")
    assert gone[-1].row()["status"] == "no answer" and gone[-1].row()["decided by"] == "ReadTimeout"


def test_burst_figure_colours_by_status():
    """A grey line of X-Ratelimit-Remaining, then one marker trace per status: green 200s, red 429s."""
    fig = burst_figure(ROWS)
    line, ok, limited = fig.data
    assert line.name == "remaining" and list(line.y) == [float(max(0, 10 - i)) for i in range(1, 14)]
    assert ok.name == "200" and ok.marker.color == GOOD and list(ok.x) == list(range(1, 11))
    assert limited.name == "429" and limited.marker.color == BAD and list(limited.x) == [11, 12, 13]
    assert list(limited.y) == [0.0, 0.0, 0.0] and list(limited.text) == ["429"] * 3
    gone = burst_figure([BurstRow(1, 0.0, 1000.0, None, error="ReadTimeout")])
    assert gone.data[1].name == "no answer" and gone.data[1].marker.symbol == "circle-open"
    with pytest.raises(ValueError, match="at least one"):
        burst_figure([])
