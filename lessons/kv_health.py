"""Words for "Key-value store: healthy replicas": parameters, presets, headlines, captions and the "why" text,
each computed from the run it describes."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, num, pct, plural, preset_table, seconds
from sdcore.checks import number_text
from sdcore.kvstore.gossip import GossipConfig, GossipResult, expected_spread_rounds
from sdcore.kvstore.merkle import RepairConfig, RepairRun
from sdcore.kvstore.phi import LOG10_E, PHI_MODELS, HeartbeatResult, HeartbeatScenario
from sdcore.kvstore.swim import E_OVER_E_MINUS_1, DetectionTrials, SwimConfig, SwimResult
from sdcore.kvstore.tombstones import KEY, TombstoneResult, TombstoneScenario

TITLE = "Key-value store: healthy replicas"
IDEA = (
    "A replicated store must notice when a node dies, without a central monitor and without mistaking a slow "
    "node for a dead one, and it must bring replicas that drifted apart back in line without shipping every "
    "key. Here nodes gossip heartbeats, two phi accrual detectors and SWIM's probes watch a silent node, and "
    "two replicas compare Merkle trees to find the few keys that differ — and a delete that comes back."
)
ROUNDS = 60  # gossip rounds simulated
PARTITION = (15, 35)  # rounds in which the two halves cannot talk, when the partition is on
SWIM_PERIODS = 40
SWIM_TRIALS = 120
HEARTBEAT_INTERVAL = 1.0

PARAMS: tuple[Param, ...] = (
    Param("nodes", 16, lo=4, hi=48, step=1, label="Nodes", help="Cluster size, for gossip and for SWIM."),
    Param(
        "fanout",
        2,
        lo=1,
        hi=4,
        step=1,
        label="Gossip fanout",
        help="Peers each node sends its whole list to, every round.",
    ),
    Param(
        "t_fail",
        8,
        lo=2,
        hi=30,
        step=1,
        label="t_fail (rounds)",
        help="A member whose heartbeat has not grown for this many rounds is marked down.",
    ),
    Param(
        "t_cleanup",
        16,
        lo=0,
        hi=40,
        step=1,
        label="t_cleanup (rounds)",
        help="How long a marked-down member stays in the list (not gossiped) before it is dropped.",
    ),
    Param(
        "loss",
        0.0,
        lo=0.0,
        hi=0.5,
        step=0.05,
        label="Message loss",
        help="Share of messages lost, for gossip and for SWIM's probes.",
    ),
    Param("crashes", 1, lo=0, hi=3, step=1, label="Nodes that crash", help="They crash in round 10."),
    Param(
        "recover_round",
        0,
        lo=0,
        hi=ROUNDS,
        step=1,
        label="Crashed nodes return in round",
        help="0: they stay down. Back up, a node keeps its heartbeat counter and starts with an empty list.",
    ),
    Param(
        "partition",
        False,
        label="Partition rounds 15–35",
        help="The lower half of the nodes cannot reach the upper half during those rounds.",
    ),
    Param(
        "k",
        3,
        lo=0,
        hi=6,
        step=1,
        label="SWIM indirect probes k",
        help="Members asked to ping a target that did not answer the direct ping.",
    ),
    Param(
        "suspicion",
        3,
        lo=0,
        hi=10,
        step=1,
        label="SWIM suspicion (periods)",
        help="How long a suspected member has to refute before it is declared dead (0: dead at once).",
    ),
    Param(
        "jitter",
        0.05,
        lo=0.0,
        hi=0.5,
        step=0.01,
        label="Heartbeat jitter (s)",
        help="Each heartbeat (sent every second) is delayed by |N(0, jitter)|.",
    ),
    Param(
        "pause",
        0.0,
        lo=0.0,
        hi=20.0,
        step=0.5,
        label="Pause at 30 s (s)",
        help="A GC-like pause: the node sends nothing for this long, then carries on. It crashes at 60 s.",
    ),
    Param(
        "threshold",
        8.0,
        lo=1.0,
        hi=16.0,
        step=0.5,
        label="phi threshold",
        help="Convict when phi exceeds this (8 in Cassandra and Akka).",
    ),
    Param(
        "min_std",
        0.1,
        lo=0.01,
        hi=1.0,
        step=0.01,
        label="Min std deviation (s)",
        help="Normal model: the spread never counts as smaller than this (Akka: 100 ms).",
    ),
    Param(
        "acceptable_pause",
        0.0,
        lo=0.0,
        hi=10.0,
        step=0.5,
        label="Acceptable pause (s)",
        help="Normal model: silence added to the mean before phi climbs (Akka's cluster default: 3 s).",
    ),
    Param("keys", 2000, lo=100, hi=10000, step=100, label="Keys per replica", help="Replica A's keys."),
    Param(
        "changed",
        5,
        lo=0,
        hi=200,
        step=1,
        label="Keys B holds an older version of",
        help="Keys whose value differs between the replicas.",
    ),
    Param("missing", 2, lo=0, hi=50, step=1, label="Keys B never received", help="Writes B missed entirely."),
    Param("depth", 8, lo=1, hi=16, step=1, label="Merkle tree depth", help="2^depth leaves (hash ranges)."),
    Param(
        "gc_grace",
        10,
        lo=0,
        hi=30,
        step=1,
        label="gc_grace (days)",
        help="Tombstones older than this are purged by compaction (Cassandra default: 10 days).",
    ),
    Param("repair_every", 7, lo=1, hi=30, step=1, label="Repair every (days)", help="Anti-entropy schedule."),
    Param(
        "down_days",
        5,
        lo=1,
        hi=30,
        step=1,
        label="Replica C down for (days)",
        help="C goes down the day before the delete and misses it.",
    ),
    Param("seed", 1, lo=0, hi=10_000, step=1, label="Seed", help="Same seed, same random choices."),
)
PARAM = {p.name: p for p in PARAMS}

PRESETS: tuple[Preset, ...] = (
    Preset(
        "One crash, healthy network",
        "16 nodes gossip with fanout 2; one node crashes in round 10.",
        {},
        "How the news of a crash spreads, and how much cheaper gossip is than all-to-all.",
    ),
    Preset(
        "Lossy network",
        "Three messages in ten are lost, for gossip and SWIM alike.",
        {"loss": 0.3},
        "False suspicions: gossip marks live nodes down; SWIM suspects them but they refute.",
    ),
    Preset(
        "Cleanup too early",
        "t_cleanup = 0 and fanout 1: a down member is dropped as soon as it is marked.",
        {"fanout": 1, "t_cleanup": 0},
        "Old heartbeats still in flight revive the dead node.",
    ),
    Preset(
        "Network partition",
        "The two halves cannot talk during rounds 15–35; nobody crashes.",
        {"partition": True, "crashes": 0},
        "Each half marks the other down, then heals.",
    ),
    Preset(
        "GC pause",
        "The watched node stalls for 4 s at 30 s; the normal model has no acceptable pause.",
        {"pause": 4.0},
        "The normal model convicts a live node; the exponential one does not, but is slow.",
    ),
    Preset(
        "Coarse Merkle tree",
        "A depth-3 tree: 8 leaves for 2,000 keys.",
        {"depth": 3},
        "One differing key makes a whole leaf of about 250 keys stream.",
    ),
    Preset(
        "Resurrected delete",
        "Replica C is down for 12 days, longer than gc_grace = 10 days.",
        {"down_days": 12},
        "The delete is undone: repair copies C's old value back.",
    ),
)
PRESET = preset_table(PRESETS)
DEFAULT_PRESET = PRESETS[0].name
PRESET_VALUES: Mapping[str, dict[str, Any]] = {p.name: dict(p.values) for p in PRESETS}


def describe(preset: str) -> str:
    p = PRESET[preset]
    return f"{p.description} Shows: {p.shows}"


# -- values -> configs --------------------------------------------------------------------------------------


def clamps(v: Mapping[str, Any]) -> tuple[tuple[str, Any, str], ...]:
    """Values that another widget's value puts out of range: (name, clamped value, the notice saying why)."""
    n, keys = int(v["nodes"]), int(v["keys"])
    out = []
    if v["fanout"] > n - 1:
        out.append(
            (
                "fanout",
                n - 1,
                f"Fanout {v['fanout']} is more than the {n - 1} other nodes, so it is now {n - 1}.",
            )
        )
    if v["k"] > n - 2:
        out.append(
            (
                "k",
                n - 2,
                f"k = {plural(v['k'], 'indirect probe')} need{'s' if v['k'] == 1 else ''} {v['k'] + 2} nodes; with {n}, "
                f"k is now {n - 2}.",
            )
        )
    changed = min(int(v["changed"]), keys)
    if changed < v["changed"]:
        out.append(("changed", changed, f"Only {keys:,} keys exist, so {changed:,} of them differ."))
    if v["missing"] > keys - changed:
        out.append(
            (
                "missing",
                keys - changed,
                f"With {changed:,} keys changed, at most {keys - changed:,} can be missing.",
            )
        )
    return tuple(out)


