"""Words for "Interview recap": the four steps of a system-design interview with their time boxes, the
back-of-the-envelope estimates (``sdcore.scale``), the timer, and the recap of what this session measured on
the other pages, with one line per page, a Markdown export and a link that bundles every experiment.

No Streamlit here: the page passes the session's records (``ui.ending.PageRecord``, read by attribute) and
a clock (``time.time``); tests pass plain objects and a fake clock.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import importlib
import json
import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from types import MappingProxyType
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

from lessons.base import Headline, Param, Preset, Reference, md_escape, num, preset_table
from sdcore.checks import number_text
from sdcore.scale import (
    PRACTICE_ORDER,
    PRACTICES,
    bandwidth_from_qps,
    format_bytes,
    qps_from_dau,
    servers_for,
    storage_per_year,
)

TITLE = "Interview recap"
IDEA = (
    "A system-design interview is about 45 minutes in four steps: agree what to build, sketch it, go deep "
    "where it matters, wrap up. Practise the steps against the clock, size the design with the back of the "
    "envelope, then read back the choices you made on the other pages, each with the figure you measured."
)
PAGE_ID = "recap"
PAGE_PATH = "pages/interview_recap.py"

# -- the four steps ------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Step:
    """One step of the interview: its time box (minutes), the minutes the timer gives it, what to say."""

    name: str
    lo: int
    hi: int
    budget: int
    goal: str
    say: tuple[str, ...]


STEPS: tuple[Step, ...] = (
    Step(
        "Understand the problem and agree the scope",
        5,
        10,
        7,
        "Do not design yet: find out what to build, for whom, at what scale, and write it down.",
        (
            "**Ask** why the system exists and who uses it; list the three to five features in scope and say "
            "what is out (\u201cno search, no ads\u201d).",
            "**Non-functional requirements:** daily users, reads per write, latency target, availability vs "
            "consistency (which one wins when a replica is unreachable?).",
            "**Estimate** requests per second at the peak, storage over the years, bandwidth and servers, "
            "with the arithmetic on the board: orders of magnitude, not decimals.",
            "**Agree:** \u201cSo we build X for N users at Y requests per second. Is that the right scope?\u201d",
        ),
    ),
    Step(
        "High-level design",
        10,
        15,
        13,
        "A blueprint that serves every feature in scope, agreed with the interviewer before going deeper.",
        (
            "**API first:** a few endpoints with their inputs and outputs (POST /posts, GET /feed?cursor=).",
            "**Boxes:** clients, load balancer, a stateless web tier, cache, database, a queue and workers for "
            "slow work, a CDN for static files; the data model of the main tables.",
            "**Walk one request** through the boxes, for a write and for a read, and check the numbers from "
            "step 1 fit (servers, storage, bandwidth).",
            "**Ask for buy-in:** \u201cDoes this cover the requirements? Where would you like me to go deeper?\u201d",
        ),
    ),
    Step(
        "Deep dive",
        10,
        25,
        20,
        "Two or three components the interviewer cares about, with the trade-offs and the numbers.",
        (
            "**Pick** the hard parts: the hot path, the part that must scale, the part that must not lose "
            "data. Follow the interviewer's lead.",
            "**Name the options and the trade-off** (push or pull, W + R > N or fast writes, a token bucket or "
            "a sliding window) and say which you pick for these requirements, and why.",
            "**Use numbers** you can defend: the topic pages below measure each trade-off.",
        ),
    ),
    Step(
        "Wrap-up",
        3,
        5,
        5,
        "Step back: what breaks first, how you would know, and how you would ship it.",
        (
            "**Summarise** the design in three sentences and the choices that shaped it.",
            "**Go through** bottlenecks, failure modes, monitoring and the roll-out plan (prompts below).",
            "**Say what comes next** at 10\u00d7 the load, and what you would do with more time.",
        ),
    ),
)
TOTAL_MINUTES = sum(s.budget for s in STEPS)


def step_heading(i: int) -> str:
    """ "1 · Understand the problem and agree the scope (5–10 min)"."""
    s = STEPS[i]
    return f"{i + 1} \u00b7 {s.name} ({s.lo}\u2013{s.hi} min)"


def say_markdown(step: Step) -> str:
    return f"*{step.goal}*\n\n" + "\n".join(f"- {line}" for line in step.say)


def time_boxes() -> str:
    """The four time boxes in one sentence, with the timer's budget."""
    boxes = "; ".join(f"{s.name.lower()} {s.lo}\u2013{s.hi} min" for s in STEPS)
    budget = " + ".join(str(s.budget) for s in STEPS)
    return f"Time boxes: {boxes}. The timer gives {budget} = {TOTAL_MINUTES} minutes."


# -- the timer ------------------------------------------------------------------------------------------------

Clock = Callable[[], float]


@dataclass(frozen=True)
class TimerStatus:
    elapsed: float
    step: int  # index into STEPS (the last one once time is up)
    left_in_step: float
    left_total: float
    done: bool
    running: bool


@dataclass(frozen=True)
class Timer:
    """The interview clock: seconds run before the last start, and the clock reading at that start (None
    while stopped). Every reading of the time goes through the ``clock`` passed in."""

    banked: float = 0.0
    started_at: float | None = None

    @property
    def running(self) -> bool:
        return self.started_at is not None

    def start(self, clock: Clock) -> Timer:
        return self if self.running else Timer(self.banked, clock())

    def stop(self, clock: Clock) -> Timer:
        return Timer(self.elapsed(clock), None) if self.running else self

    def elapsed(self, clock: Clock) -> float:
        return self.banked + (max(0.0, clock() - self.started_at) if self.started_at is not None else 0.0)

    def status(self, clock: Clock) -> TimerStatus:
        t = self.elapsed(clock)
        end = 0.0
        for i, s in enumerate(STEPS):
            end += 60 * s.budget
            if t < end:
                return TimerStatus(t, i, end - t, 60 * TOTAL_MINUTES - t, False, self.running)
        return TimerStatus(t, len(STEPS) - 1, 0.0, 0.0, True, self.running)


