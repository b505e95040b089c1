"""Where a key's N replicas live on a consistent-hash ring (Dynamo's preference list), for drawing.

``HashRing.preference_list`` gives the node names; drawing the walk also needs *which points* the walk
stopped at and which it passed over because their node already holds a replica (a node with several
virtual nodes must not hold two copies of one key).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sdcore.hashing.hashfuncs import hash32
from sdcore.hashing.ring import HashRing

DEMO_KEYS: tuple[str, ...] = ("user:31", "cart:3", "photo:22")  # spread around the ring; user:31 skips points
DEMO_VNODES = 3  # points per node on the drawn ring: few enough to see, enough to show points skipped
DEMO_MIN_NODES = 8


@dataclass(frozen=True)
class KeyReplicas:
    """One key's placement: its hash, its preference list (coordinator first), the ring positions of the
    points where each replica was found, and the positions of the points skipped on the way."""

    key: str
    position: int
    replicas: tuple[str, ...]
    replica_points: tuple[int, ...]
    skipped_points: tuple[int, ...]


def replica_placement(ring: HashRing, keys: Sequence[str], n: int) -> tuple[KeyReplicas, ...]:
    """Walk clockwise from each key's hash and keep the first ``n`` distinct physical nodes."""
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"N must be a whole number of at least 1 (got N={n!r})")
    if n > len(ring.nodes):
        raise ValueError(
            f"N must be at most the number of nodes (got N={n}, but the ring has {len(ring.nodes)})"
        )
    pts = ring.ring_points()
    size = len(pts)
    placements = []
    for key in keys:
        h = hash32(key, ring.hash_name)
        start = int(pts.first_at_or_after(np.array([h], dtype=np.uint32))[0])
        replicas: list[str] = []
        found: list[int] = []
        skipped: list[int] = []
        for step in range(size):
            j = (start + step) % size
            name = pts.nodes[pts.owner[j]]
            if name in replicas:
                skipped.append(int(pts.positions[j]))
                continue
            replicas.append(name)
            found.append(int(pts.positions[j]))
            if len(replicas) == n:
                break
        placements.append(KeyReplicas(key, int(h), tuple(replicas), tuple(found), tuple(skipped)))
    return tuple(placements)


def demo_placement(n: int) -> tuple[HashRing, tuple[KeyReplicas, ...]]:
    """The page's small cluster (S1..S8, or N nodes when N > 8) and where the demo keys' N replicas live."""
    ring = HashRing([f"S{i}" for i in range(1, max(DEMO_MIN_NODES, n) + 1)], vnodes=DEMO_VNODES)
    return ring, replica_placement(ring, DEMO_KEYS, n)
