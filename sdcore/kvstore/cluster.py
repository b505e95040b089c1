"""A small Dynamo-style key-value cluster in virtual time: every message, ack, timeout and hint on the record.

Scenario (the SimPy way: a virtual clock and an event heap, nothing reads the wall clock)::

    >>> c = Cluster(["A", "B", "C", "D"], n=3, r=2, w=2, seed=1)
    >>> p = c.put("cart", "milk")
    >>> _ = c.advance(to=100.0)
    >>> p.result.ok, c.get("cart").label
    (True, 'g1')
    >>> _ = c.advance()
    >>> c.operations[-1].result.value
    'milk'

How the engine behaves (the semantics a student sees on the page):

- **Placement.** A key's replicas are its preference list on a ``HashRing``: the first N distinct nodes
  clockwise. The *extended* preference list walks on over every node; sloppy quorum takes the first N
  *reachable* nodes of it.
- **Messages.** Each message takes one draw from its WARS leg (write, ack, read, response; hints, read
  repair and handoffs ride the write leg); a node's message to itself takes 0 ms. A message is lost when, as
  it would arrive, its receiver is down or sits on the other side of a partition from its sender (lost, not
  delayed: nothing is redelivered after a heal). The client reaches every node and never fails.
- **Failure detection** is perfect and instant: a coordinator knows, when a request reaches it, which nodes
  are down or cut off from it. A fault that strikes while a request is in flight is found only by the
  timeout. A crash keeps a node's data and hints (they are on disk); a crashed coordinator forgets the
  requests it was coordinating.
- **Writes.** The coordinator (the first live node of the preference list unless the caller names one)
  gives the new version the caller's context with its own counter raised, sends it to its targets and
  answers after W acks. A stand-in holds a write with a *hint* naming the owner it replaces, and hands it
  off once it can reach that owner. Under Dynamo's rule a hinted ack counts toward W; under Cassandra's it
  does not, except with ``w="ANY"``. Without enough targets the coordinator refuses at once (unavailable).
- **Reads.** The coordinator answers after R responses with every version none of the others descends
  from (siblings, each with its vector clock) and a reconciled value (last write wins, or a merge such as
  the union of shopping carts). It keeps listening until every target has answered or the timeout, then
  sends the merged versions to each owner that answered with less (read repair).
- **Timeouts.** ``timeout_ms`` after the client sent a request, an unanswered request fails: the client
  sees a failure, never a hang. A failed write may still have reached some replicas (nothing is undone).
- **Staleness** is judged against the record: a read is stale when it misses a write that was
  acknowledged to a client before the read began (no returned version descends from it).
"""

from __future__ import annotations

import heapq
import math
import numbers
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import numpy as np

from sdcore.checks import number_text
from sdcore.hashing.ring import HashRing
from sdcore.kvstore._checks import whole_number
from sdcore.kvstore.latency import (
    Exponential,
    LatencyDistribution,
    LatencyPreset,
    LegLatencies,
    resolve_latency,
)
from sdcore.kvstore.vclock import VectorClock

CLIENT = "client"
ANY = "ANY"
HINT_RULES: tuple[str, ...] = ("dynamo", "cassandra")
RECONCILERS: tuple[str, ...] = ("lww", "union")
DEFAULT_VNODES = 4
DEFAULT_TIMEOUT_MS = 200.0
DEFAULT_HANDOFF_DELAY_MS = 10.0
DEFAULT_LATENCY = LegLatencies.same(Exponential(rate=0.1))  # every message 10 ms on average
MAX_EVENTS = 1_000_000  # a guard against a runaway loop, far above any scenario's needs

# Message kinds, the WARS leg each rides, and the colour category the sequence diagram gives it.
MESSAGE_KINDS: tuple[str, ...] = (
    "put",
    "get",
    "write",
    "hinted_write",
    "ack",
    "read",
    "response",
    "reply",
    "repair",
    "handoff",
    "handoff_ack",
)
CATEGORIES: tuple[str, ...] = ("request", "ack", "response", "timeout", "hint", "handoff", "read repair")
KIND_CATEGORY = MappingProxyType(
    {
        "put": "request",
        "get": "request",
        "write": "request",
        "read": "request",
        "hinted_write": "hint",
        "ack": "ack",
        "handoff_ack": "ack",
        "response": "response",
        "reply": "response",
        "repair": "read repair",
        "handoff": "handoff",
    }
)
_LEG = MappingProxyType(
    {
        "put": "w",
        "write": "w",
        "hinted_write": "w",
        "repair": "w",
        "handoff": "w",
        "ack": "a",
        "handoff_ack": "a",
        "get": "r",
        "read": "r",
        "response": "s",
    }
)
_BUFFER = 64


def format_value(value: Any) -> str:
    """A value as the page writes it: a set as ``{eggs,milk}`` (sorted), anything else with ``str``."""
    if isinstance(value, frozenset | set):
        return "{" + ",".join(sorted(map(str, value))) + "}"
    return "∅" if value is None else str(value)


