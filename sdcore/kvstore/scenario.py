"""A cluster scenario: settings, a timeline (:mod:`sdcore.kvstore.timeline`), and its run in virtual time."""

from __future__ import annotations

import types
from collections.abc import Callable
from dataclasses import dataclass, field

from sdcore.checks import number_text
from sdcore.hashing.ring import HashRing
from sdcore.kvstore._checks import whole_number
from sdcore.kvstore.cluster import (
    ANY,
    DEFAULT_VNODES,
    Cluster,
    GetResult,
    Message,
    Operation,
    PutResult,
    ReadRepair,
    StateChange,
    TraceEvent,
    Version,
    format_value,
)
from sdcore.kvstore.latency import LATENCY_PRESETS, Exponential, LegLatencies
from sdcore.kvstore.timeline import (  # noqa: F401  (re-exported: a scenario is read from its timeline)
    ACTIONS,
    MAX_LINES,
    MAX_TIME_MS,
    NODE_NAMES,
    Step,
    Timeline,
    TimelineError,
    parse_timeline,
    resolve_value,
)

MIN_NODES, MAX_NODES = 3, 9
TIMEOUT_CHOICES: tuple[int, ...] = (20, 50, 100, 200, 500, 1000)
HINT_CHOICES: tuple[str, ...] = ("dynamo", "cassandra", "cassandra-any")
HINT_LABELS = types.MappingProxyType(
    {
        "dynamo": "Dynamo: hinted writes count toward W",
        "cassandra": "Cassandra: hinted writes do not count",
        "cassandra-any": "Cassandra, consistency level ANY: any one write counts",
    }
)
RECONCILE_LABELS = types.MappingProxyType(
    {
        "lww": "Last write wins (latest timestamp)",
        "union": "Merge: union of the carts",
    }
)
LATENCY_CHOICES: tuple[str, ...] = ("lan", *LATENCY_PRESETS)
_LAN = LegLatencies.same(Exponential(rate=0.1))


def node_names(count: int) -> tuple[str, ...]:
    count = whole_number("nodes", count)
    if not MIN_NODES <= count <= MAX_NODES:
        raise ValueError(f"nodes must be between {MIN_NODES} and {MAX_NODES} (got nodes={count})")
    return NODE_NAMES[:count]


@dataclass(frozen=True)
class ClusterSettings:
    """Everything but the timeline: the cluster's size and quorums, its latency model and its rules."""

    nodes: int = 5
    n: int = 3
    r: int = 2
    w: int = 2
    latency: str = "lan"
    seed: int = 0
    timeout_ms: int = 200
    sloppy_quorum: bool = True
    hint_rule: str = "dynamo"
    reconcile: str = "lww"

    def __post_init__(self) -> None:
        node_names(self.nodes)
        if self.latency not in LATENCY_CHOICES:
            raise ValueError(
                f"latency must be one of {', '.join(LATENCY_CHOICES)} (got latency={self.latency!r})"
            )
        if self.hint_rule not in HINT_CHOICES:
            raise ValueError(f"hint_rule must be one of {', '.join(HINT_CHOICES)} (got {self.hint_rule!r})")
        if self.reconcile not in RECONCILE_LABELS:
            raise ValueError(
                f"reconcile must be one of {', '.join(RECONCILE_LABELS)} (got {self.reconcile!r})"
            )
        self.build()  # N, R, W, seed and timeout are checked by the cluster itself

    def ring(self) -> HashRing:
        """The cluster's hash ring (the same placement ``build`` uses), for drawing."""
        return HashRing(node_names(self.nodes), vnodes=DEFAULT_VNODES)

    def build(self) -> Cluster:
        latency = _LAN if self.latency == "lan" else self.latency
        return Cluster(
            node_names(self.nodes),
            self.n,
            self.r,
            ANY if self.hint_rule == "cassandra-any" else self.w,
            latency,
            self.seed,
            timeout_ms=self.timeout_ms,
            sloppy_quorum=self.sloppy_quorum,
            hint_rule="dynamo" if self.hint_rule == "dynamo" else "cassandra",
            reconcile=self.reconcile,
        )


