"""The rate-limiter page's words: its parameters (labels, ranges, help) and presets, the headline metrics,
the time cursor's steps, the comparison table, and the captions and sentences around it, computed from the
run (measured against the bounds).

Kept here rather than in the page so that each piece has a unit test; the page only wires widgets to these
functions and to :mod:`sdcore.ratelimit`. Nothing here imports streamlit, plotly or (at import time) pandas.

>>> from lessons.rate_limiter import TrafficConfig, limiter_settings
>>> trace = TrafficConfig("boundary", limit=10, window=1.0).build()
>>> len(trace)
20
>>> from sdcore.ratelimit import compare_limiters
>>> compare_limiters(trace.timestamps, settings=limiter_settings(10, 1.0)).row("fixed_window").max_in_window
20
"""

from __future__ import annotations

import hashlib
import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, echo, md_escape, plural, preset_table, seconds
from sdcore.checks import number_text
from sdcore.ratelimit.compare import (  # noqa: F401  (the page's run, re-exported)
    Comparison,
    LimiterSettings,
    RunSummary,
    Side,
    max_admitted_per_client,
    remember,
    side,
    summarize,
)
from sdcore.ratelimit.limiters import ALGORITHMS, LIMIT_ALGORITHMS, SlidingWindowLog, counter_estimate
from sdcore.ratelimit.logs import (
    FORMATS,
    LIMIT_BY,
    MAX_DECOMPRESSED_BYTES,
    MAX_LINES,
    MAX_UPLOAD_BYTES,
    UPLOAD_TYPES,  # noqa: F401  (the uploader's file types, re-exported for the page)
    limit_keys,
    parse_trace,
)
from sdcore.ratelimit.simulate import (
    Bins,
    SimulationResult,
    _nice_up,
    bin_counts,
    state_at,
    time_slice,
    time_step,
)
from sdcore.ratelimit.traffic import (  # noqa: F401  (the engine's traffic config, re-exported for the page)
    BURST_OFF_S,
    BURST_ON_S,
    MAX_PAGE_REQUESTS,
    SHAPE_USES,
    SHAPES,
    Trace,
    TrafficConfig,
    _client_counts,
    clients_by_volume,
    parse_trace_csv,
)
from sdcore.ratelimit.tuning import (
    LimitedClients,
    PeakDistribution,
    Suggestion,
    client_peaks,
    limited_clients,
    suggest_limits,
)

if TYPE_CHECKING:
    import pandas as pd

PLAY_STEPS = 40  # unzoomed, the play toggle crosses the trace in this many steps
ZOOMS: tuple[int, ...] = (0, 100, 20, 5)  # the charts' span in windows around the cursor; 0: whole trace
TUNE_SHARES: tuple[float, ...] = (0.0, 0.1, 0.5, 1.0, 2.0, 5.0, 10.0, 20.0, 50.0)  # percent of clients
MAX_DRAWN = 20_000  # an arrivals chart draws at most this many requests; past it, counts per time bin
MAX_BINS = 400
NEAR_LIMIT_BAND = 0.1  # "near the limit": the estimate within 10% of it
CLOUDFLARE_REQUESTS = 400_000_000
CLOUDFLARE_SOURCES = 270_000
CLOUDFLARE_DIFFER = 0.00003  # 0.003% of requests wrongly allowed or rate limited

SHAPE_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "steady": "Steady (evenly spaced)",
        "poisson": "Poisson (random arrivals)",
        "bursty": "Bursty on/off",
        "boundary": "Burst across the window edge",
        "ramp": "Slow ramp",
        "clients": "Many clients, one abusive",
    }
)
ALL = "all"
ALGORITHM_CHOICES: tuple[str, ...] = (ALL, *ALGORITHMS)
# The five algorithms, plus the library variant of the sliding log that the comparison also runs.
SHORT_NAMES: Mapping[str, str] = MappingProxyType(
    {**ALGORITHMS, "sliding_log_admitted_only": "Sliding window log (admitted only)", "gcra": "GCRA"}
)


# Short enough for a metric's label in a row of six.
METRIC_NAMES: Mapping[str, str] = MappingProxyType(
    {
        "token_bucket": "Token bucket",
        "leaking_bucket": "Leaking bucket",
        "fixed_window": "Fixed window",
        "sliding_log": "Sliding log",
        "sliding_window_counter": "Sliding counter",
    }
)


def algorithm_label(choice: str) -> str:
    return "All five" if choice == ALL else ALGORITHMS[choice]


def shown_algorithms(choice: str) -> tuple[str, ...]:
    """The algorithms the page draws in detail for the selector's ``choice``."""
    if choice == ALL:
        return tuple(ALGORITHMS)
    if choice not in ALGORITHMS:
        raise ValueError(f"algorithm must be one of {', '.join(ALGORITHM_CHOICES)} (got {choice!r})")
    return (choice,)


def limiter_settings(
    limit: int,
    window: float,
    capacity: int | None = None,
    refill_rate: float | None = None,
    queue_size: int | None = None,
    outflow_rate: float | None = None,
) -> LimiterSettings:
    """Settings for every limiter; bucket parameters left out follow the limit (``limit`` per ``window``)."""
    return LimiterSettings(limit, window, capacity, refill_rate, queue_size, outflow_rate)


def zoom_label(zoom: int) -> str:
    return "whole trace" if zoom == 0 else plural(zoom, "window")


# --- the page's parameters and presets ----------------------------------------------------------------


def _number(name: str, default: float, lo: float, hi: float, label: str, help: str) -> Param:
    return Param(name, default, lo=lo, hi=hi, kind="number", label=label, help=help)