@dataclass(frozen=True)
class Version:
    """One stored version of a key: its value, its vector clock, when its coordinator made it (the
    timestamp last-write-wins uses) and the label of the put that wrote it."""

    value: Any
    clock: VectorClock
    timestamp_ms: float
    writer: str

    def describe(self) -> str:
        return f"{format_value(self.value)} {self.clock}"


def latest_versions(versions: Iterable[Version]) -> tuple[Version, ...]:
    """The versions no other one descends from (siblings), oldest timestamp first; equal clocks once."""
    kept: list[Version] = []
    for v in versions:
        if any(k.clock.descends(v.clock) for k in kept):
            continue
        kept = [k for k in kept if not v.clock.descends(k.clock)]
        kept.append(v)
    return tuple(sorted(kept, key=lambda v: (v.timestamp_ms, v.writer, v.clock.counters)))


def covers(versions: Iterable[Version], clock: VectorClock) -> bool:
    """True when some version equals or descends from ``clock``: that write is not lost in them."""
    return any(v.clock.descends(clock) for v in versions)


def union_merge(values: Sequence[Any]) -> frozenset:
    """The shopping-cart merge: the union of the siblings' items (a plain value counts as one item).
    Adds are never lost; an item deleted on one side comes back if a sibling still has it."""
    items: set = set()
    for value in values:
        if isinstance(value, frozenset | set):
            items |= value
        elif value is not None:
            items.add(value)
    return frozenset(items)


def reconcile(
    versions: Sequence[Version], how: str | Callable[[Sequence[Any]], Any] = "lww"
) -> tuple[Any, str]:
    """The value a client makes of siblings, and how: ``"lww"`` keeps the latest timestamp (ties by the
    put's label), ``"union"`` merges carts, a callable merges the values its own way."""
    if not versions:
        return None, "not found"
    if len(versions) == 1:
        return versions[0].value, "one version"
    if how == "lww":
        winner = max(versions, key=lambda v: (v.timestamp_ms, v.writer))
        return winner.value, f"last write wins: {winner.writer} at {winner.timestamp_ms:.1f} ms"
    if how == "union":
        return union_merge([v.value for v in versions]), f"merged {len(versions)} siblings (union)"
    return how([v.value for v in versions]), f"merged {len(versions)} siblings"


@dataclass(frozen=True)
class Message:
    """One message on the wire. ``sent_seq``/``outcome_seq`` index the trace event that sent it and the one
    where it arrived, was lost or was ignored; ``outcome`` says which."""

    id: int
    kind: str
    src: str
    dst: str
    sent_ms: float
    deliver_ms: float
    op: str
    key: str
    summary: str
    sent_seq: int
    outcome: str = "in flight"
    outcome_seq: int = -1

    @property
    def category(self) -> str:
        return KIND_CATEGORY[self.kind]

    @property
    def delivered(self) -> bool:
        return self.outcome == "delivered"


@dataclass(frozen=True)
class TraceEvent:
    """One step of the run: a client request issued, a message delivered or lost, a timeout, a fault.
    ``node`` is where it happened (the lane on a sequence diagram), ``message`` the message's id, if any."""

    seq: int
    time_ms: float
    kind: str
    node: str
    op: str
    detail: str
    message: int | None = None


@dataclass(frozen=True)
class StateChange:
    """What a node holds for a key after a trace event: ``kind`` is ``"store"`` (its own replica),
    ``"hint"`` (held for ``owner``) or ``"hint delivered"`` (the hint is gone, ``versions`` empty)."""

    seq: int
    time_ms: float
    node: str
    key: str
    kind: str
    versions: tuple[Version, ...]
    owner: str = ""


@dataclass(frozen=True)
class PutResult:
    """What the client learned from a put. ``acks``: the acks counted toward W when it was answered;
    ``hinted``: (stand-in, owner) pairs. A failed put may still have reached some replicas."""

    label: str
    key: str
    value: Any
    ok: bool
    error: str
    coordinator: str | None
    clock: VectorClock | None
    targets: tuple[str, ...]
    hinted: tuple[tuple[str, str], ...]
    acks: tuple[str, ...]
    started_ms: float
    finished_ms: float

    @property
    def latency_ms(self) -> float:
        return self.finished_ms - self.started_ms


@dataclass(frozen=True)
class GetResult:
    """What the client learned from a get: the sibling ``versions`` with their clocks, their merged
    ``context`` (pass it to the next put), the reconciled ``value`` and how it was reconciled, the
    responses the answer was built from, and whether it was stale (it missed the writes ``missed``)."""

    label: str
    key: str
    ok: bool
    error: str
    coordinator: str | None
    versions: tuple[Version, ...]
    context: VectorClock
    value: Any
    reconciled: str
    responses: tuple[tuple[str, tuple[Version, ...]], ...]
    stale: bool
    missed: tuple[str, ...]
    started_ms: float
    finished_ms: float

    @property
    def latency_ms(self) -> float:
        return self.finished_ms - self.started_ms

    @property
    def siblings(self) -> int:
        return len(self.versions)