def clock_text(s: float) -> str:
    """Seconds as m:ss, rounded up (a countdown shows 0:00 only at the end): 125.2 -> "2:06"."""
    s = max(0, math.ceil(s - 1e-9))
    return f"{s // 60}:{s % 60:02d}"


def timer_sentence(status: TimerStatus) -> str:
    if status.done:
        return (
            f"**Time is up:** {TOTAL_MINUTES} minutes. Reset the clock to practise again; in a real interview, "
            "stop at the wrap-up even if a deep dive is unfinished."
        )
    s = STEPS[status.step]
    state = "" if status.running else " (paused)" if status.elapsed > 0 else " (not started)"
    return (
        f"**Step {status.step + 1} of {len(STEPS)} \u00b7 {s.name}**{state}: {clock_text(status.left_in_step)} "
        f"left of its {s.budget} min \u00b7 {clock_text(status.left_total)} left of {TOTAL_MINUTES} min."
    )


# -- estimates ------------------------------------------------------------------------------------------------

BUNDLE_MAX_CHARS = 4096  # the bundle parameter, base64url text
BUNDLE_MAX_PAGES = 20

DAU_STEPS = (100_000, 1_000_000, 5_000_000, 10_000_000, 50_000_000, 100_000_000, 150_000_000, 300_000_000,
             500_000_000, 1_000_000_000, 2_000_000_000)  # fmt: skip


def users_text(n: int) -> str:
    """100_000 -> "100 thousand", 150_000_000 -> "150 million", 2_000_000_000 -> "2 billion"."""
    for size, word in ((1_000_000_000, "billion"), (1_000_000, "million"), (1_000, "thousand")):
        if n >= size:
            return f"{number_text(n / size)} {word}"
    return num(n)


PARAMS: tuple[Param, ...] = (
    Param("dau", 10_000_000, options=DAU_STEPS, labels={n: users_text(n) for n in DAU_STEPS}, kind="select_slider",
          label="Daily active users", help="People who use the product on a given day."),
    Param("requests_per_user", 20, lo=0, hi=100_000, step=1, kind="number", label="Requests per user per day",
          help="API calls one user makes in a day: feed loads, page views, sends."),
    Param("peak_factor", 2.0, lo=1.0, hi=10.0, step=0.5, label="Peak factor",
          help="The busiest hour's rate ÷ the day's average: capacity is planned for the peak."),
    Param("writes_per_user", 2, lo=0, hi=10_000, step=1, kind="number", label="Writes per user per day",
          help="Records each user creates in a day (posts, messages, links)."),
    Param("bytes_per_write", 1_000, lo=0, hi=1_000_000_000, step=100, kind="number", label="Bytes per write",
          help="Average size of one record with its metadata (media counted at its average share)."),
    Param("replicas", 3, lo=1, hi=10, step=1, label="Replicas", help="Copies of every record kept."),
    Param("years", 5, lo=1, hi=20, step=1, label="Years kept", help="How long the data is kept."),
    Param("bytes_per_response", 10_000, lo=0, hi=1_000_000_000, step=1_000, kind="number",
          label="Bytes per response", help="Average response size, for the bandwidth out."),
    Param("qps_per_server", 1_000, lo=1, hi=1_000_000, step=100, kind="number", label="Requests/s per server",
          help="Measured or assumed for one web server (a few hundred to a few thousand for a typical API)."),
    Param("target_utilization", 0.6, lo=0.1, hi=0.9, step=0.05, label="Target utilization",
          help="Servers are sized to run at most this busy at the peak: headroom for failures and surprises."),
    Param("bundle", "", widget=False, max_len=4 * BUNDLE_MAX_CHARS),
)  # fmt: skip
PARAM = MappingProxyType({p.name: p for p in PARAMS})
ESTIMATE_ROWS = (
    ("dau", "requests_per_user", "peak_factor", "qps_per_server", "target_utilization"),
    ("writes_per_user", "bytes_per_write", "replicas", "years", "bytes_per_response"),
)

PRESETS = preset_table((
    Preset("News feed, 10 million DAU", "A social network's feed: 10 million people a day load it about 20 "
           "times and post twice; a post with its metadata is about 1 KB, a feed page 10 KB."),
    Preset("Twitter-scale timeline", "150 million daily users post 2 tweets a day; one in ten carries a 1 MB "
           "photo, so a tweet stores 100 KB on average. Each user loads the timeline 50 times.",
           dict(dau=150_000_000, requests_per_user=50, writes_per_user=2, bytes_per_write=100_000,
                bytes_per_response=50_000, peak_factor=2.0)),
    Preset("URL shortener", "100 million new short links a day, each read about ten times; a row (short code, "
           "long URL, owner, dates) is about 500 bytes, a redirect response 500 bytes.",
           dict(dau=100_000_000, requests_per_user=11, writes_per_user=1, bytes_per_write=500,
                bytes_per_response=500, qps_per_server=5_000, years=10)),
    Preset("Chat, 50 million DAU", "50 million daily users send 40 messages and receive as many; a message "
           "is about 100 bytes stored, and kept for ten years.",
           dict(dau=50_000_000, requests_per_user=80, writes_per_user=40, bytes_per_write=100,
                bytes_per_response=1_000, peak_factor=3.0, years=10)),
))  # fmt: skip
DEFAULT_PRESET = "News feed, 10 million DAU"


