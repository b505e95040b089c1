"""Web server access logs as traces: Common and Combined Log Format (Apache's and nginx's defaults), the
CSV trace the page always took, and gzip of either.

>>> line = b'203.0.113.7 - - [10/Oct/2023:13:55:36 -0700] "GET /api/items?id=3 HTTP/1.1" 200 2326\\n'
>>> trace = parse_trace(line * 3)
>>> trace.format, len(trace), trace.start.isoformat(), trace.path_table
('common', 3, '2023-10-10T20:55:36+00:00', ('/api/items',))

What is read, and how:

- The format is detected from the first lines (a gzip file by its magic bytes, whatever its name): log
  lines, or CSV rows of seconds (read by :func:`~sdcore.ratelimit.traffic.parse_trace_csv`, its rules
  unchanged). A file that is neither gets one sentence naming what was expected.
- A log line is ``host ident user [dd/Mon/yyyy:HH:MM:SS +zzzz] "request" status size``, optionally
  followed by ``"referer" "user agent"`` (Combined) and a quoted X-Forwarded-For (nginx's ``main``
  format); more fields after those are ignored. Quoted fields may hold spaces and escaped quotes
  (``\\"``), hosts may be IPv6, sizes may be ``-``. Lines that do not fit (or whose date does not exist)
  are skipped and counted; the first few are kept with their line numbers.
- Timestamps become seconds since the first request (in UTC, the zone offsets applied); ``Trace.start``
  is that request's UTC time. Requests are sorted by time (logs are written when a request completes).
- The client is the remote host, or with ``behind_proxy`` the first address of the logged
  X-Forwarded-For (the host where a line has none).
- Caps, checked before and while reading: the upload at most 25 MB; decompressed at most 300 MB and
  2,000,000 lines, counted while streaming, so a small gzip that would expand to gigabytes is stopped
  after the cap, never held in memory.

Speed: one regular expression over megabyte chunks (no Python code per line), the repeated strings
(hosts, paths, agents, timestamps) factorized into integer codes by pandas' hash table, timestamps
decoded with numpy from their fixed layout: a million lines take a few seconds at most.
"""

from __future__ import annotations

import itertools
import re
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.ratelimit.traffic import Trace, parse_trace_csv
from sdcore.ratelimit.units import MAX_TIME_S

MAX_UPLOAD_BYTES = 25_000_000
MAX_DECOMPRESSED_BYTES = 300_000_000
MAX_LINES = 2_000_000
SHOWN_MALFORMED = 5
SHOWN_LINE_CHARS = 200
MAX_LINE_BYTES = 1_000_000  # a "line" longer than this is not a log line
CHUNK_BYTES = 16_000_000
UPLOAD_TYPES: tuple[str, ...] = ("log", "txt", "csv", "gz")


@dataclass(frozen=True)
class LogFormat:
    """One input format the upload understands."""

    label: str
    fields: str  # what a line holds, for the page
    example: str


FORMATS = MappingProxyType(
    {
        "common": LogFormat(
            "Common Log Format",
            'host ident user [time] "request" status size',
            '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /apache_pb.gif HTTP/1.0" 200 2326',
        ),
        "combined": LogFormat(
            "Combined Log Format",
            'host ident user [time] "request" status size "referer" "user agent" (nginx may add "X-Forwarded-For")',
            '127.0.0.1 - - [10/Oct/2000:13:55:36 -0700] "GET / HTTP/1.1" 200 512 "-" "curl/8.5.0"',
        ),
        "csv": LogFormat("CSV trace", "seconds, client (optional)", "0.25,alice"),
    }
)

# What a page may key the limit by: the name, and what it reads from the trace.
LIMIT_BY = MappingProxyType(
    {
        "client": "client (remote host, or X-Forwarded-For behind a proxy)",
        "endpoint": "endpoint (the first segments of the path)",
        "user_agent": "user agent",
    }
)