@dataclass(frozen=True)
class ReadRepair:
    """Read repair after a get: every response the coordinator heard, the merged versions, and the owners
    that had answered with less and were sent the merged versions."""

    op: str
    key: str
    time_ms: float
    seq: int
    responses: tuple[tuple[str, tuple[Version, ...]], ...]
    merged: tuple[Version, ...]
    repaired: tuple[str, ...]


@dataclass(eq=False)
class Operation:
    """A client request in flight: ``result`` stays ``None`` until the client has its answer (or gave up)."""

    label: str
    kind: str
    key: str
    started_ms: float
    issue_seq: int
    coordinator: str | None
    value: Any = None
    context: VectorClock | None = None
    result: PutResult | GetResult | None = None
    finished_seq: int = -1
    repair: ReadRepair | None = None

    @property
    def done(self) -> bool:
        return self.result is not None


@dataclass(eq=False)
class _Coordination:
    """The coordinator's memory of one request (lost when the coordinator crashes)."""

    targets: tuple[str, ...] = ()
    hints: dict[str, str] = field(default_factory=dict)  # stand-in -> owner
    version: Version | None = None
    acks: list[str] = field(default_factory=list)  # counted toward W
    responses: dict[str, tuple[Version, ...]] = field(default_factory=dict)
    answered: bool = False
    repaired: bool = False
    lost: bool = False


def _check_nodes(nodes: Sequence[str] | HashRing, vnodes: int) -> HashRing:
    if isinstance(nodes, HashRing):
        ring = nodes
    else:
        if isinstance(nodes, str) or not isinstance(nodes, Iterable):
            raise ValueError(
                f"nodes must be a list of node names such as ['A', 'B', 'C'] (got nodes={nodes!r})"
            )
        names = list(nodes)
        for name in names:
            if not isinstance(name, str) or not name.strip() or name == CLIENT:
                raise ValueError(f"each node needs a non-empty name other than {CLIENT!r} (got {name!r})")
        ring = HashRing(names, vnodes=vnodes)
    if not ring.nodes:
        raise ValueError("a cluster needs at least one node (got nodes=[])")
    return ring