@dataclass(frozen=True)
class Estimates:
    qps: Any
    storage: Any
    bandwidth: Any
    servers: Any


def estimates(v: Mapping[str, Any]) -> Estimates:
    """The four back-of-the-envelope numbers of step 1 (a ValueError names a bad input)."""
    qps = qps_from_dau(int(v["dau"]), float(v["requests_per_user"]), float(v["peak_factor"]))
    storage = storage_per_year(
        int(v["dau"]),
        float(v["writes_per_user"]),
        float(v["bytes_per_write"]),
        int(v["replicas"]),
        v["years"],
    )
    return Estimates(
        qps,
        storage,
        bandwidth_from_qps(qps.peak_qps, float(v["bytes_per_response"])),
        servers_for(qps.peak_qps, float(v["qps_per_server"]), float(v["target_utilization"])),
    )


def estimate_headlines(e: Estimates) -> tuple[Headline, ...]:
    return (
        Headline(
            "Peak requests/s", num(e.qps.peak_qps), f"average {num(e.qps.average_qps)}", delta_color="off"
        ),
        Headline(
            "Stored",
            format_bytes(e.storage.total_bytes),
            f"{format_bytes(e.storage.bytes_per_year)} a year, one copy",
            delta_color="off",
        ),  # fmt: skip
        Headline(
            "Bandwidth out at peak", f"{format_bytes(e.bandwidth.bytes_per_second)}/s", delta_color="off"
        ),
        Headline(
            "Web servers",
            num(e.servers.servers),
            f"at {num(100 * e.servers.target_utilization)}% busy",
            delta_color="off",
        ),  # fmt: skip
    )


def estimate_blocks(e: Estimates) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """(what is estimated, the arithmetic lines), in the order a whiteboard has them."""
    return (
        ("Requests per second", e.qps.arithmetic),
        ("Storage", e.storage.arithmetic),
        ("Bandwidth", e.bandwidth.arithmetic),
        ("Servers", e.servers.arithmetic),
    )


DISK_PER_NODE = 10e12  # bytes one database node is given here (a few large disks)
NIC_BYTES_PER_S = 1.25e9  # a 10 Gbit/s network card


def design_notes(e: Estimates) -> tuple[str, ...]:
    """The high-level design the numbers of step 1 call for, one sentence per tier."""
    peak, total, bw = e.qps.peak_qps, e.storage.total_bytes, e.bandwidth.bytes_per_second
    n = e.servers.servers
    notes = [
        f"**Web tier:** {num(n)} stateless server{'s' if n != 1 else ''} behind a load balancer for "
        f"{num(peak)} requests/s at the peak, plus one or two spare so a failure or a deploy costs nothing."
    ]
    if total > DISK_PER_NODE:
        notes.append(
            f"**Data tier:** {format_bytes(total)} does not fit one machine (about {format_bytes(DISK_PER_NODE)} "
            f"each): shard it over at least {num(math.ceil(total / DISK_PER_NODE))} nodes by the key the reads "
            "use, each shard replicated."
        )
    else:
        notes.append(
            f"**Data tier:** {format_bytes(total)} in all fits one primary's disks; replicas take the reads "
            "and a failover. Shard later, when the data or the writes outgrow one node."
        )
    if bw > NIC_BYTES_PER_S:
        notes.append(
            f"**Bandwidth:** {format_bytes(bw)}/s out is more than a 10 Gbit/s card carries: serve media and "
            "static files from object storage through a CDN, keep the API responses small."
        )
    else:
        notes.append(
            f"**Bandwidth:** {format_bytes(bw)}/s out fits ordinary network cards; a CDN still takes the static "
            "files off the web tier and closer to the users."
        )
    notes.append(
        f"**Cache and queue:** reads outnumber writes {num(e.qps.requests_per_user_per_day)} to "
        f"{num(e.storage.writes_per_user_per_day)} per user: cache the hot reads; put slow work (fanout, "
        "thumbnails, notifications) on a queue for workers."
    )
    return tuple(notes)


# -- deep dives and wrap-up ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Topic:
    """A page of this sandbox that measures one trade-off: where it is, its lesson, what it answers."""

    page_id: str
    path: str
    lesson: str
    title: str
    question: str
    presets: str = "PRESETS"  # the lesson's presets, as the page passes them to PageParams

    @property
    def url_path(self) -> str:
        return PurePosixPath(self.path).stem


TOPICS: tuple[Topic, ...] = (
    Topic("hashing", "pages/consistent_hashing.py", "lessons.consistent_hashing", "Consistent hashing",
          "How do keys spread over servers, and how many move when one joins?"),
    Topic("sharding", "pages/sharding.py", "lessons.sharding", "Sharding",
          "Which shard key; the hot key; what re-sharding moves and how long it takes."),
    Topic("ratelimit", "pages/rate_limiter.py", "lessons.rate_limiter", "Rate limiter",
          "Which algorithm, and what a burst does to each."),
    Topic("gateway", "pages/api_gateway.py", "lessons.api_gateway", "API gateway: throttle rules",
          "Where the limiter sits, which rule applies, what the client is told."),
    Topic("distributed", "pages/distributed_rate_limiting.py", "lessons.distributed_rate_limiting",
          "Distributed rate limiting", "One limit across many servers: the race, the shared store, sync."),
    Topic("kv", "pages/kv_quorum.py", "lessons.kv_quorum", "Key-value store: quorums",
          "N, W, R: how often a read is stale, and what each costs in latency."),
    Topic("kvc", "pages/kv_cluster.py", "lessons.kv_cluster", "Key-value store: a cluster you can break",
          "A node dies mid-write: sloppy quorum, hints, siblings.", presets="PAGE_PRESETS"),
    Topic("kvh", "pages/kv_health.py", "lessons.kv_health", "Key-value store: healthy replicas",
          "How the cluster notices a crash, and how replicas are repaired."),
    Topic("kvs", "pages/kv_storage.py", "lessons.kv_storage", "Key-value store: one node's storage",
          "The write and read path of one node: compaction and bloom filters."),
    Topic("feed", "pages/news_feed.py", "lessons.news_feed", "News feed",
          "Fanout on write, on read, or hybrid: the celebrity case."),
    Topic("res", "pages/resilience.py", "lessons.resilience", "Resilience: circuit breaker",
          "A dependency fails: the breaker, the fallback, the cascade it prevents."),
    Topic("scale", "pages/scale.py", "lessons.scale", "Scale to millions",
          "Grow the architecture one practice at a time, then break it on purpose."),
)  # fmt: skip
TOPIC = MappingProxyType({t.page_id: t for t in TOPICS})


