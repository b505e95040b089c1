"""Rate limiting: five algorithms over virtual time, a pluggable store, and whole-trace simulation.

>>> from sdcore.ratelimit import FixedWindowCounter, simulate
>>> limiter = FixedWindowCounter(limit=2, window=1.0)
>>> [limiter.allow(t).allowed for t in (0.1, 0.2, 0.3, 1.0)]
[True, True, False, True]
>>> simulate(limiter, [0.1, 0.2, 0.3, 1.0]).allowed.tolist()
[True, True, False, True]

The module map (as in ``limits``: algorithm vs store vs clock). Pure, top to bottom:

- ``units``: virtual time in integer microseconds and the parameter checks the limiters share.
- ``decision``: what a limiter answers (allowed, limit, remaining, retry_after).
- ``steps``: each algorithm's read-decide-write as one pure integer step; ``store``: ``MemoryStore`` runs
  a step atomically (a second store, Redis, runs the same steps in Lua).
- ``limiters``: the five algorithms and GCRA, validated, with ``ALGORITHMS`` (the registry) and
  ``make_limiter`` ("N requests per window with algorithm X").
- ``simulate``: a whole trace at once (vectorized), the state at any time, and time slices.
- ``traffic``: traces (generated, or parsed from CSV) and ``TrafficConfig``; ``compare``: the limiters side
  by side, the run summary; ``statecost``: memory per client.
- ``rules`` (throttle rules in YAML/JSON) and ``gateway`` (deny, allow, every matching rule counts).
- ``sync``: the synchronization issue in virtual time; ``distributed``: the race's and the fault run's
  registries and result types; ``spread``: min/median/max of live measurements.

``live/`` holds everything that needs Redis, HTTP, ASGI, threads, subprocesses or a wall clock (the Redis
store and its Lua, the race, the fault proxy, the live sync, the middleware, the example API driver); see
:mod:`sdcore.ratelimit.live`. Nothing outside it imports it. The page's words are in ``lessons/``.
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
from sdcore.ratelimit.logs import parse_trace
from sdcore.ratelimit.simulate import (
    Bins,
    SimulationResult,
    StateAt,
    bin_counts,
    simulate,
    state_at,
    state_curve,
    time_step,
)
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
from sdcore.ratelimit.tuning import (
    LimitedClients,
    PeakDistribution,
    Suggestion,
    TopTalkers,
    client_peaks,
    limited_clients,
    suggest_limits,
    top_talkers,
)

__all__ = [
    "ALGORITHMS",
    "Bins",
    "LimitedClients",
    "PeakDistribution",
    "Suggestion",
    "TopTalkers",
    "bin_counts",
    "client_peaks",
    "limited_clients",
    "parse_trace",
    "suggest_limits",
    "time_step",
    "top_talkers",
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