# -- the timeline ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """A named situation: what to watch for, its settings and its timeline."""

    description: str
    timeline: str
    settings: ClusterSettings = field(default_factory=ClusterSettings)

    def params(self) -> dict[str, object]:
        """The page's parameters for this scenario (settings fields plus the timeline text)."""
        return {
            **{f: getattr(self.settings, f) for f in ClusterSettings.__dataclass_fields__},
            "timeline": self.timeline,
        }


@dataclass(frozen=True)
class OpRecord:
    """A client request of the timeline and how it ended."""

    line: int
    label: str
    kind: str
    key: str
    coordinator: str | None
    started_ms: float
    issue_seq: int
    finished_seq: int
    result: PutResult | GetResult | None
    repair: ReadRepair | None


@dataclass(frozen=True)
class FaultSpan:
    """A crash (``nodes`` down) or a partition (``groups``) from one trace event to another (or the end)."""

    kind: str
    nodes: tuple[str, ...]
    groups: tuple[tuple[str, ...], ...]
    start_ms: float
    start_seq: int
    end_ms: float | None = None
    end_seq: int | None = None


@dataclass(frozen=True)
class ClusterState:
    """What the cluster holds after one trace event: replicas, hints, who is up, the partition sides."""

    stores: dict[str, dict[str, tuple[Version, ...]]]
    hints: dict[str, dict[tuple[str, str], tuple[Version, ...]]]
    down: frozenset[str]
    groups: tuple[tuple[str, ...], ...]