# In the URL's order (the order a share link lists them in).
PARAMS: tuple[Param, ...] = (
    Param(
        "shape",
        "poisson",
        options=SHAPES,
        labels=SHAPE_LABELS,
        label="Traffic",
        help="The shape of the arrivals (ignored while an uploaded trace is used).",
    ),
    _number(
        "rate",
        80.0,
        0.1,
        100_000.0,
        "Base rate (req/s)",
        "Requests per second (per client for many clients).",
    ),
    _number(
        "peak",
        5.0,
        1.0,
        100.0,
        "Peak (× base)",
        "Burst rate, the ramp's final rate, or the abuser's rate, as a multiple of the base.",
    ),
    _number(
        "duration",
        60.0,
        1.0,
        3_600.0,
        "Duration (s)",
        f"Length of the trace; rate × duration is capped at {MAX_PAGE_REQUESTS:,} requests.",
    ),
    _number(
        "clients", 20, 1, 10_000, "Clients", "Well-behaved clients besides the abuser (many clients only)."
    ),
    _number("seed", 0, 0, 2**31 - 1, "Seed", "Which random arrivals are drawn; same seed, same trace."),
    Param(
        "algorithm",
        ALL,
        options=ALGORITHM_CHOICES,
        labels={c: algorithm_label(c) for c in ALGORITHM_CHOICES},
        label="Algorithm",
        help="Which limiters the charts and metrics show; the comparison table always runs all five.",
    ),
    _number(
        "limit",
        100,
        1,
        100_000,
        "Limit (requests)",
        "Requests allowed per window (window counters and logs), per client.",
    ),
    _number(
        "window", 1.0, 0.01, 3_600.0, "Window W (s)", "Window length; also the W of 'most admitted in any W'."
    ),
    _number(
        "capacity",
        100,
        1,
        100_000,
        "Bucket capacity",
        "Token bucket: tokens it holds, the largest burst it admits at once.",
    ),
    _number("refill", 100.0, 0.01, 100_000.0, "Refill rate (/s)", "Token bucket: tokens added per second."),
    _number("queue", 100, 1, 100_000, "Queue size", "Leaking bucket: requests that may wait."),
    _number(
        "outflow", 100.0, 0.01, 100_000.0, "Outflow rate (/s)", "Leaking bucket: requests served per second."
    ),
    Param(
        "a_algo",
        "token_bucket",
        options=tuple(ALGORITHMS),
        labels=ALGORITHMS,
        label="A: algorithm",
        help="A uses the parameters at the top.",
    ),
    Param(
        "b_algo",
        "sliding_window_counter",
        options=tuple(ALGORITHMS),
        labels=ALGORITHMS,
        label="B: algorithm",
        help="B uses the four settings to the right.",
    ),
    _number("b_limit", 100, 1, 100_000, "B: limit", "Requests per window for B."),
    _number("b_window", 1.0, 0.01, 3_600.0, "B: window (s)", "B's window length."),
    _number(
        "b_burst",
        100,
        1,
        100_000,
        "B: bucket size",
        "B's token bucket capacity and leaking bucket queue size.",
    ),
    _number("b_rate", 100.0, 0.01, 100_000.0, "B: bucket rate (/s)", "B's refill and outflow rate."),
    Param(
        "zoom",
        20,
        options=ZOOMS,
        labels={z: zoom_label(z) for z in ZOOMS},
        kind="select_slider",
        label="Charts show",
        help="The time span of the charts below, centred on the cursor, in windows of length W.",
    ),
    # Added with access logs, at the end: older links list none of these and read as before.
    Param(
        "limit_by",
        "client",
        options=tuple(LIMIT_BY),
        labels={"client": "client", "endpoint": "endpoint", "user_agent": "user agent"},
        label="Limit by",
        help="Whose requests share one limit: "
        + "; ".join(LIMIT_BY.values())
        + ". Endpoints and agents need an uploaded access log that records them.",
    ),
    Param(
        "inclusive_edge",
        False,
        options=(False, True),
        kind="toggle",
        label="Inclusive window edge",
        help="The sliding log's edge. Off: it counts requests in (t − W, t], so one exactly W old has left. On: [t − W, t], as "
        "Xu's text and the limits library's moving window count it.",
    ),
    Param(
        "tune_share",
        1.0,
        options=TUNE_SHARES,
        labels={x: f"{number_text(x)}%" for x in TUNE_SHARES},
        kind="select_slider",
        label="Clients a limit may touch",
        help="The suggested limit is the smallest at which at most this share of the clients has any "
        "request rejected.",
    ),
)
# The number inputs of each row, in the order the page draws them.
TRAFFIC_FIELDS = ("rate", "peak", "duration", "clients", "seed")
LIMITER_FIELDS = ("limit", "window", "capacity", "refill", "queue", "outflow")
B_FIELDS = ("b_limit", "b_window", "b_burst", "b_rate")

DEFAULT_PRESET = "Flash sale burst"
PRESETS: Mapping[str, Preset] = preset_table(
    (
        Preset(
            "Flash sale burst",
            "50 requests/s, and every 5 s a one-second rush at 500/s; the budget is 100 per second. Who "
            "lets the rush through, who smooths it, and who turns it away? Under “Two settings side by side”, setting B is a token bucket sized for it.",
            dict(shape="bursty", rate=50.0, peak=10.0, duration=120.0, b_algo="token_bucket", b_burst=500),
        ),
        Preset(
            "Burst across the window edge",
            "10 per second. 10 requests arrive just before t = 1 s and 10 just after: each fixed window "
            "holds only 10, yet 20 get through within 0.2 s. How many does each algorithm admit?",
            dict(
                shape="boundary",
                limit=10,
                capacity=10,
                refill=10.0,
                queue=10,
                outflow=10.0,
                a_algo="fixed_window",
                b_limit=10,
                b_burst=10,
                b_rate=10.0,
            ),
        ),
        Preset(
            "Steady under the limit",
            "Evenly spaced requests at 80/s against a budget of 100/s: nothing should be rejected. "
            "Under “Two settings side by side”, setting B lowers the limit to 60/s: now a quarter must go.",
            dict(
                shape="steady",
                rate=80.0,
                duration=120.0,
                a_algo="fixed_window",
                b_algo="fixed_window",
                b_limit=60,
                b_burst=60,
                b_rate=60.0,
            ),
        ),
        Preset(
            "Abusive client",
            "50 clients send 2 requests/s each; one sends 100/s. A per-client limit of 10 per second "
            "should stop the abuser and nobody else.",
            dict(
                shape="clients",
                rate=2.0,
                peak=50.0,
                clients=50,
                limit=10,
                capacity=10,
                refill=10.0,
                queue=10,
                outflow=10.0,
                b_limit=10,
                b_burst=10,
                b_rate=10.0,
                zoom=5,
            ),
        ),
        Preset(
            "Bucket too small for normal traffic",
            "Random arrivals averaging 90/s against a refill of 100/s, but the buckets hold only 3: "
            "ordinary clumps of requests get rejected. Under “Two settings side by side”, setting B is the same bucket holding 30.",
            dict(
                shape="poisson",
                rate=90.0,
                duration=120.0,
                capacity=3,
                queue=3,
                b_algo="token_bucket",
                b_burst=30,
                zoom=5,
            ),
        ),
    )
)


