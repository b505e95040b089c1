"""Resilience: a circuit breaker (closed / open / half-open) and fallbacks when a dependency fails or slows.

- ``CircuitBreaker(policy)`` in virtual time: ``allow(now)``, ``record_success/record_failure(now, duration)``,
  ``state``, ``transitions``; policies ``ConsecutiveFailures`` (pybreaker's rule) and ``FailureRateWindow``
  (resilience4j's), listed in ``POLICIES``.
- Fallbacks per call site (``FALLBACKS``): fail fast, a default value, the last good response with its age,
  a degraded alternative service.
- Retries with back-off and jitter (``RetryPolicy``) and a retry budget (``RetryBudget``).
- ``simulate``: caller -> service -> dependency with a scripted health timeline, a worker pool, timeouts and
  retries; ``compare`` runs no breaker, breaker, breaker + fallback on the same requests.
"""

from sdcore.resilience.breaker import (
    POLICIES,
    STATES,
    CircuitBreaker,
    ConsecutiveFailures,
    FailureRateWindow,
    PolicyKind,
    Transition,
)
from sdcore.resilience.fallback import (
    FALLBACKS,
    DefaultValue,
    Degraded,
    FailFast,
    FallbackKind,
    FallbackResult,
    LastGood,
    LastGoodCache,
)
from sdcore.resilience.retry import JITTERS, RetryBudget, RetryBudgetConfig, RetryPolicy
from sdcore.resilience.simulate import (
    OUTCOMES,
    SCRIPTS,
    VARIANTS,
    Comparison,
    HealthTimeline,
    Phase,
    ScriptKind,
    SimulationConfig,
    SimulationResult,
    Variant,
    compare,
    run,
    script,
    variant_config,
)

__all__ = [
    "FALLBACKS",
    "JITTERS",
    "OUTCOMES",
    "POLICIES",
    "SCRIPTS",
    "STATES",
    "VARIANTS",
    "CircuitBreaker",
    "Comparison",
    "ConsecutiveFailures",
    "DefaultValue",
    "Degraded",
    "FailFast",
    "FailureRateWindow",
    "FallbackKind",
    "FallbackResult",
    "HealthTimeline",
    "LastGood",
    "LastGoodCache",
    "Phase",
    "PolicyKind",
    "RetryBudget",
    "RetryBudgetConfig",
    "RetryPolicy",
    "ScriptKind",
    "SimulationConfig",
    "SimulationResult",
    "Transition",
    "Variant",
    "compare",
    "run",
    "script",
    "variant_config",
]