def gossip_config(v: Mapping[str, Any]) -> GossipConfig:
    n = int(v["nodes"])
    crashed = tuple(sorted({round(i * n / 3) % n for i in range(int(v["crashes"]))}))
    recover = int(v["recover_round"])
    return GossipConfig(
        nodes=n,
        fanout=min(int(v["fanout"]), n - 1),
        t_fail=int(v["t_fail"]),
        t_cleanup=int(v["t_cleanup"]),
        rounds=ROUNDS,
        loss=float(v["loss"]),
        crashes=tuple((c, 10) for c in crashed),
        recoveries=tuple((c, recover) for c in crashed) if recover > 10 else (),
        partition=PARTITION if v["partition"] else None,
        seed=int(v["seed"]),
    )


def swim_config(v: Mapping[str, Any]) -> SwimConfig:
    n = int(v["nodes"])
    return SwimConfig(
        nodes=n,
        k=min(int(v["k"]), n - 2),
        suspicion_periods=int(v["suspicion"]),
        loss=float(v["loss"]),
        periods=SWIM_PERIODS,
        crash_node=0,
        crash_period=5,
        seed=int(v["seed"]),
    )


def heartbeat_scenario(v: Mapping[str, Any]) -> HeartbeatScenario:
    return HeartbeatScenario(
        interval=HEARTBEAT_INTERVAL,
        jitter=float(v["jitter"]),
        pause_at=30.0,
        pause=float(v["pause"]),
        crash_at=60.0,
        horizon=90.0,
        threshold=float(v["threshold"]),
        min_std_deviation=float(v["min_std"]),
        acceptable_pause=float(v["acceptable_pause"]),
        seed=int(v["seed"]),
    )


