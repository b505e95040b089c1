"""A consistent-hash ring with virtual nodes, weights and optional bounded loads.

Point i of node X sits at the unsigned 32-bit hash of the label ``"X#i"``. A key belongs to the first point at
or clockwise after the key's own hash (wrapping past 2**32 - 1 to 0); points at the same position are ordered
by node name. A node of weight w has ``max(1, round(vnodes * w))`` points, fixed when it joins: adding or
removing a node never moves another node's points, so only the keys between the changed points move.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType

import numpy as np

from sdcore.hashing.hashfuncs import check_hash_name, hash32, hash_keys
from sdcore.hashing.keys import KeyHashes, as_key_hashes
from sdcore.hashing.validate import (
    check_known_node,
    check_new_node,
    check_not_empty,
    check_weight,
)

RING_SIZE = 2**32
_TABLE_SHIFT = 16  # lookup table over the top 16 bits of a hash: 65,536 cells
_MAX_PER_CELL = 64
MAX_POINTS = 2_000_000
MAX_VNODES = 100_000


@dataclass(frozen=True, eq=False)
class RingPoints:
    """Every point on the ring, sorted clockwise: ``positions[j]`` belongs to ``nodes[owner[j]]``."""

    positions: np.ndarray  # uint32, sorted
    owner: np.ndarray  # int32 indices into nodes
    nodes: tuple[str, ...]

    def __len__(self) -> int:
        return len(self.positions)

    def first_at_or_after(self, h: np.ndarray) -> np.ndarray:
        """Index of the first point at or clockwise after each hash (wrapping to 0), like ``np.searchsorted``.

        A binary search per key costs about 50 ns per key at a million keys; instead a table over the top 16
        bits of the hash jumps straight to the right neighbourhood, and a few vectorized steps finish the job.
        When points crowd into a few table cells (a poor hash), the plain binary search is used.
        """
        h = np.asarray(h, dtype=np.uint32)
        table, padded = self._table()
        if table is None:
            idx = np.searchsorted(self.positions, h, side="left")
        else:
            idx = table[h >> np.uint32(_TABLE_SHIFT)]
            behind = padded[idx] < h
            while behind.any():
                idx[behind] += 1
                behind[behind] = padded[idx[behind]] < h[behind]
        idx[idx == len(self.positions)] = 0
        return idx

    def _table(self):
        cached = self.__dict__.get("_lookup")
        if cached is None:
            cells = np.arange(1 << (32 - _TABLE_SHIFT), dtype=np.uint64) << np.uint64(_TABLE_SHIFT)
            table = np.searchsorted(self.positions, cells.astype(np.uint32), side="left")
            crowded = (
                len(self.positions) and np.diff(np.append(table, len(self.positions))).max() > _MAX_PER_CELL
            )
            padded = np.append(self.positions, np.uint32(0xFFFFFFFF))  # sentinel: nothing is past it
            cached = (None, None) if crowded else (table, padded)
            object.__setattr__(self, "_lookup", cached)  # frozen dataclass: a private, derived cache
        return cached


def _node_points(name: str, count: int, hash_name: str) -> np.ndarray:
    return hash_keys([f"{name}#{i}" for i in range(count)], hash_name, bits=32)


class HashRing:
    """Consistent hashing on a ring of virtual nodes.

    ``nodes`` may be names (weight 1), ``(name, weight)`` pairs, or a mapping of name to weight.
    ``load_factor=c`` (c >= 1) turns on consistent hashing with bounded loads (Mirrokni, Thorup and
    Zadimoghaddam, 2018) for :meth:`assign`: no node takes more than ``ceil(c * K * w_i / sum(w))`` of K keys.
    """

    def __init__(
        self,
        nodes: Iterable[str] | Iterable[tuple[str, float]] | Mapping[str, float] = (),
        *,
        vnodes: int = 100,
        hash_name: str = "murmur3",
        load_factor: float | None = None,
    ):
        if isinstance(vnodes, bool) or not isinstance(vnodes, int | np.integer):
            raise ValueError(f"vnodes must be a whole number (got {vnodes!r})")
        if not 1 <= vnodes <= MAX_VNODES:
            raise ValueError(f"vnodes must be between 1 and {MAX_VNODES:,} (got {vnodes})")
        if load_factor is not None:
            if not isinstance(load_factor, int | float) or not math.isfinite(load_factor) or load_factor < 1:
                raise ValueError(f"load_factor must be a number of at least 1 (got {load_factor!r})")
            load_factor = float(load_factor)
        self.vnodes = int(vnodes)
        self.hash_name = check_hash_name(hash_name)
        self.load_factor = load_factor
        self._weights: dict[str, float] = {}
        self._points: dict[str, np.ndarray] = {}
        self._total_points = 0
        self._sorted: RingPoints | None = None
        items = nodes.items() if isinstance(nodes, Mapping) else nodes
        for item in items:
            if isinstance(item, tuple):
                self.add_node(*item)
            else:
                self.add_node(item)

    # -- membership -------------------------------------------------------------------------------------
    @property
    def nodes(self) -> tuple[str, ...]:
        """Node names in insertion order."""
        return tuple(self._weights)

    @property
    def weights(self) -> Mapping[str, float]:
        return MappingProxyType(self._weights)

    def points_per_node(self, weight: float = 1.0) -> int:
        """How many points a node of this weight gets: ``max(1, round(vnodes * weight))``."""
        return max(1, round(self.vnodes * weight))

    def add_node(self, name: str, weight: float = 1.0) -> None:
        name = check_new_node(name, self._weights)
        weight = check_weight(name, weight)
        count = self.points_per_node(weight)
        if self._total_points + count > MAX_POINTS:
            raise ValueError(
                f"adding {name!r} would give the ring {self._total_points + count:,} points; the limit is "
                f"{MAX_POINTS:,} (lower vnodes or the weights)"
            )
        self._points[name] = _node_points(name, count, self.hash_name)
        self._weights[name] = weight
        self._total_points += count
        self._sorted = None

    def remove_node(self, name: str) -> None:
        check_known_node(name, self._weights)
        self._total_points -= len(self._points.pop(name))
        del self._weights[name]
        self._sorted = None

    def copy(self) -> HashRing:
        other = HashRing(vnodes=self.vnodes, hash_name=self.hash_name, load_factor=self.load_factor)
        other._weights = dict(self._weights)
        other._points = dict(self._points)  # point arrays are never mutated, so sharing them is safe
        other._total_points = self._total_points
        return other

    # -- the ring ---------------------------------------------------------------------------------------
    def ring_points(self) -> RingPoints:
        """All points sorted clockwise, ties at one position broken by node name."""
        if self._sorted is None:
            names = self.nodes
            if not names:
                self._sorted = RingPoints(np.zeros(0, np.uint32), np.zeros(0, np.int32), ())
                return self._sorted
            positions = np.concatenate([self._points[n] for n in names])
            owner = np.repeat(np.arange(len(names), dtype=np.int32), [len(self._points[n]) for n in names])
            name_rank = np.argsort(np.argsort(np.array(names, dtype=object)))
            order = np.lexsort((name_rank[owner], positions))
            self._sorted = RingPoints(positions[order], owner[order], names)
        return self._sorted

    def ring_shares(self) -> dict[str, float]:
        """The fraction of the hash space each node owns (the sum of its arcs), in node order."""
        pts = self.ring_points()
        check_not_empty(pts.nodes)
        pos = pts.positions.astype(np.int64)
        arcs = np.diff(pos, prepend=pos[-1] - RING_SIZE)  # point j owns (pos[j-1], pos[j]]
        shares = np.bincount(pts.owner, weights=arcs, minlength=len(pts.nodes)) / RING_SIZE
        return dict(zip(pts.nodes, shares.tolist(), strict=True))

    # -- lookups ----------------------------------------------------------------------------------------
    def _first_point(self, h: np.ndarray) -> np.ndarray:
        return self.ring_points().first_at_or_after(h)

    def node_for(self, key: str) -> str:
        """The key's owner: the first point clockwise (caps of bounded loads do not apply here)."""
        pts = self.ring_points()
        check_not_empty(pts.nodes)
        idx = self._first_point(np.array([hash32(key, self.hash_name)], dtype=np.uint32))
        return pts.nodes[pts.owner[idx[0]]]

    def locate(self, keys: Sequence[str] | KeyHashes) -> np.ndarray:
        """Owner of every key as an index into :attr:`nodes` (vectorized; applies bounded loads if set)."""
        pts = self.ring_points()
        check_not_empty(pts.nodes)
        start = self._first_point(as_key_hashes(keys, self.hash_name).h32)
        if self.load_factor is None:
            return pts.owner[start]
        return _bounded_assign(start, pts.owner, self._caps(len(start)))

    def assign(self, keys: Sequence[str] | KeyHashes) -> list[str]:
        """One owner per key, in the keys' order."""
        names = np.array(self.nodes, dtype=object)
        return np.take(names, self.locate(keys)).tolist()

    def capacities(self, key_count: int) -> dict[str, int]:
        """Bounded loads: the most keys each node may take, ``ceil(c * K * w_i / sum(w))``."""
        if self.load_factor is None:
            raise ValueError("this ring has no load_factor, so its nodes have no capacity limit")
        return dict(zip(self.nodes, self._caps(key_count).tolist(), strict=True))

    def _caps(self, key_count: int) -> np.ndarray:
        # Exact rational arithmetic on the numbers as written (repr gives the shortest decimal that round
        # trips): 1.1 * 1000 in floats is 1100.0000000000002, and its ceiling would be one key too many.
        c = Fraction(repr(self.load_factor))
        ws = [Fraction(repr(w)) for w in self._weights.values()]
        total = sum(ws)
        return np.array([math.ceil(c * key_count * w / total) for w in ws], dtype=np.int64)

    def preference_list(self, key: str, n: int) -> list[str]:
        """The first ``n`` distinct physical nodes clockwise from the key: where its replicas live."""
        if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
            raise ValueError(f"n must be a whole number of at least 1 (got {n!r})")
        if n > len(self._weights):
            raise ValueError(
                f"n must be at most the number of nodes (got n={n}, but the cluster has {len(self._weights)})"
            )
        pts = self.ring_points()
        start = int(self._first_point(np.array([hash32(key, self.hash_name)], dtype=np.uint32))[0])
        chosen: list[str] = []
        owner = pts.owner
        size = len(owner)
        for step in range(size):
            name = pts.nodes[owner[(start + step) % size]]
            if name not in chosen:
                chosen.append(name)
                if len(chosen) == n:
                    break
        return chosen

    def __repr__(self) -> str:
        lf = f", load_factor={self.load_factor}" if self.load_factor is not None else ""
        return f"HashRing({list(self._weights.items())!r}, vnodes={self.vnodes}, hash_name={self.hash_name!r}{lf})"


