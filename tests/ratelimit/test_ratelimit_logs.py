"""Access logs as traces: hand-written Common/Combined lines, a generated log of a million lines, gzip,
gzip bombs and files that are no log at all."""

from __future__ import annotations

import gzip
import zlib
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import parse_trace, parse_trace_csv
from sdcore.ratelimit.logs import FORMATS, LIMIT_BY, endpoint_of, limit_keys

CLF = b'127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326\n'
COMBINED = (
    b'203.0.113.9 - - [10/Oct/2000:13:55:37 -0700] "POST /api/login?next=/home HTTP/1.1" 302 - '
    b'"http://example.com/start page" "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0"\n'
)


def test_common_log_format_line_hand_checked():
    """The Apache documentation's example line: host, UTC start (13:55:36 at -0700 is 20:55:36 UTC),
    method, path, status; no user agents in the Common Log Format."""
    tr = parse_trace(CLF)
    assert tr.format == "common" and len(tr) == 1 and tr.keys.tolist() == ["127.0.0.1"]
    assert tr.start == datetime(2000, 10, 10, 20, 55, 36, tzinfo=UTC)
    assert tr.timestamps.tolist() == [0.0]
    assert (tr.method_table[tr.methods[0]], tr.path_table[tr.paths[0]], int(tr.statuses[0])) == (
        "GET",
        "/apache_pb.gif",
        200,
    )
    assert tr.user_agents is None and tr.malformed == 0 and not tr.compressed


def test_combined_lines_with_zones_ipv6_spaces_and_dash_sizes():
    """Zones on both sides of UTC, an IPv6 host, quoted fields holding spaces and an escaped quote, a size
    of '-': every field read as written, times converted to seconds since the first request in UTC."""
    log = (
        COMBINED
        + b'2001:db8::7 - - [10/Oct/2000:21:25:40 +0530] "GET /a/b HTTP/2.0" 404 0 "-" "curl/8.5.0"\n'
        + b'::1 - - [10/Oct/2000:20:55:38 +0000] "GET /a/c HTTP/1.1" 500 - "-" "say \\"hi\\" bot"\n'
    )
    tr = parse_trace(log)
    assert tr.format == "combined"
    # 21:25:40 +0530 is 15:55:40 UTC: five hours before the others, so it comes first.
    first = datetime(2000, 10, 10, 15, 55, 40, tzinfo=UTC)
    assert tr.start == first
    assert tr.timestamps.tolist() == [0.0, 5 * 3600 - 3.0, 5 * 3600 - 2.0]
    assert tr.keys.tolist() == ["2001:db8::7", "203.0.113.9", "::1"]
    assert [tr.path_table[p] for p in tr.paths] == ["/a/b", "/api/login", "/a/c"]
    assert [tr.method_table[m] for m in tr.methods] == ["GET", "POST", "GET"]
    assert tr.statuses.tolist() == [404, 302, 500]
    agents = [tr.user_agent_table[a] for a in tr.user_agents]
    assert agents == ["curl/8.5.0", "Mozilla/5.0 (X11; Linux x86_64) Firefox/120.0", 'say "hi" bot']
    assert tr.reordered and any("not logged in time order" in n for n in tr.notices)


def test_behind_a_proxy_the_client_is_the_first_forwarded_address():
    """nginx's main format logs X-Forwarded-For last: with behind_proxy the client is its first address
    (the host where the field is '-'); without, the proxy's address."""
    log = (
        b'10.0.0.2 - - [01/Mar/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "198.51.100.7, 10.0.0.1"\n'
        b'10.0.0.2 - - [01/Mar/2024:00:00:01 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "-"\n'
        b'10.0.0.2 - - [01/Mar/2024:00:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "ua" "2001:db8::1"\n'
    )
    assert parse_trace(log).keys.tolist() == ["10.0.0.2"] * 3
    tr = parse_trace(log, behind_proxy=True)
    assert tr.keys.tolist() == ["198.51.100.7", "10.0.0.2", "2001:db8::1"]
    assert any("1 request has no X-Forwarded-For" in n for n in tr.notices)
    plain = parse_trace(CLF, behind_proxy=True)
    assert any("no X-Forwarded-For field" in n for n in plain.notices)


def test_malformed_lines_are_skipped_counted_and_shown_with_line_numbers():
    """Junk lines, a date that does not exist (31 Feb) and a truncated line are skipped; blank lines are
    not counted; the examples give the line numbers a text editor shows."""
    log = (
        CLF
        + b"\n"
        + b"this is not a log line\n"
        + b'10.0.0.1 - - [31/Feb/2024:00:00:00 +0000] "GET / HTTP/1.1" 200 5\n'
        + b'10.0.0.1 - - [01/Mar/2024:00:00:00 +0000] "GET / HTT\n'
        + CLF
    )
    tr = parse_trace(log)
    assert len(tr) == 2 and tr.malformed == 3
    assert [n for n, _ in tr.malformed_examples] == [3, 4, 5]
    assert tr.malformed_examples[0][1] == "this is not a log line"
    assert "3 lines were not access-log lines" in tr.notices[0]