def repair_config(v: Mapping[str, Any]) -> RepairConfig:
    keys = int(v["keys"])
    changed = min(int(v["changed"]), keys)
    return RepairConfig(
        keys=keys,
        changed=changed,
        missing=min(int(v["missing"]), keys - changed),
        depth=int(v["depth"]),
        seed=int(v["seed"]),
    )


def tombstone_scenario(v: Mapping[str, Any]) -> TombstoneScenario:
    return TombstoneScenario(
        gc_grace=int(v["gc_grace"]), repair_every=int(v["repair_every"]), down_days=int(v["down_days"])
    )


# -- gossip -------------------------------------------------------------------------------------------------


def gossip_numbers(r: GossipResult) -> dict[str, Any]:
    d = r.delays()
    live_rounds = r.up[1:].sum(axis=1)
    return {
        "mean_delay": float(d.mean()) if d.size else math.nan,
        "max_delay": int(d.max()) if d.size else None,
        "undetected": r.undetected(),
        "false": len(r.false_suspicions),
        "revivals": len(r.revivals),
        "gossip_per_round": float(r.messages.mean()),
        "all_to_all_per_round": float(r.all_to_all().mean()),
        "entries_per_round": float(r.entries.mean()),
        "live_mean": float(live_rounds.mean()),
    }


