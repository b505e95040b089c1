"""The consistent-hashing experiment behind the page: a cluster, a sequence of changes, and what they cost.

Everything here is plain data in and out, so a notebook gets the same numbers as the app:

>>> from sdcore.hashing.experiment import NodeSet, Change, PlacementSpec, run_change
>>> before = NodeSet.uniform(4)
>>> report = run_change(PlacementSpec("ring", vnodes=100), before, Change("add", "S5"), keys=10_000)
>>> round(report.minimum_fraction, 3)
0.2
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdcore.checks import number_text
from sdcore.hashing.analysis import (
    LoadStats,
    Movement,
    expected_key_cv,
    load_stats,
    minimum_movement_fraction,
    movement_of_indices,
)
from sdcore.hashing.hashfuncs import check_hash_name, make_keys
from sdcore.hashing.keys import KeyHashes
from sdcore.hashing.ring import HashRing
from sdcore.hashing.schemes import JumpHash, ModuloHash, RendezvousHash
from sdcore.hashing.validate import check_known_node, check_new_node, check_weight

SCHEMES: tuple[str, ...] = ("ring", "bounded", "modulo", "jump", "rendezvous")
SCHEME_LABELS: Mapping[str, str] = MappingProxyType(
    {
        "ring": "Hash ring (virtual nodes)",
        "bounded": "Ring with bounded loads",
        "modulo": "Modulo (hash mod n)",
        "jump": "Jump hash",
        "rendezvous": "Rendezvous (HRW)",
    }
)
WEIGHTED_SCHEMES = frozenset({"ring", "bounded", "rendezvous"})
MAX_NODES = 64
COMPARISON_KEYS = 200_000


@dataclass(frozen=True)
class NodeSet:
    """Physical nodes with weights, in the order they joined."""

    nodes: tuple[tuple[str, float], ...]

    @classmethod
    def uniform(cls, count: int, weights: tuple[float, ...] = ()) -> NodeSet:
        """``S1 .. S<count>``, with the given weights (missing ones are 1)."""
        if not 1 <= count <= MAX_NODES:
            raise ValueError(f"the number of nodes must be between 1 and {MAX_NODES} (got {count})")
        if len(weights) > count:
            raise ValueError(
                f"{len(weights)} weights were given for {count} nodes; give at most one per node"
            )
        ws = tuple(weights) + (1.0,) * (count - len(weights))
        names = [f"S{i + 1}" for i in range(count)]
        return cls(tuple((n, check_weight(n, w)) for n, w in zip(names, ws, strict=True)))

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(n for n, _ in self.nodes)

    @property
    def weights(self) -> dict[str, float]:
        return dict(self.nodes)

    def next_name(self) -> str:
        """The first free ``S<i>`` name, for the "add a node" box."""
        taken = set(self.names)
        i = len(self.nodes) + 1
        while f"S{i}" in taken:
            i += 1
        return f"S{i}"


@dataclass(frozen=True)
class Change:
    """One membership change: ``Change("add", "S5", 2.0)`` or ``Change("remove", "S2")``."""

    action: str
    node: str
    weight: float = 1.0

    def __post_init__(self):
        if self.action not in ("add", "remove"):
            raise ValueError(f"a change must be 'add' or 'remove' (got {self.action!r})")

    def apply(self, cluster: NodeSet) -> NodeSet:
        if self.action == "add":
            if len(cluster.nodes) >= MAX_NODES:
                raise ValueError(f"the sandbox holds at most {MAX_NODES} nodes; remove one first")
            name = check_new_node(self.node, cluster.names)
            return NodeSet((*cluster.nodes, (name, check_weight(name, self.weight))))
        check_known_node(self.node, cluster.names)
        if len(cluster.nodes) == 1:
            raise ValueError(f"{self.node!r} is the last node; a cluster needs at least one")
        return NodeSet(tuple(x for x in cluster.nodes if x[0] != self.node))

    def describe(self) -> str:
        if self.action == "remove":
            return f"remove {self.node}"
        return f"add {self.node}" + (f" (weight {number_text(self.weight)})" if self.weight != 1.0 else "")

    def encode(self) -> str:
        """Compact text for a URL: ``add:S5:2`` or ``remove:S2``."""
        weight = f"{self.weight:g}"  # %g on purpose: the link encoding
        return f"add:{self.node}:{weight}" if self.action == "add" else f"remove:{self.node}"


_CHANGE_RE = re.compile(
    r"^(add):([A-Za-z0-9_.\-]{1,24}):([0-9]*\.?[0-9]+)$|^(remove):([A-Za-z0-9_.\-]{1,24})$"
)


def decode_changes(text: str) -> tuple[Change, ...]:
    """Parse ``"add:S5:1;remove:S2"``; a malformed item raises ValueError naming it."""
    changes = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        m = _CHANGE_RE.match(item)
        if not m:
            raise ValueError(f"{item!r} is not a change; write add:NAME:WEIGHT or remove:NAME")
        changes.append(Change("add", m[2], float(m[3])) if m[1] else Change("remove", m[5]))
    return tuple(changes)


def encode_changes(changes: tuple[Change, ...]) -> str:
    return ";".join(c.encode() for c in changes)


@dataclass(frozen=True)
class Restored:
    """Changes read back from a link: those that replay, the clusters after each, and what was skipped."""

    changes: tuple[Change, ...]
    clusters: tuple[NodeSet, ...]
    skipped: tuple[tuple[str, str], ...]  # (the change as written, why it was skipped)


def restore(start: NodeSet, text: str) -> Restored:
    """Replay ``"add:S5:1;remove:S2"`` from ``start``, keeping every change that can be replayed and
    skipping (with the reason) only those that cannot: one bad item never costs the others."""
    changes: list[Change] = []
    clusters = [start]
    skipped: list[tuple[str, str]] = []
    for item in filter(None, (s.strip() for s in text.split(";"))):
        try:
            (change,) = decode_changes(item)
            clusters.append(change.apply(clusters[-1]))
        except ValueError as e:
            skipped.append((item[:60], str(e)))
            continue
        changes.append(change)
    return Restored(tuple(changes), tuple(clusters), tuple(skipped))


def replay(start: NodeSet, changes: tuple[Change, ...]) -> list[NodeSet]:
    """The cluster after each change, starting with ``start`` (so ``len(changes) + 1`` clusters)."""
    states = [start]
    for c in changes:
        states.append(c.apply(states[-1]))
    return states


@dataclass(frozen=True)
class PlacementSpec:
    """How keys are placed: the scheme and its settings (hashable, so a page can cache on it)."""

    scheme: str = "ring"
    vnodes: int = 100
    hash_name: str = "murmur3"
    load_factor: float = 1.25

    def __post_init__(self):
        if self.scheme not in SCHEMES:
            raise ValueError(f"scheme must be one of {', '.join(SCHEMES)} (got {self.scheme!r})")
        check_hash_name(self.hash_name)

    def build(self, cluster: NodeSet):
        """A placement object (HashRing, ModuloHash, ...) for the cluster."""
        if self.scheme in ("ring", "bounded"):
            lf = self.load_factor if self.scheme == "bounded" else None
            return HashRing(cluster.nodes, vnodes=self.vnodes, hash_name=self.hash_name, load_factor=lf)
        if self.scheme == "rendezvous":
            return RendezvousHash(cluster.nodes, hash_name=self.hash_name)
        cls = ModuloHash if self.scheme == "modulo" else JumpHash
        return cls(cluster.names, hash_name=self.hash_name)  # these two ignore weights

    @property
    def hash_bits(self) -> int:
        """Which key hash the scheme reads: 64-bit for jump and rendezvous, 32-bit for the ring and modulo."""
        return 64 if self.scheme in ("jump", "rendezvous") else 32

    def with_scheme(self, scheme: str) -> PlacementSpec:
        return PlacementSpec(scheme, self.vnodes, self.hash_name, self.load_factor)


def locate(spec: PlacementSpec, cluster: NodeSet, keys: KeyHashes) -> np.ndarray:
    """Owner index (into ``cluster.names``) of every key."""
    return spec.build(cluster).locate(keys)


Locator = Callable[[PlacementSpec, NodeSet], np.ndarray]


@dataclass(frozen=True)
class SchemeRow:
    """One line of the scheme comparison: the same change under another scheme."""

    scheme: str
    moved_fraction: float
    minimum_fraction: float
    max_over_mean: float
    cv: float
    note: str = ""

    @property
    def excess(self) -> float:
        """Keys moved beyond the unavoidable minimum, as a fraction of all keys."""
        return self.moved_fraction - self.minimum_fraction


@dataclass(frozen=True, eq=False)
class ChangeReport:
    """Before and after one change (``change`` is None when nothing has changed yet)."""

    spec: PlacementSpec
    before: NodeSet
    after: NodeSet
    change: Change | None
    owners_before: np.ndarray
    owners_after: np.ndarray
    movement: Movement
    minimum_fraction: float
    loads: LoadStats
    loads_before: LoadStats
    theory_cv: float | None  # expected CV of key counts (ring schemes, equal weights), else None
    comparison: tuple[SchemeRow, ...] = field(default=())

    @property
    def key_count(self) -> int:
        return len(self.owners_after)


def _weights_used(spec: PlacementSpec, cluster: NodeSet) -> dict[str, float]:
    return cluster.weights if spec.scheme in WEIGHTED_SCHEMES else dict.fromkeys(cluster.names, 1.0)


def theory_cv(spec: PlacementSpec, cluster: NodeSet, keys: int) -> float | None:
    """Expected CV of key counts for a plain ring (None where the ring theory does not apply)."""
    if spec.scheme != "ring":
        return None
    ring = HashRing(vnodes=spec.vnodes)
    return expected_key_cv([ring.points_per_node(w) for _, w in cluster.nodes], keys)


def run_change(
    spec: PlacementSpec,
    before: NodeSet,
    change: Change | None,
    *,
    keys: int = 100_000,
    seed: int = 0,
    locator: Locator | None = None,
    compare: bool = True,
) -> ChangeReport:
    """Place ``keys`` seeded keys before and after ``change`` and measure what moved.

    ``locator(spec, cluster)`` lets the app supply a cached placement; by default keys are hashed here.
    The scheme comparison runs on at most :data:`COMPARISON_KEYS` of the keys (enough for 0.1% precision).
    """
    after = change.apply(before) if change is not None else before
    hashed: KeyHashes | None = None
    if locator is None:
        hashed = KeyHashes(make_keys(keys, seed), spec.hash_name)

        def locator(s: PlacementSpec, c: NodeSet) -> np.ndarray:
            return locate(s, c, hashed)

    ob, oa = locator(spec, before), locator(spec, after)
    mv = movement_of_indices(ob, before.names, oa, after.names)
    minimum = minimum_movement_fraction(_weights_used(spec, before), _weights_used(spec, after))
    rows: tuple[SchemeRow, ...] = ()
    if compare and change is not None:
        sample = KeyHashes(make_keys(min(keys, COMPARISON_KEYS), seed), spec.hash_name)
        rows = compare_schemes(spec, before, after, sample)
    return ChangeReport(
        spec=spec,
        before=before,
        after=after,
        change=change,
        owners_before=ob,
        owners_after=oa,
        movement=mv,
        minimum_fraction=minimum,
        loads=load_stats(oa, after.names, _weights_used(spec, after)),
        loads_before=load_stats(ob, before.names, _weights_used(spec, before)),
        theory_cv=theory_cv(spec, after, keys),
        comparison=rows,
    )


def compare_schemes(
    spec: PlacementSpec, before: NodeSet, after: NodeSet, keys: KeyHashes
) -> tuple[SchemeRow, ...]:
    """The same change under every scheme, on the same keys."""
    rows = []
    for scheme in SCHEMES:
        s = spec.with_scheme(scheme)
        ob, oa = locate(s, before, keys), locate(s, after, keys)
        mv = movement_of_indices(ob, before.names, oa, after.names)
        ls = load_stats(oa, after.names, _weights_used(s, after))
        note = ""
        if (
            scheme in ("modulo", "jump")
            and len(set(before.weights.values()) | set(after.weights.values())) > 1
        ):
            note = "ignores weights"
        rows.append(
            SchemeRow(
                scheme=scheme,
                moved_fraction=mv.fraction,
                minimum_fraction=minimum_movement_fraction(_weights_used(s, before), _weights_used(s, after)),
                max_over_mean=ls.max_over_mean,
                cv=ls.cv,
                note=note,
            )
        )
    return tuple(rows)


def moved_keys_table(
    report: ChangeReport, keys: list[str] | None = None, seed: int = 0, limit: int | None = None
):
    """Rows ``(key, from, to)`` for every moved key (or the first ``limit``)."""
    idx = np.nonzero(report.movement.moved_mask)[0]
    if limit is not None:
        idx = idx[:limit]
    if keys is None:
        keys = make_keys(report.key_count, seed)
    before, after = report.before.names, report.after.names
    ob, oa = report.owners_before[idx].tolist(), report.owners_after[idx].tolist()
    return [(keys[i], before[b], after[a]) for i, b, a in zip(idx.tolist(), ob, oa, strict=True)]


def parse_weights(text: str, count: int) -> tuple[float, ...]:
    """``"1,1,2,4"`` -> (1.0, 1.0, 2.0, 4.0); empty means all 1; errors name the bad item."""
    text = text.strip()
    if not text:
        return ()
    items = [s.strip() for s in text.split(",")]
    if len(items) > count:
        raise ValueError(f"{len(items)} weights were given for {count} nodes; give at most one per node")
    out = []
    for i, s in enumerate(items, start=1):
        try:
            w = float(s)
        except ValueError:
            raise ValueError(f"weight {i} ({s!r}) is not a number") from None
        out.append(check_weight(f"S{i}", w))
    return tuple(out)
