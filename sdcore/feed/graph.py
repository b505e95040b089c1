"""The follower graph: who follows whom, as CSR arrays both ways (followers of an author, followees of a
reader), built from a seeded scale-free model or from an uploaded edge list.

The generator is the static scale-free model of Goh, Kahng and Kim (PRL 2001): author ``j`` has weight
``(j + 1) ** -alpha`` and every follow picks its author with probability proportional to the weight, so
follower counts follow a power law with exponent ``tail = 1 + 1 / alpha``. Unlike Barabási–Albert growth
it draws every edge at once with numpy, so 100,000 users take milliseconds. ``with_star`` adds the
celebrity case: user 0 followed by up to a million accounts (extra users who follow only the star when the
graph is smaller than that).

An edge list is text, one ``follower,followee`` pair of user ids per line (a header line is allowed); it is
size-capped before it is parsed, every error names its line, and it enters a frozen config by its SHA-256.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

import numpy as np

from sdcore.checks import int_between, number_between
from sdcore.checks import seed as check_seed

MAX_USERS = 100_000  # a generated graph (the star adds up to MAX_STAR_FOLLOWERS on top)
MAX_STAR_FOLLOWERS = 1_000_000
MAX_FOLLOWS = 500
TAIL_RANGE = (2.05, 4.0)
MAX_EDGE_LIST_BYTES = 2_000_000
MAX_EDGES = 200_000
MAX_EDGE_LIST_ID = 99_999


def _frozen(a: np.ndarray) -> np.ndarray:
    a.flags.writeable = False
    return a


def weighted_choice(rng: np.random.Generator, a: np.ndarray | int, size: int, p: np.ndarray) -> np.ndarray:
    """``rng.choice(a, size=size, p=p)`` (with replacement): the same draws, and the generator left in the
    same state, several times faster for many draws.

    numpy draws ``size`` uniforms ``u`` and finds each in the normalised cumulative weights ``cdf`` with
    ``searchsorted(cdf, u, "right")``; over unsorted uniforms that binary search misses the cache at every
    step (most of building a graph). Here ``[0, 1)`` is cut into ``2**k`` equal cells: ``u * 2**k`` is exact
    (a power of two only moves the exponent), so ``floor(u * 2**k)`` is the cell that holds ``u`` exactly.
    A cell without a cumulative weight inside it gives every draw in it the same answer, looked up in a
    table; only draws in the few cells that hold one are searched. ``p`` must be valid weights summing to 1
    (numpy's checks are not repeated).
    """
    cdf = np.asarray(p, dtype=np.float64).cumsum()
    cdf /= cdf[-1]
    u = rng.random(size)
    # up to 16 cells per weight (few draws then search), and no more cells than draws (the table's cost)
    cells = 1 << max(10, min(20, min(16 * len(cdf), size).bit_length()))
    if size < 4_096:
        return _take(a, np.searchsorted(cdf, u, side="right"))  # few draws: numpy's own search is cheaper
    x = cdf * cells  # exact, as is every cell's edge k / 2**m: no rounding decides a cell
    low = np.cumsum(np.bincount(np.ceil(x).astype(np.int64), minlength=cells + 1))[:cells]  # x <= k
    inside = x[x != np.floor(x)]  # cumulative weights strictly inside a cell
    mixed = np.zeros(cells, dtype=bool)
    mixed[np.floor(inside).astype(np.int64)] = True
    cell = (u * cells).astype(np.int64)  # exact, and below ``cells`` since u < 1
    idx = low[cell]
    odd = np.flatnonzero(mixed[cell])
    idx[odd] = np.searchsorted(cdf, u[odd], side="right")
    return _take(a, idx)


def _take(a: np.ndarray | int, idx: np.ndarray) -> np.ndarray:
    return idx if isinstance(a, int | np.integer) else np.asarray(a)[idx]


def _pointers(rows: np.ndarray, n: int) -> np.ndarray:
    indptr = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(np.bincount(rows, minlength=n), out=indptr[1:])
    return _frozen(indptr)


@dataclass(frozen=True, eq=False)
class FollowerGraph:
    """``users`` accounts and their follow edges, ``follower -> followee``, deduplicated, no self-follows.

    ``followers_of(j)`` and ``followees_of(i)`` are slices of the two CSR arrays (sorted ids).
    """

    users: int
    follower: np.ndarray  # one entry per edge
    followee: np.ndarray
    followers_ptr: np.ndarray = field(repr=False)
    followers_idx: np.ndarray = field(repr=False)
    followees_ptr: np.ndarray = field(repr=False)
    followees_idx: np.ndarray = field(repr=False)
    # routings that depend on the graph and the active users only (push, hybrid with no unfollows), keyed by
    # the strategy, threshold and active set: shared by every world on this graph (see simulate._route)
    routings: dict = field(default_factory=dict, repr=False)

    @classmethod
    def from_edges(cls, users: int, follower: np.ndarray, followee: np.ndarray) -> FollowerGraph:
        follower = np.asarray(follower, dtype=np.int64)
        followee = np.asarray(followee, dtype=np.int64)
        keep = follower != followee
        code = np.sort(follower[keep] * users + followee[keep])  # sorting beats np.unique's hash here
        code = code[np.concatenate(([True], np.diff(code) != 0))] if len(code) else code
        src, dst = code // users, code % users  # by follower, then followee: the followees CSR order
        # Followers of each author sorted by id: the edges sorted by (followee, follower). The pairs are
        # distinct, so sorting their codes gives the order a stable argsort by followee would, faster.
        followers_idx = np.sort(dst * users + src) % users if len(code) else src
        return cls(
            users,
            _frozen(src),
            _frozen(dst),
            _pointers(dst, users),
            _frozen(followers_idx),
            _pointers(src, users),
            _frozen(dst),
        )

    @property
    def edges(self) -> int:
        return len(self.follower)

    @cached_property
    def followers_author(self) -> np.ndarray:
        """The author of each entry of ``followers_idx`` (the followee side of the followers CSR), read-only:
        what a strategy is asked about pair by pair, the same for every run on this graph."""
        return _frozen(np.repeat(np.arange(self.users), self.follower_counts))

    @cached_property
    def follower_counts(self) -> np.ndarray:
        """Followers per user, read-only (computed once per graph)."""
        return _frozen(np.diff(self.followers_ptr))

    @cached_property
    def followee_counts(self) -> np.ndarray:
        """Followees per user, read-only (computed once per graph)."""
        return _frozen(np.diff(self.followees_ptr))

    def followers_of(self, author: int) -> np.ndarray:
        return self.followers_idx[self.followers_ptr[author] : self.followers_ptr[author + 1]]

    def followees_of(self, reader: int) -> np.ndarray:
        return self.followees_idx[self.followees_ptr[reader] : self.followees_ptr[reader + 1]]


def scale_free_graph(users: int, follows: float, tail: float, seed: int) -> FollowerGraph:
    """A seeded scale-free follower graph: each user follows about ``follows`` others (1 + Poisson), authors
    picked with weight ``(rank + 1) ** -(1 / (tail - 1))``; user 0 is the most followed."""
    users = int_between("users", users, 2, MAX_USERS)
    follows = number_between("follows", follows, 1, MAX_FOLLOWS)
    tail = number_between("tail", tail, *TAIL_RANGE)
    rng = np.random.default_rng(check_seed(seed))
    out_degree = np.minimum(1 + rng.poisson(follows - 1, size=users), users - 1)
    follower = np.repeat(np.arange(users, dtype=np.int64), out_degree)
    weight = np.arange(1, users + 1, dtype=np.float64) ** (-1.0 / (tail - 1.0))
    followee = weighted_choice(rng, users, len(follower), weight / weight.sum())
    return FollowerGraph.from_edges(users, follower, followee)


def with_star(graph: FollowerGraph, star_followers: int, seed: int) -> FollowerGraph:
    """``graph`` with user 0 turned into a celebrity followed by exactly ``star_followers`` accounts.

    Up to ``users - 1`` of them are graph users picked at random (all of them once the star has that many);
    the rest are new accounts ``users, users + 1, ...`` that follow only the star. User 0's own follows are
    kept; its organic followers are replaced.
    """
    star_followers = int_between("celebrity_followers", star_followers, 0, MAX_STAR_FOLLOWERS)
    if star_followers == 0:
        return graph
    rng = np.random.default_rng([check_seed(seed), 7])
    inside = min(star_followers, graph.users - 1)
    members = (
        1 + rng.permutation(graph.users - 1)[:inside]
        if inside < graph.users - 1
        else np.arange(1, graph.users)
    )
    extra = star_followers - inside
    users = graph.users + extra
    organic = graph.followee != 0
    follower = np.concatenate((graph.follower[organic], members, np.arange(graph.users, users)))
    followee = np.concatenate((graph.followee[organic], np.zeros(star_followers, dtype=np.int64)))
    return FollowerGraph.from_edges(users, follower, followee)


# -- an uploaded edge list ---------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class EdgeList:
    """A parsed edge list. Equal and hashed by the SHA-256 of its text, so a frozen config holding it is a
    cache key that does not depend on the arrays' identity."""

    sha256: str
    users: int
    follower: np.ndarray = field(repr=False)
    followee: np.ndarray = field(repr=False)
    duplicates: int = 0

    def __eq__(self, other: object) -> bool:
        return isinstance(other, EdgeList) and other.sha256 == self.sha256

    def __hash__(self) -> int:
        return int(self.sha256[:16], 16)  # the content hash itself: the same in every process

    @property
    def edges(self) -> int:
        return len(self.follower)

    @cached_property
    def followers_author(self) -> np.ndarray:
        """The author of each entry of ``followers_idx`` (the followee side of the followers CSR), read-only:
        what a strategy is asked about pair by pair, the same for every run on this graph."""
        return _frozen(np.repeat(np.arange(self.users), self.follower_counts))

    def graph(self, users: int | None = None) -> FollowerGraph:
        return FollowerGraph.from_edges(users or self.users, self.follower, self.followee)


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _line_error(number: int, text: str, problem: str) -> ValueError:
    shown = text if len(text) <= 40 else text[:39] + "…"
    return ValueError(f"edge list line {number}: {problem} (got {shown!r})")


def parse_edge_list(data: bytes | str) -> EdgeList:
    """Parse ``follower,followee`` lines (ids 0 to 99,999; ``#`` comments and blank lines skipped; the first
    line may be a header). At most 2 MB and 200,000 edges; the first bad line is named in the error."""
    raw = data.encode("utf-8") if isinstance(data, str) else bytes(data)
    if len(raw) > MAX_EDGE_LIST_BYTES:
        raise ValueError(
            f"the edge list must be at most {MAX_EDGE_LIST_BYTES:,} bytes (got {len(raw):,} bytes)"
        )
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise ValueError(f"the edge list must be UTF-8 text (byte {e.start:,} is not)") from None
    src: list[int] = []
    dst: list[int] = []
    first = True
    for number, line in enumerate(text.splitlines(), start=1):
        body = line.split("#", 1)[0].strip()
        if not body:
            continue
        parts = [p.strip() for p in body.split(",")]
        if len(parts) != 2:
            raise _line_error(number, line, "expected two user ids separated by a comma")
        header, first = first and not any(p.isdigit() for p in parts), False
        if header:
            continue  # a header such as "follower,followee"
        if not all(p.isdigit() for p in parts):
            raise _line_error(number, line, "user ids must be whole numbers >= 0")
        a, b = int(parts[0]), int(parts[1])
        if a > MAX_EDGE_LIST_ID or b > MAX_EDGE_LIST_ID:
            raise _line_error(number, line, f"user ids must be between 0 and {MAX_EDGE_LIST_ID:,}")
        if a == b:
            raise _line_error(number, line, "a user cannot follow themselves")
        if len(src) == MAX_EDGES:
            raise ValueError(
                f"the edge list must have at most {MAX_EDGES:,} edges (line {number} is one more)"
            )
        src.append(a)
        dst.append(b)
    if not src:
        raise ValueError("the edge list has no edges: write one follower,followee pair of user ids per line")
    follower = np.asarray(src, dtype=np.int64)
    followee = np.asarray(dst, dtype=np.int64)
    users = int(max(follower.max(), followee.max())) + 1
    code = np.sort(follower * users + followee)
    distinct = int(np.count_nonzero(np.diff(code))) + 1
    return EdgeList(
        content_hash(raw), max(users, 2), _frozen(follower), _frozen(followee), len(src) - distinct
    )


# -- a drawable neighbourhood --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Neighbourhood:
    """An author and a sample of its followers, laid out for drawing (never a million dots).

    ``nodes[0]`` is the author; ``positions`` are x, y per node; ``edges`` index into ``nodes`` (follower,
    followee) for every follow among the sampled nodes; ``total_followers`` is the author's real count.
    """

    author: int
    nodes: tuple[int, ...]
    positions: tuple[tuple[float, float], ...]
    edges: tuple[tuple[int, int], ...]
    total_followers: int


def neighbourhood(graph: FollowerGraph, author: int, sample: int, seed: int) -> Neighbourhood:
    """``author`` and up to ``sample`` of its followers picked at random (seeded), with the follows among
    them, placed by networkx's spring layout around the author."""
    import networkx as nx  # only for the drawing: the simulation runs on the CSR arrays

    author = int_between("author", author, 0, graph.users - 1, hi_name="the last user id")
    sample = int_between("sample", sample, 1, 500)
    rng = np.random.default_rng([check_seed(seed), 11])
    followers = graph.followers_of(author)
    picked = np.sort(rng.choice(followers, size=min(sample, len(followers)), replace=False))
    nodes = (author, *picked.tolist())
    index = {u: i for i, u in enumerate(nodes)}
    edges = {(index[u], 0) for u in picked.tolist()}
    for u in picked.tolist():
        for v in graph.followees_of(u).tolist():
            if v in index and v != author:
                edges.add((index[u], index[v]))
    g = nx.Graph()
    g.add_nodes_from(range(len(nodes)))
    g.add_edges_from(edges)
    pos = nx.spring_layout(g, seed=int(rng.integers(2**31)), center=(0.0, 0.0))
    positions = tuple((float(pos[i][0]), float(pos[i][1])) for i in range(len(nodes)))
    return Neighbourhood(author, nodes, positions, tuple(sorted(edges)), int(len(followers)))