def line(host: str, when: datetime, path: str, status: int, agent: str) -> str:
    stamp = when.strftime("%d/%b/%Y:%H:%M:%S +0000")
    return f'{host} - - [{stamp}] "GET {path}?q=1 HTTP/1.1" {status} 512 "-" "{agent}"'


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(
        st.tuples(
            st.integers(0, 30),
            st.integers(0, 86_400 * 3),
            st.sampled_from(["/", "/api/v1/items", "/static/app.js"]),
            st.sampled_from([200, 304, 404, 503]),
            st.sampled_from(["curl/8", "Mozilla/5.0 (X11)", 'a \\"quoted\\" agent']),
            st.sampled_from(["", " ", "\t", "\r"]),
        ),
        min_size=1,
        max_size=60,
    )
)
def test_the_fast_path_and_the_regular_expression_read_lines_alike(rows):
    """Lines of the canonical shape are read by numpy alone, others (trailing spaces or tabs, CRLF,
    escaped quotes) by the regular expression: a log mixing both gives, per request, exactly the fields
    written, in file order within a second."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    text = "\n".join(
        line(f"10.0.0.{h}", base + timedelta(seconds=s), p, st_, a) + tail for h, s, p, st_, a, tail in rows
    )
    tr = parse_trace(text.encode())
    order = sorted(range(len(rows)), key=lambda i: (rows[i][1], i))
    assert tr.keys.tolist() == [f"10.0.0.{rows[i][0]}" for i in order]
    first = min(r[1] for r in rows)
    assert tr.timestamps.tolist() == [float(rows[i][1] - first) for i in order]
    assert tr.start == base + timedelta(seconds=first)
    assert [tr.path_table[p] for p in tr.paths] == [rows[i][2] for i in order]
    assert tr.statuses.tolist() == [rows[i][3] for i in order]
    assert [tr.user_agent_table[a] for a in tr.user_agents] == [rows[i][4].replace("\\", "") for i in order]
    assert tr.malformed == 0


def generated_log(days: int = 20, per_day: int = 50_000) -> tuple[bytes, int, int]:
    """A log of days * per_day lines: per day, one request per client slot at known seconds (a block built
    once, its day field replaced), clients 10.<a>.<b>.<c> from 12,500 distinct hosts."""
    rng = np.random.default_rng(0)
    secs = np.sort(rng.integers(0, 86_400, per_day))
    hosts = rng.integers(0, 12_500, per_day)
    paths = ("/", "/api/v1/items", "/api/v1/users/42", "/login")
    block = "".join(
        f"10.{h // 65536}.{(h // 256) % 256}.{h % 256} - - [@@/Mar/2024:{s // 3600:02d}:{s // 60 % 60:02d}:"
        f'{s % 60:02d} +0000] "GET {paths[h % 4]} HTTP/1.1" 200 {h} "-" "agent-{h % 7}"\n'
        for h, s in zip(hosts.tolist(), secs.tolist(), strict=True)
    ).encode()
    data = b"".join(block.replace(b"@@", b"%02d" % (d + 1)) for d in range(days))
    return data, len(np.unique(hosts)), int(secs[0])


def test_a_generated_log_of_a_million_gzipped_lines():
    """1,000,000 lines over 20 days, gzipped (the upload cap is on the compressed size): every line
    read, the clients, the span and the start exact."""
    data, n_hosts, first_second = generated_log()
    gz = gzip.compress(data, compresslevel=1)
    assert len(gz) < 25_000_000 < len(data)
    tr = parse_trace(gz, "access.log.gz")
    assert len(tr) == 1_000_000 and tr.compressed and tr.format == "combined" and tr.malformed == 0
    assert len(np.unique(tr.keys)) == n_hosts
    assert tr.start == datetime(2024, 3, 1, tzinfo=UTC) + timedelta(seconds=first_second)
    assert np.all(np.diff(tr.timestamps) >= 0)
    assert sorted(tr.path_table) == ["/", "/api/v1/items", "/api/v1/users/42", "/login"]
    assert len(tr.user_agent_table) == 7
    assert "1,000,000 requests" in tr.description and "days" in tr.description


def test_gzip_with_several_members_and_a_csv_inside():
    """Concatenated gzip members (rotated logs joined with cat) read as one file; a gzipped CSV is read
    by parse_trace_csv's rules."""
    two = gzip.compress(CLF) + gzip.compress(COMBINED)
    assert len(parse_trace(two)) == 2
    csv = b"time,client\n0.5,a\n0.25,b\n"
    tr = parse_trace(gzip.compress(csv), "trace.csv.gz")
    ref = parse_trace_csv(csv)
    assert tr.format == "csv" and tr.compressed
    assert tr.timestamps.tolist() == ref.timestamps.tolist() and tr.keys.tolist() == ref.keys.tolist()
    assert parse_trace(csv).notices == ref.notices