@dataclass(frozen=True)
class Prompt:
    name: str
    questions: str
    measured_on: tuple[tuple[str, str], ...] = ()  # (page id, figure label prefix) worth quoting here


WRAP_UP: tuple[Prompt, ...] = (
    Prompt("Bottlenecks", "Which tier saturates first as load grows, and at what load? What do you add then?",
           (("scale", "Bottleneck"), ("scale", "Breaks at"), ("sharding", "Hot shard reads/s"))),
    Prompt("Failure modes", "A server, a replica, a data center, a dependency goes away: what does the user "
           "see, what is lost, what recovers by itself?",
           (("kvc", "Requests failed"), ("res", "Breaker + fallback: Answered"),
            ("scale", "Requests failed in the drill"))),
    Prompt("Monitoring", "The four golden signals per tier (latency, traffic, errors, saturation); what pages "
           "someone at night, and how fast a failure is noticed.",
           (("kvh", "Crash noticed after"), ("scale", "Back to"))),
    Prompt("Roll-out plan", "Ship behind a flag to a small share of users (a canary), watch the signals, then "
           "ramp; how you migrate the data and roll back.",
           (("sharding", "Rows moved"), ("ratelimit", "Requests in the trace"))),
)  # fmt: skip


# -- the recap ------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Experiment:
    """One page as this session left it (from its recap record), or as a bundled link describes it."""

    page_id: str
    title: str
    preset: str
    custom: bool
    query: Mapping[str, str]
    link: str
    figures: tuple[tuple[str, str], ...] = ()

    @property
    def topic(self) -> Topic:
        return TOPIC[self.page_id]


def session_experiments(records: Mapping[str, Any]) -> tuple[Experiment, ...]:
    """This session's records (``st.session_state["_recap"]``: page id -> PageRecord), in the order the pages
    were first visited; the recap page itself and unknown pages are left out."""
    return tuple(
        Experiment(r.page_id, r.title, r.preset, bool(r.custom), dict(r.query), r.link, tuple(r.headlines))
        for r in records.values()
        if r.page_id in TOPIC
    )


def _lesson(page_id: str) -> Any:
    return importlib.import_module(TOPIC[page_id].lesson)


def preset_names(page_id: str) -> tuple[str, ...]:
    return tuple(_preset_values(page_id))


def _preset_values(page_id: str) -> dict[str, dict[str, Any]]:
    presets = getattr(_lesson(page_id), TOPIC[page_id].presets)
    items = presets.items() if isinstance(presets, Mapping) else ((p.name, p) for p in presets)
    return {name: dict(p.values) if isinstance(p, Preset) else dict(p) for name, p in items}


def experiment_values(page_id: str, query: Mapping[str, str]) -> dict[str, Any]:
    """The page's parameter values for ``query``, as the page reads its URL: the preset's values, then each
    parameter that parses (a bad one keeps the preset's value; the page itself says so when opened)."""
    lesson = _lesson(page_id)
    params = {p.name: p for p in lesson.PARAMS}
    presets = _preset_values(page_id)
    base = query.get("preset", lesson.DEFAULT_PRESET)
    base = base if base in presets else lesson.DEFAULT_PRESET
    values = {name: p.default for name, p in params.items()}
    values.update(presets[base])
    for name, raw in query.items():
        if name in params:
            with contextlib.suppress(ValueError):
                values[name] = params[name].parse(raw)
    return values


def _label(page_id: str, name: str, value: Any) -> str:
    p = next(p for p in _lesson(page_id).PARAMS if p.name == name)
    return p.format(value)


def _lower_first(text: str) -> str:
    """ "Static assets on a CDN" -> "static assets on a CDN" (acronyms kept)."""
    return text[:1].lower() + text[1:] if text[1:2].islower() else text


@dataclass(frozen=True)
class RecapLine:
    choice: str
    guarantees: str
    costs: str
    measured: str | None  # None: nothing measured in this session (a bundled link not opened yet)


class _Figures:
    """The figures a page recorded, looked up by the start of their label (labels carry run numbers)."""

    def __init__(self, figures: Iterable[tuple[str, str]]):
        self.rows = tuple(figures)

    def __bool__(self) -> bool:
        return bool(self.rows)

    def __call__(self, start: str) -> str:
        return next((value for label, value in self.rows if label.startswith(start)), "\u2014")