def traffic_from(v: Mapping[str, object]) -> TrafficConfig:
    """The generated traffic the page's values describe (parameters its shape ignores reset: one cache
    entry per distinct trace)."""
    return TrafficConfig(
        v["shape"], v["rate"], v["peak"], v["duration"], v["clients"], v["seed"], v["limit"], v["window"]
    ).normalized()


@dataclass(frozen=True)
class EdgeSettings(LimiterSettings):
    """:class:`LimiterSettings` with the sliding log's window edge: ``inclusive_edge`` counts an entry
    exactly W old (``[t - W, t]``, as Xu and ``limits`` do); off, the log is the half-open ``(t - W, t]``."""

    inclusive_edge: bool = False

    def limiters(self) -> dict:
        out = super().limiters()
        if self.inclusive_edge:
            for name, logged in (("sliding_log", True), ("sliding_log_admitted_only", False)):
                out[name] = SlidingWindowLog(
                    self.limit, self.window, log_rejected=logged, inclusive_edge=True
                )
        return out


def settings_from(v: Mapping[str, object]) -> LimiterSettings:
    """The five limiters' settings from the page's values (the parameters at the top: setting A)."""
    return _with_edge(v, v["limit"], v["window"], v["capacity"], v["refill"], v["queue"], v["outflow"])


def b_settings_from(v: Mapping[str, object]) -> LimiterSettings:
    """Setting B: its own limit and window, one bucket size and one rate for both buckets."""
    return _with_edge(v, v["b_limit"], v["b_window"], v["b_burst"], v["b_rate"], v["b_burst"], v["b_rate"])


def _with_edge(v: Mapping[str, object], *base) -> LimiterSettings:
    """Plain settings with the default edge (equal to those of older runs), else :class:`EdgeSettings`."""
    if v.get("inclusive_edge", False):
        return EdgeSettings(*base, inclusive_edge=True)
    return limiter_settings(*base)


# --- the run, summarized; the change against the previous run ------------------------------------------


def trace_headline(trace: Trace) -> Headline:
    return Headline("Requests in the trace", f"{len(trace):,}", help=trace.description)


def admitted_label(name: str) -> str:
    """A headline's label says what its percentage is: ``Token bucket: admitted``."""
    return f"{METRIC_NAMES[name]}: admitted"


def headlines(comparison: Comparison, names: Sequence[str], previous: RunSummary | None) -> list[Headline]:
    """One metric per algorithm shown: the share admitted, with the change against the previous run (in
    percentage points; the page says what it is compared with, :data:`PREVIOUS_NOTE`)."""
    s = comparison.settings
    out = []
    for name in names:
        row = comparison.row(name)
        n = row.accepted + row.rejected
        share = row.accepted / n if n else 0.0
        before = previous.share(name) if previous else None
        out.append(
            Headline(
                admitted_label(name),
                f"{share:.1%}",
                None if before is None else f"{100 * (share - before):+.1f} pts",
                f"{ALGORITHMS[name]}: {row.accepted:,} of {n:,} requests admitted, {row.rejected:,} rejected; at most "
                f"{row.max_in_window:,} to one client in any {number_text(s.window)} s window (limit {s.limit:,}).",
                delta_color="off",
            )
        )
    if len(names) == 1:
        row = comparison.row(names[0])
        out.append(
            Headline(
                f"Most in any {number_text(s.window)} s window",
                f"{row.max_in_window:,}",
                f"{row.max_in_window / s.limit:.2f}x the limit ({s.limit:,})",
                "Most requests admitted to one client in any window of length W anywhere in the trace (not "
                "only the aligned ones).",
                delta_color="off",
            )
        )
    return out


def clients_sentence(comparison: Comparison, names: Sequence[str]) -> str | None:
    """For a trace with several clients: how the busiest client fared against everybody else, and who
    was slowed (only the heavy sender, everybody, or nobody), as this run measured it."""
    first = comparison.results[names[0]]
    if first.keys is None:
        return None
    codes, uniq, counts = _client_counts(first.keys)
    if len(uniq) < 2:
        return None
    busiest = int(np.argmax(counts))
    top, is_top = str(uniq[busiest]), codes == busiest
    parts, top_slowed, others_slowed = [], False, False
    for name in names:
        r = comparison.results[name]
        mine, others = ~r.allowed[is_top], ~r.allowed[~is_top]
        top_slowed |= bool(mine.any())
        others_slowed |= bool(others.any())
        parts.append(f"{ALGORITHMS[name].lower()} {mine.mean():.1%} vs {others.mean():.2%}")
    if others_slowed:
        verdict = (
            "Each client has its own limit, yet the others are turned away too: at times their own traffic "
            "reaches the limit."
        )
    elif top_slowed:
        verdict = "Each client has its own limit, so only the heavy sender is slowed."
    else:
        verdict = "Each client has its own limit, and no client reaches it here: nobody is slowed."
    return (
        f"Rejected, busiest client ({md_escape(top)}, {int(is_top.sum()):,} requests) vs the other {plural(len(uniq) - 1, 'client')}: "
        + "; ".join(parts)
        + ". "
        + verdict
    )


def read_upload(data: bytes, name: str = "") -> tuple[Trace | None, str | None]:
    """An uploaded access log or CSV (gzipped or not) as a trace, or the parser's one sentence saying what
    is wrong (the caps are checked before anything is parsed)."""
    try:
        return parse_trace(data, name), None
    except ValueError as e:
        return None, str(e)


def duration_text(seconds: float) -> str:
    """A short duration for a metric: milliseconds below a second."""
    return f"{number_text(seconds * 1000, 3)} ms" if abs(seconds) < 1 else f"{number_text(seconds, 3)} s"


