"""Scenarios for the cluster page: a timeline of client requests and faults, its text form, and its run.

A timeline is text a person edits, one step per line (``#`` starts a comment)::

    0     put cart {milk}               # p1: the first put (labels p1, p2, … and g1, g2, … by order)
    +10   get cart                      # g1: 10 ms after the line before it finished
    +0    put cart +eggs ctx g1 via C   # add eggs to what g1 read, with g1's vector clock, coordinator C
    100   partition A,B | C,D,E         # nodes not named join no side: "partition A" cuts A off
    150   crash B
    200   recover B
    220   heal
    300   get cart via A as final       # name a request yourself with "as"

The time is absolute (ms) or ``+d``: d ms after the line before it finished (a request finishes when its
client has the answer or gave up; a fault when it happens). Lines run in the order written; a line whose
absolute time has already passed runs at once, with a note. Values: a word (``milk``), a set (``{milk,eggs}``,
``{}``), or ``+item`` / ``-item``: the value the ``ctx`` get returned (reconciled) with the item added or
removed — the shopping cart of the Dynamo paper. A line with a mistake is skipped and reported with its
line number; the rest still runs.
"""

from __future__ import annotations

import re
import types
from collections.abc import Callable
from dataclasses import dataclass, field

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
    union_merge,
)
from sdcore.kvstore.latency import LATENCY_PRESETS, Exponential, LegLatencies

MIN_NODES, MAX_NODES = 3, 9
NODE_NAMES: tuple[str, ...] = tuple("ABCDEFGHI")
MAX_LINES = 60
MAX_TIME_MS = 1_000_000.0
TIMEOUT_CHOICES: tuple[int, ...] = (20, 50, 100, 200, 500, 1000)
HINT_CHOICES: tuple[str, ...] = ("dynamo", "cassandra", "cassandra-any")
HINT_LABELS = types.MappingProxyType({
    "dynamo": "Dynamo: hinted writes count toward W",
    "cassandra": "Cassandra: hinted writes do not count",
    "cassandra-any": "Cassandra, consistency level ANY: any one write counts",
})
RECONCILE_LABELS = types.MappingProxyType({
    "lww": "Last write wins (latest timestamp)",
    "union": "Merge: union of the carts",
})
LATENCY_CHOICES: tuple[str, ...] = ("lan", *LATENCY_PRESETS)
_LAN = LegLatencies.same(Exponential(rate=0.1))
ACTIONS: tuple[str, ...] = ("put", "get", "crash", "recover", "partition", "heal")
_TIME = re.compile(r"^(\+)?(\d+(?:\.\d+)?)$")
_NAME = re.compile(r"^[A-Za-z0-9_:.\-]+$")


def latency_label(choice: str) -> str:
    if choice == "lan":
        return "Exponential, 10 ms mean per message"
    return LATENCY_PRESETS[choice].name


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
            raise ValueError(f"latency must be one of {', '.join(LATENCY_CHOICES)} (got latency={self.latency!r})")
        if self.hint_rule not in HINT_CHOICES:
            raise ValueError(f"hint_rule must be one of {', '.join(HINT_CHOICES)} (got {self.hint_rule!r})")
        if self.reconcile not in RECONCILE_LABELS:
            raise ValueError(f"reconcile must be one of {', '.join(RECONCILE_LABELS)} (got {self.reconcile!r})")
        self.build()  # N, R, W, seed and timeout are checked by the cluster itself

    def ring(self) -> HashRing:
        """The cluster's hash ring (the same placement ``build`` uses), for drawing."""
        return HashRing(node_names(self.nodes), vnodes=DEFAULT_VNODES)

    def build(self) -> Cluster:
        latency = _LAN if self.latency == "lan" else self.latency
        return Cluster(node_names(self.nodes), self.n, self.r, ANY if self.hint_rule == "cassandra-any" else self.w,
                       latency, self.seed, timeout_ms=self.timeout_ms, sloppy_quorum=self.sloppy_quorum,
                       hint_rule="dynamo" if self.hint_rule == "dynamo" else "cassandra", reconcile=self.reconcile)


# -- the timeline ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Step:
    """One line of a timeline. ``at_ms`` is absolute, or after the previous line when ``relative``."""

    line: int
    at_ms: float
    relative: bool
    action: str
    key: str = ""
    value: str = ""
    via: str = ""
    ctx: str = ""
    label: str = ""
    nodes: tuple[str, ...] = ()
    groups: tuple[tuple[str, ...], ...] = ()


