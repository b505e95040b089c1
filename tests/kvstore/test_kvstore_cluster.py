"""The Dynamo-style cluster: quorums, versions, read repair, failures, sloppy quorum and hinted handoff.

Invariants (each test says which it checks):
- with W + R > N and no failures, every get returns the latest acknowledged put (and is never stale);
- concurrent puts across a partition come back as siblings whose clocks are concurrent; a merge keeps every add;
- after read repair every owner of the key holds the merged versions;
- no acknowledged write is lost through crashes, partitions and hinted handoff once the cluster heals: it ends
  on at least W of its owners, and no hint is left behind;
- a request the cluster cannot answer fails by its timeout, never hangs.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from sdcore.kvstore import Cluster, Exponential, LegLatencies, VectorClock
from sdcore.kvstore.cluster import CLIENT, covers, latest_versions, reconcile, union_merge
from sdcore.kvstore.vclock import Order

NODES = ("A", "B", "C", "D", "E")
KEYS = ("cart", "user:42", "x")
LATENCIES = ("lan", "linkedin-ssd", "yammer")


def latency(name: str):
    return LegLatencies.same(Exponential(0.1)) if name == "lan" else name


def owners_holding(cluster: Cluster, key: str, clock: VectorClock) -> int:
    return sum(covers(vs, clock) for vs in cluster.replica_versions(key).values())


def until_sent(c: Cluster, kind: str, dst: str) -> None:
    """Run event by event until a new message of ``kind`` to ``dst`` is on the wire."""
    start = len(c.messages)
    while not any(m.kind == kind and m.dst == dst for m in c.messages[start:]):
        c.advance(to=c.next_event_ms())


@st.composite
def strong_settings(draw):
    """Cluster size and quorums with W + R > N, built by construction."""
    nodes = draw(st.integers(3, 5))
    n = draw(st.integers(1, min(nodes, 4)))
    w = draw(st.integers(1, n))
    r = draw(st.integers(n - w + 1, n))
    return nodes, n, r, w


operations = st.lists(
    st.tuples(
        st.floats(0, 40),
        st.sampled_from(("put", "get")),
        st.sampled_from(KEYS),
        st.one_of(st.none(), st.sampled_from(NODES)),
    ),
    min_size=1,
    max_size=25,
)


@settings(max_examples=150)
@given(strong_settings(), operations, st.integers(0, 2**16), st.sampled_from(LATENCIES))
def test_strict_quorum_reads_see_the_latest_acknowledged_put(config, ops, seed, lat):
    """W + R > N, no failures, overlapping requests through any coordinator: a get started after a put was
    acknowledged returns a version that equals or descends from it — the latest such put and every one
    before it (so ``stale`` is never set)."""
    nodes, n, r, w = config
    c = Cluster(NODES[:nodes], n, r, w, latency(lat), seed, timeout_ms=1000)
    t, issued = 0.0, []
    for gap, kind, key, via in ops:
        t += gap
        c.advance(to=t)
        via = via if via in c.nodes else None
        issued.append(c.put(key, f"v{len(issued)}", coordinator=via) if kind == "put" else c.get(key, via))
    c.advance()
    acked = [(op, op.result) for op in c.operations if op.kind == "put" and op.result.ok]
    for g in (op for op in issued if op.kind == "get" and op.result.ok):
        before = [(p, res) for p, res in acked if p.key == g.key and p.finished_seq < g.issue_seq]
        if before:
            _, latest = max(before, key=lambda pr: pr[0].finished_seq)
            assert covers(g.result.versions, latest.clock)
        assert not g.result.stale and not g.result.missed


@settings(max_examples=40)
@given(
    strong_settings(),
    st.lists(st.sampled_from(("put", "get")), min_size=2, max_size=12),
    st.integers(0, 2**16),
    st.sampled_from(LATENCIES),
)
def test_read_modify_write_returns_exactly_the_latest_value(config, kinds, seed, lat):
    """One client, one request at a time, each put carrying the context of the get before it: every get
    returns exactly one version, the value of the last put."""
    nodes, n, r, w = config
    c = Cluster(NODES[:nodes], n, r, w, latency(lat), seed, timeout_ms=10_000)
    last_value, context = None, None
    for i, kind in enumerate(kinds):
        op = c.put("cart", i, context) if kind == "put" else c.get("cart")
        while not op.done:
            c.advance(to=c.next_event_ms())
        assert op.result.ok
        if kind == "put":
            last_value = i
        else:
            context = op.result.context
            assert [v.value for v in op.result.versions] == ([] if last_value is None else [last_value])


def test_sequential_clocks_descend():
    """Each put based on the previous get's context gets a clock after it: [B:1] then [B:2]."""
    c = Cluster(NODES, 3, 2, 2, seed=0)
    p1 = c.put("cart", "a")
    c.advance()
    g = c.get("cart")
    c.advance()
    p2 = c.put("cart", "b", g.result)
    c.advance()
    assert p1.result.clock.compare(p2.result.clock) == Order.BEFORE
    assert g.result.value == "a" and g.result.context == p1.result.clock


