"""The quorum page's words: its presets, the latency model a student picks, and the sentences it shows.

Kept here rather than in the page so that each piece has a unit test: the page only wires widgets to these
functions and to ``sdcore.kvstore``. Nothing here imports streamlit, plotly or pandas at import time.
"""

from __future__ import annotations

import math
import types
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np

from sdcore.kvstore._checks import replica_counts, whole_number
from sdcore.kvstore.latency import LATENCY_PRESETS, Exponential, LegLatencies
from sdcore.kvstore.quorum import CONSISTENCY_LEVELS, consistency_level_count, staleness_probability
from sdcore.kvstore.wars import StalenessResult, t_for_probability

if TYPE_CHECKING:
    import pandas as pd

EXPONENTIAL = "exponential"
LATENCY_CHOICES: tuple[str, ...] = (*LATENCY_PRESETS, EXPONENTIAL)
# The t cursor's stops (ms): roughly 1-2-5 per decade, because staleness windows run from a fraction of a
# millisecond (SSDs) to seconds (Yammer's tail). Written so that str() and "{:g}" agree (URL round trip).
T_CURSOR_MS: tuple[float, ...] = (0, 0.1, 0.2, 0.5, 1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000)
TRIALS_CHOICES: tuple[int, ...] = (10_000, 20_000, 50_000, 100_000, 200_000, 500_000, 1_000_000)
CURVE_POINTS = 61
CONFIDENCE_Z = 2.326  # one-sided 99%: "at least" is a lower confidence bound, not the raw estimate


@dataclass(frozen=True)
class Preset:
    """A named situation: what it shows, and the parameters that differ from the page's defaults."""

    description: str
    params: types.MappingProxyType


def _preset(description: str, **params: object) -> Preset:
    return Preset(description, types.MappingProxyType(params))


PRESETS = types.MappingProxyType(
    {
        "Dynamo default (3,2,2)": _preset(
            "Three replicas, writes wait for 2 acks, reads for 2 answers: 2 + 2 > 3, so every read sees the "
            "last write. The setting the Dynamo paper reports as common.",
            n=3,
            r=2,
            w=2,
        ),
        "Fast reads (R=1, W=N)": _preset(
            "Every write waits for all 3 replicas, so any single replica can answer a read: cheap reads, "
            "slow writes that fail when one replica is down.",
            n=3,
            r=1,
            w=3,
        ),
        "Fast writes (W=1)": _preset(
            "A write returns after one ack; reads must ask all 3 replicas to stay consistent: fast writes, "
            "slow reads.",
            n=3,
            r=3,
            w=1,
        ),
        "Eventual (3,1,1) on LinkedIn disks": _preset(
            "One ack, one answer, slow spinning-disk writes (LinkedIn's published latencies): how stale are "
            "reads, and for how long after a write commits?",
            n=3,
            r=1,
            w=1,
            latency="linkedin-disk",
        ),
        "Five replicas": _preset(
            "Five replicas with R = W = 2: the same quorums that were strong with 3 replicas no longer "
            "overlap. How often does a read miss the write?",
            n=5,
            r=2,
            w=2,
        ),
    }
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
    when = f"**{t_ms:g} ms** after it commits"
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
            f"99.9% of reads are consistent {t_for_probability(result, 0.999):.3g} ms after commit."
        )
    )
