"""Shard keys: which column of a post decides its shard, and the key values ("groups") it produces.

Every strategy places *key values*, not rows: all posts with the same key value land together. A
:class:`KeyColumn` lists a key's distinct values in key order (so a range partition is a run of
consecutive values), the value of every post, and what each value weighs (rows, bytes, reads, likes).
New posts either reuse a value (a user's next post has the same user id) or create values past the end
(a new post id, a new timestamp).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.hashing import hash_keys
from sdcore.sharding.dataset import COUNTRIES, DERIVED, Dataset
from sdcore.sharding.keyslot import key_slots
from sdcore.sharding.memo import Memo, memo_of


@dataclass(frozen=True)
class ShardKey:
    label: str
    description: str


SHARD_KEYS: MappingProxyType[str, ShardKey] = MappingProxyType({
    "user_id": ShardKey("user id", "the author's user id: a user's posts live together"),
    "country": ShardKey("country", "the author's country: about 20 values, a few of them huge"),
    "created": ShardKey("created time", "the post's timestamp: recent posts live together"),
    "post_id": ShardKey("post id", "the post's own id (time-ordered, as Snowflake ids are)"),
    "country_user": ShardKey("(country, user id)", "compound: country first, then user id"),
})  # fmt: skip


@dataclass(frozen=True, eq=False)
class KeyColumn:
    """One shard key over a dataset. Group g is the g-th distinct key value in key order."""

    key: str
    codes: np.ndarray  # int64: each post's group
    n_groups: int
    rows: np.ndarray  # int64 per group
    bytes: np.ndarray  # int64 per group
    read_share: np.ndarray  # float64 per group (sums to 1); likes follow the same shares
    new_codes: np.ndarray  # int64 per new post: an existing group, or n_groups + i for a new value
    _labels: Callable[[], list[str]]
    _new_labels: Callable[[], list[str]]
    # Values every column of one dataset can share (hash rings, which do not depend on the keys), kept on the
    # dataset: None for a column made on its own.
    shared: Memo | None = field(default=None, repr=False)

    @property
    def creates_values(self) -> bool:
        """True if new posts bring new key values (past every existing one) rather than reuse them."""
        return bool(len(self.new_codes)) and bool(self.new_codes.min() >= self.n_groups)

    def labels(self) -> list[str]:
        """The key values as strings (what a hash function or a CRC sees), computed once."""
        return self._cached("labels", self._labels)

    def new_labels(self) -> list[str]:
        return self._cached("new_labels", self._new_labels)

    def h32(self) -> np.ndarray:
        return self._cached("h32", lambda: hash_keys(self.labels(), "murmur3", 32))

    def new_h32(self) -> np.ndarray:
        return self._cached("new_h32", lambda: hash_keys(self.new_labels(), "murmur3", 32))

    def slots(self) -> np.ndarray:
        return self._cached("slots", lambda: key_slots(self.labels()))

    def new_slots(self) -> np.ndarray:
        return self._cached("new_slots", lambda: key_slots(self.new_labels()))

    def weights(self, name: str) -> np.ndarray:
        """``rows`` or ``bytes`` per group as float64 (read-only), what ``np.bincount`` weighs with: converted
        once, not on every count."""

        def make() -> np.ndarray:
            out = getattr(self, name).astype(np.float64)
            out.setflags(write=False)
            return out

        return self._cached(f"{name}_f", make)

    def _cached(self, name: str, make):
        cache = self.__dict__.setdefault("_cache", {})  # frozen, eq=False: a private derived cache
        if name not in cache:
            cache[name] = make()
        return cache[name]


def key_column(ds: Dataset, key: str) -> KeyColumn:
    """The groups of shard key ``key`` (one of :data:`SHARD_KEYS`) over the dataset's posts.

    Made once per dataset and key (the column keeps its labels, hashes and placements), so every run and
    table on one dataset shares them."""
    checks.one_of("shard key", key, SHARD_KEYS)
    return memo_of(ds, DERIVED).get(("key", key), lambda: _key_column(ds, key))


def _key_column(ds: Dataset, key: str) -> KeyColumn:
    p, u = ds.posts, ds.users
    if key == "user_id":
        codes, n = ds.post_author.astype(np.int64), u
        new_codes = ds.new_author.astype(np.int64)
        labels = lambda: [f"user:{i}" for i in range(u)]  # noqa: E731
        new_labels = list
    elif key == "country":
        codes, n = ds.user_country[ds.post_author].astype(np.int64), len(COUNTRIES)
        new_codes = ds.user_country[ds.new_author].astype(np.int64)
        labels, new_labels = (lambda: list(COUNTRIES)), list
    elif key == "country_user":
        group_of_user = np.empty(u, dtype=np.int64)
        by_country = np.lexsort((np.arange(u), ds.user_country))
        group_of_user[by_country] = np.arange(u)
        codes, n = group_of_user[ds.post_author], u
        new_codes = group_of_user[ds.new_author]
        names = COUNTRIES
        cc = ds.user_country
        labels = lambda: [f"{names[cc[i]]}:{i}" for i in by_country.tolist()]  # noqa: E731
        new_labels = list
    else:  # created, post_id: one value per post, new posts add values past the end
        codes, n = np.arange(p, dtype=np.int64), p
        new_codes = p + np.arange(len(ds.new_author), dtype=np.int64)
        if key == "created":
            labels = lambda: list(map(str, ds.post_created_ms.tolist()))  # noqa: E731
            new_labels = lambda: list(map(str, ds.new_created_ms.tolist()))  # noqa: E731
        else:
            labels = lambda: [f"post:{i}" for i in range(p)]  # noqa: E731
            new_labels = lambda: [f"post:{i}" for i in range(p, p + len(ds.new_author))]  # noqa: E731
    return KeyColumn(
        key=key,
        codes=codes,
        n_groups=n,
        rows=np.bincount(codes, minlength=n).astype(np.int64),
        bytes=np.bincount(codes, weights=ds.post_bytes, minlength=n).astype(np.int64),
        read_share=np.bincount(codes, weights=ds.post_read_share, minlength=n),
        new_codes=new_codes,
        _labels=labels,
        _new_labels=new_labels,
        shared=memo_of(ds, SHARED_KEPT, "_shared_memo"),
    )


SHARED_KEPT = 12  # values kept per dataset for all its columns: hash rings of a few shard counts and vnodes
