"""SWIM failure detection (Das, Gupta and Motivala 2002) in protocol periods of virtual time.

Each period every live member pings one member picked at random. No ack (the target is dead, or the ping
or the ack was lost) and it asks ``k`` other members to ping the target for it (ping-req); if none of them
gets an ack back either, the target is *suspected*. A suspicion not refuted for ``suspicion_periods``
periods becomes *dead* (``suspicion_periods = 0``: dead at once, the paper's basic protocol). A live member
that hears it is suspected refutes by gossiping "alive" with a higher incarnation number.

Membership updates are not broadcast: they ride on the pings and acks (infection-style), each update
piggybacked ``retransmit_mult x ceil(log10(n + 1))`` times, as HashiCorp memberlist does.

The paper's result: with a uniform random target, a dead member is first probed by some member in a period
with probability 1 - (1 - 1/(n-1))^(n-1) (every one of the other n - 1 members may pick it), so the expected
time to first detection is 1 / that probability periods, which tends to e / (e - 1) = 1.58 as n grows, and
each member sends the same few messages per period whatever n is.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sdcore.checks import int_between, number_between
from sdcore.checks import seed as check_seed

MIN_NODES, MAX_NODES = 3, 64
MAX_PERIODS = 400
ALIVE, SUSPECT, DEAD = 0, 1, 2
_PRIORITY = {"alive": 0, "suspect": 1, "dead": 2}


@dataclass(frozen=True)
class SwimConfig:
    """One member (``crash_node``) crashes at the start of period ``crash_period`` (0: nobody crashes)."""

    nodes: int = 16
    k: int = 3
    suspicion_periods: int = 3
    loss: float = 0.0
    periods: int = 40
    crash_node: int = 0
    crash_period: int = 5
    retransmit_mult: int = 4
    seed: int = 0

    def __post_init__(self) -> None:
        n = int_between("nodes", self.nodes, MIN_NODES, MAX_NODES)
        int_between("k", self.k, 0, n - 2, hi_name="nodes - 2")
        int_between("suspicion_periods", self.suspicion_periods, 0, MAX_PERIODS)
        number_between("loss", self.loss, 0, 0.9, unit=" (a fraction of messages)")
        int_between("periods", self.periods, 1, MAX_PERIODS)
        int_between("crash_node", self.crash_node, 0, n - 1, hi_name="nodes - 1")
        int_between("crash_period", self.crash_period, 0, self.periods, hi_name="periods")
        int_between("retransmit_mult", self.retransmit_mult, 1, 20)
        check_seed(self.seed)

    @property
    def piggyback_limit(self) -> int:
        return self.retransmit_mult * math.ceil(math.log10(self.nodes + 1))


def expected_first_detection(nodes: int, alive_fraction: float = 1.0) -> float:
    """The paper's expected periods until some member first probes a dead one: 1 / (1 - (1 - 1/(n-1))^((n-1) q))
    with q the fraction of members alive; e / (e - 1) as n grows with q = 1."""
    p = 1.0 - (1.0 - 1.0 / (nodes - 1)) ** ((nodes - 1) * alive_fraction)
    return 1.0 / p


E_OVER_E_MINUS_1 = math.e / (math.e - 1.0)


@dataclass(frozen=True)
class SwimResult:
    """``view[p, i, j]``: what member i believes of j at the end of period p (0 alive, 1 suspect, 2 dead);
    ``up[p, i]``: i was running in period p."""

    config: SwimConfig
    view: np.ndarray
    up: np.ndarray
    messages: np.ndarray  # messages sent per period (pings, acks, ping-reqs and their relays)
    first_suspected: int | None  # period the crashed member was first suspected (or declared dead)
    first_dead: int | None  # first period some member declared it dead
    all_dead: int | None  # period by which every live member had declared it dead
    false_suspicions: int  # (member, live member) suspicions that began
    false_deaths: int  # live members declared dead by someone
    refutations: int  # "alive" refutations a suspected live member sent

    @property
    def detection_periods(self) -> int | None:
        """Periods from the crash to the first suspicion, counting the crash period as 1."""
        c = self.config.crash_period
        return None if self.first_suspected is None or c == 0 else self.first_suspected - c + 1


class _Member:
    __slots__ = ("inc", "view", "buffer")

    def __init__(self, n: int):
        self.inc = 0
        self.view = [("alive", 0, 0)] * n  # (status, incarnation, period it changed)
        self.buffer: dict[int, list] = {}  # member -> [update, sends left]


def simulate_swim(c: SwimConfig, *, stop_when_all_dead: bool = False) -> SwimResult:
    """Run the protocol; ``stop_when_all_dead`` ends early (the later periods stay as zeros) for trials."""
    n = c.nodes
    rng = np.random.default_rng(c.seed)
    members = [_Member(n) for _ in range(n)]
    running = [True] * n  # plain lists and ints in the hot loops: numpy scalar access costs ~100 ns each
    view = np.zeros((c.periods + 1, n, n), dtype=np.int8)
    up = np.ones((c.periods + 1, n), dtype=bool)
    messages = [0] * c.periods
    tally = {"false_suspicions": 0, "false_deaths": 0, "refutations": 0}
    first_suspected = first_dead = all_dead = None
    limit = c.piggyback_limit

    def record(at: int, update: tuple) -> None:
        members[at].buffer[update[1]] = [update, limit]

    def accept(at: int, update: tuple, period: int) -> None:
        kind, who, inc = update
        m = members[at]
        if who == at:
            if kind in ("suspect", "dead") and running[at] and inc >= m.inc:
                m.inc = inc + 1  # refute: I am alive, with a newer incarnation
                record(at, ("alive", at, m.inc))
                tally["refutations"] += 1
            return
        status, known, _ = m.view[who]
        if status == "dead":
            return
        if kind == "dead":
            wins = True
        elif kind == "suspect":
            wins = inc > known or (inc == known and status == "alive")
        else:
            wins = inc > known
        if wins:
            set_view(at, who, kind, inc, period)
            record(at, update)

    def set_view(at: int, who: int, kind: str, inc: int, period: int) -> None:
        nonlocal first_suspected, first_dead
        before = members[at].view[who][0]
        members[at].view[who] = (kind, inc, period)
        if kind == before:
            return
        if running[who]:
            if kind == "suspect":
                tally["false_suspicions"] += 1
            elif kind == "dead":
                tally["false_deaths"] += 1
        elif who == c.crash_node and kind != "alive":
            if first_suspected is None:
                first_suspected = period
            if kind == "dead" and first_dead is None:
                first_dead = period

    def send(src: int, dst: int, period: int) -> bool:
        """One message; its piggybacked updates are applied at ``dst`` if it arrives."""
        messages[period - 1] += 1
        m = members[src]
        carried = []
        for who, entry in list(m.buffer.items()):
            carried.append(entry[0])
            entry[1] -= 1
            if entry[1] <= 0:
                del m.buffer[who]
        if not running[dst] or rng.random() < c.loss:
            return False
        for update in carried:
            accept(dst, update, period)
        return True

    def round_trip(src: int, dst: int, period: int) -> bool:
        return send(src, dst, period) and send(dst, src, period)

    rows: list[list[int]] = [[ALIVE] * n for _ in range(n)]  # view[p - 1] as lists
    for p in range(1, c.periods + 1):
        if p == c.crash_period:
            running[c.crash_node] = False
        for i in rng.permutation(n).tolist():
            if not running[i]:
                continue
            m = members[i]
            candidates = [j for j in range(n) if j != i and m.view[j][0] != "dead"]
            if not candidates:
                continue
            target = candidates[rng.integers(len(candidates))]
            ok = round_trip(i, target, p)
            if not ok and c.k:
                helpers = [j for j in candidates if j != target]
                picked = (
                    rng.choice(len(helpers), size=min(c.k, len(helpers)), replace=False) if helpers else []
                )
                for h in (helpers[x] for x in picked):
                    # ping-req to h, h pings the target and hears its ack, h acks back: four messages
                    if send(i, h, p) and round_trip(h, target, p) and send(h, i, p):
                        ok = True
            if not ok:
                status, inc, _ = m.view[target]
                kind = "dead" if c.suspicion_periods == 0 else "suspect"
                if status == "alive" or kind == "dead":
                    set_view(i, target, kind, inc, p)
                    record(i, (kind, target, inc))
        for i in range(n):
            if not running[i]:
                continue
            m = members[i]
            for j, (status, inc, since) in enumerate(m.view):
                if status == "suspect" and p - since >= c.suspicion_periods:
                    set_view(i, j, "dead", inc, p)
                    record(i, ("dead", j, inc))
        for i in range(n):
            if running[i]:
                rows[i] = [_PRIORITY[s] for s, _, _ in members[i].view]
        view[p] = rows
        up[p] = running
        if c.crash_period and all_dead is None and not running[c.crash_node]:
            live = [i for i in range(n) if running[i]]
            if live and all(rows[i][c.crash_node] == DEAD for i in live):
                all_dead = p
                if stop_when_all_dead:
                    break
    return SwimResult(
        config=c,
        view=view,
        up=up,
        messages=np.array(messages, dtype=np.int64),
        first_suspected=first_suspected,
        first_dead=first_dead,
        all_dead=all_dead,
        **tally,
    )


@dataclass(frozen=True)
class DetectionTrials:
    """First-detection times of many independent crashes, against the paper's expectation."""

    nodes: int
    periods: np.ndarray  # periods to first suspicion, one per trial (crash period counted as 1)
    all_dead: np.ndarray  # periods until every live member declared the crashed one dead (-1: not by the end)
    expected: float

    @property
    def mean(self) -> float:
        return float(self.periods.mean())


def detection_trials(c: SwimConfig, trials: int = 200) -> DetectionTrials:
    """Run ``trials`` copies of ``c`` with seeds ``c.seed, c.seed + 1, ...``, each crashing a member in period 1,
    just long enough for every live member to declare it dead."""
    trials = int_between("trials", trials, 1, 5000)
    horizon = min(MAX_PERIODS, 40 + c.suspicion_periods + 4 * math.ceil(math.log2(c.nodes)))
    first, dead = [], []
    for t in range(trials):
        cfg = SwimConfig(
            c.nodes, c.k, c.suspicion_periods, c.loss, horizon, c.crash_node, 1, c.retransmit_mult, c.seed + t
        )
        r = simulate_swim(cfg, stop_when_all_dead=True)
        first.append(r.detection_periods if r.detection_periods is not None else horizon + 1)
        dead.append(r.all_dead if r.all_dead is not None else -1)
    return DetectionTrials(c.nodes, np.array(first), np.array(dead), expected_first_detection(c.nodes))
