"""What a change costs and how even a placement is, measured and against theory."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore.hashing.hashfuncs import check_hash_name, hash_keys
from sdcore.hashing.ring import RING_SIZE


@dataclass(frozen=True, eq=False)
class Movement:
    """Which keys changed owner between two placements of the same keys."""

    total: int
    moved: int
    flows: Mapping[tuple[str, str], int]  # (from node, to node) -> keys moved, moved keys only
    moved_mask: np.ndarray  # bool per key, in the keys' order

    @property
    def fraction(self) -> float:
        return self.moved / self.total if self.total else 0.0

    def moved_from(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (src, _), c in self.flows.items():
            out[src] = out.get(src, 0) + c
        return out

    def moved_to(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for (_, dst), c in self.flows.items():
            out[dst] = out.get(dst, 0) + c
        return out


def movement(before: Sequence[str], after: Sequence[str]) -> Movement:
    """Compare two owner lists for the same keys (as returned by ``assign``)."""
    if len(before) != len(after):
        raise ValueError(
            f"before and after must place the same keys (got {len(before):,} and {len(after):,} owners)"
        )
    codes: dict[str, int] = {}
    b = np.fromiter((codes.setdefault(x, len(codes)) for x in before), dtype=np.int64, count=len(before))
    a = np.fromiter((codes.setdefault(x, len(codes)) for x in after), dtype=np.int64, count=len(after))
    return movement_of_indices(b, tuple(codes), a, tuple(codes))


def movement_of_indices(
    before: np.ndarray, before_nodes: Sequence[str], after: np.ndarray, after_nodes: Sequence[str]
) -> Movement:
    """Like :func:`movement`, for owner indices into two node lists (what ``locate`` returns)."""
    if len(before) != len(after):
        raise ValueError(
            f"before and after must place the same keys (got {len(before):,} and {len(after):,} owners)"
        )
    vocab = list(dict.fromkeys([*before_nodes, *after_nodes]))
    code = {n: i for i, n in enumerate(vocab)}
    b = np.array([code[n] for n in before_nodes], dtype=np.int64)[before]
    a = np.array([code[n] for n in after_nodes], dtype=np.int64)[after]
    mask = b != a
    pairs, counts = np.unique(b[mask] * len(vocab) + a[mask], return_counts=True)
    flows = {
        (vocab[p // len(vocab)], vocab[p % len(vocab)]): int(c)
        for p, c in zip(pairs.tolist(), counts.tolist(), strict=True)
    }
    return Movement(len(b), int(mask.sum()), MappingProxyType(flows), mask)


def minimum_movement_fraction(before: Mapping[str, float], after: Mapping[str, float]) -> float:
    """The smallest share of keys any scheme must move to go from one weighted cluster to another.

    Each node should end up with ``w / sum(w)`` of the keys; a key must move for every bit of share a node
    gains, so the minimum is the total variation distance between the two share vectors. Adding one node to
    n equal ones gives 1/(n+1); removing one of n gives 1/n.
    """
    tb, ta = sum(before.values()), sum(after.values())
    if tb <= 0 or ta <= 0:
        raise ValueError("both clusters need at least one node with a positive weight")
    names = set(before) | set(after)
    return 0.5 * sum(abs(after.get(n, 0.0) / ta - before.get(n, 0.0) / tb) for n in names)


@dataclass(frozen=True)
class LoadStats:
    """Keys per node against each node's fair share ``K * w_i / sum(w)``."""

    nodes: tuple[str, ...]
    counts: tuple[int, ...]
    ideal: tuple[float, ...]

    @property
    def relative(self) -> np.ndarray:
        """Each node's load divided by its fair share (1.0 is perfect)."""
        return np.array(self.counts, dtype=float) / np.array(self.ideal)

    @property
    def max_over_mean(self) -> float:
        """The busiest node's load over its fair share (1.0 is perfect; 2.0 means twice its share)."""
        return float(self.relative.max())

    @property
    def cv(self) -> float:
        """Coefficient of variation of the relative loads (root mean square deviation from 1)."""
        return float(np.sqrt(np.mean((self.relative - 1.0) ** 2)))