def partition_and_write(seed: int, left: tuple[str, ...], adds: tuple[str, str]):
    """A cart with one item, a read, then a partition and one add on each side through a coordinator on it."""
    c = Cluster(NODES, 3, 2, 2, seed=seed, reconcile="union", timeout_ms=1000)
    c.put("cart", frozenset({"milk"}))
    c.advance()
    g = c.get("cart")
    c.advance()
    right = tuple(x for x in NODES if x not in left)
    c.partition(left, right)
    base = g.result.value
    p_left = c.put("cart", base | {adds[0]}, g.result, coordinator=left[0])
    p_right = c.put("cart", base | {adds[1]}, g.result, coordinator=right[0])
    c.advance(to=c.now + 500)
    c.heal()
    c.advance()
    final = c.get("cart")
    c.advance()
    return c, p_left, p_right, final


@settings(max_examples=30)
@given(
    st.integers(0, 2**16),
    st.sampled_from([("A", "B"), ("C", "D"), ("B", "E"), ("A", "C", "E")]),
    st.sampled_from([("eggs", "tea"), ("jam", "jam"), ("x", "y")]),
)
def test_concurrent_puts_across_a_partition_are_siblings_and_a_merge_keeps_every_add(seed, left, adds):
    """Both sides acknowledge their write (sloppy quorum). After the heal a read returns two siblings whose
    clocks compare as concurrent, and the union merge holds the original item and both adds."""
    c, p_left, p_right, final = partition_and_write(seed, left, adds)
    assert p_left.result.ok and p_right.result.ok
    assert p_left.result.clock.compare(p_right.result.clock) == Order.CONCURRENT
    res = final.result
    assert res.ok and res.siblings == 2
    a, b = res.versions
    assert a.clock.compare(b.clock) == "concurrent"
    assert res.value == frozenset({"milk", *adds})
    assert res.context == p_left.result.clock.merge(p_right.result.clock)


def test_union_merge_brings_a_deleted_item_back_and_lww_picks_the_latest():
    """The shopping cart: one side deletes milk, the other adds eggs; the union keeps eggs and milk."""
    v1 = latest_versions([])
    assert v1 == ()
    assert union_merge([frozenset({"eggs", "milk"}), frozenset()]) == {"eggs", "milk"}
    assert union_merge(["a", frozenset({"b"}), None]) == {"a", "b"}
    from sdcore.kvstore.cluster import Version

    older = Version("x", VectorClock({"A": 1}), 5.0, "p1")
    newer = Version("y", VectorClock({"B": 1}), 9.0, "p2")
    assert reconcile([older, newer], "lww")[0] == "y"
    assert reconcile([older, newer], "union")[0] == {"x", "y"}
    assert reconcile([older, newer], lambda values: max(values))[0] == "y"
    assert reconcile([], "lww") == (None, "not found")