def test_a_gzip_bomb_stops_at_the_cap_while_streaming():
    """A gzip of ~100 KB that would expand to 100 MB: stopped once 300 MB... here, with a 10 MB cap, as
    soon as the output passes it; one of newlines stops at the line cap on the first chunk."""
    comp = zlib.compressobj(9, zlib.DEFLATED, 31)
    piece = CLF * (1_000_000 // len(CLF))
    bomb = b"".join(comp.compress(piece) for _ in range(100)) + comp.flush()
    assert len(bomb) < 1_000_000
    with pytest.raises(ValueError, match="expands to more than 10 MB"):
        parse_trace(bomb, max_decompressed=10_000_000)
    with pytest.raises(ValueError, match="more than 2,000,000 lines"):
        parse_trace(gzip.compress(b"\n" * 50_000_000, compresslevel=1))
    with pytest.raises(ValueError, match="binary data"):
        parse_trace(gzip.compress(bytes(50_000_000), compresslevel=1))


def test_caps_and_damaged_gzip():
    with pytest.raises(ValueError, match="larger than the limit of 1,000 bytes"):
        parse_trace(CLF * 20, max_bytes=1_000)
    with pytest.raises(ValueError, match="more than 3 lines"):
        parse_trace(CLF * 4, max_lines=3)
    assert len(parse_trace(CLF * 3, max_lines=3)) == 3
    with pytest.raises(ValueError, match="truncated"):
        parse_trace(gzip.compress(CLF * 100)[:-30])
    with pytest.raises(ValueError, match="cannot be decompressed"):
        parse_trace(b"\x1f\x8b" + b"not really gzip" * 10)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\n \n\t\n", "empty"),
        (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "binary data"),
        (b'{"requests": [1, 2, 3]}\n', "neither an access log nor a CSV trace"),
        (b"<html><body>hello</body></html>\n", "neither an access log nor a CSV trace"),
        (b"x" * 2_000_000, "longer than 1 MB"),
    ],
)
def test_a_file_that_is_no_log_gets_one_sentence(data, message):
    with pytest.raises(ValueError, match=message) as e:
        parse_trace(data)
    assert str(e.value).count(". ") == 0  # one sentence


def test_a_gz_name_on_plain_text_is_only_a_hint():
    tr = parse_trace(CLF, "access.log.gz")
    assert len(tr) == 1 and "not gzip-compressed" in tr.notices[0]


def test_limit_keys_by_client_endpoint_and_user_agent():
    """The page keys the limit by client, endpoint (path prefix) or user agent; a trace without the field
    says so in one sentence."""
    log = (
        b'1.1.1.1 - - [01/Mar/2024:00:00:00 +0000] "GET /api/v1/users/7 HTTP/1.1" 200 5 "-" "bot"\n'
        b'2.2.2.2 - - [01/Mar/2024:00:00:01 +0000] "GET /api/v2/items HTTP/1.1" 200 5 "-" "curl"\n'
        b'2.2.2.2 - - [01/Mar/2024:00:00:02 +0000] "GET / HTTP/1.1" 200 5 "-" "bot"\n'
    )
    tr = parse_trace(log)
    assert limit_keys(tr, "client").tolist() == ["1.1.1.1", "2.2.2.2", "2.2.2.2"]
    assert limit_keys(tr, "endpoint").tolist() == ["/api", "/api", "/"]
    assert limit_keys(tr, "endpoint", depth=2).tolist() == ["/api/v1", "/api/v2", "/"]
    assert limit_keys(tr, "user_agent").tolist() == ["bot", "curl", "bot"]
    with pytest.raises(ValueError, match="no user agents"):
        limit_keys(parse_trace(CLF), "user_agent")
    with pytest.raises(ValueError, match="no paths"):
        limit_keys(parse_trace(b"0\n1\n"), "endpoint")
    assert endpoint_of("/a/b/c", 2) == "/a/b" and endpoint_of("") == "/"
    assert set(LIMIT_BY) == {"client", "endpoint", "user_agent"} and set(FORMATS) >= {"common", "combined"}


def test_generated_traces_keep_working_with_the_new_fields():
    """Traces built before logs existed get the defaults: no start, format 'generated', no columns."""
    from sdcore.ratelimit import poisson

    tr = poisson(10.0, 1.0, rng=1)
    assert tr.start is None and tr.format == "generated" and tr.paths is None and tr.malformed == 0
    assert parse_trace_csv(b"0\n1\n").format == "csv"