@dataclass(frozen=True)
class ScenarioRun:
    settings: ClusterSettings
    nodes: tuple[str, ...]
    errors: tuple[TimelineError, ...]
    notes: tuple[str, ...]
    events: tuple[TraceEvent, ...]
    messages: tuple[Message, ...]
    changes: tuple[StateChange, ...]
    operations: tuple[OpRecord, ...]
    faults: tuple[FaultSpan, ...]
    preference: tuple[tuple[str, tuple[str, ...]], ...]  # key -> owners, keys in order of appearance

    @property
    def keys(self) -> tuple[str, ...]:
        return tuple(k for k, _ in self.preference)

    def owners(self, key: str) -> tuple[str, ...]:
        return dict(self.preference)[key]

    def op(self, label: str) -> OpRecord:
        return next(o for o in self.operations if o.label == label)

    @property
    def gets(self) -> tuple[OpRecord, ...]:
        return tuple(o for o in self.operations if o.kind == "get")

    @property
    def puts(self) -> tuple[OpRecord, ...]:
        return tuple(o for o in self.operations if o.kind == "put")

    @property
    def end_ms(self) -> float:
        return self.events[-1].time_ms if self.events else 0.0

    def state_at(self, seq: int) -> ClusterState:
        """Replica contents, hints, crashed nodes and partition sides right after trace event ``seq``."""
        stores: dict[str, dict[str, tuple[Version, ...]]] = {x: {} for x in self.nodes}
        hints: dict[str, dict[tuple[str, str], tuple[Version, ...]]] = {x: {} for x in self.nodes}
        for c in self.changes:
            if c.seq > seq:
                break
            if c.kind == "store":
                stores[c.node][c.key] = c.versions
            elif c.kind == "hint":
                hints[c.node][(c.key, c.owner)] = c.versions
            else:
                hints[c.node].pop((c.key, c.owner), None)
        live = [f for f in self.faults if f.start_seq <= seq and (f.end_seq is None or f.end_seq > seq)]
        down = frozenset(x for f in live if f.kind == "crash" for x in f.nodes)
        groups = next((f.groups for f in live if f.kind == "partition"), (self.nodes,))
        return ClusterState(stores, hints, down, groups)

    def hint_rows(self) -> list[dict[str, object]]:
        """One row per hint: who held it for whom, when it was stored and when (if ever) it was delivered."""
        rows: dict[tuple[str, str, str], dict[str, object]] = {}
        for c in self.changes:
            ident = (c.node, c.key, c.owner)
            if c.kind == "hint" and (ident not in rows or rows[ident]["delivered at (ms)"] is not None):
                rows[ident] = {
                    "stand-in": c.node,
                    "key": c.key,
                    "intended owner": c.owner,
                    "stored at (ms)": round(c.time_ms, 1),
                    "delivered at (ms)": None,
                    "versions": "",
                }
            if c.kind == "hint":
                rows[ident]["versions"] = " | ".join(v.describe() for v in c.versions)
            elif c.kind == "hint delivered" and ident in rows:
                rows[ident]["delivered at (ms)"] = round(c.time_ms, 1)
        return list(rows.values())

    def summary(self) -> dict[str, int]:
        """Counts for the headline: requests that failed, stale gets, most siblings, hints and repairs."""
        done = [o for o in self.operations if o.result is not None]
        hints = self.hint_rows()
        return {
            "requests": len(self.operations),
            "failed": sum(not o.result.ok for o in done),
            "stale_gets": sum(o.kind == "get" and o.result.ok and o.result.stale for o in done),
            "max_siblings": max(
                (len(o.result.versions) for o in done if o.kind == "get" and o.result.ok), default=0
            ),
            "hints_stored": len(hints),
            "hints_delivered": sum(h["delivered at (ms)"] is not None for h in hints),
            "repaired": sum(len(o.repair.repaired) for o in self.operations if o.repair),
            "lost_messages": sum(m.outcome.startswith("lost") for m in self.messages),
            "timeouts": sum(e.kind == "timeout" for e in self.events),
        }

    def get_rows(self) -> list[dict[str, object]]:
        """One row per get: what it returned, whether it was stale, how siblings were reconciled."""
        rows = []
        for o in self.gets:
            r = o.result
            rows.append(
                {
                    "get": o.label,
                    "line": o.line,
                    "key": o.key,
                    "coordinator": o.coordinator or "—",
                    "start (ms)": round(o.started_ms, 1),
                    "outcome": ("ok" if r.ok else f"failed: {r.error}") if r else "no answer",
                    "versions returned": " | ".join(v.describe() for v in r.versions) if r and r.ok else "",
                    "siblings": len(r.versions) if r and r.ok else 0,
                    "reconciled": f"{format_value(r.value)} ({r.reconciled})" if r and r.ok else "",
                    "stale": bool(r and r.ok and r.stale),
                    "missed": ", ".join(r.missed) if r else "",
                    "read repair": ", ".join(o.repair.repaired) if o.repair else "",
                }
            )
        return rows

    def trace_rows(self) -> list[dict[str, object]]:
        """Every trace event, with the message it concerns: the CSV export."""
        rows = []
        for e in self.events:
            m = self.messages[e.message] if e.message is not None else None
            rows.append(
                {
                    "seq": e.seq,
                    "time_ms": round(e.time_ms, 3),
                    "event": e.kind,
                    "node": e.node,
                    "op": e.op,
                    "message": m.kind if m else "",
                    "from": m.src if m else "",
                    "to": m.dst if m else "",
                    "sent_ms": round(m.sent_ms, 3) if m else None,
                    "outcome": m.outcome if m else "",
                    "summary": m.summary if m else "",
                    "detail": e.detail,
                }
            )
        return rows


