"""Key-value store: replication and N/R/W quorums.

- ``staleness_probability``: the closed form for quorums chosen at random (Bailis et al., VLDB 2012).
- ``simulate_staleness``: the WARS Monte Carlo, P(consistent read) t ms after a write commits, with
  read/write latency quantiles; ``quorum_table`` does every (R, W) for one N from one set of draws.
- ``LATENCY_PRESETS``: the paper's production latency fits (LinkedIn SSD and disk, Yammer).
- ``consistency_level_count`` (Cassandra's ONE/QUORUM/ALL) and ``quorum_overlap`` for the picture.
- ``Cluster``: a Dynamo-style cluster in virtual time (crashes, partitions, hinted handoff, read repair);
  ``VectorClock`` orders its versions; ``scenario`` runs a timeline (``timeline``) on it.
- Healthy replicas: ``gossip`` (heartbeat membership, van Renesse et al.), ``phi`` (phi accrual, Cassandra's
  and Akka's models), ``swim`` (probes, indirect probes, suspicion), ``merkle`` (anti-entropy) and
  ``tombstones`` (a purged tombstone resurrects a delete).
- One node's storage: ``bloom`` (bloom filters) and ``lsm`` (commit log, memtable, SSTables, compaction).
"""

from sdcore.kvstore.bloom import BloomFilter, bloom_sweep, false_positive_rate
from sdcore.kvstore.cluster import Cluster
from sdcore.kvstore.gossip import GossipConfig, GossipResult, simulate_gossip
from sdcore.kvstore.latency import (
    LATENCY_PRESETS,
    LEG_DESCRIPTIONS,
    LEG_NAMES,
    Exponential,
    LatencyDistribution,
    LatencyPreset,
    LegLatencies,
    Pareto,
    ParetoExponentialMixture,
    resolve_latency,
)
from sdcore.kvstore.lsm import (
    COMPACTION_STYLES,
    LSMStore,
    StoreSettings,
    WorkloadSettings,
    compare_styles,
    run_script,
    run_workload,
)
from sdcore.kvstore.merkle import MerkleDiff, MerkleTree, anti_entropy, merkle_diff
from sdcore.kvstore.phi import PHI_MODELS, PhiAccrualDetector
from sdcore.kvstore.quorum import (
    CONSISTENCY_LEVELS,
    QuorumOverlap,
    consistency_level_count,
    quorum_overlap,
    staleness_probability,
)
from sdcore.kvstore.swim import SwimConfig, SwimResult, expected_first_detection, simulate_swim
from sdcore.kvstore.tombstones import TombstoneScenario, safe_gc_grace, simulate_tombstones
from sdcore.kvstore.vclock import VectorClock
from sdcore.kvstore.wars import (
    MAX_SIMULATED_REPLICAS,
    MAX_TABLE_TRIALS,
    MAX_TRIALS,
    LatencyQuantiles,
    StalenessResult,
    quorum_table,
    simulate_staleness,
    t_for_probability,
)

__all__ = [
    "BloomFilter",
    "bloom_sweep",
    "false_positive_rate",
    "GossipConfig",
    "GossipResult",
    "simulate_gossip",
    "COMPACTION_STYLES",
    "LSMStore",
    "StoreSettings",
    "WorkloadSettings",
    "compare_styles",
    "run_script",
    "run_workload",
    "MerkleDiff",
    "MerkleTree",
    "anti_entropy",
    "merkle_diff",
    "PHI_MODELS",
    "PhiAccrualDetector",
    "SwimConfig",
    "SwimResult",
    "expected_first_detection",
    "simulate_swim",
    "TombstoneScenario",
    "safe_gc_grace",
    "simulate_tombstones",
    "CONSISTENCY_LEVELS",
    "LATENCY_PRESETS",
    "LEG_DESCRIPTIONS",
    "LEG_NAMES",
    "MAX_SIMULATED_REPLICAS",
    "MAX_TABLE_TRIALS",
    "MAX_TRIALS",
    "Cluster",
    "Exponential",
    "LatencyDistribution",
    "LatencyPreset",
    "LatencyQuantiles",
    "LegLatencies",
    "Pareto",
    "ParetoExponentialMixture",
    "QuorumOverlap",
    "StalenessResult",
    "VectorClock",
    "consistency_level_count",
    "quorum_overlap",
    "quorum_table",
    "resolve_latency",
    "simulate_staleness",
    "staleness_probability",
    "t_for_probability",
]