def side_metrics(s: Side, other: Side | None = None) -> list[tuple[str, str, str | None]]:
    """``(label, value, delta vs other)`` for the A/B columns."""
    delay = ("Mean wait in queue", s.wait, None if other is None else other.wait)
    if s.wait is None:
        delay = ("Median Retry-After", s.retry_after, None if other is None else other.retry_after)
    rows = [
        (
            "Admitted",
            f"{s.share:.1%}",
            None if other is None else f"{100 * (s.share - other.share):+.1f} pts vs A",
        ),
        (
            f"Most in any {number_text(s.window)} s",
            f"{s.max_in_window:,}",
            None if other is None else f"{s.max_in_window - other.max_in_window:+,} vs A",
        ),
    ]
    label, value, ref = delay
    rows.append(
        (
            label,
            "—" if value is None else duration_text(value),
            None
            if value is None or ref is None
            else f"{'+' if value >= ref else '-'}{duration_text(abs(value - ref))} vs A",
        )
    )
    return rows


# --- the time cursor ----------------------------------------------------------------------------------


def time_range(trace: Trace) -> tuple[float, float]:
    """The cursor's range: the trace's first and last arrival (at least a millisecond apart)."""
    if not len(trace):
        return 0.0, 1.0
    lo, hi = float(trace.timestamps[0]), float(trace.timestamps[-1])
    return lo, max(hi, lo + 1e-3)


def cursor_step(lo: float, hi: float) -> float:
    """The time cursor's step: a round 1, 2 or 5 x 10^k seconds, always a float, for any span from a
    microsecond to months. It is the engine's :func:`time_step` (the largest round step giving at least
    200 stops), raised to the next round value unless that already gives exactly 200: the page's cursor
    has kept 80 to 200 stops (one arrow press on the window-edge burst moves it 1 ms)."""
    step = time_step(lo, hi)
    if hi <= lo or step * 200 >= (hi - lo) * 0.999:
        return step
    return _nice_up(step)


def cursor_format(lo: float, hi: float) -> str:
    """The cursor's printf format: milliseconds, or as many decimals as its step needs."""
    return f"%.{max(3, min(6, -math.floor(math.log10(cursor_step(lo, hi)))))}f"


def default_cursor(comparison: Comparison, names: Sequence[str], key: str | None = None) -> float:
    """The first moment one of ``names`` rejects a request of client ``key`` (where the state is worth
    seeing), else the middle of the trace."""
    firsts = []
    for name in names:
        r = comparison.results[name]
        if key is not None and r.keys is not None:
            r = r.select(key)
        rej = np.flatnonzero(~r.allowed)
        if len(rej):
            firsts.append(r.time_us[rej[0]] / 1e6)
    if firsts:
        return float(min(firsts))
    t = next(iter(comparison.results.values())).time_us
    return float((t.min() + t.max()) / 2e6) if len(t) else 0.0


def view_range(t: float, lo: float, hi: float, span: float) -> tuple[float, float]:
    """The charts' time range: ``span`` seconds centred on the cursor ``t``, kept inside ``[lo, hi]``
    (the whole range when ``span`` is 0 or covers it)."""
    if span <= 0 or span >= hi - lo:
        return lo, hi
    start = min(max(t - span / 2, lo), hi - span)
    return start, start + span


def chart_range(name: str, start: float, end: float, window: float) -> tuple[float, float]:
    """The x range of a zoomed chart: the fixed window's bars widened to whole windows, so none is cut."""
    if name != "fixed_window":
        return start, end
    return math.floor(start / window) * window, math.ceil(end / window) * window


def next_cursor(t: float, lo: float, hi: float, span: float = 0.0) -> float:
    """One step of the play toggle, wrapping to the start after the end: a tenth of the charts' span when
    they are zoomed, else a fortieth of the trace."""
    step = span / 10 if 0 < span < hi - lo else (hi - lo) / PLAY_STEPS
    nxt = t + step
    return lo if nxt > hi + 1e-12 else min(nxt, hi)


def state_number(value: float) -> str:
    """A state for the table: whole numbers plain (a count), others to two decimals (tokens, estimates)."""
    text = f"{value:,.2f}"
    return text[:-3] if text.endswith(".00") else text


def arrival_slices(
    comparison: Comparison, names: Sequence[str], start: float, end: float
) -> list[SimulationResult]:
    """What the arrivals chart draws for ``names``: only the requests between ``start`` and ``end``."""
    return [time_slice(comparison.results[n], start, end, False) for n in names]


def states_frame(
    results: Mapping[str, SimulationResult], names: Sequence[str], t: float, key: str | None = None
) -> pd.DataFrame:
    """Each algorithm's state for client ``key`` at time ``t``, as the store would hold it then."""
    import pandas as pd

    rows = []
    for name in names:
        s = state_at(results[name], t, key)
        rows.append(
            {
                "algorithm": SHORT_NAMES[name],
                "state": f"{state_number(s.value)} {s.label}",
                "admitted so far": s.accepted,
                "rejected so far": s.rejected,
            }
        )
    return pd.DataFrame(rows)


# --- the comparison table and the sentences around it --------------------------------------------------


def comparison_table(comparison: Comparison) -> pd.DataFrame:
    """The side-by-side table with the algorithms' names; shares in percent (``admitted_pct``,
    ``differs_pct``: how often the sliding window counter decided differently)."""
    df = comparison.to_frame().reset_index()
    df = df.assign(
        algorithm=df["name"].map(SHORT_NAMES),
        admitted_pct=100 * df["accepted_share"],
        differs_pct=100 * df["differs_from_counter"].astype(float),
        mean_delay=df["mean_delay"].astype(float).fillna(0.0),  # the others answer at once
        max_delay=df["max_delay"].astype(float).fillna(0.0),
    )
    return df[
        [
            "algorithm",
            "accepted",
            "rejected",
            "admitted_pct",
            "max_in_window",
            "limit",
            "mean_delay",
            "max_delay",
            "state_bytes",
            "state_note",
            "differs_pct",
        ]
    ]


def near_limit_share(counter: SimulationResult, band: float = NEAR_LIMIT_BAND) -> float:
    """Share of requests that arrived with the sliding window counter's estimate within ``band`` (10%) of
    the limit: where the estimate's assumption of evenly spread previous-window traffic decides."""
    if not len(counter):
        return 0.0
    before = counter.state - counter.allowed  # the state counts an admitted request itself
    return float(np.mean(np.abs(before - counter.limit) <= band * counter.limit))


