"""Breaking the connection mid-run: a token bucket on Redis behind a fault proxy, failing open or closed."""

from __future__ import annotations

import time
from collections.abc import Callable

from sdcore.checks import number_text
from sdcore.ratelimit.distributed import FaultDecision, FaultRun
from sdcore.ratelimit.limiters import TokenBucket
from sdcore.ratelimit.live.connection import (
    RedisAddress,
    RedisUnavailable,
    _cleanup,
    probe_redis,
)
from sdcore.ratelimit.live.faults import FAULT_MODES, FaultProxy
from sdcore.ratelimit.live.redis_store import RedisStore, redis_client
from sdcore.ratelimit.live.resilient import POLICIES, ResilientLimiter
from sdcore.ratelimit.store import MemoryStore

Progress = Callable[[float, str], None]


# --- breaking the connection ----------------------------------------------------------------------------


def run_fault_scenario(
    address: RedisAddress,
    policy: str,
    mode: str,
    *,
    decisions: int = 60,
    timeout: float = 0.1,
    delay: float | None = None,
    capacity: int = 5,
    refill_rate: float = 5.0,
    spacing: float = 0.1,
    prefix: str = "sds:faults:",
    progress: Progress | None = None,
    clock: Callable[[], float] = time.perf_counter,
) -> FaultRun:
    """``decisions`` requests, one every ``spacing`` seconds of virtual time, through
    ``ResilientLimiter(TokenBucket(capacity, refill_rate, store=RedisStore(...)), policy)``; the client
    (read and connect ``timeout`` seconds) talks to Redis through a :class:`FaultProxy` that switches to
    ``mode`` at the first third of the run and back to ``pass`` at the second. ``delay`` (``delay``
    mode; default three times the timeout) is how late each reply arrives. Wall-clock latency of every
    decision is measured with ``clock``."""
    if policy not in POLICIES:
        raise ValueError(f"policy must be one of {', '.join(POLICIES)} (got {policy!r})")
    if mode not in FAULT_MODES or mode == "pass":
        raise ValueError(f"mode must be one of drop, delay, refuse (got {mode!r})")
    if isinstance(decisions, bool) or not isinstance(decisions, int) or not 6 <= decisions <= 1000:
        raise ValueError(f"decisions must be a whole number between 6 and 1,000 (got {decisions!r})")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.01 <= timeout <= 5:
        raise ValueError(f"timeout must be between 0.01 and 5 seconds (got {timeout!r})")
    if mode == "delay":
        delay = 3 * timeout if delay is None else delay
        if isinstance(delay, bool) or not isinstance(delay, int | float) or not timeout < delay <= 60:
            raise ValueError(
                f"delay must be longer than the timeout ({number_text(timeout)} s) and at most 60 s (got {delay!r})"
            )
    elif delay is not None:
        raise ValueError(f"delay applies to delay mode only (got delay={delay!r} with mode {mode!r})")
    fault_start, fault_end = decisions // 3, 2 * decisions // 3
    run_prefix = f"{prefix}{policy}:"
    shadow = TokenBucket(capacity, refill_rate, store=MemoryStore())
    out: list[FaultDecision] = []
    with FaultProxy(address.host, address.port) as proxy:
        client = redis_client(proxy.host, proxy.port, timeout=timeout, db=address.db)
        limiter = ResilientLimiter(TokenBucket(capacity, refill_rate, store=RedisStore(client, prefix=run_prefix)),
                                   policy)  # fmt: skip
        try:
            for i in range(decisions):
                if i == fault_start:
                    proxy.set_mode(mode, delay if mode == "delay" else None)
                elif i == fault_end:
                    proxy.set_mode("pass")
                if progress and i % 10 == 0:
                    progress(
                        i / decisions, f"{POLICIES[policy]}: decision {i} of {decisions}, proxy {proxy.mode}"
                    )
                now = round(i * spacing, 6)
                start = clock()
                d = limiter.allow(now, "client")
                latency = (clock() - start) * 1000
                phase = "before" if i < fault_start else "fault" if i < fault_end else "after"
                out.append(FaultDecision(i, now, phase, d.allowed, d.degraded, d.error, latency,
                                         shadow.allow(now, "client").allowed))  # fmt: skip
        finally:
            client.close()
            _cleanup(address, run_prefix)
    return FaultRun(policy, mode, delay, timeout, capacity, refill_rate, spacing, tuple(out), fault_start,
                    fault_end, limiter.report())  # fmt: skip


def compare_fault_policies(
    address: RedisAddress, mode: str, *, progress: Progress | None = None, **settings
) -> tuple[FaultRun, FaultRun]:
    """The same fault under fail-open and fail-closed, one after the other (``settings`` as for
    :func:`run_fault_scenario`). :class:`RedisUnavailable` if the real Redis does not answer first: the
    experiment breaks the connection on purpose, and needs a healthy one to start from."""
    reach = probe_redis(address)
    if not reach.ok:
        raise RedisUnavailable(address, reach.error or "no answer", "before the fault experiment")
    runs = []
    for k, policy in enumerate(POLICIES):
        step = (lambda f, t, k=k: progress((k + f) / 2, t)) if progress else None
        runs.append(run_fault_scenario(address, policy, mode, progress=step, **settings))
    if progress:
        progress(1.0, "done")
    return runs[0], runs[1]
