"""Rate limiting: five algorithms over virtual time, a pluggable store, and whole-trace simulation.

>>> from sdcore.ratelimit import FixedWindowCounter, simulate
>>> limiter = FixedWindowCounter(limit=2, window=1.0)
>>> [limiter.allow(t).allowed for t in (0.1, 0.2, 0.3, 1.0)]
[True, True, False, True]
>>> simulate(limiter, [0.1, 0.2, 0.3, 1.0]).allowed.tolist()
[True, True, False, True]

Layout (as in ``limits``: algorithm vs store vs clock): ``limiters`` validate and build decisions,
``store`` keeps the state and runs each decision atomically, ``steps`` holds the integer arithmetic both
share, and time is always passed in (``now``, seconds). ``simulate`` runs a whole trace fast,
``traffic`` makes traces, ``compare`` puts the limiters side by side.
"""

from sdcore.ratelimit.compare import (
    Comparison,
    ComparisonRow,
    LimiterSettings,
    compare_limiters,
    max_admitted_in_window,
    max_admitted_per_client,
)
from sdcore.ratelimit.decision import Decision
from sdcore.ratelimit.limiters import (
    ALGORITHMS,
    GCRA,
    ROUNDING_NOTE,
    CounterEstimate,
    FixedWindowCounter,
    LeakingBucket,
    Limiter,
    SlidingWindowCounter,
    SlidingWindowLog,
    TokenBucket,
    counter_estimate,
)
from sdcore.ratelimit.simulate import SimulationResult, StateAt, simulate, state_at, state_curve
from sdcore.ratelimit.store import MemoryStore, Store
from sdcore.ratelimit.traffic import (
    Trace,
    boundary_burst,
    bursty,
    many_clients,
    parse_trace_csv,
    poisson,
    ramp,
    steady,
)

__all__ = [
    "ALGORITHMS",
    "ROUNDING_NOTE",
    "Comparison",
    "ComparisonRow",
    "CounterEstimate",
    "Decision",
    "FixedWindowCounter",
    "GCRA",
    "LeakingBucket",
    "Limiter",
    "LimiterSettings",
    "MemoryStore",
    "SimulationResult",
    "SlidingWindowCounter",
    "SlidingWindowLog",
    "StateAt",
    "Store",
    "TokenBucket",
    "Trace",
    "boundary_burst",
    "bursty",
    "compare_limiters",
    "counter_estimate",
    "many_clients",
    "max_admitted_in_window",
    "max_admitted_per_client",
    "parse_trace_csv",
    "poisson",
    "ramp",
    "simulate",
    "state_at",
    "state_curve",
    "steady",
]