def cloudflare_sentence(comparison: Comparison) -> str:
    """Our disagreement between the sliding window counter and the exact log, next to Cloudflare's."""
    lib = comparison.row("sliding_log_admitted_only")
    book = comparison.row("sliding_log")
    counter = comparison.results["sliding_window_counter"]
    n = len(counter)
    if n == 0 or lib.differs_from_counter is None:
        return "The trace has no request, so there is nothing to compare with Cloudflare's 0.003%."
    k = round(lib.differs_from_counter * n)
    near = near_limit_share(counter)
    text = (
        f"Cloudflare checked its sliding window counter against exact counting on "
        f"{CLOUDFLARE_REQUESTS / 1e6:,.0f} million requests from {CLOUDFLARE_SOURCES:,} sources: "
        f"{CLOUDFLARE_DIFFER:.3%} were decided differently. Here the counter and the exact sliding log "
        f"(admitted requests only, the same counting rule) disagree on **{lib.differs_from_counter:.3%}** of "
        f"{n:,} requests ({k:,}); against the textbook log, {book.differs_from_counter:.3%}. "
    )
    if lib.differs_from_counter > 10 * CLOUDFLARE_DIFFER:
        return text + (
            f"The gap is the traffic, not the arithmetic: the estimate assumes the previous window's requests "
            f"were spread evenly, which only decides when the count is close to the limit. Here "
            f"{near:.1%} of requests arrived with the estimate within {NEAR_LIMIT_BAND:.0%} of the limit; "
            "bursts (or a rate close to the limit) put many requests there, while most of Cloudflare's sources sit far below their limit "
            "(or far above it), where the estimate's error flips no decision."
        )
    return text + (
        f"Close to Cloudflare's figure: only {near:.1%} of requests arrived with the estimate within "
        f"{NEAR_LIMIT_BAND:.0%} of the limit, and far from the limit the estimate's error flips no decision."
    )


def sliding_log_sentence(comparison: Comparison) -> str:
    """The textbook log (rejected requests logged too) against the libraries' (admitted only)."""
    book, lib = comparison.row("sliding_log"), comparison.row("sliding_log_admitted_only")
    w = comparison.settings.window
    return (
        f"Textbook sliding log (rejected requests are logged too): {book.accepted:,} admitted. "
        f"Library version (only admitted requests are logged, as in `limits`): {lib.accepted:,} admitted. "
        f"Both keep every {number_text(w)} s window at or under the limit (most: {book.max_in_window:,} and "
        f"{lib.max_in_window:,}). Under the textbook rule a rejected request still fills the log, so a "
        f"client that keeps sending above the limit stays blocked until it pauses for a whole window; the "
        f"library version gives it its quota again as soon as old admitted requests leave the window."
    )


def counter_sentences(comparison: Comparison) -> tuple[str, str, str]:
    """Beside the busiest-window bars: the counter against Cloudflare's figure, the two sliding logs, and
    what rounding the estimate would have changed."""
    return (
        cloudflare_sentence(comparison),
        sliding_log_sentence(comparison),
        rounding_sentence(comparison.results["sliding_window_counter"]),
    )


def rounding_margin(counter: SimulationResult) -> int:
    """Requests the sliding window counter admitted with an estimate strictly between limit - 1 and the
    limit: rounding the estimate up would have rejected them (and changed what followed)."""
    before = counter.state[counter.allowed] - 1.0
    return int(np.count_nonzero((before > counter.limit - 1 + 1e-9) & (before < counter.limit)))


def rounding_sentence(counter: SimulationResult) -> str:
    """Cloudflare's worked example of the estimate, and how many of this trace's decisions rounding up
    would have flipped."""
    e = counter_estimate(previous_count=42, current_count=18, overlap=0.75, limit=50)
    k = rounding_margin(counter)
    text = (
        f"Cloudflare's worked example: {e.previous_count} x {number_text(e.overlap)} + {e.current_count} = "
        f"{number_text(e.estimate)} of {e.limit}: admitted as it is or rounded down ({math.floor(e.estimate)}), "
        f"rejected if rounded up ({math.ceil(e.estimate)}). "
    )
    between = f"with the estimate between {counter.limit - 1:,} and {counter.limit:,}"
    if k == 0:
        return text + f"On this trace no request got in {between}: rounding would have changed nothing."
    return text + (
        f"On this trace {k:,} request{'s' if k != 1 else ''} got in {between}: rounding up would have "
        f"turned {'them' if k != 1 else 'it'} away."
    )


# --- why it behaves this way: the measured-vs-expected checks ------------------------------------------


@dataclass(frozen=True)
class BoundCheck:
    name: str
    measured: int
    bound: int | None  # None: the algorithm promises no bound (the sliding window counter)
    rule: str

    @property
    def holds(self) -> bool:
        return self.bound is None or self.measured <= self.bound


def bound_checks(comparison: Comparison) -> list[BoundCheck]:
    """The most any client got admitted in any window of length W, against what each algorithm promises."""
    s = comparison.settings
    w_us = round(s.window * 1e6)
    checks = []
    for name in ALGORITHMS:
        r, measured = comparison.results[name], comparison.row(name).max_in_window
        p = r.params
        if name == "token_bucket":
            cap, rate = p["capacity_ut"] / 1e6, p["rate_uts"] / 1e6
            bound, rule = (
                math.floor(cap + rate * w_us / 1e6 + 1e-9),
                f"capacity + refill × W = {number_text(cap)} + {number_text(rate)} × {number_text(s.window)}",
            )
        elif name == "leaking_bucket":
            per = math.ceil(w_us / p["interval_us"])
            bound, rule = p["queue_size"] + per, f"queue + ceil(W × outflow) = {p['queue_size']} + {per}"
        elif name == "fixed_window":
            bound, rule = (
                2 * s.limit,
                f"2 × limit = 2 × {s.limit}: a window of length W spans two fixed windows",
            )
        elif name == "sliding_log":
            bound, rule = s.limit, f"the limit, {s.limit}, in every window"
        else:
            bound, rule = None, f"no hard bound: an estimate against the limit {s.limit}"
        checks.append(BoundCheck(name, measured, bound, rule))
    return checks