def run_scenario(scenario: Scenario | Timeline | str, settings: ClusterSettings | None = None) -> ScenarioRun:
    """Run a timeline on a fresh cluster until nothing is left to happen (hints handed off, repairs done)."""
    if isinstance(scenario, Scenario):
        settings = settings or scenario.settings
        scenario = scenario.timeline
    timeline = parse_timeline(scenario) if isinstance(scenario, str) else scenario
    settings = settings or ClusterSettings()
    cluster = settings.build()
    errors, notes = list(timeline.errors), []
    records: list[tuple[Step, Operation]] = []
    by_label: dict[str, Operation] = {}
    faults: list[FaultSpan] = []
    keys: dict[str, None] = {}
    previous: Operation | float = 0.0
    for step in timeline.steps:
        missing = [x for x in (*step.nodes, *([step.via] if step.via else [])) if x not in cluster.nodes]
        if missing:
            errors.append(
                TimelineError(
                    step.line,
                    step.action,
                    f"node {missing[0]} is not in this cluster of "
                    f"{len(cluster.nodes)} ({cluster.nodes[0]}–{cluster.nodes[-1]})",
                )
            )
            continue
        if step.relative:
            if isinstance(previous, Operation):
                while not previous.done and cluster.next_event_ms() is not None:
                    cluster.advance(to=cluster.next_event_ms())
                previous = previous.result.finished_ms
            at = previous + step.at_ms
        else:
            at = step.at_ms
        if at < cluster.now:
            notes.append(
                f"Line {step.line}: {number_text(at)} ms had already passed; it ran at {cluster.now:.1f} ms."
            )
            at = cluster.now
        cluster.advance(to=at)
        previous = cluster.now
        if step.action in ("put", "get"):
            keys[step.key] = None
            if step.action == "get":
                op = cluster.get(step.key, step.via or None, step.label)
            else:
                context, base = None, None
                if step.ctx:
                    source = by_label[step.ctx].result
                    if source is not None and source.ok:
                        context, base = source.context, source.value
                    else:
                        notes.append(
                            f"Line {step.line}: {step.ctx} had no answer when {step.label} started, "
                            "so the put carries no context."
                        )
                op = cluster.put(
                    step.key, resolve_value(step.value, base), context, step.via or None, step.label
                )
            by_label[step.label] = op
            records.append((step, op))
            previous = op
        else:
            _apply_fault(cluster, step, faults)
    cluster.advance()
    operations = tuple(
        OpRecord(
            s.line,
            op.label,
            op.kind,
            op.key,
            op.coordinator,
            op.started_ms,
            op.issue_seq,
            op.finished_seq,
            op.result,
            op.repair,
        )
        for s, op in records
    )
    return ScenarioRun(
        settings,
        cluster.nodes,
        tuple(sorted(errors, key=lambda e: e.line)),
        tuple(notes),
        cluster.trace,
        cluster.messages,
        cluster.changes,
        operations,
        tuple(faults),
        tuple((k, cluster.preference_list(k)) for k in keys),
    )


def _apply_fault(cluster: Cluster, step: Step, faults: list[FaultSpan]) -> None:
    def close(match: Callable[[FaultSpan], bool]) -> None:
        for i, f in enumerate(faults):
            if f.end_seq is None and match(f):
                faults[i] = FaultSpan(
                    f.kind, f.nodes, f.groups, f.start_ms, f.start_seq, cluster.now, len(cluster.trace) - 1
                )

    if step.action == "crash":
        if cluster.is_up(step.nodes[0]):
            cluster.crash(step.nodes[0])
            faults.append(FaultSpan("crash", step.nodes, (), cluster.now, len(cluster.trace) - 1))
    elif step.action == "recover":
        if not cluster.is_up(step.nodes[0]):
            cluster.recover(step.nodes[0])
            close(lambda f: f.kind == "crash" and f.nodes == step.nodes)
    elif step.action == "partition":
        cluster.partition(*step.groups)
        close(lambda f: f.kind == "partition")
        rest = tuple(x for x in cluster.nodes if x not in step.nodes)
        faults.append(
            FaultSpan(
                "partition",
                (),
                tuple(step.groups) + ((rest,) if rest else ()),
                cluster.now,
                len(cluster.trace) - 1,
            )
        )
    else:
        cluster.heal()
        close(lambda f: f.kind == "partition")


def clamp_quorums(nodes: int, n: int, r: int, w: int) -> tuple[int, int, int, list[str]]:
    """N brought within the node count, R and W within N, with a sentence for each value that changed."""
    notices = []
    if n > nodes:
        notices.append(f"N = {n} is more than the {nodes} nodes, so N is now {nodes}.")
    n = max(1, min(n, nodes))
    for name, value in (("R", r), ("W", w)):
        if value > n:
            notices.append(f"{name} = {value} is more than N = {n}, so {name} is now {n}.")
    return n, max(1, min(r, n)), max(1, min(w, n)), notices
