"""Gossip failure detection (van Renesse et al.): every crash is noticed by every live node, never before
t_fail, with no false suspicion on a lossless network, and at a cost of fanout messages per node per round."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.kvstore.gossip import ALIVE, GossipConfig, expected_spread_rounds, simulate_gossip


@pytest.mark.parametrize(
    "config",
    [
        GossipConfig(),
        GossipConfig(fanout=1, t_fail=12, rounds=80, seed=4),
        GossipConfig(loss=0.3, rounds=80, seed=2),
        GossipConfig(nodes=40, crashes=((3, 5), (17, 12), (30, 12)), rounds=80, seed=9),
    ],
)
def test_every_crashed_node_is_eventually_marked_down_by_every_live_node(config):
    r = simulate_gossip(config)
    live = set(np.flatnonzero(r.up[-1]))
    for subject, _ in config.crashes:
        observers = {d.observer for d in r.detections if d.subject == subject}
        assert observers == live - {subject}
    assert r.undetected() == 0
    assert all(d.delay >= config.t_fail - 1 for d in r.detections)  # its last heartbeat is a round old


@settings(max_examples=25)
@given(st.integers(3, 24), st.integers(1, 12), st.integers(1, 30), st.integers(0, 10_000))
def test_all_to_all_gossip_without_loss_detects_in_exactly_t_fail_minus_one(n, t_fail, crash, seed):
    """With fanout n - 1 every node hears every heartbeat in the round it is made: no live node is ever marked
    down, and every live node marks the crashed one down exactly t_fail - 1 rounds after the crash."""
    c = GossipConfig(
        nodes=n, fanout=n - 1, t_fail=t_fail, rounds=crash + t_fail + 2, crashes=((0, crash),), seed=seed
    )
    r = simulate_gossip(c)
    assert r.false_suspicions == ()
    assert [d.delay for d in r.detections] == [t_fail - 1] * (n - 1)


@pytest.mark.parametrize("seed", range(8))
def test_without_loss_no_live_node_is_marked_down_and_detection_is_bounded(seed):
    """t_fail = 8 rounds is well above the ~4 rounds fanout-2 gossip takes to reach 16 nodes: for these seeds
    no false suspicion, and every detection lands between t_fail - 1 (news fresh at the crash) and
    t_fail - 1 + 2 x the spread estimate."""
    c = GossipConfig(seed=seed, rounds=60)
    r = simulate_gossip(c)
    assert r.false_suspicions == () and r.revivals == ()
    bound = c.t_fail - 1 + 2 * expected_spread_rounds(c.nodes, c.fanout)
    assert all(c.t_fail - 1 <= d.delay <= bound for d in r.detections)


@settings(max_examples=20)
@given(st.integers(4, 30), st.integers(1, 3), st.integers(2, 10), st.integers(0, 10_000))
def test_without_loss_every_crash_is_noticed_by_every_live_node(n, fanout, t_fail, seed):
    """On a lossless network every live node marks a crashed node down within the run, at the earliest in the
    crash round itself (an observer whose news was already stale, or that had wrongly suspected it)."""
    c = GossipConfig(nodes=n, fanout=min(fanout, n - 1), t_fail=t_fail, rounds=80, seed=seed)
    r = simulate_gossip(c)
    assert r.undetected() == 0 and len(r.detections) == n - 1
    assert all(0 <= d.delay <= c.rounds - 10 for d in r.detections)


def test_loss_causes_false_suspicions_and_a_longer_t_fail_removes_them():
    lossy = simulate_gossip(GossipConfig(loss=0.4, crashes=(), seed=1))
    patient = simulate_gossip(GossipConfig(loss=0.4, t_fail=20, crashes=(), seed=1))
    assert len(lossy.false_suspicions) > 0 and patient.false_suspicions == ()


def test_messages_are_fanout_per_live_node_against_n_squared():
    c = GossipConfig(nodes=20, fanout=3, crashes=((0, 10),), rounds=30)
    r = simulate_gossip(c)
    live = r.up[1:].sum(axis=1)
    assert list(r.messages) == list(3 * live)
    assert list(r.all_to_all()) == list(live * (live - 1))
    assert len(r.sends) == r.messages.sum()
    assert (r.entries <= r.messages * c.nodes).all()  # a message carries at most every member's entry


def test_dropping_a_dead_entry_at_once_lets_an_old_heartbeat_revive_it():
    early = simulate_gossip(GossipConfig(fanout=1, t_cleanup=0, seed=1))
    kept = simulate_gossip(GossipConfig(fanout=1, t_cleanup=20, seed=1))
    assert len(early.revivals) > 0 and kept.revivals == ()
    assert all(not early.up[rv.round, rv.subject] for rv in early.revivals)


def test_a_partition_makes_each_half_mark_the_other_down_then_heals():
    c = GossipConfig(crashes=(), partition=(15, 35), seed=3)
    r = simulate_gossip(c)
    side = np.arange(c.nodes) < c.group_a
    across = [s for s in r.false_suspicions if side[s.observer] != side[s.subject]]
    # Messages across the cut are dropped, so each half also gossips more slowly inside itself: a few
    # suspicions within a half are real, but most are of the other half.
    assert len(across) >= 0.9 * len(r.false_suspicions) > 0
    assert all(15 <= s.round <= 35 + c.t_fail for s in r.false_suspicions)
    assert (r.belief[-1][~np.eye(c.nodes, dtype=bool)] == ALIVE).all()


def test_a_recovered_node_is_seen_alive_again_by_everyone():
    c = GossipConfig(crashes=((2, 10),), recoveries=((2, 40),), rounds=60)
    r = simulate_gossip(c)
    assert [d.marked_round is not None for d in r.detections] == [True] * (c.nodes - 1)
    assert r.up[-1].all()
    assert (r.belief[-1][:, 2] == ALIVE).all()


def test_same_seed_same_run():
    a, b = simulate_gossip(GossipConfig(loss=0.1, seed=7)), simulate_gossip(GossipConfig(loss=0.1, seed=7))
    assert np.array_equal(a.belief, b.belief) and np.array_equal(a.sends, b.sends)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"nodes": 2}, r"nodes must be between 3 and 64 \(got nodes=2\)"),
        ({"fanout": 16}, r"fanout must be between 1 and nodes - 1 \(got fanout=16, nodes - 1=15\)"),
        ({"t_fail": 0}, r"t_fail must be between 1 and 400"),
        ({"loss": 1.0}, r"loss must be between 0 and 0.9"),
        ({"crashes": ((16, 3),)}, r"a node in crashes must be between 0 and nodes - 1"),
        ({"partition": (30, 20)}, r"the partition's last round must be between its first and 60"),
    ],
)
def test_bad_parameters_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        GossipConfig(**kwargs)
