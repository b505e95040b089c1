"""Anti-entropy with Merkle trees: two replicas find the few keys that differ without sending every key.

Keys are hashed with mmh3 onto ``2**depth`` leaves (the top ``depth`` bits of the 32-bit hash, so a leaf is a
contiguous range of the hash space, as Cassandra's repair splits a token range). A leaf's hash covers its
sorted (key, value) pairs; a parent's hash covers its two children. Replicas compare roots, then walk down
only where hashes differ, and stream the keys of the leaves that differ: every key of such a leaf is sent,
even the ones that already agree (the over-streaming a coarse tree causes).

The tree is stored sparsely: a node whose subtree holds no key has the per-level "empty" hash, so building a
tree costs about ``keys x depth`` hashes whatever ``2**depth`` is.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import mmh3
import numpy as np

from sdcore.checks import int_between
from sdcore.checks import seed as seed_check

MIN_DEPTH = 1
MAX_DEPTH = 20
_LEAF, _INNER = b"\x00", b"\x01"  # domain separation: a leaf's hash can never equal a parent's


def _h(*parts: bytes) -> bytes:
    return hashlib.blake2b(b"".join(parts), digest_size=16).digest()


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else value.encode("utf-8")


def _leaf_hash(pairs: Iterable[tuple[str, str | bytes]]) -> bytes:
    parts = [_LEAF]
    for key, value in pairs:  # length-prefixed, so ("ab", "c") and ("a", "bc") hash differently
        k = key.encode("utf-8")
        v = value if isinstance(value, bytes) else value.encode("utf-8")
        parts += (len(k).to_bytes(4, "big"), k, len(v).to_bytes(4, "big"), v)
    return _h(*parts)


def leaf_index(key: str, depth: int) -> int:
    """The leaf ``key`` falls in: the top ``depth`` bits of its unsigned 32-bit murmur3 hash."""
    return mmh3.hash(key, 0, signed=False) >> (32 - depth)


@dataclass(frozen=True)
class _Empty:
    """The hash of an empty subtree at each level (level 0 is the root, level ``depth`` the leaves)."""

    by_level: tuple[bytes, ...]

    @staticmethod
    def for_depth(depth: int) -> _Empty:
        hashes = [_leaf_hash(())]
        for _ in range(depth):
            hashes.append(_h(_INNER, hashes[-1], hashes[-1]))
        return _Empty(tuple(reversed(hashes)))


class MerkleTree:
    """A Merkle tree over a replica's contents: ``MerkleTree({"k": "v", ...}, depth=10).root``.

    Equal contents give equal roots whatever the insertion order; ``node(level, index)`` is any node's hash.
    """

    def __init__(self, items: Mapping[str, str | bytes], depth: int):
        self.depth = int_between("depth", depth, MIN_DEPTH, MAX_DEPTH)
        if not isinstance(items, Mapping):
            raise ValueError(f"items must be a mapping of key to value (got items={type(items).__name__})")
        for key, value in items.items():
            if not isinstance(key, str) or not isinstance(value, str | bytes):
                raise ValueError(f"items must map str keys to str or bytes values (got {key!r}: {value!r})")
        self.items: Mapping[str, str | bytes] = MappingProxyType(dict(items))
        self._empty = _Empty.for_depth(self.depth)
        by_leaf: dict[int, list[str]] = {}
        shift, murmur = 32 - self.depth, mmh3.hash
        for key in self.items:  # leaf_index(key, depth), inline: one call per key and tree
            by_leaf.setdefault(murmur(key, 0, False) >> shift, []).append(key)
        self._leaf_keys = {leaf: tuple(sorted(keys)) for leaf, keys in by_leaf.items()}
        items = self.items
        level = {leaf: _leaf_hash([(k, items[k]) for k in keys]) for leaf, keys in self._leaf_keys.items()}
        levels = [level]
        blake2b = hashlib.blake2b
        for d in range(self.depth, 0, -1):
            empty_child = self._empty.by_level[d]
            parents: dict[int, bytes] = {}
            for parent in sorted({i >> 1 for i in level}):
                left = level.get(2 * parent, empty_child)
                right = level.get(2 * parent + 1, empty_child)
                parents[parent] = blake2b(_INNER + left + right, digest_size=16).digest()  # _h(_INNER, l, r)
            level = parents
            levels.append(level)
        self._levels = tuple(reversed(levels))  # _levels[0] is the root level

    @property
    def root(self) -> bytes:
        return self.node(0, 0)

    @property
    def leaf_count(self) -> int:
        return 2**self.depth

    def node(self, level: int, index: int) -> bytes:
        """The hash of node ``index`` (0 to 2**level - 1) at ``level`` (0 = root, ``depth`` = leaves)."""
        return self._levels[level].get(index, self._empty.by_level[level])

    def keys_in(self, leaf: int) -> tuple[str, ...]:
        """The keys in one leaf, sorted."""
        return self._leaf_keys.get(leaf, ())

    def filled_leaves(self) -> tuple[int, ...]:
        """The leaves that hold at least one key, sorted."""
        return tuple(sorted(self._leaf_keys))


@dataclass(frozen=True)
class MerkleDiff:
    """What a top-down comparison of two trees found.

    ``leaves``: sorted indices of the leaves whose hashes differ; ``keys``: every key in those leaves, from
    both sides (what a repair streams); ``hashes_compared``: tree nodes compared (each costs one hash sent);
    ``nodes``: (level, index) of every node that differed, root first.
    """

    leaves: tuple[int, ...]
    keys: frozenset[str]
    hashes_compared: int
    nodes: tuple[tuple[int, int], ...]

    @property
    def equal(self) -> bool:
        return not self.nodes


def merkle_diff(a: MerkleTree, b: MerkleTree) -> MerkleDiff:
    """Compare two trees from the root down, descending only into children whose hashes differ."""
    if a.depth != b.depth:
        raise ValueError(f"trees must have the same depth to be compared (got depth {a.depth} and {b.depth})")
    compared = 0
    differing: list[tuple[int, int]] = []
    frontier = [(0, 0)]
    while frontier:  # breadth first: one round trip per level in a real repair
        following = []
        for level, index in frontier:
            compared += 1
            if a.node(level, index) != b.node(level, index):
                differing.append((level, index))
                if level < a.depth:
                    following += [(level + 1, 2 * index), (level + 1, 2 * index + 1)]
        frontier = following
    leaves = tuple(sorted(i for level, i in differing if level == a.depth))
    keys = frozenset(k for leaf in leaves for tree in (a, b) for k in tree.keys_in(leaf))
    return MerkleDiff(leaves, keys, compared, tuple(differing))


def newest(x: str | bytes, y: str | bytes) -> str | bytes:
    """The default conflict rule: the greater value wins (values tagged "v1", "v2"... : the later version)."""
    return max(x, y, key=_as_bytes)


@dataclass(frozen=True)
class AntiEntropy:
    """One repair between replicas A and B at one tree depth."""

    depth: int
    diff: MerkleDiff
    differing_keys: frozenset[str]  # keys whose values really differ (or exist on one side only)
    streamed_a_to_b: int  # A's keys in the differing leaves
    streamed_b_to_a: int
    needed: int  # copies a perfect repair sends: each differing key from each side that holds it
    keys_a: int
    keys_b: int
    repaired_a: Mapping[str, str | bytes]
    repaired_b: Mapping[str, str | bytes]
    roots_equal_after: bool

    @property
    def streamed(self) -> int:
        return self.streamed_a_to_b + self.streamed_b_to_a

    @property
    def send_everything(self) -> int:
        """Keys exchanged without a tree: each side sends all of its keys."""
        return self.keys_a + self.keys_b

    @property
    def over_streamed(self) -> int:
        """Keys sent that already agreed: the price of a leaf covering many keys."""
        return self.streamed - self.needed


def differing_keys(a: Mapping[str, str | bytes], b: Mapping[str, str | bytes]) -> frozenset[str]:
    """The keys on which two replicas disagree, by brute force (what a perfect repair would send)."""
    return frozenset(k for k in a.keys() | b.keys() if a.get(k) != b.get(k))


def anti_entropy(
    a: Mapping[str, str | bytes],
    b: Mapping[str, str | bytes],
    depth: int,
    resolve: Callable[[str | bytes, str | bytes], str | bytes] = newest,
) -> AntiEntropy:
    """Build both trees, diff them, and stream the differing leaves' keys both ways; ``resolve`` picks the
    surviving value where both sides hold the key."""
    return _anti_entropy(a, b, depth, resolve)[0]


def _anti_entropy(
    a: Mapping[str, str | bytes],
    b: Mapping[str, str | bytes],
    depth: int,
    resolve: Callable[[str | bytes, str | bytes], str | bytes] = newest,
) -> tuple[AntiEntropy, MerkleTree, MerkleTree]:
    """:func:`anti_entropy` and the two trees it built."""
    ta, tb = MerkleTree(a, depth), MerkleTree(b, depth)
    diff = merkle_diff(ta, tb)
    ra, rb = dict(a), dict(b)
    for key in diff.keys:
        if key in a and key in b:
            ra[key] = rb[key] = resolve(a[key], b[key])
        elif key in a:
            rb[key] = a[key]
        else:
            ra[key] = b[key]
    in_leaves = set(diff.leaves)
    ae = AntiEntropy(
        depth=ta.depth,
        diff=diff,
        differing_keys=differing_keys(a, b),
        streamed_a_to_b=sum(1 for leaf in in_leaves for _ in ta.keys_in(leaf)),
        streamed_b_to_a=sum(1 for leaf in in_leaves for _ in tb.keys_in(leaf)),
        needed=sum((k in a) + (k in b) for k in differing_keys(a, b)),
        keys_a=len(a),
        keys_b=len(b),
        repaired_a=MappingProxyType(ra),
        repaired_b=MappingProxyType(rb),
        # equal contents have equal roots: the trees are built only when the repair left a difference
        roots_equal_after=diff.equal or ra == rb or MerkleTree(ra, depth).root == MerkleTree(rb, depth).root,
    )
    return ae, ta, tb


def divergent_replicas(
    keys: int, changed: int, missing: int = 0, seed: int = 0
) -> tuple[dict[str, str], dict[str, str]]:
    """Replica A holds ``keys`` keys at version v1; B is A with ``changed`` keys at v2 and ``missing`` keys
    absent (B missed those writes). The keys picked are a seeded sample, so they land in random leaves."""
    keys = int_between("keys", keys, 1, 1_000_000)
    changed = int_between("changed", changed, 0, keys, hi_name="keys")
    missing = int_between("missing", missing, 0, keys - changed, hi_name="keys - changed")
    names = [f"user:{i:06d}" for i in range(keys)]
    a = dict.fromkeys(names, "v1")
    picked = np.random.default_rng(seed_check(seed)).choice(keys, size=changed + missing, replace=False)
    b = dict(a)
    for i in picked[:changed]:
        b[names[i]] = "v2"
    for i in picked[changed:]:
        del b[names[i]]
    return a, b


def depth_sweep(
    a: Mapping[str, str | bytes], b: Mapping[str, str | bytes], depths: Iterable[int]
) -> tuple[AntiEntropy, ...]:
    """One repair per depth: hashes compared grow with depth while the keys streamed shrink."""
    return tuple(anti_entropy(a, b, d) for d in depths)


SWEEP_DEPTHS = (1, 2, 4, 6, 8, 10, 12, 14, 16)


@dataclass(frozen=True)
class RepairConfig:
    """Two replicas built by ``divergent_replicas`` and repaired with a tree of ``depth``."""

    keys: int = 2000
    changed: int = 5
    missing: int = 2
    depth: int = 8
    seed: int = 0

    def __post_init__(self) -> None:
        keys = int_between("keys", self.keys, 1, 100_000)
        changed = int_between("changed", self.changed, 0, keys, hi_name="keys")
        int_between("missing", self.missing, 0, keys - changed, hi_name="keys - changed")
        int_between("depth", self.depth, MIN_DEPTH, MAX_DEPTH)
        seed_check(self.seed)


@dataclass(frozen=True)
class RepairRun:
    config: RepairConfig
    tree_a: MerkleTree
    tree_b: MerkleTree
    repair: AntiEntropy
    sweep: tuple[AntiEntropy, ...]


def run_repair(c: RepairConfig) -> RepairRun:
    """The repair at ``c.depth``, its two trees, and the same repair at every depth of ``SWEEP_DEPTHS``."""
    a, b = divergent_replicas(c.keys, c.changed, c.missing, c.seed)
    repair, tree_a, tree_b = _anti_entropy(a, b, c.depth)
    sweep = tuple(repair if d == c.depth else anti_entropy(a, b, d) for d in sorted({*SWEEP_DEPTHS, c.depth}))
    return RepairRun(c, tree_a, tree_b, repair, sweep)
