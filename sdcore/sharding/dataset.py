"""A seeded synthetic social network to shard: users, their posts and the likes on them, and who reads what.

- Users sign up over two years (more of them recently), each in a country drawn from a skewed table of
  shares, with a follower count from a heavy-tailed (Pareto) law. User ids follow signup order.
- Every user has at least one post; the rest go to authors in proportion to a log-normal activity. Post
  times fall between the author's signup and now, more of them recent; post ids follow time order (as
  Snowflake or Instagram ids do), so the newest post has the largest id.
- Reads follow a Zipf law over users ranked by followers (exponent s, YCSB's default 0.99): the user of rank
  i is read with probability proportional to i^-s. A user's share is spread over their posts, weighted to
  the recent ones (half-life ``half_life_days``). Likes (writes) land on posts as reads do; new posts
  (writes too) come from authors in proportion to their activity: ``NEW_POSTS`` of them are drawn, so every
  strategy can say where tomorrow's posts go.
- "A celebrity joins": the newest user gets 50 times the largest follower count, a burst of recent posts,
  and ``celebrity_share`` of every read and like.

A row is a post (with its likes folded in as bytes); the users table is small and sharded by user id.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from sdcore import checks
from sdcore.checks import number_text
from sdcore.sharding.memo import memo_of

MAX_ROWS = 1_000_000
MIN_USERS, MAX_USERS = 100, 200_000
NEW_POSTS = 1_000
DAY_MS = 86_400_000
NOW_MS = 1_735_689_600_000  # 2025-01-01T00:00:00Z: "now" for every dataset, so times read naturally
SIGNUP_SPAN_MS = 730 * DAY_MS

# Share of users per country (roughly a large social network's), in alphabetical order: the order of the
# country key, which is what a range partition on it follows.
COUNTRY_SHARES = MappingProxyType({
    "AR": 0.015, "BR": 0.09, "CA": 0.02, "DE": 0.03, "EG": 0.02, "ES": 0.015, "FR": 0.03, "GB": 0.035,
    "ID": 0.07, "IN": 0.15, "IT": 0.015, "JP": 0.04, "KR": 0.015, "MX": 0.05, "NG": 0.025, "PH": 0.04,
    "TH": 0.02, "TR": 0.03, "US": 0.18, "VN": 0.03, "ZZ": 0.085,  # ZZ: every other country
})  # fmt: skip
COUNTRIES: tuple[str, ...] = tuple(COUNTRY_SHARES)


@dataclass(frozen=True)
class DatasetConfig:
    """What to generate. ``users * posts_per_user`` posts, at most 1,000,000."""

    users: int = 10_000
    posts_per_user: float = 10.0
    exponent: float = 0.99
    celebrity_share: float = 0.0
    half_life_days: float = 7.0
    seed: int = 0

    def __post_init__(self) -> None:
        set_ = object.__setattr__
        set_(self, "users", checks.int_between("users", self.users, MIN_USERS, MAX_USERS))
        set_(self, "posts_per_user", checks.number_between("posts_per_user", self.posts_per_user, 1.0, 100.0))
        set_(self, "exponent", checks.number_between("exponent", self.exponent, 0.0, 2.0))
        set_(
            self, "celebrity_share", checks.number_between("celebrity_share", self.celebrity_share, 0.0, 0.9)
        )
        set_(
            self, "half_life_days", checks.number_between("half_life_days", self.half_life_days, 0.1, 3650.0)
        )
        set_(self, "seed", checks.seed(self.seed))
        if self.posts > MAX_ROWS:
            raise ValueError(
                f"users × posts_per_user must be at most {MAX_ROWS:,} posts "
                f"(got users={self.users:,}, posts_per_user={number_text(self.posts_per_user)}: {self.posts:,})"
            )

    @property
    def posts(self) -> int:
        return round(self.users * self.posts_per_user)

    @property
    def celebrity(self) -> int | None:
        """The celebrity's user id (the newest user), or None."""
        return self.users - 1 if self.celebrity_share > 0 else None


