"""Distributed rate limiting, end to end: find the shared Redis, race many servers on one counter, and
break the connection mid-run to see a limiter fail open or closed and recover.

    address = parse_redis_url("redis://127.0.0.1:6379/0")
    if probe_redis(address).ok:
        report = run_races(("get_incr", "lua", "memory_lock"), address=address, prefix="sds:me:race:")
        runs = compare_fault_policies(address, "refuse", prefix="sds:me:faults:")

Live experiments with real threads, sockets and a real server (they read the wall clock through an
injectable ``clock``); the race repeats ``runs`` times and reports min/median/max. Every function that
writes to Redis deletes its key prefix before it returns, whatever happens.

The in-memory race variants need no Redis: threads of this one process share a dict, without a lock or
through :class:`~sdcore.ratelimit.store.MemoryStore`, whose lock makes each decision atomic (but only
within one process, which is why several servers need a shared store).
"""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from urllib.parse import unquote, urlsplit

import redis

from sdcore.ratelimit.faults import FAULT_MODES, FaultProxy
from sdcore.ratelimit.limiters import FixedWindowCounter, TokenBucket
from sdcore.ratelimit.race import (
    RACE_NOW,
    RACE_VARIANTS,
    RACE_WINDOW,
    RaceResult,
    RaceRun,
    _check_int,
    _check_think_time,
    run_race,
)
from sdcore.ratelimit.redis_server import LocalRedisServer
from sdcore.ratelimit.redis_store import RedisStore, RoundTrip, delete_prefix, redis_client
from sdcore.ratelimit.resilient import POLICIES, FailureReport, ResilientLimiter
from sdcore.ratelimit.store import MemoryStore
from sdcore.ratelimit.units import check_count

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"
START_REDIS_HINT = (
    "Start one on this machine with `redis-server --port 6379` (Debian/Ubuntu: `sudo apt-get install "
    "redis-server`, which also starts a system service on port 6379; macOS: `brew install redis`), or "
    "point the URL at a Redis you can reach."
)

Progress = Callable[[float, str], None]
STORE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisUnavailable(ValueError):
    """Redis could not be reached, or stopped answering, during an experiment that needs it (a
    ``ValueError``, so a page shows the sentence instead of a traceback)."""

    def __init__(self, address: RedisAddress, error: BaseException | str, during: str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(f"Redis at {address.url} did not answer {during} ({text}). {START_REDIS_HINT}")


# --- where the Redis is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisAddress:
    """A Redis server and database number, from :func:`parse_redis_url`."""

    host: str
    port: int
    db: int = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}/{self.db}"

    def client(self, timeout: float = 1.0, connect_timeout: float | None = None) -> redis.Redis:
        """A client with explicit timeouts and no automatic retries (see ``redis_client``)."""
        return redis_client(
            self.host, self.port, timeout=timeout, connect_timeout=connect_timeout, db=self.db
        )