_Q = rb'[^"\\\r\n]*(?:\\.[^"\\\r\n]*)*'  # the inside of a quoted field: escaped quotes allowed
_GOOD = (
    rb"(\S+) \S+ \S+ \[(\d\d/[A-Za-z]{3}/\d{4}:\d\d:\d\d:\d\d [+-]\d{4})\] "
    rb'"(?:([A-Za-z]+) ([^ ?"\\\r\n]*))?' + _Q + rb'" (\d{3}|-) (?:\d+|-)'
    rb'(?: "' + _Q + rb'" ("' + _Q + rb'")(?: ("' + _Q + rb'"))?(?: [^\r\n]*?)?)?'
)
# Groups: host, time, method, path, status, "agent", "forwarded-for" (the last two with their quotes,
# None where the line has no such field).
_GOOD_LINE = re.compile(rb"[ \t]*" + _GOOD + rb"[ \t]*\r?$")
_MONTHS = {m: i + 1 for i, m in enumerate(
    (b"jan", b"feb", b"mar", b"apr", b"may", b"jun", b"jul", b"aug", b"sep", b"oct", b"nov", b"dec")
)}  # fmt: skip
_MONTH_KEYS = np.array(sorted(a << 16 | b << 8 | c for a, b, c in _MONTHS), dtype=np.int64)
_MONTH_OF_KEY = np.array(
    [_MONTHS[bytes(((k >> 16) & 255, (k >> 8) & 255, k & 255))] for k in _MONTH_KEYS.tolist()]
)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def _mb(n: int) -> str:
    return f"{n / 1e6:,.0f} MB" if n >= 1_000_000 else f"{n:,} bytes"


def _not_a_log(why: str) -> ValueError:
    return ValueError(
        f"{why}, so it is neither an access log nor a CSV trace: expected lines in Common or Combined Log "
        f"Format (Apache's and nginx's default access logs), such as {FORMATS['common'].example}, or CSV "
        "rows of a time in seconds and an optional client"
    )


# --- reading: gzip or plain, in chunks of whole lines, with the caps --------------------------------------


def _gunzip(data: bytes, max_out: int) -> Iterator[bytes]:
    """Decompress a gzip stream (several members are read one after another) in pieces of at most
    CHUNK_BYTES, stopping with an error as soon as the output passes ``max_out`` bytes."""
    d = zlib.decompressobj(wbits=31)
    pending, total = data, 0
    while True:
        try:
            out = d.decompress(pending, CHUNK_BYTES)
        except zlib.error as e:
            raise ValueError(f"the file starts like gzip but cannot be decompressed ({e})") from None
        pending = d.unconsumed_tail
        total += len(out)
        if total > max_out:
            raise ValueError(
                f"the gzip file expands to more than {_mb(max_out)}, the most a log may take once "
                "decompressed; upload a shorter stretch of the log"
            )
        if out:
            yield out
        if d.eof:
            rest = d.unused_data
            if rest[:2] != b"\x1f\x8b":
                return  # trailing bytes after the last member are ignored, as gzip does
            d, pending = zlib.decompressobj(wbits=31), rest
        elif not out and not pending:
            raise ValueError("the gzip file is truncated: it ends before its compressed data does")


def _pieces(data: bytes) -> Iterator[bytes]:
    for i in range(0, len(data), CHUNK_BYTES):
        yield data[i : i + CHUNK_BYTES]


def _line_chunks(pieces: Iterator[bytes], max_lines: int) -> Iterator[tuple[int, bytes]]:
    """(number of the chunk's first line, chunk of whole lines), counting lines against ``max_lines``."""
    carry = b""
    line = 1
    for piece in pieces:
        if line == 1 and not carry and b"\x00" in piece[:65536]:
            raise _not_a_log("the file holds binary data (it has NUL bytes)")
        buf = carry + piece
        cut = buf.rfind(b"\n") + 1
        if cut == 0:
            if len(buf) > MAX_LINE_BYTES:
                raise _not_a_log(f"line {line:,} is longer than {_mb(MAX_LINE_BYTES)}")
            carry = buf
            continue
        chunk, carry = buf[:cut], buf[cut:]
        lines = chunk.count(b"\n")
        if line - 1 + lines > max_lines:
            raise ValueError(
                f"the log has more than {max_lines:,} lines, the most the page reads; "
                "upload a shorter stretch of the log"
            )
        yield line, chunk
        line += lines
    if carry.strip():
        if line > max_lines:
            raise ValueError(
                f"the log has more than {max_lines:,} lines, the most the page reads; "
                "upload a shorter stretch of the log"
            )
        yield line, carry


def _detect(first: bytes) -> str:
    """'log' or 'csv' from the first non-blank lines; a ValueError for anything else."""
    head = first[:65536]
    if b"\x00" in head:
        raise _not_a_log("the file holds binary data (it has NUL bytes)")
    sample = [ln for ln in head.split(b"\n")[:200] if ln.strip()][:20]
    if not sample:
        raise ValueError("the file is empty: it holds no lines")
    hits = sum(1 for ln in sample if _GOOD_LINE.match(ln))
    if hits and hits * 2 >= len(sample):
        return "log"

    def number(cell: bytes) -> bool:
        try:
            float(cell.decode("utf-8-sig").strip())
        except (UnicodeDecodeError, ValueError):
            return False
        return True

    cells = [ln.split(b",")[0] for ln in sample[:2]]
    if number(cells[0]) or (len(cells) > 1 and number(cells[1])):
        return "csv"
    raise _not_a_log("its first line is not a log line and not a row of numbers")


