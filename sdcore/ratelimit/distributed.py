"""Distributed rate limiting without the network: the registries and result types the live experiments
(:mod:`sdcore.ratelimit.live`) fill in and the charts and words read. Pure: importing it loads no Redis.

- ``VARIANTS``: every way the race counts (weak check-then-act variants, WATCH/MULTI, Lua, in-memory).
- ``RaceRun``/``RaceResult``/``RaceReport``: K clients racing on one limit, repeated, min/median/max.
- ``POLICIES``, ``FAULT_LABELS``, ``OUTCOMES``, ``FaultDecision``/``FaultRun``: the fault experiment.
"""

from __future__ import annotations

from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING

from sdcore.checks import number_text
from sdcore.ratelimit.spread import Spread

if TYPE_CHECKING:
    from sdcore.ratelimit.live.resilient import FailureReport

# Where the pages point by default (a local Redis, the example API); written once, read by live/ and lessons/.
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
DEFAULT_API_URL = "http://127.0.0.1:8000/search"
POLICIES = MappingProxyType({"open": "Fail open (admit)", "closed": "Fail closed (reject)"})
FAULT_MODES = ("pass", "drop", "delay", "refuse")


@dataclass(frozen=True)
class VariantInfo:
    name: str
    short: str  # for a chart axis
    label: str
    atomic: bool
    needs_redis: bool
    round_trips: str  # per admitted decision


VARIANTS: MappingProxyType[str, VariantInfo] = MappingProxyType({v.name: v for v in (
    VariantInfo("get_set", "GET → SET", "GET, decide, SET (lost updates)", False, True, "2"),
    VariantInfo("get_incr", "GET → INCR", "GET, decide, INCR", False, True, "3"),
    VariantInfo("log_separate", "log, 4 commands", "Sliding log as separate commands", False, True, "4"),
    VariantInfo("watch_multi", "WATCH/MULTI", "WATCH, GET, decide, MULTI/SET/EXEC (retry on conflict)", True, True, "3 (+3 per retry)"),
    VariantInfo("lua", "Lua window", "Lua script (RedisStore fixed window)", True, True, "1"),
    VariantInfo("lua_log", "Lua log", "Lua script (RedisStore sliding log)", True, True, "1"),
    VariantInfo("memory_unlocked", "dict, no lock", "Shared dict in one process, no lock", False, False, "0"),
    VariantInfo("memory_lock", "dict + lock", "MemoryStore fixed window (a lock per decision, one process)",
                True, False, "0"),
)})  # fmt: skip
MEMORY_VARIANTS = tuple(n for n, v in VARIANTS.items() if not v.needs_redis)


@dataclass(frozen=True)
class RaceRun:
    """One run: how many requests were admitted of ``decisions``, in ``seconds`` of wall time."""

    admitted: int
    decisions: int
    seconds: float
    retries: int
    limit: int

    @property
    def overshoot(self) -> int:
        return self.admitted - self.limit

    @property
    def decisions_per_second(self) -> float:
        return self.decisions / self.seconds if self.seconds > 0 else float("inf")


@dataclass(frozen=True)
class RaceResult:
    """All runs of one variant; the spreads are over runs."""

    variant: str
    label: str
    atomic: bool
    clients: int
    requests_per_client: int
    limit: int
    think_time: float
    runs: tuple[RaceRun, ...]

    @property
    def overshoot(self) -> Spread:
        return Spread.of(r.overshoot for r in self.runs)

    @property
    def decisions_per_second(self) -> Spread:
        return Spread.of(r.decisions_per_second for r in self.runs)

    @property
    def retries(self) -> Spread:
        return Spread.of(r.retries for r in self.runs)

    def row(self) -> dict[str, object]:
        """One flat row for a table or a CSV export."""
        o, d, r = self.overshoot, self.decisions_per_second, self.retries
        return {
            "variant": self.variant,
            "label": self.label,
            "atomic": self.atomic,
            "clients": self.clients,
            "limit": self.limit,
            "think_time_ms": self.think_time * 1000,
            "runs": len(self.runs),
            "overshoot_min": o.min,
            "overshoot_median": o.median,
            "overshoot_max": o.max,
            "decisions_per_s_min": d.min,
            "decisions_per_s_median": d.median,
            "decisions_per_s_max": d.max,
            "retries_median": r.median,
        }