_SCHEMES = MappingProxyType({
    "ring": ("a server joining or leaving moves only about 1/n of the keys",
             "memory for servers × virtual nodes ring points, and some imbalance"),
    "bounded": ("few keys move and no server holds more than c × its fair share",
                "keys overflow to the next server, so a lookup may walk the ring"),
    "modulo": ("an even spread with no state at all", "almost every key moves when n changes"),
    "jump": ("an even spread and minimal movement with no ring in memory",
             "servers can only be added or removed at the end"),
    "rendezvous": ("minimal movement, and weights", "n hashes per lookup"),
})  # fmt: skip
_ALGORITHMS = MappingProxyType({
    "token_bucket": ("the long-run rate never exceeds the refill rate", "a full bucket lets a burst through at once"),
    "leaking_bucket": ("a smooth outflow at a fixed rate", "a burst waits in the queue instead of being served"),
    "fixed_window": ("at most the limit per aligned window, with one counter", "up to twice the limit across a "
                     "window edge"),
    "sliding_log": ("never more than the limit in any window", "one timestamp per request in memory"),
    "sliding_window_counter": ("close to a true sliding window with two counters", "an approximation that can "
                               "slightly over- or under-admit"),
})  # fmt: skip
_FANOUT = MappingProxyType({
    "push": ("a feed load reads one precomputed list", "a post is one write per follower: the celebrity's post "
             "takes long to reach the last one"),
    "pull": ("a post is a single write", "every load merges the lists of everyone followed"),
    "hybrid": ("ordinary posts are pushed, celebrities' posts pulled", "a load merges a few celebrity lists"),
    "per_pair": ("each follower pair pushed or pulled by its rates", "the cost model must be kept up to date"),
})  # fmt: skip


def _hashing(v, f) -> RecapLine:
    scheme = v["scheme"]
    vnodes = f" × {num(v['vnodes'])} virtual nodes" if scheme in ("ring", "bounded") else ""
    guarantee, cost = _SCHEMES.get(scheme, ("", ""))
    return RecapLine(
        f"{_label('hashing', 'scheme', scheme)}, {num(v['nodes'])} servers{vnodes}",
        guarantee,
        cost,
        f"keys moved {f('Keys moved')}, busiest server {f('Busiest server')} its fair share" if f else None,
    )


def _sizing(algo: str, limit: int, window: float, burst: float, rate: float) -> str:
    if algo == "token_bucket":
        return f"a bucket of {num(burst)} refilled at {number_text(rate)}/s"
    if algo == "leaking_bucket":
        return f"a queue of {num(burst)} drained at {number_text(rate)}/s"
    return f"{num(limit)} per {number_text(window)} s"


def _ratelimit(v, f) -> RecapLine:
    names = _lesson("ratelimit").METRIC_NAMES
    a, b = v["a_algo"], v["b_algo"]
    guarantee, cost = _ALGORITHMS.get(a, ("", ""))
    sized_a = _sizing(a, v["limit"], v["window"], v["capacity"] if a == "token_bucket" else v["queue"],
                      v["refill"] if a == "token_bucket" else v["outflow"])  # fmt: skip
    sized_b = _sizing(b, v["b_limit"], v["b_window"], v["b_burst"], v["b_rate"])
    shares = f"{f(names[a])} ({names[a]})" + ("" if a == b else f" and {f(names[b])} ({names[b]})")
    return RecapLine(
        f"{_label('ratelimit', 'a_algo', a)} with {sized_a}, against {_label('ratelimit', 'b_algo', b)} with "
        f"{sized_b}",
        guarantee,
        cost,
        f"admitted {shares} of {f('Requests in the trace')} requests" if f else None,
    )


def _gateway(v, f) -> RecapLine:
    return RecapLine(
        f"the rules of \u201c{v['_preset']}\u201d at the gateway",
        "every endpoint's limit holds per client, and a deny-listed address never reaches the service",
        "one rule evaluation per request, and honest clients behind one key share its limit",
        f"of {f('Requests')} requests, {f('Served')} served, {f('Limited')} limited (429), "
        f"{f('Denied')} denied (403)"
        if f
        else None,
    )


def _distributed(v, f) -> RecapLine:
    return RecapLine(
        f"{num(v['clients'])} servers sharing a limit of {num(v['limit'])}; {num(v['instances'])} instances "
        f"synced every {num(v['sync_ms'])} ms",
        "an atomic shared counter (INCR or a Lua script in Redis) holds the limit across every server",
        "a network round trip per decision and a store that can fail; syncing instead lets clients overshoot",
        f"worst client {f('Local: worst client')} with local counters (worst case {f('Worst case')}), "
        f"{f('Shared Redis')} with shared Redis, {f('Synced')} synced"
        if f
        else None,
    )


def _kv(v, f) -> RecapLine:
    n, w, r = v["n"], v["w"], v["r"]
    strong = w + r > n
    return RecapLine(
        f"N = {n}, W = {w}, R = {r}",
        "W + R > N: every read quorum meets the last write's, so a read after the commit sees it"
        if strong
        else "W + R ≤ N: fast, available reads and writes, and eventually consistent",
        f"each write waits for {w} of its replicas and each read for {r}; writes survive "
        f"{n - w} and reads {n - r} unreachable replicas"
        + ("" if strong else "; a read can miss the latest write"),
        f"stale at commit {f('Stale reads at commit')}, read latency (median · p99.9) {f('Read latency')}, "
        f"write latency {f('Write latency')}"
        if f
        else None,
    )


def _kvc(v, f) -> RecapLine:
    sloppy = bool(v["sloppy_quorum"])
    return RecapLine(
        f"{num(v['nodes'])} nodes, N = {v['n']}, W = {v['w']}, R = {v['r']}, sloppy quorum "
        f"{'on' if sloppy else 'off'} ({_label('kvc', 'hint_rule', v['hint_rule'])})",
        "writes stay available while owners are down: stand-ins keep hints and hand them off"
        if sloppy
        else "only the owners store a key: W + R > N holds for every acknowledged request",
        "W + R > N no longer promises the latest value, and siblings must be reconciled"
        if sloppy
        else "requests are refused when too few owners are reachable",
        f"{f('Requests failed')} requests failed, {f('Stale gets')} stale gets, at most "
        f"{f('Most siblings')} sibling{'' if f('Most siblings') == '1' else 's'}, hints delivered {f('Hints delivered')}"
        if f
        else None,
    )