class Cluster:
    """A Dynamo-style cluster: ``put``/``get`` start at ``now``; ``advance(to=...)`` runs the events.

    ``latency`` is a ``LegLatencies``, a latency preset (or its key, e.g. ``"linkedin-ssd"``) or one
    distribution for every leg (default: exponential, 10 ms mean). ``w`` may be ``"ANY"`` (Cassandra's
    consistency level: one ack, hinted or not). ``reconcile`` is ``"lww"``, ``"union"`` or a function of
    the sibling values.
    """

    def __init__(
        self,
        nodes: Sequence[str] | HashRing,
        n: int,
        r: int,
        w: int | str,
        latency: LegLatencies | LatencyPreset | LatencyDistribution | str = DEFAULT_LATENCY,
        seed: int = 0,
        *,
        vnodes: int = DEFAULT_VNODES,
        timeout_ms: float = DEFAULT_TIMEOUT_MS,
        sloppy_quorum: bool = True,
        hint_rule: str = "dynamo",
        reconcile: str | Callable[[Sequence[Any]], Any] = "lww",
        handoff_delay_ms: float = DEFAULT_HANDOFF_DELAY_MS,
    ):
        self.ring = _check_nodes(nodes, vnodes)
        self.nodes: tuple[str, ...] = self.ring.nodes
        n = whole_number("N", n)
        if not 1 <= n <= len(self.nodes):
            raise ValueError(f"N must be between 1 and the number of nodes, {len(self.nodes)} (got N={n})")
        r = whole_number("R", r)
        if not 1 <= r <= n:
            raise ValueError(f"R must be between 1 and N={n} (got R={r})")
        self.w_any = w == ANY
        if not self.w_any:
            w = whole_number("W", w)
            if not 1 <= w <= n:
                raise ValueError(f"W must be between 1 and N={n}, or 'ANY' (got W={w})")
        self.n, self.r, self.w = n, r, 1 if self.w_any else w
        self.latency = resolve_latency(latency)
        seed = whole_number("seed", seed)
        if seed < 0:
            raise ValueError(f"seed must be 0 or more (got seed={seed})")
        for name, value in (("timeout_ms", timeout_ms), ("handoff_delay_ms", handoff_delay_ms)):
            if isinstance(value, bool) or not isinstance(value, numbers.Real) or not (0 < value < math.inf):
                raise ValueError(
                    f"{name} must be a finite number of milliseconds above 0 (got {name}={value!r})"
                )
        self.timeout_ms, self.handoff_delay_ms = float(timeout_ms), float(handoff_delay_ms)
        if hint_rule not in HINT_RULES:
            raise ValueError(
                f"hint_rule must be one of {', '.join(HINT_RULES)} (got hint_rule={hint_rule!r})"
            )
        if not callable(reconcile) and reconcile not in RECONCILERS:
            raise ValueError(
                f"reconcile must be one of {', '.join(RECONCILERS)} or a function (got {reconcile!r})"
            )
        self.sloppy_quorum, self.hint_rule, self.reconcile = bool(sloppy_quorum), hint_rule, reconcile
        self._rng = np.random.default_rng(seed)
        self._draws: dict[str, list[float]] = {leg: [] for leg in "wars"}
        self._now = 0.0
        self._heap: list[tuple[float, int, str, int | str]] = []
        self._tick = 0
        self._up = dict.fromkeys(self.nodes, True)
        self._group = dict.fromkeys(self.nodes, 0)
        self._store: dict[str, dict[str, tuple[Version, ...]]] = {x: {} for x in self.nodes}
        self._hints: dict[str, dict[tuple[str, str], tuple[Version, ...]]] = {x: {} for x in self.nodes}
        self._counter: dict[tuple[str, str], int] = {}
        self._handoffs_in_flight: set[tuple[str, str, str]] = set()
        self._scan_pending: set[str] = set()
        self._trace: list[TraceEvent] = []
        self._messages: list[Message] = []
        self._payload: dict[int, Any] = {}
        self._changes: list[StateChange] = []
        self._ops: list[Operation] = []
        self._coord: dict[int, _Coordination] = {}
        self._acked: list[tuple[str, VectorClock, str, int]] = []  # key, clock, label, seq acknowledged
        self._finished: list[Operation] = []
        self._cause = -1

    # -- what a caller reads ----------------------------------------------------------------------------
    @property
    def now(self) -> float:
        return self._now

    @property
    def trace(self) -> tuple[TraceEvent, ...]:
        return tuple(self._trace)

    @property
    def messages(self) -> tuple[Message, ...]:
        return tuple(self._messages)

    @property
    def changes(self) -> tuple[StateChange, ...]:
        return tuple(self._changes)

    @property
    def operations(self) -> tuple[Operation, ...]:
        return tuple(self._ops)

    def preference_list(self, key: str) -> tuple[str, ...]:
        """The key's N owners, coordinator first."""
        return tuple(self.ring.preference_list(_check_key(key), self.n))

    def extended_preference_list(self, key: str) -> tuple[str, ...]:
        """Every node in the order a sloppy quorum tries them for this key."""
        return tuple(self.ring.preference_list(_check_key(key), len(self.nodes)))

    def is_up(self, node: str) -> bool:
        return self._up[self._check_node(node)]

    def reachable(self, src: str, dst: str) -> bool:
        """Whether a message from ``src`` would reach ``dst`` now (the client reaches every live node)."""
        if not self._up[dst]:
            return False
        return src == CLIENT or self._group[src] == self._group[dst]

    def versions(self, node: str, key: str) -> tuple[Version, ...]:
        """What ``node`` stores as a replica of ``key`` (hints it holds for others excluded)."""
        return self._store[self._check_node(node)].get(key, ())

    def hints(self, node: str) -> dict[tuple[str, str], tuple[Version, ...]]:
        """The hints ``node`` holds, keyed by (key, intended owner)."""
        return dict(self._hints[self._check_node(node)])

    def pending_hints(self) -> tuple[tuple[str, str, str], ...]:
        """(stand-in, key, owner) for every hint not yet handed off."""
        return tuple((x, k, o) for x in self.nodes for (k, o) in self._hints[x])

    def replica_versions(self, key: str) -> dict[str, tuple[Version, ...]]:
        """What each of the key's owners stores for it."""
        return {x: self.versions(x, key) for x in self.preference_list(key)}

    def acknowledged(self, key: str | None = None) -> tuple[tuple[str, VectorClock], ...]:
        """(label, clock) of every put acknowledged to its client so far, optionally for one key."""
        return tuple((label, clock) for k, clock, label, _ in self._acked if key is None or k == key)

    # -- client requests --------------------------------------------------------------------------------
    def put(
        self,
        key: str,
        value: Any,
        context: VectorClock | GetResult | None = None,
        coordinator: str | None = None,
        label: str | None = None,
    ) -> Operation:
        """Start a write of ``value`` at ``now``. Pass the ``context`` (vector clock) of the get this write
        is based on; without one the write is concurrent with every version its coordinator has not made."""
        if isinstance(context, GetResult):
            context = context.context
        if context is not None and not isinstance(context, VectorClock):
            raise ValueError(f"context must be a VectorClock or a GetResult (got context={context!r})")
        return self._issue("put", key, value, context, coordinator, label)

    def get(self, key: str, coordinator: str | None = None, label: str | None = None) -> Operation:
        """Start a read at ``now``."""
        return self._issue("get", key, None, None, coordinator, label)

    def _issue(self, kind, key, value, context, coordinator, label) -> Operation:
        key = _check_key(key)
        if coordinator is not None:
            self._check_node(coordinator)
        count = sum(op.kind == kind for op in self._ops) + 1
        label = label or f"{kind[0]}{count}"
        if any(op.label == label for op in self._ops):
            raise ValueError(f"operation label {label!r} is already used")
        if coordinator is None:
            coordinator = next((x for x in self.extended_preference_list(key) if self._up[x]), None)
        what = (
            f"put {key}={format_value(value)}" + (f" ctx {context}" if context else "")
            if kind == "put"
            else f"get {key}"
        )
        seq = self._emit(
            "issue",
            CLIENT,
            label,
            f"client sends {label}: {what}"
            + (f" to coordinator {coordinator}" if coordinator else ": every node is down"),
        )
        op = Operation(label, kind, key, self._now, seq, coordinator, value, context)
        self._ops.append(op)
        if coordinator is None:
            self._finish(op, False, "every node is down")
            return op
        self._coord[id(op)] = _Coordination()
        self._send(kind, CLIENT, coordinator, op, what, None)
        self._push(self._now + self.timeout_ms, "timeout", len(self._ops) - 1)
        return op

    # -- faults -----------------------------------------------------------------------------------------
    def crash(self, node: str) -> None:
        """``node`` stops: it drops every message and forgets the requests it coordinates; its data and
        hints survive for its recovery."""
        node = self._check_node(node)
        self._up[node] = False
        for op in self._ops:
            if op.coordinator == node and id(op) in self._coord:
                self._coord[id(op)].lost = True
        self._emit("crash", node, "", f"{node} crashes")

    def recover(self, node: str) -> None:
        node = self._check_node(node)
        self._up[node] = True
        self._emit("recover", node, "", f"{node} recovers with the data it had")
        self._schedule_scans()

    def partition(self, *groups: Iterable[str]) -> None:
        """Cut the network between ``groups`` of nodes (``partition(["A", "B"], ["C", "D"])``); nodes named
        in no group form one more group together. Replaces any earlier partition."""
        seen: dict[str, int] = {}
        for i, group in enumerate(groups):
            if isinstance(group, str):
                raise ValueError(f"each side of a partition must be a list of nodes (got {group!r})")
            for node in group:
                node = self._check_node(node)
                if node in seen:
                    raise ValueError(f"node {node} is on two sides of the partition")
                seen[node] = i + 1
        self._group = {x: seen.get(x, 0) for x in self.nodes}
        sides = [[x for x in self.nodes if self._group[x] == g] for g in sorted(set(self._group.values()))]
        self._emit("partition", "", "", "network partition: " + " | ".join(",".join(s) for s in sides))
        self._schedule_scans()

    def heal(self) -> None:
        self._group = dict.fromkeys(self.nodes, 0)
        self._emit("heal", "", "", "the partition heals")
        self._schedule_scans()

    # -- the clock --------------------------------------------------------------------------------------
    def advance(self, to: float | None = None) -> tuple[Operation, ...]:
        """Run every event up to time ``to`` (ms) and move the clock there; without ``to``, until nothing is
        left to happen. Returns the operations whose client got an answer meanwhile."""
        if to is not None:
            if isinstance(to, bool) or not isinstance(to, numbers.Real) or not math.isfinite(to):
                raise ValueError(f"to must be a finite time in ms (got to={to!r})")
            if to < self._now:
                raise ValueError(f"time only moves forward: to={to} is before now={self._now}")
        self._finished = []
        steps = 0
        while self._heap and (to is None or self._heap[0][0] <= to):
            time, _, kind, ref = heapq.heappop(self._heap)
            self._now = time
            steps += 1
            if steps > MAX_EVENTS:
                raise RuntimeError("the cluster ran more than a million events without settling")
            if kind == "deliver":
                self._deliver(ref)
            elif kind == "timeout":
                self._timeout(self._ops[ref])
            else:
                self._scan(ref)
        if to is not None:
            self._now = float(to)
        return tuple(self._finished)

    def next_event_ms(self) -> float | None:
        """When the next event happens, or ``None`` when nothing is pending."""
        return self._heap[0][0] if self._heap else None

    # -- machinery --------------------------------------------------------------------------------------
    def _check_node(self, node: str) -> str:
        if node not in self._up:
            raise ValueError(f"unknown node {node!r}; the cluster has {', '.join(self.nodes)}")
        return node

    def _push(self, time: float, kind: str, ref: int | str) -> None:
        self._tick += 1
        heapq.heappush(self._heap, (time, self._tick, kind, ref))

    def _emit(self, kind: str, node: str, op: str, detail: str, message: int | None = None) -> int:
        seq = len(self._trace)
        self._trace.append(TraceEvent(seq, self._now, kind, node, op, detail, message))
        self._cause = seq
        return seq

    def _draw(self, leg: str) -> float:
        buffer = self._draws[leg]
        if not buffer:
            buffer.extend(reversed(getattr(self.latency, leg).sample(self._rng, _BUFFER).tolist()))
        return buffer.pop()

    def _send(
        self,
        kind: str,
        src: str,
        dst: str,
        op: Operation | None,
        summary: str,
        payload: Any,
        key: str | None = None,
    ) -> None:
        leg = ("a" if op.kind == "put" else "s") if kind == "reply" else _LEG[kind]
        delay = 0.0 if src == dst else self._draw(leg)
        m = Message(
            len(self._messages),
            kind,
            src,
            dst,
            self._now,
            self._now + delay,
            op.label if op else "",
            key if key is not None else op.key,
            summary,
            self._cause,
        )
        self._messages.append(m)
        self._payload[m.id] = (op, payload)
        self._push(m.deliver_ms, "deliver", m.id)

    def _loss(self, m: Message) -> str:
        if m.dst == CLIENT:
            return ""
        if not self._up[m.dst]:
            return f"{m.dst} is down"
        if m.src != CLIENT and self._group[m.src] != self._group[m.dst]:
            return f"{m.src} and {m.dst} are partitioned"
        return ""

    def _deliver(self, mid: int) -> None:
        m = self._messages[mid]
        op, payload = self._payload.pop(mid)
        reason = self._loss(m)
        if reason:
            seq = self._emit("drop", m.dst, m.op, f"{m.kind} from {m.src} to {m.dst} lost: {reason}", mid)
            self._messages[mid] = replace(m, outcome=f"lost: {reason}", outcome_seq=seq)
            if m.kind in ("handoff", "handoff_ack"):
                standin, owner = (m.src, m.dst) if m.kind == "handoff" else (m.dst, m.src)
                self._handoffs_in_flight.discard((standin, m.key, owner))
            return
        seq = self._emit("deliver", m.dst, m.op, "", mid)
        outcome, detail = getattr(self, f"_on_{m.kind}")(m, op, payload)
        self._messages[mid] = replace(m, outcome=outcome, outcome_seq=seq)
        self._trace[seq] = replace(self._trace[seq], detail=detail)

    def _change(self, node: str, key: str, kind: str, versions: tuple[Version, ...], owner: str = "") -> None:
        self._changes.append(StateChange(self._cause, self._now, node, key, kind, versions, owner))

    def _readable(self, node: str, key: str) -> tuple[Version, ...]:
        hinted = [v for (k, _), vs in self._hints[node].items() if k == key for v in vs]
        return latest_versions([*self._store[node].get(key, ()), *hinted])

    def _store_versions(self, node: str, key: str, incoming: Iterable[Version]) -> tuple[Version, ...]:
        before = self._store[node].get(key, ())
        after = latest_versions([*before, *incoming])
        if after != before:
            self._store[node][key] = after
            self._change(node, key, "store", after)
        return after

    def _targets(self, c: str, key: str) -> tuple[tuple[str, ...], dict[str, str]]:
        """The nodes a coordinator sends to, and the owner each stand-in holds a hint for."""
        ext = self.extended_preference_list(key)
        owners = ext[: self.n]
        if self.sloppy_quorum:
            targets = tuple(x for x in ext if self.reachable(c, x))[: self.n]
        else:
            targets = tuple(x for x in owners if self.reachable(c, x))
        standins = [x for x in targets if x not in owners]
        missing = [x for x in owners if x not in targets]
        return targets, dict(zip(standins, missing, strict=False))

    def _refuse(self, op: Operation, st: _Coordination, c: str, why: str) -> tuple[str, str]:
        st.answered = True
        self._send("reply", c, CLIENT, op, f"{op.label} unavailable", (False, f"unavailable: {why}"))
        return "delivered", f"{c} refuses {op.label}: {why}"

    # -- message handlers: each returns (outcome, what happened) ----------------------------------------
    def _on_put(self, m: Message, op: Operation, _) -> tuple[str, str]:
        c, st = m.dst, self._coord[id(op)]
        if st.lost:
            return "ignored: the coordinator crashed", f"{c} has forgotten {op.label}"
        st.targets, st.hints = self._targets(c, op.key)
        counted = len(st.targets) - (0 if self._hints_count else len(st.hints))
        if counted < self.w:
            kind = "" if self._hints_count else " un-hinted"
            return self._refuse(
                op, st, c, f"only {counted}{kind} of the {self.n} replicas reachable, W={self.w}"
            )
        base = op.context or VectorClock()
        count = max(base[c], self._counter.get((c, op.key), 0)) + 1
        self._counter[(c, op.key)] = count
        st.version = Version(op.value, base.with_counter(c, count), self._now, op.label)
        text = f"{op.key}={format_value(op.value)} {st.version.clock}"
        for x in st.targets:
            owner = st.hints.get(x)
            kind, note = ("hinted_write", f", hint for {owner}") if owner else ("write", "")
            self._send(kind, c, x, op, f"write {text}{note}", (st.version, owner))
        hinted = f"; {', '.join(f'{s} stands in for {o}' for s, o in st.hints.items())}" if st.hints else ""
        return (
            "delivered",
            f"{c} coordinates {op.label}: version {st.version.clock} to {', '.join(st.targets)}{hinted}",
        )

    @property
    def _hints_count(self) -> bool:
        return self.hint_rule == "dynamo" or self.w_any

    def _on_write(self, m: Message, op: Operation, payload) -> tuple[str, str]:
        version, _ = payload
        self._store_versions(m.dst, m.key, [version])
        self._send("ack", m.dst, m.src, op, f"ack {op.label}", None)
        return "delivered", f"{m.dst} stores {m.key}={version.describe()} and acks"

    def _on_hinted_write(self, m: Message, op: Operation, payload) -> tuple[str, str]:
        version, owner = payload
        held = self._hints[m.dst].get((m.key, owner), ())
        after = latest_versions([*held, version])
        self._hints[m.dst][(m.key, owner)] = after
        self._change(m.dst, m.key, "hint", after, owner)
        self._send("ack", m.dst, m.src, op, f"ack {op.label} (hinted for {owner})", owner)
        self._schedule_scan(m.dst)
        return "delivered", f"{m.dst} keeps {m.key}={version.describe()} with a hint for {owner} and acks"

    def _on_ack(self, m: Message, op: Operation, hinted_for) -> tuple[str, str]:
        c, st = m.dst, self._coord[id(op)]
        if st.lost:
            return "ignored: the coordinator crashed", f"{c} has forgotten {op.label}; ack ignored"
        if st.answered or op.done:
            return "ignored: already answered", f"late ack from {m.src} for {op.label}"
        if hinted_for and not self._hints_count:
            return "delivered", f"{c}: hinted ack from {m.src} does not count toward W (Cassandra's rule)"
        st.acks.append(m.src)
        if len(st.acks) < self.w:
            return "delivered", f"{c}: {len(st.acks)} of W={self.w} acks for {op.label}"
        st.answered = True
        self._send("reply", c, CLIENT, op, f"{op.label} ok {st.version.clock}", (True, ""))
        return "delivered", f"{c}: W={self.w} acks for {op.label}: the write is acknowledged"

    def _on_get(self, m: Message, op: Operation, _) -> tuple[str, str]:
        c, st = m.dst, self._coord[id(op)]
        if st.lost:
            return "ignored: the coordinator crashed", f"{c} has forgotten {op.label}"
        st.targets, st.hints = self._targets(c, op.key)
        if len(st.targets) < self.r:
            return self._refuse(
                op, st, c, f"only {len(st.targets)} of the {self.n} replicas reachable, R={self.r}"
            )
        for x in st.targets:
            self._send("read", c, x, op, f"read {op.key}", None)
        return "delivered", f"{c} coordinates {op.label}: reads from {', '.join(st.targets)}"

    def _on_read(self, m: Message, op: Operation, _) -> tuple[str, str]:
        versions = self._readable(m.dst, m.key)
        self._send("response", m.dst, m.src, op, f"{m.key}: {_describe(versions)}", versions)
        return "delivered", f"{m.dst} answers {m.key}: {_describe(versions)}"

    def _on_response(self, m: Message, op: Operation, versions) -> tuple[str, str]:
        c, st = m.dst, self._coord[id(op)]
        if st.lost:
            return "ignored: the coordinator crashed", f"{c} has forgotten {op.label}; response ignored"
        if st.repaired:
            return "ignored: read repair already done", f"late response from {m.src} for {op.label}"
        st.responses[m.src] = versions
        detail = f"{c}: {len(st.responses)} of R={self.r} responses for {op.label}"
        if not st.answered and not op.done and len(st.responses) >= self.r:
            st.answered = True
            merged = latest_versions(v for vs in st.responses.values() for v in vs)
            self._send("reply", c, CLIENT, op, f"{op.key}: {_describe(merged)}", (True, merged))
            detail += f": answers {_describe(merged)}"
        if st.answered and len(st.responses) == len(st.targets):
            detail += "; every target has answered: " + self._read_repair(op, st, c)
        return "delivered", detail

    def _read_repair(self, op: Operation, st: _Coordination, c: str) -> str:
        st.repaired = True
        merged = latest_versions(v for vs in st.responses.values() for v in vs)
        owners = self.preference_list(op.key)
        stale = tuple(
            x
            for x, vs in st.responses.items()
            if x in owners and not all(covers(vs, v.clock) for v in merged)
        )
        for x in stale:
            self._send("repair", c, x, op, f"repair {op.key} → {_describe(merged)}", merged)
        op.repair = ReadRepair(
            op.label, op.key, self._now, self._cause, tuple(st.responses.items()), merged, stale
        )
        return f"read repair of {', '.join(stale)}" if stale else "no replica is stale, nothing to repair"

    def _on_repair(self, m: Message, op: Operation, merged) -> tuple[str, str]:
        after = self._store_versions(m.dst, m.key, merged)
        return "delivered", f"read repair: {m.dst} now holds {m.key}: {_describe(after)}"

    def _on_reply(self, m: Message, op: Operation, payload) -> tuple[str, str]:
        if op.done:
            return "ignored: the client had timed out", f"client: late answer to {op.label} ignored"
        ok, data = payload
        if not ok:
            self._finish(op, False, data)
            return "delivered", f"client: {op.label} failed: {data}"
        self._finish(op, True, "", data if op.kind == "get" else None)
        return "delivered", f"client: {op.label} succeeded after {op.result.latency_ms:.1f} ms"

    def _on_handoff(self, m: Message, _, versions) -> tuple[str, str]:
        after = self._store_versions(m.dst, m.key, versions)
        self._send("handoff_ack", m.dst, m.src, None, f"handoff ack {m.key}", versions, key=m.key)
        return "delivered", f"hinted handoff: {m.dst} now holds {m.key}: {_describe(after)}"

    def _on_handoff_ack(self, m: Message, _, versions) -> tuple[str, str]:
        standin, owner = m.dst, m.src
        self._handoffs_in_flight.discard((standin, m.key, owner))
        held = self._hints[standin].get((m.key, owner), ())
        rest = tuple(v for v in held if not covers(versions, v.clock))
        if rest:
            self._hints[standin][(m.key, owner)] = rest
            self._schedule_scan(standin)
            return "delivered", f"{standin}: part of the hint for {owner} delivered; newer versions wait"
        self._hints[standin].pop((m.key, owner), None)
        self._change(standin, m.key, "hint delivered", (), owner)
        return "delivered", f"{standin}: hint for {owner} delivered and dropped"

    # -- timers -----------------------------------------------------------------------------------------
    def _timeout(self, op: Operation) -> None:
        st = self._coord[id(op)]
        c = op.coordinator
        if not op.done:
            if st.lost or not self._up[c]:
                why = f"coordinator {c} crashed"
            elif op.kind == "put" and not st.answered:
                why = f"{len(st.acks)} of W={self.w} acks"
            elif op.kind == "get" and not st.answered:
                why = f"{len(st.responses)} of R={self.r} responses"
            else:
                why = "the answer was still on its way"
            self._emit(
                "timeout", c, op.label, f"{op.label} timed out after {number_text(self.timeout_ms)} ms: {why}"
            )
            self._finish(op, False, f"timed out after {number_text(self.timeout_ms)} ms ({why})")
        if op.kind == "get" and st.answered and not st.repaired and not st.lost and self._up[c]:
            seq = self._emit("repair", c, op.label, "")
            self._trace[seq] = replace(
                self._trace[seq],
                detail=f"{c} stops waiting for {op.label}'s late responses: {self._read_repair(op, st, c)}",
            )

    def _schedule_scan(self, node: str) -> None:
        if node not in self._scan_pending:
            self._scan_pending.add(node)
            self._push(self._now + self.handoff_delay_ms, "scan", node)

    def _schedule_scans(self) -> None:
        for x in self.nodes:
            if self._hints[x]:
                self._schedule_scan(x)

    def _scan(self, node: str) -> None:
        """A stand-in looks at its hints and hands off those whose owner it can reach."""
        self._scan_pending.discard(node)
        if not self._up[node]:
            return
        ready = [
            (k, o)
            for (k, o) in self._hints[node]
            if self.reachable(node, o) and (node, k, o) not in self._handoffs_in_flight
        ]
        if not ready:
            return
        self._emit(
            "handoff", node, "", f"{node} hands off hints to " + ", ".join(sorted({o for _, o in ready}))
        )
        for key, owner in ready:
            versions = self._hints[node][(key, owner)]
            self._handoffs_in_flight.add((node, key, owner))
            self._send(
                "handoff",
                node,
                owner,
                None,
                f"handoff {key}={_describe(versions)} for {owner}",
                versions,
                key=key,
            )

    def _finish(
        self, op: Operation, ok: bool, error: str, versions: tuple[Version, ...] | None = None
    ) -> None:
        st = self._coord.get(id(op)) or _Coordination()
        op.finished_seq = self._cause
        if op.kind == "put":
            clock = st.version.clock if st.version else None
            op.result = PutResult(
                op.label,
                op.key,
                op.value,
                ok,
                error,
                op.coordinator,
                clock,
                st.targets,
                tuple(st.hints.items()),
                tuple(st.acks),
                op.started_ms,
                self._now,
            )
            if ok:
                self._acked.append((op.key, clock, op.label, self._cause))
        else:
            versions = versions or ()
            value, how = reconcile(versions, self.reconcile) if ok else (None, "")
            missed = tuple(
                label
                for k, clock, label, seq in self._acked
                if ok and k == op.key and seq < op.issue_seq and not covers(versions, clock)
            )
            context = VectorClock()
            for v in versions:
                context = context.merge(v.clock)
            op.result = GetResult(
                op.label,
                op.key,
                ok,
                error,
                op.coordinator,
                versions,
                context,
                value,
                how,
                tuple(st.responses.items()),
                bool(missed),
                missed,
                op.started_ms,
                self._now,
            )
        self._finished.append(op)


def _check_key(key: str) -> str:
    if not isinstance(key, str) or not key or any(ch.isspace() for ch in key):
        raise ValueError(f"a key must be a non-empty name without spaces (got key={key!r})")
    return key


def _describe(versions: Sequence[Version]) -> str:
    if not versions:
        return "not found"
    return " | ".join(v.describe() for v in versions)