@dataclass(frozen=True)
class TimelineError:
    line: int
    text: str
    message: str

    def __str__(self) -> str:
        return f"Line {self.line}: {self.message} (“{self.text.strip()}”)"


@dataclass(frozen=True)
class Timeline:
    steps: tuple[Step, ...]
    errors: tuple[TimelineError, ...]


def parse_timeline(text: str) -> Timeline:
    """Every well-formed line as a ``Step``; every other line as a ``TimelineError`` with its number."""
    if not isinstance(text, str):
        raise ValueError(f"a timeline is text, one step per line (got {type(text).__name__})")
    steps: list[Step] = []
    errors: list[TimelineError] = []
    counts = {"put": 0, "get": 0}
    labels: dict[str, str] = {}  # label -> kind
    for number, raw in enumerate(text.splitlines(), start=1):
        body = raw.split("#", 1)[0].strip()
        if not body:
            continue
        if len(steps) >= MAX_LINES:
            errors.append(TimelineError(number, raw, f"a timeline holds at most {MAX_LINES} steps; the rest is ignored"))
            break
        try:
            step = _parse_line(number, body, counts, labels)
        except ValueError as e:
            errors.append(TimelineError(number, raw, str(e)))
            continue
        steps.append(step)
    return Timeline(tuple(steps), tuple(errors))


def _parse_line(number: int, body: str, counts: dict[str, int], labels: dict[str, str]) -> Step:
    tokens = body.split()
    m = _TIME.match(tokens[0])
    if not m:
        raise ValueError(f"start with a time in ms, such as 120 or +10 (got {tokens[0]!r})")
    at = float(m.group(2))
    if at > MAX_TIME_MS:
        raise ValueError(f"times go up to {MAX_TIME_MS:,.0f} ms (got {at:g})")
    if len(tokens) < 2:
        raise ValueError(f"say what happens after the time: one of {', '.join(ACTIONS)}")
    action, args = tokens[1].lower(), tokens[2:]
    base = {"line": number, "at_ms": at, "relative": bool(m.group(1)), "action": action}
    if action in ("crash", "recover"):
        if len(args) != 1:
            raise ValueError(f"{action} takes one node, e.g. '{action} B'")
        return Step(**base, nodes=(_node(args[0]),))
    if action == "heal":
        if args:
            raise ValueError("heal takes nothing after it")
        return Step(**base)
    if action == "partition":
        groups = tuple(tuple(_node(x) for x in side.split(",") if x.strip()) for side in " ".join(args).split("|"))
        if not groups or not all(groups):
            raise ValueError("name the nodes on each side: 'partition A,B | C,D' (unnamed nodes form one more side)")
        named = [x for g in groups for x in g]
        if len(set(named)) != len(named):
            raise ValueError("a node is on two sides of the partition")
        return Step(**base, groups=groups, nodes=tuple(named))
    if action not in ("put", "get"):
        raise ValueError(f"unknown action {tokens[1]!r}; use one of {', '.join(ACTIONS)}")
    need = 2 if action == "put" else 1
    if len(args) < need or args[need - 1] in ("via", "ctx", "as"):
        raise ValueError("put takes a key and a value: 'put cart {milk}'" if action == "put"
                         else "get takes a key: 'get cart'")
    key, value, options = args[0], args[1] if action == "put" else "", args[need:]
    if not _NAME.match(key):
        raise ValueError(f"a key is letters, digits and _:.- (got {key!r})")
    opts: dict[str, str] = {}
    if len(options) % 2:
        raise ValueError(f"options come in pairs: via NODE, ctx GET, as LABEL (got {' '.join(options)!r})")
    for name, arg in zip(options[::2], options[1::2], strict=True):
        if name not in ("via", "ctx", "as") or (name == "ctx" and action == "get"):
            allowed = "via, ctx or as" if action == "put" else "via or as"
            raise ValueError(f"unknown option {name!r}; a {action} takes {allowed}")
        if name in opts:
            raise ValueError(f"{name} is given twice")
        opts[name] = arg
    _check_value(value, opts.get("ctx", ""))
    ctx = opts.get("ctx", "")
    if ctx and labels.get(ctx) != "get":
        raise ValueError(f"ctx {ctx!r} must name a get on an earlier line (such as g1)")
    counts[action] += 1
    label = opts.get("as") or f"{action[0]}{counts[action]}"
    if not _NAME.match(label):
        raise ValueError(f"a label is letters, digits and _:.- (got {label!r})")
    if label in labels:
        raise ValueError(f"the label {label!r} is used twice")
    labels[label] = action
    return Step(**base, key=key, value=value, via=_node(opts["via"]) if "via" in opts else "", ctx=ctx, label=label)