def _kvh(v, f) -> RecapLine:
    return RecapLine(
        f"gossip to {v['fanout']} peers a round with t_fail = {v['t_fail']} rounds, phi threshold "
        f"{number_text(v['threshold'])}, Merkle depth {v['depth']}, gc_grace {v['gc_grace']} days",
        "every live node learns of a crash in about t_fail plus log n rounds, and repair streams only the "
        "ranges that differ",
        "a shorter t_fail or a lower threshold convicts slow nodes that are alive; too short a gc_grace "
        "brings deletes back",
        f"crash noticed after {f('Crash noticed after')} (slowest {f('Slowest live node')}), "
        f"{f('False suspicions')} false suspicions; {f('Hashes compared')} hashes compared, "
        f"{f('Keys streamed')} keys streamed; the deleted key {f('The deleted key')}"
        if f
        else None,
    )


def _kvs(v, f) -> RecapLine:
    leveled = v["compaction"] == "leveled"
    bits = float(v["bloom_bits"])
    return RecapLine(
        f"{_label('kvs', 'compaction', v['compaction'])} compaction, a memtable of {v['memtable_limit']} "
        f"entries, " + (f"bloom filters of {number_text(bits)} bits per key" if bits > 0 else "no bloom filters"),
        ("little wasted space and few tables per read" if leveled else "cheap writes: each byte is rewritten "
         "few times") + ("; a get skips the tables a filter rules out" if bits > 0 else ""),
        ("more write amplification" if leveled else "more space and more tables per read")
        + (", and memory for the filters" if bits > 0 else ", and a disk read per table for a missing key"),
        f"write amplification {f('Write amp.')}, space {f('Space amp.')}, {f('Disk reads/get')} disk reads "
        f"per get, {f('Bloom false positives')} bloom false positives"
        if f
        else None,
    )  # fmt: skip


def _sharding(v, f) -> RecapLine:
    return RecapLine(
        f"shard key {_label('sharding', 'shard_key', v['shard_key'])} by "
        f"{_label('sharding', 'strategy', v['strategy'])}, {v['shards']} → {v['new_shards']} shards",
        "all rows of one key value live on one shard: a query by the key asks one shard",
        "queries on any other column ask every shard, and a hot key value overloads its shard",
        f"busiest shard {f('Busiest shard')}, hottest key {f('Hottest key')} of the requests, re-sharding "
        f"moves {f('Rows moved')} of the rows"
        if f
        else None,
    )


def _feed(v, f) -> RecapLine:
    s = v["strategy"]
    guarantee, cost = _FANOUT.get(s, ("", ""))
    extra = f" (celebrities from {num(v['celebrity_threshold'])} followers)" if s == "hybrid" else ""
    return RecapLine(
        f"{_label('feed', 'strategy', s)}{extra}",
        guarantee,
        cost,
        f"{f('Writes per post')} writes per post, {f('Lists per feed load')} lists per load, the last "
        f"follower after {f('Last follower after')}, load p99 {f('Load time p99')}"
        if f
        else None,
    )


def _res(v, f) -> RecapLine:
    return RecapLine(
        f"a breaker that trips on {_lower_first(_label('res', 'policy', v['policy']))}, falling back to "
        f"{_lower_first(_label('res', 'fallback', v['fallback']))}",
        "once it opens, failing calls stop tying up workers, so requests that never needed the dependency "
        "still succeed",
        "while it is open even calls that would succeed are turned away, and the fallback's answer may be "
        "stale or partial",
        f"answered {f('Breaker + fallback: Answered')} with breaker and fallback against "
        f"{f('No breaker: Answered')} without; p99 {f('Breaker + fallback: p99')} against "
        f"{f('No breaker: p99')}"
        if f
        else None,
    )


def _scale(v, f) -> RecapLine:
    on = [_lower_first(PRACTICES[p].label) for p in PRACTICE_ORDER if v.get(p)]
    return RecapLine(
        f"{_label('scale', 'users', v['users'])} daily users with "
        + (", ".join(on) if on else "a single server and none of the practices"),
        "each practice removes one single point of failure or one ceiling",
        "each adds machines and moving parts to pay for and watch",
        f"peak {f('Peak load')}, {f('Availability')} available, {f('Monthly cost')} a month, bottleneck "
        f"{f('Bottleneck')}, breaks at {f('Breaks at')}; in the drill {f('Requests failed in the drill')} failed"
        if f
        else None,
    )


RECAP_LINES: Mapping[str, Callable[[Mapping[str, Any], _Figures], RecapLine]] = MappingProxyType({
    "hashing": _hashing, "ratelimit": _ratelimit, "gateway": _gateway, "distributed": _distributed,
    "kv": _kv, "kvc": _kvc, "kvh": _kvh, "kvs": _kvs, "sharding": _sharding, "feed": _feed, "res": _res,
    "scale": _scale,
})  # fmt: skip


def recap_line(e: Experiment) -> RecapLine:
    """What this page's choice guarantees and costs, with the figure measured there."""
    values = experiment_values(e.page_id, e.query)
    values["_preset"] = e.preset
    return RECAP_LINES[e.page_id](values, _Figures(e.figures))


def _preset_note(e: Experiment) -> str:
    return f"preset \u201c{md_escape(e.preset, 80)}\u201d" + (", edited" if e.custom else "")