def gossip_headlines(r: GossipResult) -> tuple[Headline, ...]:
    k = gossip_numbers(r)
    spread = expected_spread_rounds(r.config.nodes, r.config.fanout)
    detect = "no crash" if math.isnan(k["mean_delay"]) else f"{num(k['mean_delay'], 1)} rounds"
    return (
        Headline(
            "Crash noticed after (mean)",
            detect,
            None if math.isnan(k["mean_delay"]) else f"t_fail − 1 = {r.config.t_fail - 1} if news is fresh",
            "Rounds from the crash until a live node marks the dead one down, averaged over live nodes.",
            "off",
        ),
        Headline(
            "Slowest live node",
            "—" if k["max_delay"] is None else f"{k['max_delay']} rounds",
            f"spread ≈ {num(spread, 1)} rounds",
            "The last live node to mark the crashed one down.",
            "off",
        ),
        Headline(
            "False suspicions",
            num(k["false"]),
            "live nodes marked down" if k["false"] else None,
            "Times a node marked a running node down (loss or a partition).",
            "inverse",
        ),
        Headline(
            "Revivals",
            num(k["revivals"]),
            None,
            "Times an old heartbeat re-added a dead node as alive after it was dropped.",
            "inverse",
        ),
        Headline(
            "Messages per round",
            num(k["gossip_per_round"]),
            f"all-to-all: {num(k['all_to_all_per_round'])}",
            "Gossip sends fanout messages per live node; direct heartbeating sends n − 1.",
            "off",
        ),
    )


def gossip_caption(r: GossipResult, cursor: int) -> str:
    crashed = [j for j in range(r.config.nodes) if not r.up[cursor, j]]
    live = int(r.up[cursor].sum())
    sent = r.round_sends(cursor) if cursor >= 1 else np.zeros((0, 4))
    lost = int((sent[:, 3] == 0).sum()) if len(sent) else 0
    text = f"**Round {cursor} of {r.rounds}** · {plural(live, 'node')} running"
    if len(sent):
        text += f" · {plural(len(sent), 'gossip message')} ({num(lost)} lost)"
    if crashed:
        knows = [
            int(sum(r.belief[cursor, o, j] != 0 for o in range(r.config.nodes) if r.up[cursor, o]))
            for j in crashed
        ]
        text += " · " + ", ".join(
            f"n{j} crashed: {k} of {live} live nodes have marked it down"
            for j, k in zip(crashed, knows, strict=True)
        )
    return text


def gossip_why(r: GossipResult) -> str:
    c, k = r.config, gossip_numbers(r)
    spread = expected_spread_rounds(c.nodes, c.fanout)
    lines = [
        f"**Gossip.** A node marks a member down {c.t_fail} rounds after that member's heartbeat last grew "
        f"in its own list. The crashed node's final heartbeat is from the round before it crashed, so a node whose "
        f"news was fresh notices {c.t_fail - 1} rounds after the crash; one whose news was already a few rounds "
        "old notices sooner, and one that hears the final heartbeat late notices later. "
        f"Push gossip with fanout {c.fanout} reaches all {c.nodes} nodes in about log₍{c.fanout + 1}₎ n + ln n / "
        f"{c.fanout} ≈ {num(spread, 1)} rounds (Pittel 1987)."
    ]
    if not math.isnan(k["mean_delay"]):
        bound = c.t_fail - 1 + spread
        late = sum(d.delay > bound for d in r.detections if d.delay is not None)
        lines.append(
            f"Measured: mean {num(k['mean_delay'], 1)} rounds, slowest {k['max_delay']}"
            + (
                f", all within {num(bound, 1)} rounds (t_fail − 1 plus the spread estimate)."
                if not late
                else f"; {plural(late, 'live node')} took longer than t_fail − 1 + the spread estimate "
                f"({num(bound, 1)}): how fast news reaches a node is random, and loss or a partition slows it."
            )
        )
    lines.append(
        f"Cost: {num(k['gossip_per_round'])} messages per round against {num(k['all_to_all_per_round'])} for "
        f"all-to-all heartbeats, but each gossip message carries the list: {num(k['entries_per_round'])} entries "
        f"per round against {num(k['all_to_all_per_round'])}. Gossip wins on messages (O(n) instead of O(n²)) "
        "and on robustness: no node needs a direct link to every other."
    )
    if k["false"]:
        lines.append(
            f"{plural(k['false'], 'false suspicion')}: a running node's heartbeat did not reach someone "
            f"for {c.t_fail} rounds (message loss {pct(c.loss, 0)}"
            + (", the partition" if c.partition else "")
            + "). A larger t_fail or fanout makes that rarer "
            "and detection slower: the trade-off van Renesse et al. compute."
        )
    if k["revivals"]:
        lines.append(
            f"{plural(k['revivals'], 'revival')}: with t_cleanup = {c.t_cleanup}, a node dropped the dead "
            "member while a slower node still gossiped its last heartbeat, and the entry came back as new."
        )
    return "\n\n".join(lines)