def _node(name: str) -> str:
    name = name.strip()
    if name.upper() not in NODE_NAMES:
        raise ValueError(f"nodes are named A to I (got {name!r})")
    return name.upper()


def _check_value(value: str, ctx: str) -> None:
    if value.startswith(("+", "-")):
        if len(value) < 2:
            raise ValueError(f"say which item {value!r} adds or removes, e.g. +eggs")
        if not ctx:
            raise ValueError(f"{value!r} changes the value a get read: add 'ctx g1' naming that get")
    elif value.startswith("{") != value.endswith("}"):
        raise ValueError(f"a set is written {{milk,eggs}} without spaces (got {value!r})")


def resolve_value(value: str, base: object = None) -> object:
    """A timeline value: ``{a,b}`` is a frozenset, ``+x``/``-x`` change ``base`` (a set or a single value)."""
    if value.startswith("+"):
        return union_merge([base]) | {value[1:]}
    if value.startswith("-"):
        return union_merge([base]) - {value[1:]}
    if value.startswith("{"):
        return frozenset(x.strip() for x in value[1:-1].split(",") if x.strip())
    return value


# -- presets --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Scenario:
    """A named situation: what to watch for, its settings and its timeline."""

    description: str
    timeline: str
    settings: ClusterSettings = field(default_factory=ClusterSettings)

    def params(self) -> dict[str, object]:
        """The page's parameters for this scenario (settings fields plus the timeline text)."""
        return {**{f: getattr(self.settings, f) for f in ClusterSettings.__dataclass_fields__},
                "timeline": self.timeline}


PRESETS = types.MappingProxyType({
    "Dynamo default, healthy": Scenario(
        "Five healthy nodes, N=3, R=2, W=2. Each put carries the vector clock of the get before it, so every "
        "version descends from the last: one version per get, never stale.",
        "0 put cart {milk}\n+10 get cart\n+0 put cart +eggs ctx g1\n+10 get cart\n+0 put cart -milk ctx g2\n"
        "+10 get cart\n",
    ),
    "Replica crash during a write": Scenario(
        "W=3, R=1. Replica A crashes while p2's write is on its way to it: the write waits for a third ack "
        "that never comes and the client sees a timeout — yet B and C keep the write, and a read sees it. "
        "A comes back without it; a read through A is answered from A's old copy, then read repair fixes A.",
        "0 put cart {milk}\n100 put cart {milk,eggs}\n113 crash A   # p2's write to A is still on the wire\n"
        "300 get cart\n400 recover A\n450 get cart via A\n+20 get cart via A\n",
        ClusterSettings(r=1, w=3),
    ),
    "Network partition, writes on both sides": Scenario(
        "A partition splits A,B from C,D,E. Both sides take a write based on the same read: B adds eggs, C "
        "removes milk (with hints on D and E for the cut-off owners). After the heal the hints are handed "
        "off and a read returns two siblings whose vector clocks are concurrent. The union merge keeps every "
        "add — and the deleted milk comes back.",
        "0 put cart {milk}\n+10 get cart\n100 partition A,B | C,D,E\n110 put cart +eggs ctx g1 via B\n"
        "110 put cart -milk ctx g1 via C\n250 heal\n320 get cart\n+0 put cart +tea ctx g2\n+10 get cart\n",
        ClusterSettings(reconcile="union"),
    ),
    "Stale read with R=1": Scenario(
        "N=3, R=1, W=1: a put returns after one ack and a get after one answer, so W + R = 2 ≤ N. A read "
        "sent straight after a write, through a replica the write has not reached yet, returns the old value.",
        "0 put cart v1\n+1 get cart via C\n+1 get cart via A\n+10 put cart v2 ctx g2\n+1 get cart via C\n"
        "+1 get cart via A\n+100 get cart via A\n",
        ClusterSettings(r=1, w=1),
    ),
    "Hinted handoff after a node returns": Scenario(
        "C, an owner of the cart, is down when the put arrives: the sloppy quorum writes to E instead, with a "
        "hint naming C. When C recovers, E hands the write off and drops the hint; C then answers reads "
        "with the write it never saw.",
        "0 crash C\n10 put cart {milk}\n+10 get cart\n200 recover C\n300 crash B\n310 get cart via C\n",
    ),
})