@dataclass(frozen=True, eq=False)
class Dataset:
    """The generated tables as columns. ``post_*`` arrays are indexed by post id (0 = the oldest post)."""

    config: DatasetConfig
    user_country: np.ndarray  # int16 index into COUNTRIES
    user_signup_ms: np.ndarray  # int64, ascending (user ids follow signup order)
    user_followers: np.ndarray  # int64
    user_popularity: np.ndarray  # float64, share of all reads; sums to 1 (the Zipf law, plus a celebrity)
    user_activity: np.ndarray  # float64, share of new posts; sums to 1
    post_author: np.ndarray  # int32
    post_created_ms: np.ndarray  # int64, ascending
    post_likes: np.ndarray  # int32
    post_bytes: np.ndarray  # int64: text, metadata and 24 bytes a like
    post_read_share: np.ndarray  # float64, share of all reads (and likes); sums to 1
    new_author: np.ndarray  # int32: the authors of the next NEW_POSTS posts
    new_created_ms: np.ndarray  # int64: their times, after now

    @property
    def users(self) -> int:
        return len(self.user_country)

    @property
    def posts(self) -> int:
        return len(self.post_author)

    @property
    def total_bytes(self) -> int:
        return int(self.post_bytes.sum())

    def posts_of(self, user: int) -> np.ndarray:
        """Post ids of one user, oldest first."""
        if not 0 <= user < self.users:
            return np.zeros(0, dtype=np.intp)
        order, starts = memo_of(self, DERIVED).get("by_author", self._by_author)
        return order[starts[user] : starts[user + 1]].copy()

    def posts_of_users(self, users: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The posts of each user in ``users`` (valid ids), one user after the other, each oldest first, and
        how many each has: :meth:`posts_of` of every user, concatenated, in one gather.

        >>> ds = make_dataset(DatasetConfig(users=100, posts_per_user=3))
        >>> posts, counts = ds.posts_of_users(np.array([7, 2]))
        >>> posts.tolist() == [*ds.posts_of(7).tolist(), *ds.posts_of(2).tolist()]
        True
        """
        users = np.asarray(users, dtype=np.int64)
        order, starts = memo_of(self, DERIVED).get("by_author", self._by_author)
        first, counts = starts[users], starts[users + 1] - starts[users]
        ends = np.cumsum(counts)
        at = np.arange(int(ends[-1]) if len(ends) else 0) + np.repeat(first - (ends - counts), counts)
        return order[at], counts

    def _by_author(self) -> tuple[np.ndarray, np.ndarray]:
        """Post ids grouped by author (ascending within each) and where each author's run starts."""
        order = np.argsort(self.post_author, kind="stable")
        starts = np.concatenate(([0], np.cumsum(np.bincount(self.post_author, minlength=self.users))))
        return order, starts


DERIVED = 8  # values kept on a dataset: its key columns (5) and the posts-by-author index


def zipf_weights(n: int, exponent: float) -> np.ndarray:
    """Probabilities of ranks 1..n under Zipf(s): i^-s over the sum (exactly the law zipf_hit_ratio sums)."""
    w = np.arange(1, n + 1, dtype=np.float64) ** -exponent
    return w / w.sum()


def make_dataset(config: DatasetConfig) -> Dataset:
    """Generate the tables for ``config`` (the same config gives the same tables, bit for bit)."""
    if not isinstance(config, DatasetConfig):
        raise ValueError(f"config must be a DatasetConfig (got {type(config).__name__})")
    rng = np.random.default_rng(config.seed)
    u, p = config.users, config.posts
    shares = np.array(list(COUNTRY_SHARES.values()))
    country = rng.choice(len(COUNTRIES), size=u, p=shares / shares.sum()).astype(np.int16)
    # Growth: sqrt of a uniform leans toward 1, so more users signed up recently.
    signup = np.sort(NOW_MS - SIGNUP_SPAN_MS + (SIGNUP_SPAN_MS * np.sqrt(rng.random(u))).astype(np.int64))
    followers = np.minimum(np.floor(20 * (rng.pareto(1.1, u) + 1)), 1e9).astype(np.int64)
    activity = rng.lognormal(0.0, 1.0, u)
    celeb = config.celebrity
    if celeb is not None:
        followers[celeb] = 50 * int(followers.max())
        activity[celeb] = activity.sum() / 99  # a prolific newcomer: 1% of new posts
    activity /= activity.sum()

    rank = np.empty(u, dtype=np.int64)
    rank[np.lexsort((np.arange(u), -followers))] = np.arange(u)  # rank 0 = most followed; ties by id
    popularity = zipf_weights(u, config.exponent)[rank]
    if celeb is not None:
        popularity *= 1 - config.celebrity_share
        popularity[celeb] += config.celebrity_share

    # Every user posts once; the other posts go to authors by activity.
    author = np.concatenate((np.arange(u), rng.choice(u, size=p - u, p=activity))).astype(np.int32)
    lo = signup[author]
    created = lo + ((NOW_MS - 1 - lo) * np.sqrt(rng.random(p))).astype(np.int64)
    order = np.argsort(created, kind="stable")
    author, created = author[order], created[order]

    # A user's reads go to their posts, halving in weight every half_life_days of age.
    recency = np.exp2(-(NOW_MS - created) / (config.half_life_days * DAY_MS))
    per_author = np.bincount(author, weights=recency, minlength=u)
    read_share = popularity[author] * recency / per_author[author]
    read_share /= read_share.sum()
    likes = rng.poisson(20.0 * p * read_share).astype(np.int32)
    text = rng.lognormal(np.log(400.0), 0.8, p).astype(np.int64)
    size = 200 + text + 24 * likes.astype(np.int64)

    new_author = rng.choice(u, size=NEW_POSTS, p=activity).astype(np.int32)
    new_created = NOW_MS + np.sort(rng.integers(0, 3_600_000, NEW_POSTS))
    return Dataset(
        config=config,
        user_country=country,
        user_signup_ms=signup,
        user_followers=followers,
        user_popularity=popularity,
        user_activity=activity,
        post_author=author,
        post_created_ms=created,
        post_likes=likes,
        post_bytes=size,
        post_read_share=read_share,
        new_author=new_author,
        new_created_ms=new_created.astype(np.int64),
    )