def _bounded_assign(start: np.ndarray, point_owner: np.ndarray, caps: np.ndarray) -> np.ndarray:
    """Place keys in input order, each at the first point from ``start`` whose node is below its cap.

    Until the first node fills up every key lands on its natural owner, so that prefix is vectorized. After
    it, a "next open point" array with path compression skips the points of full nodes, so the whole pass
    stays near-linear even when most nodes are full.
    """
    natural = point_owner[start]
    n_nodes = len(caps)
    result = natural.astype(np.int32)
    # Running count of each key's natural owner, in input order: key k is the m-th key of its owner.
    order = np.argsort(natural, kind="stable")
    rank = np.empty(len(natural), dtype=np.int64)
    counts = np.bincount(natural, minlength=n_nodes)
    offsets = np.concatenate(([0], np.cumsum(counts)[:-1]))
    rank[order] = np.arange(len(natural)) - np.repeat(offsets, counts)
    over = np.nonzero(rank >= caps[natural])[0]
    if len(over) == 0:
        return result
    first = int(over[0])
    load = np.bincount(natural[:first], minlength=n_nodes).tolist()
    cap = caps.tolist()
    owner = point_owner.tolist()
    size = len(owner)
    nxt = list(range(size))  # nxt[p] == p: open point; else a later point to look at

    def find(p: int) -> int:
        root = p
        while nxt[root] != root:
            root = nxt[root]
        while nxt[p] != root:  # path compression
            nxt[p], p = root, nxt[p]
        return root

    points_of: list[list[int]] = [[] for _ in range(n_nodes)]
    for p, o in enumerate(owner):
        points_of[o].append(p)
    for o in range(n_nodes):
        if load[o] >= cap[o]:
            for p in points_of[o]:
                nxt[p] = (p + 1) % size
    out = result.tolist()
    for k, s in enumerate(start[first:].tolist(), start=first):
        p = find(s)
        o = owner[p]
        out[k] = o
        load[o] += 1
        if load[o] >= cap[o]:
            for q in points_of[o]:
                nxt[q] = (q + 1) % size
    return np.array(out, dtype=np.int32)