# -- the run --------------------------------------------------------------------------------------------
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
                rows[ident] = {"stand-in": c.node, "key": c.key, "intended owner": c.owner,
                               "stored at (ms)": round(c.time_ms, 1), "delivered at (ms)": None, "versions": ""}
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
            "max_siblings": max((len(o.result.versions) for o in done if o.kind == "get" and o.result.ok), default=0),
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
            rows.append({
                "get": o.label, "line": o.line, "key": o.key, "coordinator": o.coordinator or "—",
                "start (ms)": round(o.started_ms, 1),
                "outcome": ("ok" if r.ok else f"failed: {r.error}") if r else "no answer",
                "versions returned": " | ".join(v.describe() for v in r.versions) if r and r.ok else "",
                "siblings": len(r.versions) if r and r.ok else 0,
                "reconciled": f"{format_value(r.value)} ({r.reconciled})" if r and r.ok else "",
                "stale": bool(r and r.ok and r.stale),
                "missed": ", ".join(r.missed) if r else "",
                "read repair": ", ".join(o.repair.repaired) if o.repair else "",
            })
        return rows

    def trace_rows(self) -> list[dict[str, object]]:
        """Every trace event, with the message it concerns: the CSV export."""
        rows = []
        for e in self.events:
            m = self.messages[e.message] if e.message is not None else None
            rows.append({
                "seq": e.seq, "time_ms": round(e.time_ms, 3), "event": e.kind, "node": e.node, "op": e.op,
                "message": m.kind if m else "", "from": m.src if m else "", "to": m.dst if m else "",
                "sent_ms": round(m.sent_ms, 3) if m else None, "outcome": m.outcome if m else "",
                "summary": m.summary if m else "", "detail": e.detail,
            })
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
            errors.append(TimelineError(step.line, step.action, f"node {missing[0]} is not in this cluster of "
                                        f"{len(cluster.nodes)} ({cluster.nodes[0]}–{cluster.nodes[-1]})"))
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
            notes.append(f"Line {step.line}: {at:g} ms had already passed; it ran at {cluster.now:.1f} ms.")
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
                        notes.append(f"Line {step.line}: {step.ctx} had no answer when {step.label} started, "
                                     "so the put carries no context.")
                op = cluster.put(step.key, resolve_value(step.value, base), context, step.via or None, step.label)
            by_label[step.label] = op
            records.append((step, op))
            previous = op
        else:
            _apply_fault(cluster, step, faults)
    cluster.advance()
    operations = tuple(
        OpRecord(s.line, op.label, op.kind, op.key, op.coordinator, op.started_ms, op.issue_seq, op.finished_seq,
                 op.result, op.repair) for s, op in records)
    return ScenarioRun(settings, cluster.nodes, tuple(sorted(errors, key=lambda e: e.line)), tuple(notes),
                       cluster.trace, cluster.messages, cluster.changes, operations,
                       tuple(faults),
                       tuple((k, cluster.preference_list(k)) for k in keys))


def _apply_fault(cluster: Cluster, step: Step, faults: list[FaultSpan]) -> None:
    def close(match: Callable[[FaultSpan], bool]) -> None:
        for i, f in enumerate(faults):
            if f.end_seq is None and match(f):
                faults[i] = FaultSpan(f.kind, f.nodes, f.groups, f.start_ms, f.start_seq, cluster.now,
                                      len(cluster.trace) - 1)

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
        faults.append(FaultSpan("partition", (), tuple(step.groups) + ((rest,) if rest else ()), cluster.now,
                                len(cluster.trace) - 1))
    else:
        cluster.heal()
        close(lambda f: f.kind == "partition")


def sibling_rows(versions: tuple[Version, ...], nodes: tuple[str, ...]) -> list[dict[str, object]]:
    """Siblings side by side: value, the put that wrote it, and one column per node's clock counter."""
    return [{"value": format_value(v.value), "written by": v.writer, "at (ms)": round(v.timestamp_ms, 1),
             **{x: v.clock[x] for x in nodes}} for v in versions]


def clock_comparisons(versions: tuple[Version, ...]) -> list[str]:
    """Each pair of siblings and how their clocks compare (siblings are always concurrent)."""
    return [f"{a.writer} {a.clock} vs {b.writer} {b.clock}: {a.clock.compare(b.clock).value}"
            for i, a in enumerate(versions) for b in versions[i + 1:]]


def contents_rows(state: ClusterState, key: str, owners: tuple[str, ...]) -> list[dict[str, object]]:
    """What every node holds for ``key`` at a moment: its replica, hints it keeps for others, up or down."""
    rows = []
    for x in sorted(state.stores):
        held = [f"{' | '.join(v.describe() for v in vs)} (hint for {o})"
                for (k, o), vs in state.hints[x].items() if k == key]
        stored = state.stores[x].get(key, ())
        if x not in owners and not held and not stored:
            continue
        role = "owner" if x in owners else "stand-in"
        rows.append({"node": x, "role": f"{role} (down)" if x in state.down else role,
                     "replica": " | ".join(v.describe() for v in stored) or "—", "hints held": "; ".join(held)})
    return rows



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