# -- failure detectors --------------------------------------------------------------------------------------


def detector_headlines(h: HeartbeatResult, swim: SwimResult, trials: DetectionTrials) -> tuple[Headline, ...]:
    e, n = h.runs["exponential"], h.runs["normal"]
    return (
        Headline(
            "Exponential convicts after",
            seconds(e.time_to_convict),
            f"{plural(len(e.false_convictions), 'false conviction')}",
            "Silence after the last heartbeat at which Cassandra's phi passes the threshold.",
            "off",
        ),
        Headline(
            "Normal convicts after",
            seconds(n.time_to_convict),
            f"{plural(len(n.false_convictions), 'false conviction')}",
            "Silence after the last heartbeat at which Akka's phi passes the threshold.",
            "off",
        ),
        Headline(
            "SWIM detection (periods)",
            num(trials.mean, 2),
            f"paper: {num(trials.expected, 2)}",
            f"Over {trials.periods.size} crashes; e/(e−1) = {num(E_OVER_E_MINUS_1, 2)} as n grows.",
            "off",
        ),
        Headline(
            "SWIM: all declare it dead",
            "—" if swim.all_dead is None else f"period {swim.all_dead}",
            f"crash in period {swim.config.crash_period}",
            "Suspicion, then the timeout, then the news spread on pings and acks.",
            "off",
        ),
        Headline(
            "SWIM false suspicions",
            num(swim.false_suspicions),
            f"{num(swim.false_deaths)} declared dead" if swim.false_deaths else None,
            "Suspicions of running members; a refuted one costs nothing.",
            "inverse",
        ),
    )


def detector_why(h: HeartbeatResult, swim: SwimResult, trials: DetectionTrials) -> str:
    s, e, n = h.scenario, h.runs["exponential"], h.runs["normal"]
    lines = [
        f"**Phi accrual.** Both detectors saw {plural(int(h.arrivals.size), 'heartbeat')}, mean interval "
        f"{num(e.mean, 3)} s. Cassandra's model reads silence t as phi = t / mean × log₁₀e, so it convicts at "
        f"threshold × mean × ln 10 = {num(s.threshold, 1)} × {num(e.mean, 3)} × {num(1 / LOG10_E, 3)} = "
        f"{seconds(e.time_to_convict)} — whatever the jitter. The normal model (Akka) uses the spread too: "
        f"std {num(n.std, 3)} s (floor {number_text(s.min_std_deviation)} s), mean + acceptable pause "
        f"{num(n.mean + s.acceptable_pause, 2)} s, so it convicts at {seconds(n.time_to_convict)}.",
    ]
    for run in (e, n):
        if run.false_convictions:
            start, end = run.false_convictions[0]
            lines.append(
                f"{PHI_MODELS[run.model].label} convicted the live node "
                f"{plural(len(run.false_convictions), 'time')}, first at {num(start, 1)} s until the next "
                f"heartbeat at {num(end, 1)} s: a gap longer than its {seconds(run.time_to_convict)}."
            )
    if not (e.false_convictions or n.false_convictions):
        lines.append(
            "No false conviction: no gap between heartbeats was longer than either detector's limit."
        )
    lines.append(
        f"**SWIM.** Each period every member pings one random member; a dead member is first probed by someone "
        f"with probability 1 − (1 − 1/(n−1))^(n−1), so the paper expects {num(trials.expected, 3)} periods to "
        f"first detection for n = {trials.nodes} (e/(e−1) = {num(E_OVER_E_MINUS_1, 3)} as n grows). Measured over "
        f"{trials.periods.size} crashes: {num(trials.mean, 3)}. Each member sends about two messages a period "
        f"whatever n is (this run: {num(float(swim.messages.mean()), 1)} in all per period)."
    )
    if swim.refutations:
        lines.append(
            f"{plural(swim.refutations, 'refutation')}: suspected live members heard the rumour and "
            "answered with a higher incarnation number, so suspicion saved them from being declared dead"
            + (f" (except {plural(swim.false_deaths, 'time')})." if swim.false_deaths else ".")
        )
    return "\n\n".join(lines)