def line_markdown(e: Experiment) -> str:
    """The recap's one line for a page, for st.markdown: every part escaped (figures and presets are the
    app's, but a bundled link is anybody's)."""
    r = recap_line(e)
    measured = (
        f" **Measured:** {md_escape(r.measured, 400)}."
        if r.measured
        else " *Not measured in this session yet: open it to run it.*"
    )
    return (
        f"**{md_escape(e.topic.title)}** ({_preset_note(e)}): {md_escape(r.choice, 300)}. "
        f"*Guarantees* {md_escape(r.guarantees, 300)}; *costs* {md_escape(r.costs, 300)}.{measured}"
    )


def recap_markdown(
    experiments: Sequence[Experiment], bundle_link: str | None, est: Estimates | None = None
) -> str:
    """The recap as a Markdown document: each page's line, its figures as a table and its link; the
    estimates with their arithmetic; the bundle link."""
    out = [f"# {TITLE}", ""]
    if not experiments:
        out += ["No experiments in this session yet.", ""]
    for e in experiments:
        out += [f"## {md_escape(e.topic.title)}", "", line_markdown(e), ""]
        if e.figures:
            out += ["| figure | value |", "|---|---|"]
            out += [f"| {md_escape(label, 120)} | {md_escape(value, 120)} |" for label, value in e.figures]
            out.append("")
        out += [f"[Open this experiment]({_safe_url(e.link)})", ""]
    if est is not None:
        out += ["## Back of the envelope", ""]
        for what, lines in estimate_blocks(est):
            out += [f"**{what}**", "", *(f"- {md_escape(line, 300)}" for line in lines), ""]
    if bundle_link:
        out += ["## Every experiment in one link", "", f"<{_safe_url(bundle_link)}>", ""]
    return "\n".join(out)


def _safe_url(url: str) -> str:
    """A URL for a Markdown link target: characters that could end the link or start markup encoded."""
    return "".join(c if c.isascii() and c.isprintable() and c not in " ()<>[]`\\\"'" else f"%{ord(c):02X}"
                   for c in url.encode("utf-8").decode("latin-1"))  # fmt: skip


# -- the bundle: every page's share link in one ------------------------------------------------------------------

_B64 = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=")
MAX_QUERY_PARAMS = 40
MAX_NAME_CHARS = 40


def encode_bundle(experiments: Sequence[Experiment]) -> tuple[str, tuple[str, ...]]:
    """base64url of the JSON {page id: query}, taking pages in order while the text fits
    :data:`BUNDLE_MAX_CHARS` and :data:`BUNDLE_MAX_PAGES`; returns the text and the titles left out."""
    kept: dict[str, dict[str, str]] = {}
    left: list[str] = []
    token = ""
    for e in experiments:
        trial = {**kept, e.page_id: dict(e.query)}
        text = _encode(trial)
        if len(trial) <= BUNDLE_MAX_PAGES and len(text) <= BUNDLE_MAX_CHARS:
            kept, token = trial, text
        else:
            left.append(e.topic.title)
    return token, tuple(left)


def _encode(queries: Mapping[str, Mapping[str, str]]) -> str:
    raw = json.dumps(queries, separators=(",", ":"), ensure_ascii=True).encode("ascii")
    return base64.urlsafe_b64encode(raw).decode("ascii").rstrip("=")


@dataclass(frozen=True)
class Bundle:
    queries: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    notices: tuple[str, ...] = ()


_DAMAGED = "This bundle link is damaged (it is not a bundle this page wrote), so no experiment was restored."


def decode_bundle(token: str) -> Bundle:
    """The pages and queries a bundle link carries, validated: at most :data:`BUNDLE_MAX_CHARS` characters and
    :data:`BUNDLE_MAX_PAGES` pages, known page ids, string parameters of bounded size. Anything else gives a
    notice (a sentence to show), never an exception."""
    if not token:
        return Bundle()
    if len(token) > BUNDLE_MAX_CHARS:
        return Bundle(notices=(
            f"This bundle link is {num(len(token))} characters long; a bundle holds at most "
            f"{num(BUNDLE_MAX_CHARS)}, so none of it was read. Open each experiment's own link instead.",
        ))  # fmt: skip
    if not set(token) <= _B64:
        return Bundle(notices=(_DAMAGED,))
    try:
        raw = base64.urlsafe_b64decode(token.rstrip("=") + "=" * (-len(token.rstrip("=")) % 4))
        data = json.loads(raw.decode("utf-8"))
    except (binascii.Error, ValueError, UnicodeDecodeError, RecursionError):
        return Bundle(notices=(_DAMAGED,))
    if not isinstance(data, dict):
        return Bundle(notices=(_DAMAGED,))
    notices: list[str] = []
    if len(data) > BUNDLE_MAX_PAGES:
        notices.append(
            f"The bundle names {num(len(data))} pages; only the first {BUNDLE_MAX_PAGES} are listed."
        )
    queries: dict[str, dict[str, str]] = {}
    unknown = 0
    for page_id, query in list(data.items())[:BUNDLE_MAX_PAGES]:
        if page_id not in TOPIC:
            unknown += 1
            continue
        ok = (
            isinstance(query, dict)
            and len(query) <= MAX_QUERY_PARAMS
            and all(
                isinstance(k, str) and isinstance(x, str) and len(k) <= MAX_NAME_CHARS
                for k, x in query.items()
            )
        )
        if not ok:
            notices.append(f"The bundled settings of {TOPIC[page_id].title} are damaged and were left out.")
            continue
        queries[page_id] = dict(query)
    if unknown:
        notices.append(f"The bundle names {unknown} page{'s' if unknown != 1 else ''} this sandbox does not "
                       "have; left out.")  # fmt: skip
    if not queries and not notices:
        notices.append("This bundle link holds no experiment.")
    return Bundle(queries, tuple(notices))