THEORY: Mapping[str, str] = MappingProxyType(
    {
        "token_bucket": "Tokens refill at a steady rate up to the capacity; each request spends one. A full "
        "bucket lets a burst of `capacity` through at once, then `refill` per second.",
        "leaking_bucket": "Requests queue and leave at the outflow rate: the output is perfectly smooth, paid "
        "for in waiting time; when the queue is full, new requests are rejected.",
        "fixed_window": "One counter per aligned window. Cheap, but a burst at the end of one window and "
        "another at the start of the next both fit.",
        "sliding_log": "A timestamp per request; count those in (t − W, t]. Exact, but memory grows with the "
        "limit.",
        "sliding_window_counter": "current + previous × overlap: two counters, assuming the previous window's "
        "requests were spread evenly. Approximate where that assumption is wrong.",
    }
)


def explanation(comparison: Comparison) -> str:
    """The "why it behaves this way" text: theory per algorithm and each bound against the measurement."""
    w = comparison.settings.window
    lines = []
    for c in bound_checks(comparison):
        check = f"here at most **{c.measured:,}** to one client in any {number_text(w)} s window"
        if c.bound is None:
            check += f"; {c.rule}"
        else:
            check += f" vs the bound **{c.bound:,}** ({c.rule})" + ("" if c.holds else " — exceeded!")
        lines.append(f"- **{ALGORITHMS[c.name]}.** {THEORY[c.name]} Check: {check}.")
    lb = comparison.row("leaking_bucket")
    if lb.mean_delay is not None:
        lines.append(
            f"\nThe leaking bucket's smooth output costs latency: requests waited {number_text(lb.mean_delay, 3)} s on "
            f"average and up to {number_text(lb.max_delay, 3)} s; the others answer at once and tell a rejected client "
            "when to retry (`Retry-After`)."
        )
    return "\n".join(lines)


# --- export --------------------------------------------------------------------------------------------


def decisions_frame(comparison: Comparison) -> pd.DataFrame:
    """One row per request: its time and client, then allowed / remaining / retry_after (seconds) for every
    limiter, and the leaking bucket's departure time."""
    import pandas as pd

    first = next(iter(comparison.results.values()))
    cols: dict[str, object] = {
        "time_s": first.timestamps,
        "client": first.keys if first.keys is not None else np.full(len(first), "default", dtype=object),
    }
    for name, r in comparison.results.items():
        cols[f"{name}_allowed"] = r.allowed
        cols[f"{name}_remaining"] = r.remaining
        cols[f"{name}_retry_after_s"] = r.retry_after
        if r.departure is not None:
            cols[f"{name}_departure_s"] = r.departure
    return pd.DataFrame(cols)


# --- the page's words: title, labels, captions computed from the run ----------------------------------

TITLE = "Rate limiter"
IDEA = (
    "Cap how many requests a client may send in a period, so one client (or a bug, or an attacker) cannot "
    "exhaust a service. Five algorithms do it with different memory, burstiness and fairness: run them on "
    "the same traffic and step through time to see why they disagree."
)
UPLOAD_LINK_NOTE = "The link carries the settings, not the uploaded file: share the file alongside it."
PREVIOUS_NOTE = "Arrows: the change against the previous run's settings."
CLIENT_LABEL = "Client shown in the state charts"
CLIENT_HELP = (
    "Busiest first. The arrivals chart shows every client; the state belongs to one client's limiter."
)
PLAY_HELP = (
    "Move the cursor across the trace by itself. It runs only while this is on (an animation reruns in every "
    "open tab)."
)
CURSOR_LABEL = "Time cursor (s)"


def traffic_caption(trace: Trace, upload_name: str | None = None) -> str:
    """What the trace is; with an upload, how to return to the generated traffic."""
    text = f"Traffic: {trace.description} ({len(trace):,} requests)."
    if upload_name:
        text += f" Uploaded file {md_escape(upload_name, 120)}; clear it to return to generated traffic."
    return text


def upload_error(file_name: str, error: str, previous_upload: str | None) -> str:
    """A rejected upload: what is wrong (the parser names the rows) and what the page still shows. The file
    name and the rows it quotes are the visitor's: escaped, so they show as the characters they are."""
    keep = (
        f"the previous upload ({md_escape(previous_upload, 120)})"
        if previous_upload
        else "the generated traffic"
    )
    return f"{md_escape(file_name, 120)}: {md_escape(error, 1000)}. Nothing was lost: the page still shows {keep}."


def guess_label(settings: LimiterSettings) -> str:
    return (
        f"How many requests will the fixed window counter admit to one client in the busiest "
        f"{number_text(settings.window)} s window (limit {settings.limit:,})?"
    )


def reveal_headline(comparison: Comparison, guess: int) -> Headline:
    """The answer to "predict first": the fixed window's busiest window, against the guess and the limit."""
    most, limit = comparison.row("fixed_window").max_in_window, comparison.settings.limit
    return Headline(
        "Fixed window, busiest window",
        f"{most:,}",
        f"{most - guess:+,} vs your guess; {most / limit:.2f}x the limit",
        delta_color="off",
    )


def cursor_sentence(t: float, key: str | None = None) -> str:
    return (
        f"**At t = {t:.3f} s**"
        + (f" (client {md_escape(key)})" if key else "")
        + ": each limiter's state as its store holds it at that moment."
    )


def arrivals_caption(
    comparison: Comparison,
    names: Sequence[str],
    key: str | None = None,
    bins: Mapping[str, Bins] | None = None,
) -> str:
    """The arrivals chart: what it shows, and which of the algorithms shown turned nothing away here; with
    ``bins`` (too many requests to draw each), what a bin is."""
    calm = [_name(n) for n in names if not comparison.row(n).rejected]
    if len(calm) == len(names):
        notice = "here nothing is rejected: every request, burst or not, gets through"
    else:
        notice = "notice who lets a burst through and who spreads it out"
        if calm:
            notice += f"; the {_and(calm)} reject{'s' if len(calm) == 1 else ''} nothing here"
    return (
        "Every request, admitted (green) or rejected (red), per algorithm on one time axis"
        + (" (all clients)" if key else "")
        + f": {notice}."
        + (" " + bins_caption(bins) if bins else "")
    )


def _name(name: str) -> str:
    """An algorithm's name inside a sentence ("the token bucket", "GCRA")."""
    return SHORT_NAMES[name] if name == "gcra" else SHORT_NAMES[name].lower()