def parse_redis_url(text: str) -> RedisAddress:
    """``redis://host[:port][/db]`` -> :class:`RedisAddress` (port 6379 and db 0 by default).

    Stricter than redis-py's ``from_url``, which accepts a typo such as ``redis://localhost:63790000``
    until the first command fails: every part is checked here, with a sentence saying what is wrong.
    Credentials are refused on purpose: the URL is mirrored into the page's share link.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the Redis URL must look like {DEFAULT_REDIS_URL} (got an empty value)")
    text = text.strip()
    shown = repr(text[:80])
    parts = urlsplit(text)
    if parts.scheme == "rediss":
        raise ValueError(
            f"the Redis URL {shown} asks for TLS (rediss://); the sandbox connects with redis:// only"
        )
    if parts.scheme != "redis":
        raise ValueError(f"the Redis URL must start with redis:// as in {DEFAULT_REDIS_URL} (got {shown})")
    if "@" in parts.netloc:
        raise ValueError(
            f"the Redis URL {shown} holds a user or password; leave them out: the URL is copied into the "
            "page's share link. Use a Redis without a password for the sandbox (e.g. a local one)."
        )
    if parts.query or parts.fragment:
        raise ValueError(f"the Redis URL {shown} has options after '?' or '#'; the sandbox takes none")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"the Redis URL {shown} has a port that is not a number from 1 to 65535") from None
    if not host:
        raise ValueError(f"the Redis URL {shown} names no host; write e.g. {DEFAULT_REDIS_URL}")
    if port == 0:
        raise ValueError(f"the Redis URL {shown} has port 0; a port is a number from 1 to 65535")
    path = unquote(parts.path).strip("/")
    if path and not (path.isdigit() and int(path) <= 15):
        raise ValueError(
            f"the Redis URL {shown} names database {path!r}; a database is a number from 0 to 15"
        )
    return RedisAddress(host, port or 6379, int(path) if path else 0)


@dataclass(frozen=True)
class Reachability:
    """Whether a Redis answered PING, and if not, why."""

    address: RedisAddress
    ok: bool
    version: str | None = None
    error: str | None = None


def probe_redis(address: RedisAddress, timeout: float = 0.5) -> Reachability:
    """PING ``address`` once with a short timeout; never raises for an unreachable server."""
    client = address.client(timeout=timeout)
    try:
        client.ping()
        version = str(client.info("server").get("redis_version", "?"))
        return Reachability(address, True, version=version)
    except (*STORE_ERRORS, OSError) as e:
        return Reachability(address, False, error=f"{type(e).__name__}: {str(e).rstrip('.')}")
    except redis.exceptions.ResponseError as e:  # e.g. a database number the server does not have
        return Reachability(address, False, error=f"the server answered with an error: {e}")
    finally:
        client.close()


def start_local_redis() -> LocalRedisServer:
    """Start a throwaway ``redis-server`` on a free loopback port (``FileNotFoundError`` if it is not on
    PATH). The process is also stopped when the returned object is garbage collected (a page session
    that ended) or when this Python process exits, not only by ``stop()``."""
    server = LocalRedisServer().start()
    weakref.finalize(server, _terminate, server.process)
    return server


def _terminate(process) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=5)
        except Exception:  # noqa: BLE001 - last resort at shutdown
            process.kill()


# --- the race -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VariantInfo:
    name: str
    short: str  # for a chart axis
    label: str
    atomic: bool
    needs_redis: bool
    round_trips: str  # per admitted decision


VARIANTS: MappingProxyType[str, VariantInfo] = MappingProxyType({v.name: v for v in (
    VariantInfo("get_set", "GET → SET", RACE_VARIANTS["get_set"].label, False, True, "2"),
    VariantInfo("get_incr", "GET → INCR", RACE_VARIANTS["get_incr"].label, False, True, "3"),
    VariantInfo("log_separate", "log, 4 commands", RACE_VARIANTS["log_separate"].label, False, True, "4"),
    VariantInfo("watch_multi", "WATCH/MULTI", RACE_VARIANTS["watch_multi"].label, True, True, "3 (+3 per retry)"),
    VariantInfo("lua", "Lua window", RACE_VARIANTS["lua"].label, True, True, "1"),
    VariantInfo("lua_log", "Lua log", RACE_VARIANTS["lua_log"].label, True, True, "1"),
    VariantInfo("memory_unlocked", "dict, no lock", "Shared dict in one process, no lock", False, False, "0"),
    VariantInfo("memory_lock", "dict + lock", "MemoryStore fixed window (a lock per decision, one process)",
                True, False, "0"),
)})  # fmt: skip
MEMORY_VARIANTS = tuple(n for n, v in VARIANTS.items() if not v.needs_redis)


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


def _cleanup(address: RedisAddress, prefix: str) -> None:
    client = address.client(timeout=2.0)
    try:
        delete_prefix(client, prefix)
    except STORE_ERRORS:
        pass  # the keys expire by themselves (every key has a TTL)
    finally:
        client.close()


# --- breaking the connection ----------------------------------------------------------------------------


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
            return f"delays replies by {self.delay * 1000:g} ms"
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
            "policy": self.label, "fault": self.mode + (f" {self.delay * 1000:g} ms" if self.delay else ""),
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
                f"delay must be longer than the timeout ({timeout:g} s) and at most 60 s (got {delay!r})"
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


# --- the page's named situations ---------------------------------------------------------------------


@dataclass(frozen=True)
class DistributedPreset:
    description: str
    params: MappingProxyType


def _preset(description: str, **params) -> DistributedPreset:
    base = {"clients": 8, "requests": 25, "limit": 10, "think_ms": 1, "runs": 3, "variants": list(VARIANTS),
            "fault": "refuse", "decisions": 60, "timeout_ms": 100}  # fmt: skip
    return DistributedPreset(description, MappingProxyType(base | params))


PRESETS: MappingProxyType[str, DistributedPreset] = MappingProxyType({
    "Eight servers, one counter": _preset(
        "8 servers send 25 requests each for one client whose limit is 10 a window, each taking 1 ms between "
        "reading the counter and writing it. Then Redis goes down mid-run (connections refused)."),
    "No think time": _preset(
        "The same race with nothing between the read and the write: the network round trip alone is a wide "
        "enough window for the non-atomic variants to overshoot.", think_ms=0),
    "One server: no race": _preset(
        "A single server: every variant is exact. The race needs concurrency.", clients=1),
    "Many servers, tight limit": _preset(
        "16 servers and a limit of 5: GET then SET loses updates and admits many times the limit.",
        clients=16, limit=5, requests=20),
    "Slow Redis (timeouts)": _preset(
        "Replies come 300 ms late while the client waits 100 ms: every decision in the fault window times "
        "out, and the page shows what that costs each request.", fault="delay"),
    "Connections dropped": _preset(
        "Redis closes every connection mid-run (a restart, a failover): the client reconnects by itself "
        "once it is back.", fault="drop"),
})  # fmt: skip
DEFAULT_PRESET = "Eight servers, one counter"


# --- the numbers a page puts in its headline ---------------------------------------------------------


@dataclass(frozen=True)
class Headline:
    """One headline number: label, value as shown, and the tooltip with its spread."""

    label: str
    value: str
    help: str


def _us(ms: float) -> str:
    return f"{ms * 1000:,.0f} µs"


def round_trip_headlines(rt: RoundTrip) -> tuple[Headline, ...]:
    """PING and one-decision latency (median, min/max in the help), and what one connection can do."""
    p, d = rt.ping_ms, rt.decision_ms
    over = f"over {rt.runs} runs of {rt.per_run}"
    return (
        Headline("PING round trip (median)", _us(p.median), f"min {_us(p.min)}, max {_us(p.max)} {over}."),
        Headline("One decision (Lua, median)", _us(d.median),
                 f"min {_us(d.min)}, max {_us(d.max)} {over}: one EVALSHA each, a round trip plus the script."),
        Headline("Decisions/s on one connection", f"{1000 / d.median:,.0f}",
                 "One request at a time: 1 / the decision's latency. More connections, more in parallel."),
    )  # fmt: skip


def race_headlines(report: RaceReport) -> tuple[Headline, ...]:
    """The worst median overshoot, and the largest overshoot of the Lua script and of the lock."""
    worst, lua, lock = report.worst(), report.result("lua"), report.result("memory_lock")
    if worst is None:
        return ()
    return (
        Headline(f"Worst overshoot ({VARIANTS[worst.variant].short})", f"+{worst.overshoot.median:g}",
                 f"Admitted beyond the limit, median over {len(worst.runs)} runs; min {worst.overshoot.min}, "
                 f"max {worst.overshoot.max}."),
        Headline("Lua overshoot (max over runs)", f"+{lua.overshoot.max}" if lua else "—",
                 "One script per decision: Redis runs it with nothing interleaved." if lua else "Needs Redis."),
        Headline("dict + lock overshoot (max)", f"+{lock.overshoot.max}" if lock else "—",
                 "A lock is atomic too, but only among the threads of one process."),
    )  # fmt: skip


def fault_headlines(runs: Sequence[FaultRun]) -> tuple[Headline, ...]:
    """Per policy: how many decisions were degraded, and when Redis answered again."""
    out = []
    for r in runs:
        s, who = r.summary(), r.label.split(" (")[0].lower()
        out.append(
            Headline(
                f"Degraded, {who}",
                str(s["degraded"]),
                f"{r.label}: decisions the policy made because Redis failed. Errors: {s['errors']}.",
            )
        )
        out.append(
            Headline(
                f"Back on Redis, {who}",
                f"decision {r.recovered_at}" if r.recovered else "no",
                f"The fault ended at decision {r.fault_end}; recoveries counted: {s['recoveries']}.",
            )
        )
    return tuple(out)


def race_check(report: RaceReport) -> str:
    """The measured-vs-expected sentence: atomic variants admit exactly the limit, check-then-act at
    most K - 1 extra (one stale read per other client), GET then SET without a bound."""
    if not report.results:
        return "Run the race to compare the variants with what theory expects."
    r0 = report.results[0]
    k, limit = r0.clients, r0.limit

    def worst(r: RaceResult) -> str:
        return f"{VARIANTS[r.variant].short} +{r.overshoot.max}"

    atomic = [worst(r) for r in report.results if r.atomic]
    bounded = [worst(r) for r in report.results if r.variant in ("get_incr", "log_separate")]
    lost = [worst(r) for r in report.results if r.variant in ("get_set", "memory_unlocked")]
    parts = [
        f"Expected with K = {k} servers and a limit of {limit}: the atomic variants admit exactly {limit}"
    ]
    parts.append(f"(measured, worst run: {', '.join(atomic)})" if atomic else "")
    if bounded:
        parts.append(f"; check-then-increment at most K − 1 = {k - 1} extra (measured: {', '.join(bounded)})")
    if lost:
        parts.append(f"; read-then-write without a lock has no such bound (measured: {', '.join(lost)})")
    return " ".join(p for p in parts if p).replace(" ;", ";") + "."
