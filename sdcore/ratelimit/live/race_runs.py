"""The race, orchestrated: each variant K clients strong, ``runs`` times, on Redis or in this process."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import replace

from sdcore.ratelimit.distributed import MEMORY_VARIANTS, VARIANTS, RaceReport
from sdcore.ratelimit.limiters import FixedWindowCounter
from sdcore.ratelimit.live.connection import STORE_ERRORS, RedisAddress, RedisUnavailable, _cleanup
from sdcore.ratelimit.live.race import (
    RACE_NOW,
    RACE_WINDOW,
    RaceResult,
    RaceRun,
    _check_int,
    _check_think_time,
    run_race,
)
from sdcore.ratelimit.store import MemoryStore
from sdcore.ratelimit.units import check_count

Progress = Callable[[float, str], None]


# --- the race -----------------------------------------------------------------------------------------


def run_memory_race(
    variant: str,
    *,
    clients: int = 8,
    requests_per_client: int = 50,
    limit: int = 10,
    think_time: float = 0.001,
    runs: int = 5,
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> RaceResult:
    """The race without Redis: ``clients`` threads of this process, one shared counter.

    ``memory_unlocked`` reads the count, thinks, and writes count + 1 (lost updates, like GET then SET);
    ``memory_lock`` decides through a :class:`FixedWindowCounter` on one :class:`MemoryStore`, whose lock
    makes read-decide-write one step (``think_time`` does not apply, as inside a Lua script)."""
    if variant not in MEMORY_VARIANTS:
        raise ValueError(f"variant must be one of {', '.join(MEMORY_VARIANTS)} (got {variant!r})")
    # The same checks as the Redis race, so both accept exactly the same settings.
    clients = _check_int("clients", clients, 1, 64)
    requests_per_client = _check_int("requests_per_client", requests_per_client, 1, 100_000)
    runs = _check_int("runs", runs, 1, 100)
    limit = check_count("limit", limit, "requests")
    think_time = _check_think_time(think_time)
    info = VARIANTS[variant]
    out = []
    for _ in range(runs):
        if variant == "memory_lock":
            limiter = FixedWindowCounter(limit, RACE_WINDOW, store=MemoryStore())

            def allow(limiter=limiter) -> bool:
                return limiter.allow(RACE_NOW, "shared").allowed
        else:
            counter = {"shared": 0}

            def allow(counter=counter) -> bool:
                count = counter["shared"]
                if think_time:
                    sleep(think_time)
                if count >= limit:
                    return False
                counter["shared"] = count + 1
                return True

        out.append(_threads_race(allow, clients, requests_per_client, limit, clock))
    return RaceResult(
        variant, info.label, info.atomic, clients, requests_per_client, limit, think_time, tuple(out)
    )


def _threads_race(allow: Callable[[], bool], clients: int, per_client: int, limit: int, clock) -> RaceRun:
    ready = threading.Barrier(clients + 1)
    admitted = [0] * clients

    def worker(i: int) -> None:
        ready.wait()
        admitted[i] = sum(allow() for _ in range(per_client))

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    ready.wait()
    start = clock()
    for t in threads:
        t.join()
    return RaceRun(sum(admitted), clients * per_client, clock() - start, 0, limit)


def run_races(
    variants: Sequence[str],
    *,
    address: RedisAddress | None = None,
    clients: int = 8,
    requests_per_client: int = 25,
    limit: int = 10,
    think_time: float = 0.001,
    runs: int = 3,
    prefix: str = "sds:race:",
    timeout: float = 5.0,
    progress: Progress | None = None,
) -> RaceReport:
    """Each variant in turn with the same settings. Redis variants need ``address`` (each thread gets
    its own client) and are skipped without it. ``progress(fraction, text)`` is called before every run
    and at the end. Keys under ``prefix`` are deleted afterwards."""
    unknown = [v for v in variants if v not in VARIANTS]
    if unknown:
        raise ValueError(
            f"unknown race variant(s) {', '.join(map(repr, unknown))}; choose from {', '.join(VARIANTS)}"
        )
    todo = [v for v in variants if address is not None or not VARIANTS[v].needs_redis]
    skipped = tuple(v for v in variants if v not in todo)
    runs = _check_int("runs", runs, 1, 100)
    settings = dict(clients=clients, requests_per_client=requests_per_client, limit=limit, think_time=think_time,
                    runs=1)  # fmt: skip
    results = []
    try:
        for i, v in enumerate(todo):
            done: list[RaceResult] = []
            for k in range(runs):  # one run at a time, so that a long race shows its progress
                if progress:
                    progress(
                        (i * runs + k) / (len(todo) * runs), f"{VARIANTS[v].label}: run {k + 1} of {runs}"
                    )
                done.append(_one_race(v, address, timeout, prefix, settings))
            results.append(replace(done[0], runs=tuple(r for d in done for r in d.runs)))
    finally:
        if address is not None and any(VARIANTS[v].needs_redis for v in todo):
            _cleanup(address, prefix)
    if progress:
        progress(1.0, "done")
    return RaceReport(tuple(results), skipped)


def _one_race(
    variant: str, address: RedisAddress | None, timeout: float, prefix: str, settings
) -> RaceResult:
    if not VARIANTS[variant].needs_redis:
        return run_memory_race(variant, **settings)
    try:
        return run_race(lambda: address.client(timeout=timeout), variant, prefix=prefix, **settings)
    except STORE_ERRORS as e:
        raise RedisUnavailable(address, e, "during the race") from e


def race_seconds(variants: Sequence[str], *, requests_per_client: int, think_time: float, runs: int,
                 round_trip: float = 0.0002) -> float:  # fmt: skip
    """A rough duration of :func:`run_races`: each client sends its requests one after another, and every
    variant but the atomic scripts and the lock waits ``think_time`` in each (the clients run in parallel,
    so their number barely matters until the CPU is busy). For the page, to say how long a click takes."""
    per_request = {v: (think_time if VARIANTS[v].name not in ("lua", "lua_log", "memory_lock") else 0.0)
                   + (round_trip * 3 if VARIANTS[v].needs_redis else 0.0) for v in variants}  # fmt: skip
    return runs * requests_per_client * sum(per_request.values())
