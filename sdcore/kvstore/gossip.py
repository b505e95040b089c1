"""Gossip-style failure detection (van Renesse, Minsky and Hayden 1998), in rounds of virtual time.

Every node keeps a list of (member, heartbeat, round last updated). Each round a live node increments its
own heartbeat and sends its list to ``fanout`` peers picked at random; a receiver keeps, per member, the
higher heartbeat and stamps it with the current round. An entry whose heartbeat has not grown for ``t_fail``
rounds is marked down and no longer gossiped; it stays in the list ``t_cleanup`` more rounds, so that an old
heartbeat still travelling from a slower node cannot revive it, then it is dropped. Drop it too early and
that old heartbeat re-adds the dead member as alive (a *revival*).

Rounds are synchronous: every message of a round is built from the lists as they were when it began. A
crashed node sends and receives nothing; a recovered one keeps its heartbeat counter (as Cassandra persists
its generation) and starts with an empty list. A partition drops every message between the two halves.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore.checks import int_between, number_between
from sdcore.checks import seed as check_seed

MIN_NODES, MAX_NODES = 3, 64
MAX_ROUNDS = 400

# What an observer believes about a member at the end of a round.
ALIVE, DOWN, DROPPED, UNKNOWN = 0, 1, 2, 3
BELIEFS = MappingProxyType(
    {
        ALIVE: "alive",
        DOWN: "marked down",
        DROPPED: "dropped",
        UNKNOWN: "not heard of yet",
    }
)


@dataclass(frozen=True)
class GossipConfig:
    """``crashes``/``recoveries``: (node, round) pairs; ``partition``: (first round, last round) in which the
    lower half of the nodes cannot reach the upper half, or ``None``."""

    nodes: int = 16
    fanout: int = 2
    t_fail: int = 8
    t_cleanup: int = 16
    rounds: int = 60
    loss: float = 0.0
    crashes: tuple[tuple[int, int], ...] = ((0, 10),)
    recoveries: tuple[tuple[int, int], ...] = ()
    partition: tuple[int, int] | None = None
    seed: int = 0

    def __post_init__(self) -> None:
        n = int_between("nodes", self.nodes, MIN_NODES, MAX_NODES)
        int_between("fanout", self.fanout, 1, n - 1, hi_name="nodes - 1")
        int_between("t_fail", self.t_fail, 1, MAX_ROUNDS)
        int_between("t_cleanup", self.t_cleanup, 0, MAX_ROUNDS)
        int_between("rounds", self.rounds, 1, MAX_ROUNDS)
        number_between("loss", self.loss, 0, 0.9, unit=" (a fraction of messages)")
        check_seed(self.seed)
        for what, events in (("crashes", self.crashes), ("recoveries", self.recoveries)):
            if not isinstance(events, tuple):
                raise ValueError(f"{what} must be a tuple of (node, round) pairs (got {what}={events!r})")
            for event in events:
                if not (isinstance(event, tuple) and len(event) == 2):
                    raise ValueError(f"{what} must hold (node, round) pairs (got {event!r})")
                int_between(f"a node in {what}", event[0], 0, n - 1, hi_name="nodes - 1")
                int_between(f"a round in {what}", event[1], 1, self.rounds, hi_name="rounds")
        if self.partition is not None:
            if not (isinstance(self.partition, tuple) and len(self.partition) == 2):
                raise ValueError(
                    f"partition must be (first round, last round) or None (got {self.partition!r})"
                )
            start = int_between(
                "the partition's first round", self.partition[0], 1, self.rounds, hi_name="rounds"
            )
            int_between(
                "the partition's last round", self.partition[1], start, self.rounds, lo_name="its first"
            )

    @property
    def group_a(self) -> int:
        """Nodes 0 to group_a - 1 form one side of the partition."""
        return self.nodes // 2


@dataclass(frozen=True)
class Detection:
    """When ``observer`` first marked crashed ``subject`` down (``None``: not by the end, or it crashed too)."""

    subject: int
    crash_round: int
    observer: int
    marked_round: int | None

    @property
    def delay(self) -> int | None:
        return None if self.marked_round is None else self.marked_round - self.crash_round


@dataclass(frozen=True)
class Suspicion:
    """``observer`` marked ``subject`` down in ``round`` while ``subject`` was running."""

    observer: int
    subject: int
    round: int


@dataclass(frozen=True)
class GossipResult:
    """``belief[r, i, j]``: what node i believes about j at the end of round r (round 0 is the start);
    ``up[r, i]``: node i was running in round r; ``sends``: one row (round, sender, receiver, delivered) per
    message."""

    config: GossipConfig
    belief: np.ndarray
    up: np.ndarray
    sends: np.ndarray
    detections: tuple[Detection, ...]
    false_suspicions: tuple[Suspicion, ...]
    revivals: tuple[Suspicion, ...]  # a dead member re-added as alive by an old heartbeat
    messages: np.ndarray  # gossip messages sent per round
    entries: np.ndarray  # list entries carried per round (the bytes on the wire)

    @property
    def rounds(self) -> int:
        return self.config.rounds

    def all_to_all(self) -> np.ndarray:
        """Messages per round if every live node heartbeated every other node directly."""
        live = self.up[1:].sum(axis=1)
        return live * (live - 1)

    def delays(self) -> np.ndarray:
        return np.array([d.delay for d in self.detections if d.delay is not None], dtype=int)

    def undetected(self) -> int:
        return sum(d.marked_round is None for d in self.detections)

    def round_sends(self, r: int) -> np.ndarray:
        return self.sends[self.sends[:, 0] == r]

    def view_of(self, r: int) -> np.ndarray:
        """Per node at the end of round r: the share of live other nodes that believe it alive."""
        live = self.up[r]
        b = self.belief[r]
        out = np.zeros(self.config.nodes)
        for j in range(self.config.nodes):
            others = live.copy()
            others[j] = False
            out[j] = (b[others, j] == ALIVE).mean() if others.any() else 0.0
        return out


def expected_spread_rounds(nodes: int, fanout: int) -> float:
    """Rounds for push gossip to reach everyone: log_(1+f) n + ln(n) / f (Pittel 1987 for f = 1; Frieze and
    Grimmett's form for fanout f). An approximation for large n."""
    return math.log(nodes) / math.log(1 + fanout) + math.log(nodes) / fanout


def simulate_gossip(c: GossipConfig) -> GossipResult:
    n, rounds = c.nodes, c.rounds
    rng = np.random.default_rng(c.seed)
    hb = np.zeros((n, n), dtype=np.int64)  # hb[i, j]: j's heartbeat as i knows it (-1: no entry)
    stamp = np.zeros((n, n), dtype=np.int64)  # round in which hb[i, j] last grew
    belief = np.full((rounds + 1, n, n), ALIVE, dtype=np.int8)
    up = np.ones((rounds + 1, n), dtype=bool)
    state = np.full((n, n), ALIVE, dtype=np.int8)
    running = np.ones(n, dtype=bool)
    crash_at = {}
    events: dict[int, list[tuple[str, int]]] = {}
    for node, r in c.crashes:
        events.setdefault(r, []).append(("crash", node))
    for node, r in c.recoveries:
        events.setdefault(r, []).append(("recover", node))
    side = np.arange(n) < c.group_a
    detections: dict[tuple[int, int, int], int | None] = {}
    false: list[Suspicion] = []
    revivals: list[Suspicion] = []
    sends_rows: list[np.ndarray] = []
    messages = np.zeros(rounds, dtype=np.int64)
    entries = np.zeros(rounds, dtype=np.int64)
    eye = np.eye(n, dtype=bool)
    for r in range(1, rounds + 1):
        for kind, node in events.get(r, ()):
            if kind == "crash" and running[node]:
                running[node] = False
                crash_at[node] = r
                for o in range(n):
                    if o != node and running[o]:
                        detections[(node, r, o)] = None
            elif kind == "recover" and not running[node]:
                running[node] = True
                crash_at.pop(node, None)
                for key in [k for k, m in detections.items() if k[0] == node and m is None]:
                    del detections[key]  # back before everyone noticed: those never will
                own = hb[node, node]
                hb[node], stamp[node], state[node] = -1, r, UNKNOWN
                hb[node, node], state[node, node] = own, ALIVE
        live = np.flatnonzero(running)
        hb[live, live] += 1
        stamp[live, live] = r
        # Every node draws its peers every round, so a crash elsewhere does not reshuffle anyone's choices.
        keys = rng.random((n, n))
        keys[eye] = np.inf
        peers = np.argpartition(keys, c.fanout - 1, axis=1)[:, : c.fanout]
        lost = rng.random((n, c.fanout)) < c.loss
        senders = np.repeat(np.arange(n), c.fanout)
        receivers = peers.ravel()
        sending = running[senders]
        cut = c.partition is not None and c.partition[0] <= r <= c.partition[1]
        delivered = sending & running[receivers] & ~lost.ravel()
        if cut:
            delivered &= side[senders] == side[receivers]
        sends_rows.append(
            np.column_stack(
                [np.full(sending.sum(), r), senders[sending], receivers[sending], delivered[sending]]
            )
        )
        gossiped = np.where(state == ALIVE, hb, -1)  # a node gossips only the members it believes alive
        messages[r - 1] = sending.sum()
        entries[r - 1] = (gossiped[senders[sending]] >= 0).sum()
        incoming = np.full((n, n), -1, dtype=np.int64)
        np.maximum.at(incoming, receivers[delivered], gossiped[senders[delivered]])
        newer = (incoming > hb) & running[:, None]
        before = state.copy()
        hb[newer] = incoming[newer]
        stamp[newer] = r
        state[newer] = ALIVE
        for o, j in zip(*np.nonzero(newer & (before == DROPPED)), strict=True):
            if not running[j]:
                revivals.append(Suspicion(int(o), int(j), r))
        silent = r - stamp
        observing = running[:, None] & ~eye & (hb >= 0)
        to_down = observing & (state == ALIVE) & (silent >= c.t_fail)
        to_drop = observing & (state == DOWN) & (silent >= c.t_fail + c.t_cleanup)
        state[to_down] = DOWN
        state[to_drop] = DROPPED
        hb[to_drop] = -1
        for o, j in zip(*np.nonzero(to_down), strict=True):
            if running[j]:
                false.append(Suspicion(int(o), int(j), r))
        for key, marked in list(detections.items()):
            subject, _, observer = key
            if marked is not None:
                continue
            if not running[observer]:  # it crashed before it marked the dead node down: nothing to report
                del detections[key]
            elif state[observer, subject] in (DOWN, DROPPED):
                detections[key] = r
        belief[r] = np.where(running[:, None], state, belief[r - 1])
        up[r] = running
    return GossipResult(
        config=c,
        belief=belief,
        up=up,
        sends=np.concatenate(sends_rows) if sends_rows else np.zeros((0, 4), dtype=np.int64),
        detections=tuple(Detection(s, cr, o, m) for (s, cr, o), m in sorted(detections.items())),
        false_suspicions=tuple(false),
        revivals=tuple(revivals),
        messages=messages,
        entries=entries,
    )