@settings(max_examples=40)
@given(st.integers(0, 2**16), st.integers(1, 3), st.sampled_from(LATENCIES))
def test_read_repair_leaves_every_owner_current(seed, w, lat):
    """An owner crashes during a write and comes back without it. A get whose targets all answer sends
    the merged versions to the owners that answered with less: afterwards every owner holds them."""
    c = Cluster(NODES, 3, 1, w, latency(lat), seed, timeout_ms=5000)
    owners = c.preference_list("cart")
    c.put("cart", "old")
    c.advance()
    c.put("cart", "new", coordinator=owners[0])
    until_sent(c, "write", owners[2])
    c.crash(owners[2])  # while the write is on its way: the message is lost, and no hint was made
    c.advance()
    c.recover(owners[2])
    assert owners_holding(c, "cart", VectorClock({owners[0]: 2})) == 2
    g = c.get("cart")
    c.advance()
    repair = g.repair
    assert repair is not None and owners[2] in repair.repaired
    assert {v.value for v in repair.merged} == {"new"}
    for node, versions in c.replica_versions("cart").items():
        assert versions == repair.merged, node


def test_hinted_write_counts_toward_w_only_under_dynamos_rule():
    """An owner is down: the stand-in's hinted ack counts toward W=3 under Dynamo's rule; under Cassandra's
    rule the coordinator refuses at once (unavailable), unless the write is at consistency level ANY."""
    outcomes = {}
    for hint_rule, w in (("dynamo", 3), ("cassandra", 3), ("cassandra", "ANY")):
        c = Cluster(NODES, 3, 2, w, seed=4, hint_rule=hint_rule, timeout_ms=1000)
        owners = c.preference_list("cart")
        c.crash(owners[1])
        p = c.put("cart", "milk")
        c.advance()
        outcomes[(hint_rule, w)] = p.result
    assert outcomes[("dynamo", 3)].ok and len(outcomes[("dynamo", 3)].hinted) == 1
    assert not outcomes[("cassandra", 3)].ok
    assert (
        outcomes[("cassandra", 3)].error == "unavailable: only 2 un-hinted of the 3 replicas reachable, W=3"
    )
    assert outcomes[("cassandra", "ANY")].ok


def test_strict_quorum_refuses_without_stand_ins():
    """Without sloppy quorum the coordinator uses only reachable owners: W=3 with one owner down fails at
    once with the reason, and nothing is written."""
    c = Cluster(NODES, 3, 2, 3, seed=1, sloppy_quorum=False)
    c.crash(c.preference_list("cart")[2])
    p = c.put("cart", "milk")
    c.advance()
    assert not p.result.ok and "only 2 of the 3 replicas reachable, W=3" in p.result.error
    assert not c.pending_hints() and all(not vs for vs in c.replica_versions("cart").values())


def test_hinted_handoff_after_recovery():
    """The stand-in keeps the write with a hint; reads see it; when the owner recovers the hint is handed
    off and dropped, and the owner holds the write."""
    c = Cluster(NODES, 3, 2, 2, seed=2)
    owners = c.preference_list("cart")
    c.crash(owners[2])
    p = c.put("cart", "milk")
    c.advance()
    ((standin, owner),) = p.result.hinted
    assert owner == owners[2] and standin not in owners
    assert c.pending_hints() == ((standin, "cart", owner),)
    assert c.versions(owner, "cart") == ()
    c.recover(owner)
    c.advance()
    assert c.pending_hints() == ()
    assert [v.value for v in c.versions(owner, "cart")] == ["milk"]
    kinds = [m.kind for m in c.messages if m.kind.startswith("handoff")]
    assert kinds == ["handoff", "handoff_ack"]


def test_timeouts_surface_as_failures():
    """A replica crashes while the write is on its way (W=3): the client sees a timeout after timeout_ms,
    yet the two other replicas keep the write. A coordinator that crashes mid-request also times out."""
    c = Cluster(NODES, 3, 1, 3, seed=0, timeout_ms=80)
    owners = c.preference_list("cart")
    p = c.put("cart", "milk")
    until_sent(c, "write", owners[2])
    c.crash(owners[2])
    c.advance()
    assert not p.result.ok and p.result.error.startswith("timed out after 80 ms (2 of W=3 acks")
    assert p.result.finished_ms == pytest.approx(80.0)
    assert owners_holding(c, "cart", VectorClock({owners[0]: 1})) == 2
    assert any(m.outcome == f"lost: {owners[2]} is down" for m in c.messages)
    c.recover(owners[2])
    g = c.get("cart")
    c.crash(g.coordinator)
    c.advance()
    assert not g.result.ok and "crashed" in g.result.error
    assert g.result.finished_ms == pytest.approx(c.trace[g.issue_seq].time_ms + 80)


