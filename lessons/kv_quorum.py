"""The quorum page's words: its parameters and presets, the latency model a student picks, the headline
metrics, and the sentences and captions it shows, computed from the run.

Kept here rather than in the page so that each piece has a unit test: the page only wires widgets to these
functions and to ``sdcore.kvstore``. Nothing here imports streamlit, plotly or pandas at import time.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TYPE_CHECKING

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, plural, preset_table
from sdcore.checks import number_text
from sdcore.kvstore._checks import replica_counts, whole_number
from sdcore.kvstore.latency import LATENCY_PRESETS, Exponential, LegLatencies
from sdcore.kvstore.quorum import (
    CONSISTENCY_LEVELS,
    QuorumOverlap,
    consistency_level_count,
    staleness_probability,
)
from sdcore.kvstore.wars import MAX_SIMULATED_REPLICAS, MAX_TABLE_TRIALS, StalenessResult, t_for_probability

if TYPE_CHECKING:
    import pandas as pd

    from sdcore.hashing import HashRing
    from sdcore.kvstore.placement import KeyReplicas

EXPONENTIAL = "exponential"
LATENCY_CHOICES: tuple[str, ...] = (*LATENCY_PRESETS, EXPONENTIAL)
# The t cursor's stops (ms): roughly 1-2-5 per decade, because staleness windows run from a fraction of a
# millisecond (SSDs) to seconds (Yammer's tail). Written so that str() and "{:g}" agree (URL round trip).
T_CURSOR_MS: tuple[float, ...] = (0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
TRIALS_CHOICES: tuple[int, ...] = (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
CURVE_POINTS = 61
CONFIDENCE_Z = 2.326  # one-sided 99%: "at least" is a lower confidence bound, not the raw estimate


DEFAULT_PRESET = "Dynamo default (3,2,2)"
PRESETS = preset_table(
    (
        Preset(
            "Dynamo default (3,2,2)",
            "Three replicas, writes wait for 2 acks, reads for 2 answers: 2 + 2 > 3, so every read sees the "
            "last write. The setting the Dynamo paper reports as common.",
            dict(n=3, r=2, w=2),
        ),
        Preset(
            "Fast reads (R=1, W=N)",
            "Every write waits for all 3 replicas, so any single replica can answer a read: cheap reads, "
            "slow writes that fail when one replica is down.",
            dict(n=3, r=1, w=3),
        ),
        Preset(
            "Fast writes (W=1)",
            "A write returns after one ack; reads must ask all 3 replicas to stay consistent: fast writes, "
            "slow reads.",
            dict(n=3, r=3, w=1),
        ),
        Preset(
            "Eventual (3,1,1) on LinkedIn disks",
            "One ack, one answer, slow spinning-disk writes (LinkedIn's published latencies): how stale are "
            "reads, and for how long after a write commits?",
            dict(n=3, r=1, w=1, latency="linkedin-disk"),
        ),
        Preset(
            "Five replicas",
            "Five replicas with R = W = 2: the same quorums that were strong with 3 replicas no longer "
            "overlap. How often does a read miss the write?",
            dict(n=5, r=2, w=2),
        ),
    )
)


def latency_label(choice: str) -> str:
    """The name shown for a latency choice (a published fit, or exponential legs set by hand)."""
    if choice == EXPONENTIAL:
        return "Exponential legs (set a rate per leg)"
    return LATENCY_PRESETS[choice].name


def latency_model(
    choice: str, rates: tuple[float, float, float, float] = (1.0, 1.0, 1.0, 1.0)
) -> LegLatencies:
    """The four WARS legs for a latency choice; ``rates`` (W, A, R, S per ms) only for "exponential"."""
    if choice == EXPONENTIAL:
        if len(rates) != 4:
            raise ValueError(f"exponential latency needs 4 rates, one per leg W, A, R, S (got {len(rates)})")
        return LegLatencies(*(Exponential(rate) for rate in rates))
    if choice not in LATENCY_PRESETS:
        raise ValueError(f"latency must be one of {', '.join(LATENCY_CHOICES)} (got latency={choice!r})")
    return LATENCY_PRESETS[choice].latency


def clamp_quorums(n: int, r: int, w: int) -> tuple[int, int, list[str]]:
    """R and W brought into 1..N, with a sentence for each one that had to change."""
    n = whole_number("N", n)
    notices = []
    for name, value in (("R", r), ("W", w)):
        if value > n:
            notices.append(f"{name} = {value} is more than N = {n} replicas, so {name} is now {n}.")
    return max(1, min(r, n)), max(1, min(w, n)), notices


@dataclass(frozen=True)
class Verdict:
    strong: bool
    headline: str
    reason: str


def _replicas(k: int) -> str:
    return f"{k} replica{'s' if k != 1 else ''}"


def verdict(n: int, r: int, w: int) -> Verdict:
    """Strong or not, and why, in words."""
    n, r, w = replica_counts(n, r, w)
    sides = f"The {_replicas(w)} that acknowledged the write and the {r} that answer{'s' if r == 1 else ''} the read"
    if r + w > n:
        return Verdict(
            True,
            "Strong consistency guaranteed",
            f"R + W = {r} + {w} = {r + w} > N = {n}. {sides} are {r + w} picks among only {_replicas(n)}, so at "
            f"least {r + w - n} must be the same replica (pigeonhole): every read hears from one that has the write.",
        )
    return Verdict(
        False,
        "Stale reads possible",
        f"R + W = {r} + {w} = {r + w} ≤ N = {n}. {sides} can be entirely different replicas, so a read can "
        "miss the write until it has spread to the others.",
    )


def level_names(count: int, n: int) -> tuple[str, ...]:
    """The Cassandra consistency levels that wait for ``count`` of ``n`` replicas: ONE first for a count of 1,
    otherwise QUORUM and ALL before TWO and THREE (the names people use)."""
    names = [lv for lv in CONSISTENCY_LEVELS if _level_count(lv, n) == count]
    first = ("ONE",) if count == 1 else ("QUORUM", "ALL")
    return tuple(sorted(names, key=lambda lv: lv not in first))


def _level_count(level: str, n: int) -> int | None:
    try:
        return consistency_level_count(level, n)
    except ValueError:  # TWO or THREE with fewer replicas than that
        return None


def levels_frame(n: int, r: int, w: int) -> pd.DataFrame:
    """One row per consistency level that exists for N: replicas it waits for, and which of R, W it is."""
    import pandas as pd

    n, r, w = replica_counts(n, r, w)
    rows = []
    for level in CONSISTENCY_LEVELS:
        count = _level_count(level, n)
        if count is not None:
            mine = " and ".join(x for x, v in (("R", r), ("W", w)) if v == count)
            rows.append({"level": level, "replicas": count, "your setting": mine})
    return pd.DataFrame(rows)


def describe_levels(n: int, r: int, w: int) -> str:
    """e.g. "R = 2 is QUORUM (or TWO); W = 3 is ALL (or THREE)" for N = 3."""
    parts = []
    for name, count in (("R", r), ("W", w)):
        names = level_names(count, n)
        if not names:
            parts.append(f"{name} = {count} has no level name")
        else:
            extra = f" (or {', '.join(names[1:])})" if len(names) > 1 else ""
            parts.append(f"{name} = {count} is **{names[0]}**{extra}")
    return "; ".join(parts)


def nice_ceiling(x: float) -> float:
    """The smallest of 1, 2, 5 x 10^k that is >= x (x > 0)."""
    if not x > 0:
        raise ValueError(f"x must be greater than 0 (got {x!r})")
    exponent = math.floor(math.log10(x))
    for step in (1, 2, 5, 10):
        value = step * 10.0**exponent
        if value >= x * (1 - 1e-12):
            return value
    return 10.0 ** (exponent + 1)  # unreachable: 10 x 10^k >= x


def curve_span(result: StalenessResult, cursor_ms: float) -> float:
    """How far the curve's time axis reaches: at least twice the cursor (so the cursor's label never meets the
    right edge), past 99.9% consistency, and at least 1 ms."""
    return nice_ceiling(max(1.0, 2.0 * cursor_ms, t_for_probability(result, 0.999)))


def on_grid(result: StalenessResult, t_max_ms: float, points: int = CURVE_POINTS) -> StalenessResult:
    """The same result with its curve on ``points`` evenly spaced times 0..t_max (same draws, no rerun)."""
    grid = np.linspace(0.0, float(t_max_ms), whole_number("points", points))
    consistent = np.asarray(result.probability_at(grid))
    grid.setflags(write=False)
    consistent.setflags(write=False)
    return replace(result, t_ms=grid, consistent=consistent)


def lower_bound(successes: int, trials: int, z: float = CONFIDENCE_Z) -> float:
    """Wilson score lower bound of a proportion: with z = 2.326, P(true value >= bound) is about 99%."""
    if trials < 1 or not 0 <= successes <= trials:
        raise ValueError(f"need 0 <= successes <= trials and trials >= 1 (got {successes}, {trials})")
    p = successes / trials
    centre = p + z * z / (2 * trials)
    spread = z * math.sqrt(p * (1 - p) / trials + z * z / (4 * trials * trials))
    return max(0.0, (centre - spread) / (1 + z * z / trials))


def consistency_sentence(result: StalenessResult, t_ms: float) -> str:
    """The headline sentence: guaranteed when R + W > N, else a 99%-confidence "at least X%" at ``t_ms``."""
    when = f"**{number_text(t_ms)} ms** after it commits"
    if result.strong:
        return (
            f"**Guaranteed**: every read returns the last write, even 0 ms after it commits ({result.label})."
        )
    p = float(result.probability_at(t_ms))
    bound = math.floor(1000 * lower_bound(round(p * result.trials), result.trials)) / 10
    return (
        f"**At least {bound:.1f}%** chance of reading the last write {when} "
        f"(measured {p:.2%} in {result.trials:,} simulated reads; 'at least' is the 99%-confidence lower bound)."
    )


def stale_at_commit(n: int, r: int, w: int, result: StalenessResult) -> tuple[float, float]:
    """Stale reads right at commit: (closed form for random quorums, WARS measured at t = 0)."""
    return staleness_probability(n, r, w), 1.0 - float(result.probability_at(0.0))


def explanation(result: StalenessResult) -> str:
    """ "Why it behaves this way" for one result: the pigeonhole overlap, the closed form with its numbers, and
    the WARS measurement beside it (the measured-vs-expected check)."""
    n, r, w = result.n, result.r, result.w
    closed, measured = stale_at_commit(n, r, w, result)
    if result.strong:
        overlap = f"{r + w} picks among {n} replicas must share one (pigeonhole), and that one has the write."
    else:
        overlap = f"{r + w} picks among {n} replicas can all be different: nothing forces the read to meet the write."
    return (
        f"**Overlap.** A write is acknowledged by W = {w} and a read hears from R = {r} of the N = {n} replicas. "
        f"{overlap}\n\n"
        f"**Closed form.** If a read asked a random R of the N replicas and only the W that acknowledged had the "
        f"write, it would miss it with probability C(N−W, R) / C(N, R) = C({n - w}, {r}) / C({n}, {r}) = "
        f"{math.comb(n - w, r)}/{math.comb(n, r)} = **{closed:.1%}**.\n\n"
        f"**WARS** (Bailis et al.): a write goes to all N replicas and keeps spreading after it commits, and each "
        f"message leg (W write, A ack, R read request, S response) takes a random time. The closed form says "
        f"{closed:.1%} stale; simulating {result.trials:,} writes and reads measures **{measured:.2%}** stale at "
        "t = 0. "
        + (
            "Both are zero: every read set meets every write set."
            if result.strong
            else "The simulation can only be lower (up to sampling noise): the read asks replicas independently of "
            "which ones acknowledged, and by the time it arrives the write has often reached more than those W. "
            f"99.9% of reads are consistent {number_text(t_for_probability(result, 0.999), 3)} ms after commit."
        )
    )


# -- the page: title, parameters, headlines, captions, try this, references --------------------------------

TITLE = "Key-value store: quorums"
IDEA = (
    "Each key lives on N replicas. A write returns once W of them acknowledge it, a read once R of them answer. "
    "With R + W > N every read overlaps the last write; with less, reads and writes are faster but a read can "
    "be stale — how often, and for how long after the write, depends on the message latencies."
)
# The four exponential legs of the WARS model, in the order latency_model() takes their rates.
RATES = MappingProxyType(
    {
        "rate_w": "W: write request",
        "rate_a": "A: write ack",
        "rate_r": "R: read request",
        "rate_s": "S: read response",
    }
)
PARAMS: tuple[Param, ...] = (
    Param(
        "n",
        3,
        lo=1,
        hi=MAX_SIMULATED_REPLICAS,
        label="N: replicas per key",
        help="How many nodes store a copy of each key.",
    ),
    Param(
        "r",
        2,
        lo=1,
        hi=MAX_SIMULATED_REPLICAS,
        label="R: read quorum",
        help="A read returns after R replicas answer; the newest version among them wins.",
    ),
    Param(
        "w",
        2,
        lo=1,
        hi=MAX_SIMULATED_REPLICAS,
        label="W: write quorum",
        help="A write returns after W replicas acknowledge it (it still goes to all N).",
    ),
    Param(
        "t",
        10,
        options=T_CURSOR_MS,
        labels={t: f"{number_text(t)} ms" for t in T_CURSOR_MS},
        kind="select_slider",
        label="t after commit (ms)",
        help="How long after the write commits the read starts: the cursor on the curve.",
    ),
    Param(
        "latency",
        "linkedin-ssd",
        options=LATENCY_CHOICES,
        labels={c: latency_label(c) for c in LATENCY_CHOICES},
        label="Message latencies",
        help="Published production fits (Bailis et al. 2012), or exponential legs you set.",
    ),
    *(
        Param(
            name,
            1.0,
            lo=0.01,
            hi=100.0,
            step=0.1,
            kind="number",
            number_format="%.2f",
            label=f"{leg} rate (/ms)",
            help="Exponential leg: mean delay 1/rate ms. Only for 'Exponential legs'.",
        )
        for name, leg in RATES.items()
    ),
    Param(
        "trials",
        100_000,
        options=TRIALS_CHOICES,
        labels={k: f"{k:,}" for k in TRIALS_CHOICES},
        kind="select_slider",
        label="Simulated writes and reads",
        help="Monte Carlo trials: more is smoother and slower.",
    ),
    Param(
        "seed",
        0,
        lo=0,
        hi=2**31 - 1,
        kind="number",
        label="Seed",
        help="Same seed, same simulated latencies.",
    ),
)
GUESS_LABEL = "Your guess: % of reads started right at commit (t = 0) that return stale data"
# The consistency-level shortcuts (read level, write level).
LEVEL_BUTTONS: tuple[tuple[str, str], ...] = (
    ("QUORUM", "QUORUM"),
    ("ONE", "ALL"),
    ("ALL", "ONE"),
    ("ONE", "ONE"),
)


def headlines(result: StalenessResult, t_ms: float) -> tuple[Headline, ...]:
    """The run's numbers: stale reads at commit for random quorums (closed form), consistent reads at the
    cursor, when 99.9% of reads are consistent, and the read and write latency quantiles."""
    closed, _ = stale_at_commit(result.n, result.r, result.w, result)
    heads = [
        Headline(
            "Stale reads at commit, random quorums (closed form)",
            f"{closed:.1%}",
            help="C(N−W, R) / C(N, R): the chance a random read quorum misses every replica that acknowledged "
            "the write.",
        ),
        Headline(f"Consistent reads at t = {number_text(t_ms)} ms", f"{result.probability_at(t_ms):.2%}"),
        Headline(
            "99.9% of reads consistent after",
            f"{number_text(t_for_probability(result, 0.999), 3)} ms",
            help="The smallest t after commit at which 99.9% of the simulated reads return the write.",
        ),
    ]
    for op, q, quorum in (("Read", result.read_latency, "R"), ("Write", result.write_latency, "W")):
        heads.append(
            Headline(
                f"{op} latency, median · p99.9",
                f"{q.p50:.2f} · {q.p999:.2f} ms",
                help=f"{op}s wait for the {quorum}-th fastest replica: p50 / p99 / p99.9 = {number_text(q.p50, 3)} / "
                f"{number_text(q.p99, 3)} / {number_text(q.p999, 3)} ms.",
            )
        )
    return tuple(heads)


def reveal_headlines(guess: int, result: StalenessResult) -> tuple[Headline, ...]:
    """ "Predict first" answered: the guess, then the closed form and the WARS measurement at t = 0 against it."""
    closed, measured = stale_at_commit(result.n, result.r, result.w, result)
    return (
        Headline("Your guess", f"{guess}%"),
        *(
            Headline(
                label, f"{value:.2%}", f"{100 * value - guess:+.1f} pts vs your guess", delta_color="off"
            )
            for label, value in (
                ("Random quorums (closed form)", closed),
                ("WARS simulation at t = 0", measured),
            )
        ),
    )


def levels_sentence(n: int, r: int, w: int) -> str:
    return "Cassandra names these counts consistency levels: " + describe_levels(n, r, w) + "."


def overlap_caption(overlap: QuorumOverlap) -> str:
    """Under the quorum picture: the worst-case placement, and which replicas (if any) it cannot avoid
    sharing, as drawn."""
    text = "The worst case: the write lands on the first W replicas, the read asks the last R. "
    n, total, both = overlap.n, overlap.r + overlap.w, [i + 1 for i in overlap.overlap_replicas]
    if not both:
        return text + (
            f"Here no replica is in both quorums: R + W = {total} ≤ N = {n}, so the read can miss the write."
        )
    which = ", ".join(map(str, both))
    return text + (
        f"Notice the green {'replica' if len(both) == 1 else 'replicas'} {which} in both quorums: R + W = "
        f"{total} > N = {n}, so every read hears from a replica that has the write."
    )


def curve_caption(result: StalenessResult) -> str:
    """Under the consistency curve: a flat line for a strong quorum, else how fast it climbs to 99.9%."""
    if result.strong:
        return (
            f"R + W = {result.r + result.w} > N = {result.n}: a flat line at 100%, every read meets the write, "
            "even one started at the commit."
        )
    at_commit, t999 = float(result.probability_at(0.0)), t_for_probability(result, 0.999)
    text = "Reads started longer after the commit find the write on more replicas: "
    if t999 <= 0:
        return text + f"here {at_commit:.2%} already do at the commit, so the curve starts at the top."
    return text + (
        f"notice how fast the curve climbs, from {at_commit:.1%} at the commit to 99.9% after {number_text(t999, 3)} ms."
    )


def trials_caption(trials: int) -> str:
    """Under the table of every (R, W): how many simulated writes and reads it shares."""
    return (
        f"From {min(trials, MAX_TABLE_TRIALS):,} simulated writes and reads shared by every row"
        + (" (the table's limit; the curve above uses more)" if trials > MAX_TABLE_TRIALS else "")
        + "."
    )


def tradeoff_caption(table: pd.DataFrame) -> str:
    """Under the latency/consistency scatter: whether the strong quorums pay in tail latency here (median
    read + write p99.9 of the strong rows against the partial ones)."""
    tail = table["read_p999_ms"] + table["write_p999_ms"]
    strong, partial = tail[table["strong"]], tail[~table["strong"]]
    if partial.empty:
        return (
            f"Each point is one (R, W): with N = {int(table['n'].iloc[0])} every quorum is strong, at 100%."
        )
    s, p = float(strong.median()), float(partial.median())
    numbers = f"median read + write p99.9 {number_text(s, 3)} ms strong vs {number_text(p, 3)} ms partial"
    if s > p:
        return (
            "Each point is one (R, W): notice that the strong quorums, at 100%, mostly sit further right — "
            f"consistency costs tail latency ({numbers})."
        )
    return (
        f"Each point is one (R, W): here the strong quorums, at 100%, cost no more tail latency ({numbers})."
    )


HEATMAP_CAPTION = (
    "P(consistent) at t = 0 for each R (row) and W (column): below the dashed staircase every cell is 100%."
)
COORDINATOR_CAPTION = "The coordinator (first node) sends the write to all N and waits for W acks."
# column -> (heading, number format or None)
TABLE_COLUMNS = MappingProxyType(
    {
        "yours": ("your R, W", None),
        "r": ("R", None),
        "w": ("W", None),
        "strong": ("R + W > N", None),
        "closed_form_staleness": ("stale, random quorums", "percent"),
        "p_consistent": ("consistent at t = 0 (WARS)", "percent"),
        "read_p999_ms": ("read p99.9 (ms)", "%.3g"),
        "write_p999_ms": ("write p99.9 (ms)", "%.3g"),
    }
)


def ring_caption(ring: HashRing, placements: Sequence[KeyReplicas]) -> str:
    """Under the ring: how a preference list is built, and the skipped points when this ring has any."""
    skipped = any(p.skipped_points for p in placements)
    return (
        f"{plural(len(ring.nodes), 'node')}, {ring.vnodes} points each. From each key (★) walk clockwise and keep "
        "the first N distinct nodes"
        + (
            ": notice the grey crosses, points skipped because their node already holds a copy."
            if skipped
            else "."
        )
    )


def preference_rows(placements: Sequence[KeyReplicas]) -> list[dict[str, str]]:
    return [
        {"key": p.key, "coordinator": p.replicas[0], "preference list": ", ".join(p.replicas)}
        for p in placements
    ]


TRY_THIS: tuple[str, ...] = (
    "Pick 'Five replicas' (N = 5, R = W = 2). Predict the stale fraction, reveal it, then raise R to 3.",
    "'Eventual (3,1,1) on LinkedIn disks': how long until 99.9% of reads are consistent? Switch to SSDs: why "
    "does the window shrink so much, when only the write leg changed?",
    "Exponential legs: slow the write leg (W rate 0.1/ms), then instead slow the read-request leg R. Why does a "
    "slower read request make stale reads *rarer*?",
    "Interview: why do Cassandra users pick QUORUM/QUORUM? What does R = 1, W = N cost when a replica is down? "
    "Does a sloppy quorum with hinted handoff keep the R + W > N guarantee?",
)
REFERENCES: tuple[Reference, ...] = (
    Reference(
        "Bailis et al. 2012, Probabilistically Bounded Staleness (VLDB)", "https://arxiv.org/abs/1204.6082"
    ),
    Reference(
        "DeCandia et al. 2007, Dynamo",
        "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
    ),
    Reference(
        "Apache Cassandra: tunable consistency",
        "https://cassandra.apache.org/doc/latest/cassandra/architecture/dynamo.html",
    ),
)