def step_caption(run: ScenarioRun, cursor: int) -> str:
    """One line for the event under the cursor."""
    e = run.events[cursor]
    return f"**Event {cursor + 1} of {len(run.events)}** · {e.time_ms:.1f} ms · {e.detail}"


def explanation(run: ScenarioRun) -> str:
    """Why the run behaved as it did, with the measured numbers next to what the rules promise."""
    s, k = run.settings, run.summary()
    gets = [o for o in run.gets if o.result and o.result.ok]
    w = "1 (ANY)" if s.hint_rule == "cassandra-any" else s.w
    strong = s.hint_rule != "cassandra-any" and s.r + s.w > s.n
    parts = [
        f"**Quorums.** W + R = {w} + {s.r} {'>' if strong else '≤'} N = {s.n}: "
        + ("every read quorum overlaps every write quorum, so while no node fails a get sees the last "
           "acknowledged put." if strong else "a read quorum can miss every replica the write reached: stale "
           "reads are possible even with no failure.")
        + f" Measured here: {k['stale_gets']} of {len(gets)} answered gets stale.",
        "**Versions.** The coordinator stamps each write with the client's context plus one on its own counter. "
        "A version whose clock descends from another replaces it; clocks that are concurrent mean neither "
        f"writer saw the other, so both are kept as siblings (here at most {k['max_siblings']} at once), and "
        f"the client reconciles them: {RECONCILE_LABELS[s.reconcile].lower()}.",
        f"**Failures.** {k['lost_messages']} messages were lost to crashes or the partition; {k['timeouts']} "
        f"requests timed out after {s.timeout_ms} ms (a failed write is not undone: replicas that took it keep "
        f"it). {'Sloppy quorum' if s.sloppy_quorum else 'Strict quorum (no stand-ins)'}: {k['hints_stored']} "
        f"hinted writes, {k['hints_delivered']} handed off; read repair updated {k['repaired']} stale replicas.",
        "**Model.** Failure detection is perfect and instant (Dynamo uses gossip); a message to a crashed node, "
        "or across a partition, is lost, not delayed; the client reaches every node; a crash keeps the data on "
        "disk. Staleness is judged against writes acknowledged before the read began.",
    ]
    return "\n\n".join(parts)


TRY_THIS: tuple[str, ...] = (
    "'Stale read with R=1': predict which gets are stale, then raise R to 3 (or W to 3). Why does W + R > N "
    "make every read see the last acknowledged write?",
    "'Network partition, writes on both sides': switch the reconciliation to last write wins. Which item is "
    "lost now? Then switch sloppy quorum off: which side can still write?",
    "'Hinted handoff after a node returns': pick Cassandra's rule, then W = 3. Why does the put fail now, and "
    "what does consistency level ANY change?",
    "Interview: does a sloppy quorum keep the W + R > N guarantee? What does a failed write with W = 3 leave "
    "behind, and who cleans it up (read repair, hinted handoff, anti-entropy)?",
)


TIMELINE_HELP = (
    "One step per line: a time in ms (absolute, or +d after the line before it finished), then "
    "`put KEY VALUE`, `get KEY`, `crash B`, `recover B`, `partition A,B | C,D`, `heal`. Options: `via NODE` "
    "(coordinator), `ctx g1` (the context of get g1), `as NAME`. Values: a word, a set `{milk,eggs}`, or "
    "`+eggs` / `-milk` with `ctx` (the cart that get read, changed). Requests are named p1, p2… and g1, g2…; "
    "`#` starts a comment."
)


def repair_rows(run: ScenarioRun, label: str) -> list[dict[str, object]]:
    """Read repair of one get: what each target answered, whether it was sent the merged versions, and what
    it holds once the repair messages have arrived."""
    rec = run.op(label)
    if rec.repair is None:
        return []
    sent = [m for m in run.messages if m.kind == "repair" and m.op == label]
    state = run.state_at(max((m.outcome_seq for m in sent), default=rec.repair.seq))
    owners = run.owners(rec.key)
    return [{"node": x, "role": "owner" if x in owners else "stand-in",
             "answered": " | ".join(v.describe() for v in vs) or "not found",
             "read repair": "sent" if x in rec.repair.repaired else "—",
             "holds after": " | ".join(v.describe() for v in state.stores[x].get(rec.key, ())) or "—"}
            for x, vs in rec.repair.responses]