def _and(items: Sequence[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def table_caption(comparison: Comparison) -> str:
    """Under the comparison table: who adds latency and whose memory grows, as measured on this trace."""
    lb, log = comparison.row("leaking_bucket"), comparison.row("sliding_log")
    if lb.max_delay:
        delay = f"Only the leaking bucket adds latency (it queues: up to {seconds(lb.max_delay)} here)"
    else:
        delay = "No limiter adds latency here (the leaking bucket's queue never made a request wait)"
    return (
        f"{delay}; the logs' memory grows with the traffic (here up to {log.state_bytes:,} bytes per "
        "client), the counters' does not. The last column compares each log with the sliding window counter."
    )


def max_in_window_caption(comparison: Comparison) -> str:
    """The busiest-window bars: which limiters let more through than the limit promises on this trace."""
    limit = comparison.settings.limit
    over = [f"{_name(r.name)} ({r.max_in_window:,})" for r in comparison.rows if r.max_in_window > limit]
    text = "The most admitted to one client in any window of length W, anywhere: "
    if not over:
        return text + f"here every bar stays at or under the dotted limit ({limit:,})."
    return text + (
        f"bars past the dotted limit ({limit:,}) are red, letting more through than the limit promises: "
        f"here the {_and(over)}."
    )


def ab_caption(a: SimulationResult, b: SimulationResult) -> str:
    """Under the A/B chart: how many requests the two settings decide differently."""
    differ = int(np.count_nonzero(a.allowed != b.allowed)) if len(a) == len(b) else None
    text = "A above B on one time axis: "
    if differ == 0:
        return text + "here they decide every request alike."
    if differ is None:
        return text + "notice where one setting rejects and the other does not."
    return text + (
        f"notice where one setting rejects and the other does not ({differ:,} of {len(a):,} requests decided "
        "differently)."
    )


def table_columns(window: float) -> Mapping[str, tuple[str, str | None]]:
    """The comparison table's column headings and number formats (``None``: shown as it is)."""
    return {
        "accepted": ("admitted", None),
        "admitted_pct": ("admitted %", "%.1f%%"),
        "max_in_window": (f"most in any {number_text(window)} s", None),
        "mean_delay": ("mean added latency (s)", "%.3g"),
        "max_delay": ("max added latency (s)", "%.3g"),
        "state_bytes": ("state per client (bytes)", None),
        "state_note": ("what the state holds", None),
        "differs_pct": ("decides unlike the counter", "%.3f%%"),
    }


CHART_NOTES: Mapping[str, str] = MappingProxyType(
    {
        "token_bucket": "Tokens dip with each request and refill in straight lines: notice that rejections (x) "
        "happen only at zero.",
        "leaking_bucket": "The queue fills during a burst and drains at the outflow rate: notice the delay "
        "climbing with the queue.",
        "fixed_window": "Admitted per aligned window never passes the limit, yet two neighbouring windows can "
        "both be full right at their shared edge.",
        "sliding_window_counter": "Where the dashed exact count rises above the estimate, the approximation "
        "let too many through; where it sits below while requests are turned away, too few.",
    }
)
TRY_THIS: tuple[str, ...] = (
    "Pick 'Burst across the window edge'. Predict how many requests the fixed window admits within 0.2 s, "
    "reveal it, then read the sliding log's and the counter's rows: why 20, 10 and 11?",
    "'Flash sale burst': A and B are token buckets; grow B's bucket size until it admits the whole rush. What "
    "does that do to 'most in any W', and to the server behind the limiter?",
    "'Bucket too small for normal traffic': the average rate is below the refill rate, yet requests are "
    "rejected. Raise the capacity to 10, 30, 100: when do rejections stop?",
    "Interview: where would you put the limiter (client, API gateway, middleware)? Which headers tell a "
    "rejected client when to retry (429, Retry-After, RateLimit)? Why does Stripe use a token bucket?",
)
REFERENCES: tuple[Reference, ...] = (
    Reference(
        "Cloudflare: How we built rate limiting capable of scaling to millions of domains",
        "https://blog.cloudflare.com/counting-things-a-lot-of-different-things/",
    ),
    Reference("Stripe: Scaling your API with rate limiters", "https://stripe.com/blog/rate-limiters"),
    Reference(
        "IETF draft: RateLimit header fields for HTTP",
        "https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/",
    ),
    Reference(
        "limits (alisaifee): rate limiting strategies",
        "https://limits.readthedocs.io/en/stable/strategies.html",
    ),
)


# --- your own traffic: the upload, the key of the limit, the window edge, charts at any span -----------

UPLOAD_TITLE = "Upload a trace (CSV) or your web server's access log"
UPLOAD_LABEL = (
    "An access log in Common or Combined Log Format (Apache's and nginx's defaults), or a CSV of one request "
    "per row (time in seconds, then optionally the client); .log, .txt, .csv or .gz. At most "
    f"{MAX_UPLOAD_BYTES / 1e6:,.0f} MB uploaded; a gzip at most {MAX_DECOMPRESSED_BYTES / 1e6:,.0f} MB or "
    f"{MAX_LINES:,} lines once decompressed."
)


Upload = tuple[str, str, Trace]  # (file name, SHA-1 of its bytes, the trace read from it)


def upload_state(
    previous: Upload | None,
    file: tuple[str, bytes] | None,
    parse: Callable[[bytes, str], tuple[Trace | None, str | None]] | None = None,
) -> tuple[Upload | None, str | None]:
    """(the upload the page uses, the error to show): no file, no upload; a file ``parse`` (by default
    :func:`read_upload`) rejects keeps ``previous`` and says why; a good one replaces it."""
    if not file:
        return None, None
    name, data = file
    trace, why = (parse or read_upload)(data, name)
    if why:
        return previous, upload_error(name, why, previous[0] if previous else None)
    return (name, hashlib.sha1(data).hexdigest(), trace), None


def upload_source(upload: Upload, by: str) -> tuple[Trace, tuple, str | None]:
    """(the uploaded trace keyed by ``by``, its cache key, a notice when it cannot be keyed so)."""
    trace, note = keyed_trace(upload[2], by)
    return trace, ("upload", upload[1], by if note is None else "client"), note


def upload_headlines(trace: Trace) -> list[Headline]:
    """What the upload turned out to be: its format, requests, clients, span and skipped lines."""
    fmt = FORMATS[trace.format].label.replace(" Log Format", "") if trace.format in FORMATS else trace.format
    clients = 1 if trace.keys is None else len(_client_counts(trace.keys)[1])
    lo, hi = time_range(trace)
    start = f"from {trace.start:%Y-%m-%d %H:%M:%S} UTC" if trace.start else "times as given"
    return [
        Headline(
            "Format",
            fmt + (", gzip" if trace.compressed else ""),
            help=FORMATS.get(trace.format) and FORMATS[trace.format].fields,
        ),
        Headline("Requests", f"{len(trace):,}"),
        Headline("Clients", f"{clients:,}", help="Distinct remote hosts (or CSV clients)."),
        Headline("Span", seconds(hi - lo) if len(trace) > 1 else "one instant", help=start),
        Headline("Malformed lines", f"{trace.malformed:,}", help="Lines that are not log lines, skipped."),
    ]


def malformed_text(trace: Trace) -> str | None:
    """The first skipped lines with their numbers, as plain text (shown as text, never as markdown)."""
    if not trace.malformed_examples:
        return None
    head = f"Skipped {plural(trace.malformed, 'line')}; the first {len(trace.malformed_examples)}:"
    return "\n".join([head, *(f"line {n:,}: {echo(line, 200)}" for n, line in trace.malformed_examples)])


def log_description(trace: Trace, name: str) -> str:
    """What replaces the preset's description while an upload is used."""
    return (
        f"Your upload, {md_escape(name, 120)}: {md_escape(trace.description, 400)}. The traffic inputs are "
        "off while it is used; the limiter settings below apply to it."
    )


def keyed_trace(trace: Trace, by: str) -> tuple[Trace, str | None]:
    """The trace with each request keyed as the limit is kept (``by``: one of ``LIMIT_BY``), and a notice
    when the trace does not record that field (then the limit stays per client)."""
    if by == "client":
        return trace, None
    try:
        keys = limit_keys(trace, by)
    except ValueError as e:
        return trace, f"Limit by {LIMIT_BY[by]}: {e}."
    return replace(trace, keys=keys), None


def edge_sentence(inclusive: bool, window: float) -> str:
    """Which window edge the sliding log uses, and why it matters."""
    rule = (
        "[t − W, t]: a request exactly W old still counts"
        if inclusive
        else "(t − W, t]: a request exactly W old has left"
    )
    return (
        f"The sliding log counts {rule} (W = {number_text(window)} s). On logs with whole-second times and W = 1 s the "
        "half-open log lets a new second's burst in after a full one, like a fixed window; the inclusive "
        "edge (Xu, `limits`) does not."
    )


def arrival_bins(slices: Sequence[SimulationResult], start: float, end: float) -> dict[str, Bins] | None:
    """Counts per time bin for each slice once they hold more than :data:`MAX_DRAWN` requests (else
    ``None``: every request is drawn)."""
    if max((len(r) for r in slices), default=0) <= MAX_DRAWN:
        return None
    return {r.label: bin_counts(r.time_us / 1e6, r.allowed, start, end, MAX_BINS) for r in slices}


def bins_caption(bins: Mapping[str, Bins]) -> str:
    width = next(iter(bins.values())).width
    return (
        f"Too many requests to draw one by one: each bar is a bin of {seconds(width)}, the requests in it "
        "admitted (green) and rejected (red), per algorithm."
    )


# --- tuning a limit from the traffic -------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class Tuning:
    peaks: PeakDistribution
    suggestions: tuple[Suggestion, ...]
    limited: LimitedClients
    share: float  # percent of clients the suggestion may touch

    @property
    def percentile(self) -> float:
        """The percentile of clients' peaks the suggestion keeps clear of any rejection."""
        return 100.0 - self.share


def tuning(trace: Trace, settings: LimiterSettings, algorithm: str, share_pct: float) -> Tuning:
    """Per-client peaks in W, the smallest limit per algorithm touching at most ``share_pct`` percent of
    the clients, and who the page's own limit (``algorithm`` at ``settings``) would have limited. The
    clients are factorized once (a ``pandas.Categorical``)."""
    import pandas as pd

    keys = pd.Categorical(trace.keys) if trace.keys is not None else None
    edge = bool(getattr(settings, "inclusive_edge", False))
    t, w = trace.timestamps, settings.window
    return Tuning(
        client_peaks(t, keys, w, inclusive_edge=edge),
        suggest_limits(t, keys, w, share=share_pct / 100, algorithms=LIMIT_ALGORITHMS, inclusive_edge=edge),
        limited_clients(t, keys, settings.limiters()[algorithm]),
        share_pct,
    )


TUNING_TITLE = "The limit this traffic needs, and whom it hurts"


def peaks_caption(tune: Tuning) -> str:
    """Under the peak distribution: the peak at the chosen percentile and the busiest client's."""
    q, p = tune.percentile, tune.peaks
    at = p.percentile(q)
    return (
        f"Each client's peak: the most requests it sent in any {number_text(p.window)} s window. {number_text(q)}% of the "
        f"{plural(len(p), 'client')} peak at or under **{at:,}** (dotted line); the busiest peaks at "
        f"{int(p.peaks[0]) if len(p) else 0:,}."
    )


def suggestions_frame(tune: Tuning) -> pd.DataFrame:
    """One row per algorithm: the smallest limit per W touching at most the chosen share of clients."""
    import pandas as pd

    return pd.DataFrame(
        [
            {
                "algorithm": s.label,
                "suggested limit": "none up to 1,000,000" if s.limit is None else f"{s.limit:,}",
                "clients limited": s.clients_limited,
                "limited %": round(100 * s.limited_share, 2),
            }
            for s in tune.suggestions
        ]
    )


def suggestions_caption(tune: Tuning) -> str:
    w = tune.peaks.window
    return (
        f"The smallest limit per {number_text(w)} s at which at most {number_text(tune.share)}% of the "
        f"{plural(tune.peaks.clients.size, 'client')} see any rejection; the "
        "buckets hold that many and refill (or drain) it per window, as `make_limiter` maps them."
    )


def limited_caption(tune: Tuning, settings: LimiterSettings) -> str:
    lim = tune.limited
    if not len(lim):
        return f"At the limit above ({settings.limit:,} per {number_text(settings.window)} s), {lim.label} limits no client."
    return (
        f"At the limit above ({settings.limit:,} per {number_text(settings.window)} s), {lim.label} would have limited "
        f"{plural(len(lim), 'client')} of {lim.clients:,} ({lim.share:.1%}), most rejected first."
    )