# --- parsing the log lines ----------------------------------------------------------------------------


class _Table:
    """Distinct values (bytes) -> codes 0, 1, ... in order of first appearance, across chunks."""

    def __init__(self) -> None:
        self.index: dict[bytes, int] = {}

    def encode(self, values: np.ndarray) -> np.ndarray:
        import pandas as pd

        codes, uniques = pd.factorize(values)
        get = self.index.setdefault
        g = np.fromiter((get(u, len(self.index)) for u in uniques), dtype=np.int64, count=len(uniques))
        return g[codes]

    def strings(self, missing: str = "") -> tuple[str, ...]:
        return tuple(_text(v) if v else missing for v in self.index)


def _text(b: bytes) -> str:
    return b.decode("utf-8", errors="backslashreplace")


def _unquote(b: bytes) -> bytes:
    return b[1:-1] if len(b) >= 2 else b


def _epochs(stamps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Seconds since 1970 (UTC) of ``dd/Mon/yyyy:HH:MM:SS +zzzz`` stamps (bytes, shape checked by the
    regular expression), and whether each is a real date and time."""
    return _epochs_of(np.array(stamps.tolist(), dtype="S26").view(np.uint8).reshape(-1, 26))


def _epochs_of(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """:func:`_epochs` of stamps as rows of 26 bytes."""
    a = m

    def num(i: int, j: int) -> np.ndarray:
        out = a[:, i].astype(np.int64) - 48
        for k in range(i + 1, j):
            out = out * 10 + (a[:, k].astype(np.int64) - 48)
        return out

    low = a[:, 3:6].astype(np.int64) | 32
    key = low[:, 0] << 16 | low[:, 1] << 8 | low[:, 2]
    pos = np.minimum(np.searchsorted(_MONTH_KEYS, key), 11)
    month_ok = _MONTH_KEYS[pos] == key
    month = _MONTH_OF_KEY[pos]
    day, year = num(0, 2), num(7, 11)
    hour, minute, second = num(12, 14), num(15, 17), num(18, 20)
    sign = np.where(a[:, 21] == ord("-"), -1, 1)
    zone = sign * (num(22, 24) * 3600 + num(24, 26) * 60)
    leap = (year % 4 == 0) & ((year % 100 != 0) | (year % 400 == 0))
    dim = np.array([31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])[month - 1] + ((month == 2) & leap)
    ok = (
        month_ok
        & (year >= 1)
        & (day >= 1)
        & (day <= dim)
        & (hour <= 23)
        & (minute <= 59)
        & (second <= 60)
        & (num(22, 24) <= 23)
        & (num(24, 26) <= 59)
    )
    # Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm, proleptic Gregorian).
    y = year - (month <= 2)
    era = y // 400
    yoe = y - era * 400
    doy = (153 * ((month + 9) % 12) + 2) // 5 + day - 1
    days = era * 146097 + yoe * 365 + yoe // 4 - yoe // 100 + doy - 719468
    return days * 86400 + hour * 3600 + minute * 60 + second - zone, ok


@dataclass
class _Columns:
    """What the chunks add up to, before the trace is built: per request its line number, time, client,
    method, path, status and agent (codes into the tables), and whether it had a user agent field and an
    X-Forwarded-For that named a client."""

    line: list = field(default_factory=list)
    epoch: list = field(default_factory=list)
    client: list = field(default_factory=list)
    method: list = field(default_factory=list)
    path: list = field(default_factory=list)
    status: list = field(default_factory=list)
    agent: list = field(default_factory=list)
    forwarded: list = field(default_factory=list)
    client_table: _Table = field(default_factory=_Table)
    method_table: _Table = field(default_factory=_Table)
    path_table: _Table = field(default_factory=_Table)
    agent_table: _Table = field(default_factory=_Table)
    lines: int = 0
    malformed: int = 0
    with_agent: int = 0
    with_forwarded: int = 0

    def add(self, line, epoch, client, method, path, status, agent, forwarded) -> None:
        for name, value in zip(
            ("line", "epoch", "client", "method", "path", "status", "agent", "forwarded"),
            (line, epoch, client, method, path, status, agent, forwarded),
            strict=True,
        ):
            getattr(self, name).append(value)


_PAD = 64  # bytes of zeros after a chunk, so that fixed offsets past a line's end stay in bounds
_CLASS = np.zeros(256, dtype=np.uint8)  # the bytes the fast path looks for: space, quote, ?, and odd ones
_CLASS[[32, 34, 63, 92, 9, 13, 0]] = [1, 2, 3, 4, 4, 4, 4]
_DIGIT_AT = np.array([0, 1, 7, 8, 9, 10, 12, 13, 15, 16, 18, 19, 22, 23, 24, 25])
_PUNCT = {2: ord("/"), 6: ord("/"), 11: ord(":"), 14: ord(":"), 17: ord(":"), 20: ord(" ")}


def _rows_at(buf: np.ndarray, at: np.ndarray, width: int) -> np.ndarray:
    """``width`` bytes from each offset in ``at`` (a copy, one row per offset; the buffer is padded)."""
    return np.lib.stride_tricks.sliding_window_view(buf, width)[np.minimum(at, len(buf) - width)]


def _first_of_each(codes: np.ndarray) -> np.ndarray:
    """Where each code first appears, for codes numbered in order of first appearance (factorize's)."""
    seen = np.maximum.accumulate(codes)
    new = np.empty(len(codes), dtype=bool)
    new[0] = True
    np.greater(seen[1:], seen[:-1], out=new[1:])
    return np.flatnonzero(new)


def _range_codes(buf: np.ndarray, a: np.ndarray, b: np.ndarray, table: _Table) -> np.ndarray:
    """Codes in ``table`` of the byte ranges ``buf[a:b]``, without a Python object per range: the ranges
    are gathered into rows of 64-bit words (zero-padded: the fast lines hold no NUL byte), hashed,
    factorized, and checked equal to their group's first row (a collision falls back to an exact sort).
    Ranges longer than 256 bytes (rare) are looked up one by one."""
    import pandas as pd

    n = len(a)
    out = np.empty(n, dtype=np.int64)
    if n == 0:
        return out
    lens = b - a
    long = lens > 256
    for i in np.flatnonzero(long).tolist():
        out[i] = table.index.setdefault(buf[a[i] : b[i]].tobytes(), len(table.index))
    rows = np.flatnonzero(~long)
    if not len(rows):
        return out
    ra, rl = a[rows], lens[rows]
    width = max(8, -(-int(rl.max()) // 8) * 8)
    m = _rows_at(buf, ra, width)
    m[np.arange(width) >= rl[:, None]] = 0
    words = m.view(np.uint64)
    if words.shape[1] == 1:
        h = words[:, 0]
    else:
        h = words[:, 0] * np.uint64(0x9E3779B97F4A7C15)
        for j in range(1, words.shape[1]):
            h = (h ^ (h >> np.uint64(29)) ^ words[:, j]) * np.uint64(0xBF58476D1CE4E5B9)
    codes, _ = pd.factorize(h)
    first = _first_of_each(codes)
    if words.shape[1] > 1 and not np.array_equal(words, words[first[codes]]):
        _, first, codes = np.unique(m.view(f"V{width}").ravel(), return_index=True, return_inverse=True)
    get = table.index.setdefault
    g = np.fromiter(
        (get(m[i, : rl[i]].tobytes(), len(table.index)) for i in first.tolist()), np.int64, len(first)
    )
    out[rows] = g[codes]
    return out


def _fast_lines(buf: np.ndarray, starts: np.ndarray, ends: np.ndarray):
    """The lines of the canonical shape (no backslash, tab or NUL; Common, Combined, or Combined plus a
    quoted X-Forwarded-For, nothing after; a three-digit status; a real date), found and cut into fields
    with numpy alone. Returns (which lines, and for those: epoch, the byte ranges of host, method, path,
    agent, forwarded-for, the status, whether the line has the agent and the forwarded-for fields). Every
    other line goes to the regular expression, so both paths read a line the same way."""
    n_buf = len(buf) - _PAD
    sentinel = np.full(10, n_buf + 1000, dtype=np.int64)
    cls = _CLASS[buf[:n_buf]]
    sp, qt, qm, odd = (np.r_[np.flatnonzero(cls == c), sentinel] for c in (1, 2, 3, 4))

    def at(i: np.ndarray) -> np.ndarray:
        return buf[np.minimum(i, len(buf) - 1)]

    ok = odd[np.searchsorted(odd, starts)] >= ends
    i1 = np.searchsorted(sp, starts)
    s1, s2, s3 = sp[i1], sp[i1 + 1], sp[i1 + 2]
    ok &= (s1 > starts) & (s2 > s1 + 1) & (s3 > s2 + 1) & (s3 + 31 < ends)
    ok &= (at(s3 + 1) == 91) & (at(s3 + 28) == 93) & (at(s3 + 29) == 32) & (at(s3 + 30) == 34)
    stamp = _rows_at(buf, s3 + 2, 26)
    digits = stamp[:, _DIGIT_AT]
    ok &= ((digits >= 48) & (digits <= 57)).all(axis=1)
    for i, c in _PUNCT.items():
        ok &= stamp[:, i] == c
    ok &= (stamp[:, 21] == 43) | (stamp[:, 21] == 45)
    letters = stamp[:, 3:6] | 32
    ok &= ((letters >= 97) & (letters <= 122)).all(axis=1)
    epoch, real = _epochs_of(stamp)
    ok &= real
    q1 = s3 + 30
    iq = np.searchsorted(qt, q1)
    q2 = qt[np.minimum(iq + 1, len(qt) - 1)]
    ok &= (qt[iq] == q1) & (q2 < ends)
    m_end = sp[np.searchsorted(sp, q1 + 1)]
    ok &= (m_end > q1 + 1) & (m_end < q2) & (m_end - q1 - 1 <= 16)
    method = _rows_at(buf, q1 + 1, 16) | 32
    in_method = np.arange(16) < (m_end - q1 - 1)[:, None]
    ok &= (~in_method | ((method >= 97) & (method <= 122))).all(axis=1)
    p_start = m_end + 1
    p_end = np.minimum(np.minimum(sp[np.searchsorted(sp, p_start)], qm[np.searchsorted(qm, p_start)]), q2)
    status = _rows_at(buf, q2 + 2, 3).astype(np.int64) - 48
    ok &= (at(q2 + 1) == 32) & ((status >= 0) & (status <= 9)).all(axis=1) & (at(q2 + 5) == 32)
    size_start = q2 + 6
    size_end = np.minimum(sp[np.searchsorted(sp, size_start)], ends)
    size_len = size_end - size_start
    size = _rows_at(buf, size_start, 20)
    in_size = np.arange(20) < size_len[:, None]
    numeric = (~in_size | ((size >= 48) & (size <= 57))).all(axis=1)
    ok &= (size_len >= 1) & (size_len <= 20) & (numeric | ((size_len == 1) & (size[:, 0] == 45)))
    common = (size_end == ends) & (qt[np.minimum(iq + 2, len(qt) - 1)] >= ends)
    j = np.minimum(iq[:, None] + np.arange(2, 10), len(qt) - 1)
    q = qt[j]  # the quotes after the request's: referer (2), agent (2), forwarded-for (2), the next line's
    combined = (at(size_end) == 32) & (at(size_end + 1) == 34) & (q[:, 0] == size_end + 1)
    combined &= (
        (at(q[:, 1] + 1) == 32) & (at(q[:, 1] + 2) == 34) & (q[:, 2] == q[:, 1] + 2) & (q[:, 3] < ends)
    )
    agent_only = combined & (q[:, 3] + 1 == ends) & (q[:, 4] >= ends)
    with_fwd = combined & (at(q[:, 3] + 1) == 32) & (q[:, 4] == q[:, 3] + 2) & (q[:, 5] == ends - 1)
    with_fwd &= q[:, 6] >= ends
    ok &= common | agent_only | with_fwd
    has_agent = agent_only | with_fwd
    return (
        ok,
        epoch,
        (starts, s1),
        (q1 + 1, m_end),
        (p_start, p_end),
        (np.where(has_agent, q[:, 2] + 1, 0), np.where(has_agent, q[:, 3], 0)),
        (np.where(with_fwd, q[:, 4] + 1, 0), np.where(with_fwd, q[:, 5], 0)),
        status[:, 0] * 100 + status[:, 1] * 10 + status[:, 2],
        has_agent,
        with_fwd,
    )


def _forwarded_clients(cols: _Columns, values: list[bytes]) -> np.ndarray:
    """The client-table code of the first address of each X-Forwarded-For value, -1 where it names none."""
    out = np.full(len(values), -1, dtype=np.int64)
    get = cols.client_table.index.setdefault
    for i, v in enumerate(values):
        first = v.split(b",")[0].strip()
        if first and first != b"-":
            out[i] = get(first, len(cols.client_table.index))
    return out


def _parse_chunk(cols: _Columns, first_line: int, chunk: bytes, behind_proxy: bool, examples: list) -> None:
    import pandas as pd

    buf = np.frombuffer(chunk + bytes(_PAD), dtype=np.uint8)
    nl = np.flatnonzero(buf[: len(chunk)] == 10)
    ends = nl if chunk.endswith(b"\n") else np.r_[nl, len(chunk)]
    starts = np.r_[0, ends[:-1] + 1]
    line_no = first_line + np.arange(len(starts))
    ok, epoch, host, method, path, agent, fwd, status, has_agent, has_fwd = _fast_lines(buf, starts, ends)
    nonblank = ends > starts
    cols.lines += int(np.count_nonzero(ok))
    if ok.any():
        rows = np.flatnonzero(ok)
        pick = [(x[0][rows], x[1][rows]) for x in (host, method, path, agent, fwd)]
        client = _range_codes(buf, *pick[0], cols.client_table)
        cols.with_agent += int(np.count_nonzero(has_agent[rows]))
        cols.with_forwarded += int(np.count_nonzero(has_fwd[rows]))
        named = np.zeros(len(rows), dtype=bool)
        if behind_proxy and has_fwd[rows].any():
            fr = np.flatnonzero(has_fwd[rows])
            f_codes, f_uniq = pd.factorize(_range_codes(buf, pick[4][0][fr], pick[4][1][fr], _Table()))
            # the forwarded-for values themselves, once per distinct value
            starts_f, ends_f = pick[4][0][fr], pick[4][1][fr]
            first_of = np.full(len(f_uniq), len(fr), dtype=np.int64)
            np.minimum.at(first_of, f_codes, np.arange(len(fr)))
            vals = [buf[starts_f[i] : ends_f[i]].tobytes() for i in first_of.tolist()]
            named_code = _forwarded_clients(cols, vals)[f_codes]
            use = named_code >= 0
            client[fr[use]] = named_code[use]
            named[fr[use]] = True
        cols.add(
            line_no[rows],
            epoch[rows],
            client,
            _range_codes(buf, *pick[1], cols.method_table),
            _range_codes(buf, *pick[2], cols.path_table),
            status[rows].astype(np.int16),
            _range_codes(buf, *pick[3], cols.agent_table),
            named,
        )
    slow = np.flatnonzero(~ok & nonblank)
    if len(slow):
        _parse_slow(cols, chunk, starts[slow], ends[slow], line_no[slow], behind_proxy, examples)


def _parse_slow(cols, chunk, starts, ends, line_no, behind_proxy, examples) -> None:
    """The lines the fast path left, one by one through the regular expression: a log line of an unusual
    shape (escaped quotes, tabs, a status of -, fields after the known ones), or a malformed line."""
    import pandas as pd

    fields, keep = [], []
    for i, (a, b) in enumerate(zip(starts.tolist(), ends.tolist(), strict=True)):
        line = chunk[a:b]
        m = _GOOD_LINE.match(line)
        if m is not None:
            fields.append(m.groups())
            keep.append(i)
        elif line.strip():
            cols.lines += 1
            cols.malformed += 1
            _example(examples, int(line_no[i]), line)
    if not fields:
        return
    keep = np.array(keep)
    host, stamp, method, path, status, agent, fwd = (
        np.array(c, dtype=object) for c in zip(*fields, strict=True)
    )
    cols.lines += len(fields)
    s_codes, s_uniq = pd.factorize(stamp)
    epoch_u, real_u = _epochs(np.asarray(s_uniq, dtype=object))
    real = real_u[s_codes]
    for i in np.flatnonzero(~real).tolist():
        cols.malformed += 1
        _example(examples, int(line_no[keep[i]]), chunk[starts[keep[i]] : ends[keep[i]]])
    if not real.any():
        return
    rows = np.flatnonzero(real)
    epoch = epoch_u[s_codes][rows]
    host, method, path, status, agent, fwd = (c[rows] for c in (host, method, path, status, agent, fwd))
    client = cols.client_table.encode(host)
    has_fwd = np.array([v is not None for v in fwd.tolist()], dtype=bool)
    has_agent = np.array([v is not None for v in agent.tolist()], dtype=bool)
    cols.with_agent += int(np.count_nonzero(has_agent))
    cols.with_forwarded += int(np.count_nonzero(has_fwd))
    named = np.zeros(len(rows), dtype=bool)
    if behind_proxy and has_fwd.any():
        f_codes, f_uniq = pd.factorize(fwd[has_fwd])
        named_code = _forwarded_clients(cols, [_unquote(v) for v in f_uniq.tolist()])[f_codes]
        idx = np.flatnonzero(has_fwd)
        use = named_code >= 0
        client[idx[use]] = named_code[use]
        named[idx[use]] = True
    st = np.array([int(v) if v.isdigit() else 0 for v in status.tolist()], dtype=np.int16)
    agents = np.array([b"" if v is None else _unescape(_unquote(v)) for v in agent.tolist()], dtype=object)
    cols.add(
        line_no[keep[rows]],
        epoch,
        client,
        cols.method_table.encode(np.array([v or b"" for v in method.tolist()], dtype=object)),
        cols.path_table.encode(np.array([v or b"" for v in path.tolist()], dtype=object)),
        st,
        cols.agent_table.encode(agents),
        named,
    )


def _example(examples: list, line_no: int, line: bytes) -> None:
    if len(examples) < SHOWN_MALFORMED:
        text = _text(line.rstrip(b"\r").strip())
        examples.append((line_no, text[:SHOWN_LINE_CHARS] + "…" if len(text) > SHOWN_LINE_CHARS else text))


def _unescape(b: bytes) -> bytes:
    return b.replace(b'\\"', b'"').replace(b"\\\\", b"\\") if b"\\" in b else b


def _span_text(seconds: float) -> str:
    for unit, size in (("days", 86400), ("hours", 3600), ("minutes", 60)):
        if seconds >= 2 * size:
            return f"{seconds / size:,.1f} {unit}"
    return f"{seconds:,.0f} seconds"


def _plural(n: int, one: str, many: str) -> str:
    return f"{n:,} {one if n == 1 else many}"


def _build(cols: _Columns, compressed: bool, behind_proxy: bool, examples: list) -> Trace:
    if not cols.epoch:
        raise _not_a_log(
            f"none of its {cols.lines:,} lines is a log line" if cols.lines else "it holds no lines"
        )
    line = np.concatenate(cols.line)
    epoch = np.concatenate(cols.epoch)
    lo = int(epoch.min())
    if int(epoch.max()) - lo > MAX_TIME_S:
        raise ValueError(
            f"the log spans more than {MAX_TIME_S:,.0f} seconds (about 285 years) between its first and last "
            "request; check the dates"
        )
    in_file = np.argsort(line, kind="stable")  # the fast and the slow lines of a chunk, back in file order
    order = in_file[np.argsort(epoch[in_file], kind="stable")]
    reordered = bool(np.any(np.diff(epoch[in_file]) < 0))
    n = len(epoch)
    fmt = "combined" if cols.with_agent * 2 >= n else "common"

    def column(parts: list, dtype) -> np.ndarray:
        a = np.ascontiguousarray(np.concatenate(parts)[order], dtype=dtype)
        a.flags.writeable = False
        return a

    clients = column(cols.client, np.int64)
    names = np.array([_text(v) for v in cols.client_table.index], dtype=object)
    notices = []
    if cols.malformed:
        notices.append(
            f"{_plural(cols.malformed, 'line was', 'lines were')} not access-log lines (or had a date that "
            f"does not exist) and skipped, of {cols.lines:,} lines."
        )
    if reordered:
        notices.append(
            "The requests were not logged in time order (a server writes a line when a request ends); they "
            "were sorted by time, and requests in the same second kept their order."
        )
    if behind_proxy:
        named = int(np.concatenate(cols.forwarded).sum())
        if cols.with_forwarded == 0:
            notices.append(
                "The log has no X-Forwarded-For field (a quoted field after the user agent, as in nginx's "
                "main format), so each client is the remote host."
            )
        elif named < n:
            notices.append(
                f"{_plural(n - named, 'request has', 'requests have')} no X-Forwarded-For address; "
                "their client is the remote host."
            )
    n_clients = int(np.count_nonzero(np.bincount(clients, minlength=len(names))))
    t = (epoch[order] - lo).astype(np.float64)
    t.flags.writeable = False
    keys = names[clients]
    keys.flags.writeable = False
    agents = None
    agent_table: tuple[str, ...] = ()
    if fmt == "combined":
        agents = column(cols.agent, np.int32)
        agent_table = cols.agent_table.strings("-")
    return Trace(
        t,
        keys,
        f"access log ({FORMATS[fmt].label}{', gzip' if compressed else ''}): {_plural(n, 'request', 'requests')} "
        f"from {_plural(n_clients, 'client', 'clients')} over {_span_text(float(t[-1]))}",
        notices=tuple(notices),
        reordered=reordered,
        start=_EPOCH + timedelta(seconds=lo),
        format=fmt,
        compressed=compressed,
        malformed=cols.malformed,
        malformed_examples=tuple(sorted(examples)[:SHOWN_MALFORMED]),
        paths=column(cols.path, np.int32),
        path_table=cols.path_table.strings(),
        methods=column(cols.method, np.int32),
        method_table=cols.method_table.strings("-"),
        statuses=column(cols.status, np.int16),
        user_agents=agents,
        user_agent_table=agent_table,
    )


def parse_trace(
    data: bytes,
    name: str = "",
    behind_proxy: bool = False,
    *,
    max_bytes: int = MAX_UPLOAD_BYTES,
    max_decompressed: int = MAX_DECOMPRESSED_BYTES,
    max_lines: int = MAX_LINES,
) -> Trace:
    """Read an uploaded trace: an access log (Common or Combined Log Format), or the CSV of
    :func:`~sdcore.ratelimit.traffic.parse_trace_csv`, either of them possibly gzipped. ``name`` (the
    file's name) is only a hint for messages; the content decides. ``behind_proxy``: the log was written
    behind a proxy or load balancer, so the client is the first address of the logged X-Forwarded-For.

    Raises ValueError with one sentence for a file over the caps (``max_bytes`` uploaded,
    ``max_decompressed`` bytes or ``max_lines`` lines once decompressed), a damaged gzip, or a file that
    is no log. See the module docstring for the rules.
    """
    if not isinstance(data, bytes | bytearray | memoryview):
        raise ValueError(f"the uploaded file must be bytes (got {type(data).__name__})")
    if not isinstance(name, str):
        raise ValueError(f"name must be the file's name as text (got {name!r})")
    behind_proxy = checks.boolean("behind_proxy", behind_proxy)
    max_bytes = checks.int_between("max_bytes", max_bytes, 1, 10**9)
    max_decompressed = checks.int_between("max_decompressed", max_decompressed, 1, 10**10)
    max_lines = checks.int_between("max_lines", max_lines, 1, 10**8)
    if len(data) > max_bytes:
        raise ValueError(
            f"the file is {_mb(len(data))}, larger than the limit of {_mb(max_bytes)} for an upload; "
            "compress it with gzip or upload a shorter stretch of the log"
        )
    data = bytes(data)
    compressed = data[:2] == b"\x1f\x8b"
    chunks = _line_chunks(_gunzip(data, max_decompressed) if compressed else _pieces(data), max_lines)
    first = next(chunks, None)
    if first is None:
        raise ValueError(
            "the file is empty: it holds no lines" + (" once decompressed" if compressed else "")
        )
    kind = _detect(first[1])
    hint = []
    if name.lower().endswith(".gz") and not compressed:
        hint.append("The file's name ends in .gz but it is not gzip-compressed; it was read as plain text.")
    if kind == "csv":
        text = first[1] + b"".join(c for _, c in chunks)
        limit = max_decompressed if compressed else max_bytes
        trace = parse_trace_csv(text, max_bytes=max(1, min(limit, len(text))), max_rows=max_lines)
        return replace(trace, compressed=compressed, notices=tuple(hint) + trace.notices)
    cols = _Columns()
    examples: list[tuple[int, str]] = []
    for line, chunk in itertools.chain([first], chunks):
        _parse_chunk(cols, line, chunk, behind_proxy, examples)
    trace = _build(cols, compressed, behind_proxy, examples)
    return replace(trace, notices=tuple(hint) + trace.notices) if hint else trace


# --- what a page keys the limit by -----------------------------------------------------------------------


def endpoint_of(path: str, depth: int = 1) -> str:
    """The first ``depth`` segments of a path: ``/api/v1/users/7`` -> ``/api`` (depth 1), ``/api/v1``
    (depth 2); ``/`` and paths with fewer segments stay as they are."""
    parts = [p for p in path.split("/") if p]
    return "/" + "/".join(parts[:depth]) if parts else (path or "/")


def limit_keys(trace: Trace, by: str = "client", depth: int = 1) -> np.ndarray | None:
    """Each request's key when the limit is kept per ``by`` (one of :data:`LIMIT_BY`): the trace's
    clients, the endpoint (path prefix of ``depth`` segments) or the user agent. ``None`` for a trace of
    one client. A ValueError when the trace has no such field (a CSV has no paths; Common Log Format no
    user agents)."""
    checks.one_of("by", by, tuple(LIMIT_BY))
    depth = checks.int_between("depth", depth, 1, 10)
    if by == "client":
        return trace.keys
    if by == "endpoint":
        codes, table, what = trace.paths, trace.path_table, "paths"
        table = tuple(endpoint_of(p, depth) for p in table)
    else:
        codes, table, what = trace.user_agents, trace.user_agent_table, "user agents"
    if codes is None:
        raise ValueError(
            f"this trace has no {what} (a {FORMATS.get(trace.format, FORMATS['csv']).label} does not log "
            "them), so the limit can only be kept per client"
        )
    out = np.array(table, dtype=object)[codes]
    out.flags.writeable = False
    return out