@dataclass(frozen=True)
class RaceReport:
    """The variants that ran (in the order asked) and those skipped because no Redis was given."""

    results: tuple[RaceResult, ...]
    skipped: tuple[str, ...]

    def result(self, variant: str) -> RaceResult | None:
        return next((r for r in self.results if r.variant == variant), None)

    def worst(self) -> RaceResult | None:
        """The variant with the largest median overshoot (ties: the largest maximum)."""
        if not self.results:
            return None
        return max(self.results, key=lambda r: (r.overshoot.median, r.overshoot.max))

    def rows(self) -> list[dict[str, object]]:
        """One row per variant for the page's table and CSV."""
        rows = []
        for r in self.results:
            info = VARIANTS[r.variant]
            o, d = r.overshoot, r.decisions_per_second
            rows.append({
                "variant": info.label, "store": "Redis" if info.needs_redis else "this process",
                "atomic": info.atomic, "admitted (median)": r.limit + o.median,
                "overshoot min": o.min, "overshoot median": o.median, "overshoot max": o.max,
                "decisions/s (median)": round(d.median), "WATCH retries (median)": r.retries.median,
                "round trips per admitted decision": info.round_trips,
            })  # fmt: skip
        return rows


@dataclass(frozen=True)
class FaultDecision:
    """One decision of a fault run. ``would_allow``: what the same limiter decided on a store that never
    fails (the answer a healthy Redis would most likely have given)."""

    index: int
    now: float
    phase: str  # "before", "fault", "after"
    allowed: bool
    degraded: bool
    error: str | None
    latency_ms: float
    would_allow: bool

    @property
    def outcome(self) -> str:
        if self.degraded:
            return "degraded: admitted" if self.allowed else "degraded: rejected"
        return "admitted" if self.allowed else "rejected"


FAULT_LABELS = MappingProxyType(
    {
        "refuse": "Redis down (connection refused)",
        "drop": "Connections dropped",
        "delay": "Replies late (3 × the timeout)",
    }
)
OUTCOMES = ("admitted", "rejected", "degraded: admitted", "degraded: rejected")


@dataclass(frozen=True)
class FaultRun:
    """A token bucket on Redis behind a :class:`FaultProxy`, wrapped by a :class:`ResilientLimiter`, for
    ``len(decisions)`` requests; the proxy is in ``mode`` for decisions ``fault_start`` to ``fault_end - 1``."""

    policy: str
    mode: str
    delay: float | None
    timeout: float
    capacity: int
    refill_rate: float
    spacing: float
    decisions: tuple[FaultDecision, ...]
    fault_start: int
    fault_end: int
    report: FailureReport

    @property
    def label(self) -> str:
        return POLICIES[self.policy]

    @property
    def fault_description(self) -> str:
        if self.mode == "delay":
            return f"delays replies by {number_text(self.delay * 1000)} ms"
        return {"refuse": "refuses connections", "drop": "drops connections"}[self.mode]

    @property
    def recovered_at(self) -> int | None:
        """The first decision from ``fault_end`` on that Redis answered again, or ``None``."""
        return next((d.index for d in self.decisions[self.fault_end :] if not d.degraded), None)

    @property
    def recovered(self) -> bool:
        return self.recovered_at is not None and self.report.store_up

    def during_fault(self) -> tuple[FaultDecision, ...]:
        return self.decisions[self.fault_start : self.fault_end]

    def summary(self) -> dict[str, object]:
        fault = self.during_fault()
        degraded = [d for d in self.decisions if d.degraded]
        return {
            "policy": self.label, "fault": self.mode + (f" {number_text(self.delay * 1000)} ms" if self.delay else ""),
            "decisions": len(self.decisions), "degraded": len(degraded),
            "admitted during the fault": sum(d.allowed for d in fault),
            "rejected during the fault": sum(not d.allowed for d in fault),
            "admitted that a working limiter would reject": sum(d.allowed and not d.would_allow for d in degraded),
            "rejected that a working limiter would admit": sum(not d.allowed and d.would_allow for d in degraded),
            "errors": ", ".join(f"{k} × {v}" for k, v in sorted(self.report.errors.items())) or "none",
            "recoveries": self.report.recoveries,
            "first healthy decision after the fault": self.recovered_at,
            "slowest degraded decision (ms)": round(max((d.latency_ms for d in degraded), default=0.0), 1),
        }  # fmt: skip

    def rows(self) -> list[dict[str, object]]:
        return [{"policy": self.policy, "index": d.index, "now_s": d.now, "phase": d.phase, "allowed": d.allowed,
                 "degraded": d.degraded, "would_allow": d.would_allow, "latency_ms": d.latency_ms,
                 "error": d.error or ""} for d in self.decisions]  # fmt: skip
