"""The four ways to deliver a post, written once: which (producer, consumer) pairs are pushed.

Every strategy answers one question per follow edge: is this author's post written into this reader's feed
cache when it is published (push, fanout on write), or read from the author's own list when the reader
loads the feed (pull, fanout on read)? Inactive readers are never pushed to under any strategy (Twitter
only fans out to cached timelines, "RPUSHX to only add to cached timelines"); their feed is rebuilt by
pulling when they come back.

- ``push``: every active reader gets every post in its cache.
- ``pull``: nothing is cached; a feed load reads every followee's list and merges.
- ``hybrid``: push, except for authors with at least ``celebrity_threshold`` followers, whose posts are
  merged in at read time (what Twitter moved to for its largest accounts).
- ``per_pair``: Feeding Frenzy (Silberstein et al., SIGMOD 2010): push a pair when the consumer reads at
  least as often as the producer posts (a push costs one write per post, a pull one read per feed load, so
  the cheaper side wins pair by pair; the paper proves this local choice minimises the global cost).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np


@dataclass(frozen=True)
class PairContext:
    """What a strategy may look at, per user: active or not, follower count, post and read rates (per s)."""

    active: np.ndarray
    follower_counts: np.ndarray
    post_rate: np.ndarray
    read_rate: np.ndarray
    celebrity_threshold: int


def _push(follower: np.ndarray, followee: np.ndarray, ctx: PairContext) -> np.ndarray:
    return ctx.active[follower]


def _pull(follower: np.ndarray, followee: np.ndarray, ctx: PairContext) -> np.ndarray:
    return np.zeros(len(follower), dtype=bool)


def _hybrid(follower: np.ndarray, followee: np.ndarray, ctx: PairContext) -> np.ndarray:
    ordinary = ctx.follower_counts < ctx.celebrity_threshold  # per user, then one bool gather per pair
    return ctx.active[follower] & ordinary[followee]


def _per_pair(follower: np.ndarray, followee: np.ndarray, ctx: PairContext) -> np.ndarray:
    # active[f] & (read_rate[f] >= post_rate[a]) with one gather on the reader's side: an inactive reader's
    # rate is -inf, below every post rate (rates are finite and >= 0)
    reads = np.where(ctx.active, ctx.read_rate, -np.inf)
    return reads[follower] >= ctx.post_rate[followee]


@dataclass(frozen=True)
class Strategy:
    name: str
    label: str
    description: str
    uses_cache: bool
    rule: Callable[[np.ndarray, np.ndarray, PairContext], np.ndarray]

    def pushed(self, follower: np.ndarray, followee: np.ndarray, ctx: PairContext) -> np.ndarray:
        """One bool per pair ``follower[i] follows followee[i]``: True when its posts are pushed."""
        return self.rule(np.asarray(follower), np.asarray(followee), ctx)


STRATEGIES = MappingProxyType(
    {
        s.name: s
        for s in (
            Strategy(
                "push",
                "Push (fanout on write)",
                "Every post is written into each active follower's feed cache; a feed load reads one list.",
                True,
                _push,
            ),
            Strategy(
                "pull",
                "Pull (fanout on read)",
                "Nothing is fanned out; a feed load reads every followee's recent posts and merges them.",
                False,
                _pull,
            ),
            Strategy(
                "hybrid",
                "Hybrid (celebrities pulled)",
                "Push for ordinary authors; posts of authors above the celebrity threshold are merged at read time.",
                True,
                _hybrid,
            ),
            Strategy(
                "per_pair",
                "Per pair (Feeding Frenzy)",
                "Push a pair when the reader loads the feed at least as often as the author posts, else pull.",
                True,
                _per_pair,
            ),
        )
    }
)