def page_url(here: str, url_path: str, query: Mapping[str, str]) -> str:
    """The address of the page at ``url_path`` with ``query``, next to ``here`` (this page's address;
    "?" or "" outside a browser, which gives a relative link)."""
    parts = urlsplit(here)
    base = parts.path.rsplit("/", 1)[0] if "/" in parts.path else ""
    return urlunsplit((parts.scheme, parts.netloc, f"{base}/{url_path}", urlencode(dict(query)), ""))


def bundle_url(here: str, token: str) -> str:
    return page_url(here, PurePosixPath(PAGE_PATH).stem, {"bundle": token})


def bundled_experiments(bundle: Bundle, here: str) -> tuple[Experiment, ...]:
    """The experiments a bundle restores, each with the link that opens it (the page reads its query)."""
    out = []
    for page_id, query in bundle.queries.items():
        t = TOPIC[page_id]
        names = preset_names(page_id)
        preset = query.get("preset", "")
        preset = preset if preset in names else _lesson(page_id).DEFAULT_PRESET
        custom = any(k != "preset" for k in query)
        out.append(
            Experiment(page_id, t.title, preset, custom, dict(query), page_url(here, t.url_path, query))
        )
    return tuple(out)


def merged(session: Sequence[Experiment], bundled: Sequence[Experiment]) -> tuple[Experiment, ...]:
    """What the next bundle carries: this session's experiments, then the bundled ones not run here since."""
    seen = {e.page_id for e in session}
    return (*session, *(e for e in bundled if e.page_id not in seen))


def wrap_up_markdown(p: Prompt, experiments: Sequence[Experiment]) -> str:
    """A wrap-up prompt, with what this session measured that answers it (if anything)."""
    found = {e.page_id: _Figures(e.figures) for e in experiments if e.figures}
    quotes = [
        f"{md_escape(start)} {md_escape(found[page](start), 80)} ({md_escape(TOPIC[page].title)})"
        for page, start in p.measured_on
        if page in found and found[page](start) != "\u2014"
    ]
    text = f"**{p.name}.** {p.questions}"
    return text + (f" *You measured:* {'; '.join(quotes)}." if quotes else "")


NO_EXPERIMENTS = (
    "Nothing to recap yet: this session has not opened another page. Run an experiment on any page in the "
    "sidebar (a preset is enough), then come back: it is listed here with the figure it measured."
)
NO_EXPERIMENTS_BUNDLED = (
    "This session has not run another page yet; the experiments of the bundled link below can be restored, "
    "one click each. Once restored, each is listed here with the figure it measures."
)
BUNDLE_HELP = (
    "One link with every experiment of this session. A reload starts a new session with an empty recap: open "
    "this link there and each experiment can be restored."
)

WHY = (
    "**Why this order.** The scope comes first because every later number depends on it: the peak requests "
    "per second size the web tier, the bytes per year decide whether the data tier must be sharded, the "
    "bandwidth whether a CDN is needed. The high-level design comes before any deep dive so that the "
    "interviewer can steer you to the part they care about, and so nothing in scope is left without a box. "
    "A deep dive is judged on trade-offs: every page of this sandbox measures one (keys moved against load "
    "spread, staleness against latency, writes per post against lists per load), and the recap above reads "
    "back the one you chose with the number you saw. The wrap-up shows you know what breaks first and how you "
    "would find out.\n\n"
    "**Why these estimates.** A day has 86,400 s (about 10\u2075), so 1 million requests a day is about 12 per "
    "second on average; the peak is a few times that. A year is 365.25 days. Servers are sized for the peak at "
    "a target utilization below 100%: queueing delay grows without bound as a server nears full load."
)
TRY_THIS: tuple[str, ...] = (
    "Start the clock and talk through the **News feed** preset out loud: requirements and estimates in 7 "
    "minutes, the boxes in 13. Where did the time go?",
    "Switch to **Twitter-scale timeline**: which design note changes, and why? (The stored bytes pass what one "
    "node holds: the data tier must be sharded.)",
    "Open **Sharding** and **News feed**, pick the settings you would defend for this design, come back: does "
    "the recap's line say what you would say in the deep dive?",
    "Copy the bundle link, reload the app (a new session, an empty recap) and open the link: restore each "
    "experiment and check the figures come back.",
)
REFERENCES: tuple[Reference, ...] = (
    Reference("Alex Xu: A framework for system design interviews",
              "https://bytebytego.com/courses/system-design-interview/a-framework-for-system-design-interviews"),
    Reference("Donne Martin: The System Design Primer", "https://github.com/donnemartin/system-design-primer"),
    Reference("Latency numbers every programmer should know", "https://gist.github.com/jboner/2841832"),
    Reference("Google SRE book: Monitoring distributed systems",
              "https://sre.google/sre-book/monitoring-distributed-systems/"),
    Reference("Google SRE workbook: Canarying releases", "https://sre.google/workbook/canarying-releases/"),
)  # fmt: skip


def recap_rows(experiments: Sequence[Experiment]) -> list[dict[str, str]]:
    """One row per page figure, for the CSV export."""
    return [
        {"page": e.topic.title, "preset": e.preset, "edited": "yes" if e.custom else "no", "figure": label,
         "value": value, "link": e.link}
        for e in experiments
        for label, value in (e.figures or (("", ""),))
    ]  # fmt: skip


def left_out_sentence(titles: Sequence[str]) -> str:
    return (
        f"Left out of the bundle (the link would pass {num(BUNDLE_MAX_CHARS)} characters or "
        f"{BUNDLE_MAX_PAGES} pages): {', '.join(titles)}. Use their own links above."
    )