def test_every_node_down_fails_at_once():
    c = Cluster(["A", "B", "C"], 3, 2, 2)
    for x in c.nodes:
        c.crash(x)
    g = c.get("k")
    assert g.done and not g.result.ok and g.result.error == "every node is down"


def test_messages_follow_the_latency_model_and_the_run_is_deterministic():
    """A node's message to itself takes 0 ms; the others are draws from the leg's distribution (mean close
    to 1/rate); the same seed gives the same trace, another seed another one."""

    def run(seed):
        c = Cluster(NODES, 3, 2, 2, LegLatencies.same(Exponential(0.5)), seed, timeout_ms=1e6)
        for i in range(150):
            c.put(KEYS[i % 3], i)
            c.get(KEYS[(i + 1) % 3])
            c.advance(to=c.now + 20)
        c.advance()
        return c

    c = run(7)
    delays = np.array([m.deliver_ms - m.sent_ms for m in c.messages if m.src != m.dst])
    assert all(m.deliver_ms == m.sent_ms for m in c.messages if m.src == m.dst)
    assert delays.mean() == pytest.approx(2.0, rel=0.1) and delays.min() > 0
    assert run(7).trace == c.trace and run(7).messages == c.messages
    assert run(8).trace != c.trace


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"nodes": []}, "at least one node"),
        ({"nodes": ["A", "client"]}, "other than 'client'"),
        ({"n": 6}, "N must be between 1 and the number of nodes, 5"),
        ({"r": 4}, "R must be between 1 and N=3"),
        ({"w": 0}, "W must be between 1 and N=3, or 'ANY'"),
        ({"w": "ALL"}, "W must be a whole number"),
        ({"timeout_ms": 0}, "timeout_ms must be"),
        ({"hint_rule": "riak"}, "hint_rule must be one of"),
        ({"reconcile": "max"}, "reconcile must be one of"),
        ({"seed": -1}, "seed must be 0 or more"),
        ({"latency": "nope"}, "latency preset must be one of"),
    ],
)
def test_bad_settings_say_what_is_wrong(kwargs, match):
    args = {"nodes": NODES, "n": 3, "r": 2, "w": 2, **kwargs}
    with pytest.raises(ValueError, match=match):
        Cluster(**args)


def test_bad_requests_and_faults():
    c = Cluster(NODES, 3, 2, 2)
    with pytest.raises(ValueError, match="unknown node 'Z'"):
        c.crash("Z")
    with pytest.raises(ValueError, match="key must be a non-empty name"):
        c.put("a key", 1)
    with pytest.raises(ValueError, match="two sides"):
        c.partition(["A", "B"], ["B"])
    with pytest.raises(ValueError, match="context must be a VectorClock"):
        c.put("k", 1, context={"A": 1})
    c.advance(to=5)
    with pytest.raises(ValueError, match="time only moves forward"):
        c.advance(to=1)
    c.get("k", label="mine")
    with pytest.raises(ValueError, match="already used"):
        c.get("k", label="mine")


