"""The synthetic dataset: seeded, every user posts, popularity is exactly the Zipf law."""

import numpy as np
import pytest

from sdcore.scale.caching import zipf_hit_ratio
from sdcore.sharding import COUNTRIES, NEW_POSTS, DatasetConfig, make_dataset, zipf_weights

SMALL = DatasetConfig(users=2_000, posts_per_user=5)


@pytest.fixture(scope="module")
def ds():
    return make_dataset(SMALL)


def test_same_config_same_tables(ds):
    again = make_dataset(SMALL)
    for name in (
        "user_country",
        "user_followers",
        "post_author",
        "post_created_ms",
        "post_bytes",
        "new_author",
    ):
        assert np.array_equal(getattr(ds, name), getattr(again, name))
    other = make_dataset(DatasetConfig(users=2_000, posts_per_user=5, seed=1))
    assert not np.array_equal(ds.post_author, other.post_author)


def test_shape_and_invariants(ds):
    assert ds.users == 2_000 and ds.posts == 10_000 and len(ds.new_author) == NEW_POSTS
    assert np.bincount(ds.post_author, minlength=ds.users).min() >= 1  # every user has a post
    assert np.all(np.diff(ds.post_created_ms) >= 0)  # post ids follow time
    assert np.all(np.diff(ds.user_signup_ms) >= 0)  # user ids follow signup
    assert np.all(ds.post_created_ms >= ds.user_signup_ms[ds.post_author])  # nobody posts before joining
    assert ds.new_created_ms.min() > ds.post_created_ms.max()
    assert set(np.unique(ds.user_country).tolist()) <= set(range(len(COUNTRIES)))
    assert ds.post_read_share.sum() == pytest.approx(1.0) and ds.user_popularity.sum() == pytest.approx(1.0)


def test_popularity_is_zipf_over_follower_rank(ds):
    """The user of follower rank i gets i^-s / H(n, s) of the reads: sorted, the shares are the Zipf law,
    and the top C users' share is zipf_hit_ratio(n, s, C)."""
    by_rank = ds.user_popularity[np.argsort(-ds.user_followers, kind="stable")]
    assert np.allclose(by_rank, zipf_weights(ds.users, 0.99))
    assert by_rank[:50].sum() == pytest.approx(zipf_hit_ratio(ds.users, 0.99, 50), rel=1e-12)


def test_a_celebrity_takes_its_share():
    ds = make_dataset(DatasetConfig(users=1_000, posts_per_user=4, celebrity_share=0.3))
    c = ds.config.celebrity
    assert c == 999 and ds.user_followers[c] == ds.user_followers.max()
    assert ds.user_popularity[c] >= 0.3
    assert ds.post_read_share[ds.post_author == c].sum() == pytest.approx(ds.user_popularity[c])


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"users": 50}, "users must be between 100 and 200,000 (got users=50)"),
    ({"users": 200_000, "posts_per_user": 6}, "users × posts_per_user must be at most 1,000,000 posts"),
    ({"exponent": -0.1}, "exponent must be between 0 and 2"),
    ({"celebrity_share": 1.0}, "celebrity_share must be between 0 and 0.9"),
    ({"seed": -1}, "seed must be a whole number >= 0"),
])  # fmt: skip
def test_bad_configs_are_explained(kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        DatasetConfig(**kwargs)