# -- anti-entropy -------------------------------------------------------------------------------------------


def merkle_headlines(run: RepairRun) -> tuple[Headline, ...]:
    r = run.repair
    return (
        Headline(
            "Hashes compared",
            num(r.diff.hashes_compared),
            f"of {num(2 ** (r.depth + 1) - 1)} in the tree",
            "Tree nodes compared top-down; each costs one hash sent.",
            "off",
        ),
        Headline(
            "Keys streamed",
            num(r.streamed),
            f"send everything: {num(r.send_everything)}",
            "Every key in a differing leaf, both ways.",
            "off",
        ),
        Headline(
            "Keys that differ",
            num(len(r.differing_keys)),
            f"{num(r.over_streamed)} sent needlessly",
            "Keys a perfect repair would send (one copy per side that holds them).",
            "off",
        ),
        Headline(
            "Replicas equal after repair",
            "yes" if r.roots_equal_after else "no",
            None,
            "The two roots match once the streamed keys are merged (newest value wins).",
            "off",
        ),
    )


def merkle_why(run: RepairRun) -> str:
    r, c = run.repair, run.config
    leaves = 2**r.depth
    per_leaf = (c.keys) / leaves
    best = min(run.sweep, key=lambda s: s.diff.hashes_compared + s.streamed)
    return (
        f"**Merkle trees.** {num(c.keys)} keys hash into {num(leaves)} leaves, about {num(per_leaf, 1)} per leaf. "
        f"{plural(len(r.differing_keys), 'key')} differ, in {plural(len(r.diff.leaves), 'leaf', 'leaves')}. "
        f"The replicas compared {num(r.diff.hashes_compared)} hashes — the root, then only the children of nodes "
        f"that differed — and streamed {num(r.streamed)} keys instead of {num(r.send_everything)}. A leaf is "
        f"resent whole, so {num(r.over_streamed)} of those keys already agreed: a deeper tree costs more hashes "
        f"and less streaming. Over this sweep, hashes + keys is smallest at depth {best.depth} "
        f"({num(best.diff.hashes_compared)} + {num(best.streamed)}). Cassandra builds trees of depth up to 20 per "
        "token range for the same reason."
    )


# -- tombstones ---------------------------------------------------------------------------------------------


def tombstone_headline(t: TombstoneResult) -> Headline:
    if t.resurrected:
        return Headline(
            "The deleted key",
            f"back on day {t.resurrected_on}",
            f"safe gc_grace ≥ {t.safe_gc_grace} days",
            "Repair copied C's old value over the purge.",
            "inverse",
        )
    return Headline(
        "The deleted key",
        "stays deleted",
        f"safe gc_grace ≥ {t.safe_gc_grace} days",
        "Repair reached C while the tombstones were still there.",
        "off",
    )


def tombstone_why(t: TombstoneResult) -> str:
    s = t.scenario
    lines = [
        f"**Tombstones.** A delete is a write: A and B store a tombstone for {KEY} on day {s.delete_day}; C is down "
        f"until day {s.down[1]}. Compaction purges tombstones on day {s.purge_day} (gc_grace = {s.gc_grace}). "
        f"Repair runs every {s.repair_every} days, so it first meets C on day "
        f"{t.safe_gc_grace + s.delete_day - 1}."
    ]
    if t.resurrected:
        lines.append(
            f"The tombstones were purged first, so on day {t.resurrected_on} C's old value was the newest "
            f"thing anyone held and repair copied it back: the delete is undone. gc_grace must be at least "
            f"{t.safe_gc_grace} days here — Cassandra's rule: repair every node within gc_grace_seconds."
        )
    else:
        lines.append(
            f"Repair reached C while A and B still held the tombstone, so C learned of the delete. With "
            f"gc_grace below {t.safe_gc_grace} days the key would come back."
        )
    return "\n\n".join(lines)