class ClusterMachine(RuleBasedStateMachine):
    """Crash, recover, partition, heal, put and get in any order, against a model dict of acknowledged
    writes (key -> [(label, clock)]). Invariants: a request is answered by its timeout; once everything
    heals and recovers, no hint is left, every acknowledged hinted write is on its intended owner, every
    acknowledged write is on at least W of its owners (Dynamo's rule counts hinted acks, and each hint names
    a different owner), and with W + R > N a get returns it."""

    @initialize(
        nodes=st.integers(3, 5),
        data=st.data(),
        seed=st.integers(0, 2**16),
        rule_=st.sampled_from(("dynamo", "cassandra")),
        sloppy=st.booleans(),
    )
    def setup(self, nodes, data, seed, rule_, sloppy):
        n = data.draw(st.integers(1, min(nodes, 3)))
        self.w = data.draw(st.integers(1, n))
        r = data.draw(st.integers(1, n))
        self.cluster = Cluster(
            NODES[:nodes], n, r, self.w, seed=seed, hint_rule=rule_, sloppy_quorum=sloppy, timeout_ms=60
        )
        self.model: dict[str, list[tuple[str, VectorClock]]] = {}
        self.handed: list[tuple[str, VectorClock, str]] = []  # acknowledged hinted writes: key, clock, owner
        self.ops = []

    def _settle_acks(self):
        for op in self.ops:
            if op.done and op.kind == "put" and op.result.ok and not getattr(op, "_counted", False):
                op._counted = True
                self.model.setdefault(op.key, []).append((op.label, op.result.clock))
                self.handed.extend(
                    (op.key, op.result.clock, owner)
                    for standin, owner in op.result.hinted
                    if standin in op.result.acks
                )

    @rule(
        key=st.sampled_from(KEYS), value=st.integers(0, 99), based=st.booleans(), via=st.sampled_from(NODES)
    )
    def put(self, key, value, based, via):
        context = None
        if based:
            gets = [o for o in self.ops if o.kind == "get" and o.key == key and o.done and o.result.ok]
            context = gets[-1].result.context if gets else None
        self.ops.append(self.cluster.put(key, value, context, via if via in self.cluster.nodes else None))

    @rule(key=st.sampled_from(KEYS))
    def get(self, key):
        self.ops.append(self.cluster.get(key))

    @rule(node=st.sampled_from(NODES))
    def crash(self, node):
        if node in self.cluster.nodes:
            self.cluster.crash(node)

    @rule(node=st.sampled_from(NODES))
    def recover(self, node):
        if node in self.cluster.nodes:
            self.cluster.recover(node)

    @rule(left=st.sets(st.sampled_from(NODES), min_size=1, max_size=3))
    def partition(self, left):
        self.cluster.partition([x for x in self.cluster.nodes if x in left])

    @rule()
    def heal(self):
        self.cluster.heal()

    @rule(dt=st.floats(0.5, 120))
    def advance(self, dt):
        self.cluster.advance(to=self.cluster.now + dt)
        self._settle_acks()

    @invariant()
    def answered_by_the_timeout(self):
        for op in self.ops:
            if self.cluster.now >= op.started_ms + self.cluster.timeout_ms:
                assert op.done, op.label

    @precondition(lambda self: hasattr(self, "cluster"))
    @invariant()
    def no_hint_for_oneself(self):
        for standin, key, owner in self.cluster.pending_hints():
            assert standin != owner and standin not in self.cluster.preference_list(key)

    def teardown(self):
        if not hasattr(self, "cluster"):
            return
        c = self.cluster
        c.heal()
        for x in c.nodes:
            c.recover(x)
        c.advance()
        self._settle_acks()
        assert c.pending_hints() == ()
        for key, clock, owner in self.handed:
            assert covers(c.versions(owner, key), clock), (key, clock, owner)
        for key, writes in self.model.items():
            for label, clock in writes:
                assert owners_holding(c, key, clock) >= self.w, (label, key, c.replica_versions(key))
        if c.r + c.w > c.n:
            c.timeout_ms = 10_000.0  # the final reads may take their time: no latency tail fails them
            reads = {key: c.get(key) for key in self.model}
            c.advance()
            for key, g in reads.items():
                assert g.result.ok
                for label, clock in self.model[key]:
                    assert covers(g.result.versions, clock), (label, g.result.versions)


ClusterMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=30, deadline=None)
TestClusterMachine = ClusterMachine.TestCase


def test_trace_records_who_sent_what_to_whom():
    """Every message has a sender, a receiver, a send and delivery time and an outcome; the client appears
    only as the sender of requests and the receiver of replies."""
    c = Cluster(NODES, 3, 2, 2, seed=3)
    c.put("cart", "a")
    c.get("cart")
    c.advance()
    for m in c.messages:
        assert m.deliver_ms >= m.sent_ms and m.outcome == "delivered" or m.outcome.startswith("ignored")
        assert (m.src == CLIENT) == (m.kind in ("put", "get")) and (m.dst == CLIENT) == (m.kind == "reply")
        assert c.trace[m.sent_seq].time_ms == m.sent_ms and c.trace[m.outcome_seq].time_ms == m.deliver_ms