def load_stats(
    owner: np.ndarray, nodes: Sequence[str], weights: Mapping[str, float] | None = None
) -> LoadStats:
    """Count keys per node from owner indices; ``weights`` default to 1 for every node."""
    w = np.array([1.0 if weights is None else weights[n] for n in nodes])
    counts = np.bincount(np.asarray(owner), minlength=len(nodes))
    ideal = len(owner) * w / w.sum()
    return LoadStats(tuple(nodes), tuple(int(c) for c in counts), tuple(float(x) for x in ideal))


def expected_share_cv(points: Sequence[int]) -> float:
    """Theory: CV of the nodes' ring shares when node i has ``points[i]`` random points.

    With P points in all, the arc a node of k points owns is Beta(k, P - k) distributed, so its share over
    its fair share k/P has variance (P - k) / (k (P + 1)). For n nodes of k points each this is the classic
    sqrt((n - 1) / (k n + 1)).
    """
    p = np.asarray(points, dtype=float)
    if p.size == 0 or (p < 1).any():
        raise ValueError("every node needs at least one point")
    total = p.sum()
    return float(np.sqrt(np.mean((total - p) / (p * (total + 1)))))


def expected_key_cv(points: Sequence[int], keys: int) -> float:
    """Theory for measured key counts: the ring's unevenness plus binomial sampling noise of K keys.

    For n equal nodes, CV^2 is about share_cv^2 + (n - 1) / K.
    """
    if keys < 1:
        raise ValueError(f"keys must be at least 1 (got {keys})")
    n = len(points)
    return math.sqrt(expected_share_cv(points) ** 2 + (n - 1) / keys)


@dataclass(frozen=True, eq=False)
class SpreadCurve:
    """Measured and theoretical load spread of a ring as the number of virtual nodes grows."""

    vnodes: np.ndarray
    measured_cv: np.ndarray  # CV of the ring shares, averaged over the sampled clusters
    measured_max: np.ndarray  # busiest node's share over the fair share, averaged likewise
    theory_cv: np.ndarray
    samples: int


def spread_vs_vnodes(
    nodes: Sequence[str],
    vnode_grid: Sequence[int] = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000),
    *,
    hash_name: str = "murmur3",
    samples: int = 1,
) -> SpreadCurve:
    """Share CV for each vnodes value in the grid, for equally weighted ``nodes``.

    Sample 0 uses the given node names; further samples rename the nodes (``"S1~1"``...) to average over
    other clusters of the same size, since one cluster's spread is itself a random draw.
    """
    check_hash_name(hash_name)
    if len(nodes) < 1:
        raise ValueError("the cluster has no nodes, so there is no spread to measure")
    if samples < 1 or samples > 100:
        raise ValueError(f"samples must be between 1 and 100 (got {samples})")
    grid = np.array(sorted(set(int(v) for v in vnode_grid)))
    if grid.size == 0 or grid[0] < 1:
        raise ValueError("every vnodes value in the grid must be at least 1")
    n = len(nodes)
    cvs = np.zeros((samples, grid.size))
    maxes = np.zeros((samples, grid.size))
    kmax = int(grid[-1])
    for s in range(samples):
        names = list(nodes) if s == 0 else [f"{x}~{s}" for x in nodes]
        # Hash every node's largest point set once; a ring with k points per node is its first k labels.
        labels = [f"{x}#{i}" for x in names for i in range(kmax)]
        all_pos = hash_keys(labels, hash_name, bits=32).astype(np.int64).reshape(n, kmax)
        # One sort of the largest ring: the ring with k points per node is its points of label index < k, in
        # the same order (by position, then node, then label: what sorting that ring alone gives).
        full_owner = np.repeat(np.arange(n), kmax)
        full_order = np.lexsort((full_owner, all_pos.ravel()))
        sorted_pos, sorted_owner = all_pos.ravel()[full_order], full_owner[full_order]
        sorted_index = np.tile(np.arange(kmax), n)[full_order]
        for g, k in enumerate(grid.tolist()):
            keep = sorted_index < k
            pos, owner = sorted_pos[keep], sorted_owner[keep]
            arcs = np.diff(pos, prepend=pos[-1] - RING_SIZE)
            share = np.bincount(owner, weights=arcs, minlength=n) / RING_SIZE * n
            cvs[s, g] = np.sqrt(np.mean((share - 1.0) ** 2))
            maxes[s, g] = share.max()
    theory = np.array([expected_share_cv([k] * n) for k in grid.tolist()])
    return SpreadCurve(grid, cvs.mean(axis=0), maxes.mean(axis=0), theory, samples)