def headlines(
    g: GossipResult,
    h: HeartbeatResult,
    swim: SwimResult,
    trials: DetectionTrials,
    repair: RepairRun,
    t: TombstoneResult,
) -> tuple[Headline, ...]:
    """Every section's headline metrics, in the page's order (what the interview recap quotes)."""
    return (
        *gossip_headlines(g),
        *detector_headlines(h, swim, trials),
        *merkle_headlines(repair),
        tombstone_headline(t),
    )


TRY_THIS: tuple[str, ...] = (
    "**Predict, then check:** double the nodes from 16 to 32. Does the mean time to notice a crash double? "
    "(It grows by about one round: gossip spreads in log n rounds. Messages per round double; all-to-all "
    "quadruples.)",
    "Pick **Lossy network**. Gossip marks live nodes down; raise t_fail until the false suspicions stop and "
    "watch the detection time grow. In SWIM, set suspicion to 0: how many live members are declared dead now?",
    "Pick **GC pause**, then raise *Acceptable pause* to 3 s (Akka's cluster default). Which detector convicts the "
    "paused node, and how much later does each convict the crashed one?",
    "Pick **Coarse Merkle tree** and predict the keys streamed at depth 3, then at depth 12. Why does the number "
    "of hashes compared grow while the keys streamed shrink? Then pick **Resurrected delete** and find the "
    "smallest gc_grace that keeps the key deleted.",
)

REFERENCES: tuple[Reference, ...] = (
    Reference(
        "van Renesse, Minsky, Hayden 1998: A gossip-style failure detection service",
        "https://www.cs.cornell.edu/home/rvr/papers/GossipFD.pdf",
    ),
    Reference(
        "Hayashibara et al. 2004: The φ accrual failure detector",
        "https://doi.org/10.1109/RELDIS.2004.1353004",
    ),
    Reference(
        "Das, Gupta, Motivala 2002: SWIM",
        "https://www.cs.cornell.edu/projects/Quicksilver/public_pdfs/SWIM.pdf",
    ),
    Reference(
        "Akka: phi accrual failure detector",
        "https://doc.akka.io/docs/akka/current/typed/failure-detector.html",
    ),
    Reference(
        "Apache Cassandra: repair and Merkle trees",
        "https://cassandra.apache.org/doc/latest/cassandra/managing/operating/repair.html",
    ),
    Reference(
        "Apache Cassandra: tombstones and gc_grace_seconds",
        "https://cassandra.apache.org/doc/latest/cassandra/managing/operating/compaction/index.html",
    ),
)


# -- exports ------------------------------------------------------------------------------------------------


def detection_rows(r: GossipResult) -> list[dict[str, Any]]:
    return [
        {
            "crashed node": f"n{d.subject}",
            "crash round": d.crash_round,
            "observer": f"n{d.observer}",
            "marked down in round": d.marked_round,
            "rounds to notice": d.delay,
        }
        for d in r.detections
    ]


def phi_rows(h: HeartbeatResult) -> list[dict[str, Any]]:
    e, n = h.runs["exponential"], h.runs["normal"]
    return [
        {"time (s)": round(float(t), 3), "phi exponential": float(a), "phi normal": float(b)}
        for t, a, b in zip(e.times, e.phi, n.phi, strict=True)
    ]


def repair_rows(run: RepairRun) -> list[dict[str, Any]]:
    return [
        {
            "depth": s.depth,
            "hashes compared": s.diff.hashes_compared,
            "differing leaves": len(s.diff.leaves),
            "keys streamed": s.streamed,
            "keys that differ (copies)": s.needed,
            "send everything": s.send_everything,
        }
        for s in run.sweep
    ]
