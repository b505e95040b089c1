"""Scale to millions: queueing at every tier, availability, caching and the architecture that grows."""

from sdcore.scale.architecture import (
    PRACTICE_ORDER,
    PRACTICES,
    TIERS,
    Architecture,
    ScaleConfig,
    analyze,
    ladder,
)
from sdcore.scale.availability import (
    YEAR_DAYS,
    availability_k_of_n,
    availability_parallel,
    availability_series,
    downtime_per_year,
    nines,
)
from sdcore.scale.caching import cdn_hit_ratios, generalized_harmonic, zipf_hit_ratio
from sdcore.scale.drills import DRILLS, DrillConfig, DrillResult, run_drill
from sdcore.scale.estimates import (
    bandwidth_from_qps,
    format_bytes,
    qps_from_dau,
    servers_for,
    storage_per_year,
)
from sdcore.scale.queueing import QueueStats, littles_law, mmc, mmck

__all__ = [
    "DRILLS",
    "PRACTICES",
    "PRACTICE_ORDER",
    "TIERS",
    "YEAR_DAYS",
    "Architecture",
    "DrillConfig",
    "DrillResult",
    "QueueStats",
    "ScaleConfig",
    "analyze",
    "availability_k_of_n",
    "availability_parallel",
    "availability_series",
    "bandwidth_from_qps",
    "cdn_hit_ratios",
    "downtime_per_year",
    "format_bytes",
    "generalized_harmonic",
    "ladder",
    "littles_law",
    "mmc",
    "mmck",
    "nines",
    "qps_from_dau",
    "run_drill",
    "servers_for",
    "storage_per_year",
    "zipf_hit_ratio",
]
