"""The synchronization issue: M limiter instances behind a load balancer, and where their counters live.

Scenario: a client may send ``limit`` requests per ``window``. The API runs on M instances behind a load
balancer (round robin or random). Four ways to keep the counters (:data:`SYNC_OPTIONS`):

- ``local``: each instance counts on its own. A client whose requests are spread over M instances is
  counted M times more leniently: it gets up to M x the limit, and how much depends on the balancer.
- ``shared``: every instance asks one shared store (Redis) on every request: exactly the limit, for one
  round trip per decision and a single point the whole API depends on.
- ``sticky``: the balancer sends each client always to the same instance (a hash of the client), so
  local counters are exact per client: the limit, with no store; the price is uneven load and counts lost
  when an instance goes away.
- ``synced``: local counters, exchanged with a central store every S seconds (Kong's rate-limiting
  ``sync_rate``): each instance pushes the requests it admitted since its last sync (INCRBY) and reads
  back the totals (MGET). An instance's count of a window is then "the total as of my last sync + what I
  admitted since": it misses what the others admitted since their syncs, so it over-admits by up to
  about M - 1 instances' worth of S seconds of traffic, and at the start of every window (a new counter
  nobody has synced yet) it behaves like ``local`` until its first sync. Between ``shared`` (S -> 0) and
  ``local`` (S >= window). Instance i syncs at ``(i + 1) * S / M + n * S``: staggered, as servers started
  at different times are. Counters only: ``fixed_window`` and ``sliding_window_counter`` (counts add up;
  a bucket's level or a log does not merge that simply).

Two ways to run it:

- :func:`simulate_sync` is the deterministic model for the page: seeded traffic in virtual time, every
  instance a real limiter over its own :class:`~sdcore.ratelimit.store.MemoryStore`. In this model one
  ``MemoryStore`` stands in for Redis (``shared``) and a dict for the central counters (``synced``); the
  decisions are the ones Redis would make (the Lua scripts are bit-identical to the in-memory steps).
- :func:`run_sync_live` runs it for real, with wall-clock time: clients as threads or as separate
  processes sending paced requests, instances that own their limiter and store (in the process mode each
  instance is a process too, so local counters really are in separate memories), the load balancer a
  shared round-robin counter; ``shared`` on the real Redis, ``synced`` through the real Redis with a sync
  thread per instance. It cannot be deterministic: it runs ``runs`` times and reports min/median/max.

>>> r = simulate_sync(instances=4, store="local", clients=2, rate=50.0, limit=10, duration=5.0)
>>> round(r.max_drift, 1) > 3     # close to 4 x the limit
True
>>> simulate_sync(instances=4, store="shared", clients=2, rate=50.0, limit=10, duration=5.0).max_drift
1.0
"""

from __future__ import annotations

import contextlib
import math
import multiprocessing
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from multiprocessing.connection import wait as wait_for
from numbers import Real
from types import MappingProxyType
from typing import Any

import mmh3
import numpy as np

from sdcore.ratelimit import steps
from sdcore.ratelimit.limiters import Limiter, make_limiter
from sdcore.ratelimit.redis_store import Spread
from sdcore.ratelimit.rules import RULE_ALGORITHMS
from sdcore.ratelimit.store import MemoryStore, Store
from sdcore.ratelimit.units import check_count, check_rate, check_window, to_micros

SYNC_POLICIES: Mapping[str, str] = MappingProxyType(
    {"round_robin": "Round robin", "random": "Random", "sticky": "Sticky sessions (hash of the client)"}
)
SYNC_STORES: Mapping[str, str] = MappingProxyType(
    {
        "local": "Local counters on each instance",
        "shared": "One shared store (Redis)",
        "synced": "Local counters synced every S seconds",
    }
)
SYNCED_ALGORITHMS = ("fixed_window", "sliding_window_counter")
MAX_REQUESTS = 300_000


@dataclass(frozen=True)
class SyncOption:
    """One way to keep the counters: a store, and the balancer it needs (``None``: the configured one)."""

    label: str
    store: str
    policy: str | None = None


SYNC_OPTIONS: Mapping[str, SyncOption] = MappingProxyType(
    {
        "local": SyncOption("Local counters", "local"),
        "shared": SyncOption("Shared Redis", "shared"),
        "sticky": SyncOption("Sticky sessions", "local", "sticky"),
        "synced": SyncOption("Synced every S seconds", "synced"),
    }
)


def sticky_instance(client: str, instances: int) -> int:
    """The instance a sticky balancer sends ``client`` to: a hash of the client, modulo the instances."""
    return mmh3.hash(client, 0, False) % instances


def client_name(index: int) -> str:
    return f"client-{index + 1}"


def sync_phase(instance: int, instances: int, sync_every: float) -> float:
    """When instance ``instance`` first syncs; then every ``sync_every`` seconds (staggered evenly)."""
    return (instance + 1) * sync_every / instances


# --- the central counters and the synced store -------------------------------------------------------


class MemoryCentral:
    """The central counters of ``synced`` in a dict (the virtual model; live, between threads)."""

    def __init__(self) -> None:
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def exchange(
        self, deltas: Mapping[str, int], keys: Sequence[str], ttl_ms: Mapping[str, int]
    ) -> list[int]:
        """Add ``deltas`` to the counters, then read ``keys``: one round trip (a pipeline in Redis)."""
        with self._lock:
            for k, d in deltas.items():
                self._counts[k] = self._counts.get(k, 0) + d
            return [self._counts.get(k, 0) for k in keys]


class RedisCentral:
    """The central counters of ``synced`` in Redis: one pipeline per sync (INCRBY + PEXPIRE for each
    counter this instance added to, then one MGET of every counter it needs)."""

    def __init__(self, client, prefix: str) -> None:
        self.client = client
        self.prefix = prefix

    def exchange(
        self, deltas: Mapping[str, int], keys: Sequence[str], ttl_ms: Mapping[str, int]
    ) -> list[int]:
        pipe = self.client.pipeline(transaction=False)
        for k, d in deltas.items():
            pipe.incrby(self.prefix + k, d)
            pipe.pexpire(self.prefix + k, ttl_ms[k])
        if keys:
            pipe.mget([self.prefix + k for k in keys])
        replies = pipe.execute()
        return [int(v or 0) for v in replies[-1]] if keys else []


class SyncedStore(Store):
    """Counters kept in this instance and exchanged with ``central`` when :meth:`sync` is called (every S
    seconds). A window's count is ``base + pending``: the central total as of the last sync, plus what
    this instance admitted since. Decisions never wait for the network; the price is staleness.

    Implements the two counter algorithms (fixed window, sliding window counter) with the arithmetic of
    :mod:`sdcore.ratelimit.steps`, over the synced counts."""

    def __init__(self, central: MemoryCentral | RedisCentral, *, ttl_margin_ms: int = 60_000) -> None:
        self.central = central
        self.ttl_margin_ms = ttl_margin_ms
        self._base: dict[tuple[str, str, int], int] = {}
        self._pending: dict[tuple[str, str, int], int] = {}
        self._last: dict[tuple[str, str], int] = {}
        self._window: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        self.exchanges = 0  # syncs (round trips to the central store)
        self.values_sent = 0  # counters pushed, summed over syncs

    def _count(self, entry: tuple[str, str, int]) -> int:
        return self._base.get(entry, 0) + self._pending.get(entry, 0)

    def _clock(self, tag: str, key: str, now_us: int, window_us: int) -> int:
        now = max(now_us, self._last.get((tag, key), now_us))
        self._last[(tag, key)] = now
        self._window[(tag, key)] = window_us
        return now

    def _admit(self, entry: tuple[str, str, int]) -> None:
        self._pending[entry] = self._pending.get(entry, 0) + 1

    def fixed_window(self, key, now_us, limit, window_us):
        with self._lock:
            now = self._clock("fw", key, now_us, window_us)
            k = now // window_us
            count = self._count(("fw", key, k))
            if count < limit:
                self._admit(("fw", key, k))
                return 1, count + 1, 0
            return 0, count, (k + 1) * window_us - now

    def sliding_window_counter(self, key, now_us, limit, window_us):
        with self._lock:
            now = self._clock("swc", key, now_us, window_us)
            W, k = window_us, now // window_us
            cur, prev = self._count(("swc", key, k)), self._count(("swc", key, k - 1))
            num = cur * W + prev * ((k + 1) * W - now)
            if num < limit * W:
                self._admit(("swc", key, k))
                return 1, num + W, 0
            return 0, num, steps._counter_retry_us(now, k, cur, prev, limit, W)

    def _unsupported(self, *args, **kwargs):
        raise NotImplementedError(
            f"the synced store keeps counters only: use one of {', '.join(SYNCED_ALGORITHMS)}"
        )

    token_bucket = leaking_bucket = sliding_log = gcra = _unsupported

    def sync(self, now_us: int | None = None) -> int:
        """Push what was admitted since the last sync and read back the totals of the counters in use:
        the window of ``now_us`` (default: of each client's last request) and the one before, for every
        client this instance has seen. Returns how many counters were pushed."""
        with self._lock:
            deltas = dict(self._pending)
            self._pending.clear()
            for entry, d in deltas.items():  # keep the local view whole while the exchange is in flight
                self._base[entry] = self._base.get(entry, 0) + d
            wanted = []
            for client, last in self._last.items():
                k = max(last, now_us or 0) // self._window[client]
                wanted += [(*client, k - 1), (*client, k)]
            self._base = {e: self._base.get(e, 0) for e in wanted}  # older windows no longer matter
            ttl = {_name(e): -(-2 * self._window[e[:2]] // 1000) + self.ttl_margin_ms for e in deltas}
        totals = self.central.exchange(
            {_name(e): d for e, d in deltas.items()}, [_name(e) for e in wanted], ttl
        )
        with self._lock:
            for e, total in zip(wanted, totals, strict=True):
                if e in self._base:
                    self._base[e] = max(self._base[e], total)
            self.exchanges += 1
            self.values_sent += len(deltas)
        return len(deltas)

    def __len__(self) -> int:
        return len(self._base) + len(self._pending)


def _name(entry: tuple[str, str, int]) -> str:
    tag, key, k = entry
    return f"{tag}:{key}:{k}"


# --- the virtual-time model --------------------------------------------------------------------------


def _check_int(name: str, value: object, lo: int, hi: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise ValueError(f"{name} must be a whole number between {lo} and {hi:,} (got {value!r})")
    return value


def _check_seconds(name: str, value: object, lo: float, hi: float) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not lo < value <= hi:
        raise ValueError(f"{name} must be more than {lo:g} and at most {hi:g} seconds (got {value!r})")
    return float(value)


def _check_choice(name: str, value: object, choices) -> str:
    if value not in choices:
        raise ValueError(f"{name} must be one of {', '.join(choices)} (got {value!r})")
    return value  # type: ignore[return-value]


@dataclass(frozen=True)
class SyncConfig:
    """One run of the model: ``clients`` clients, each sending ``rate`` requests a second (Poisson, or
    evenly spaced with ``arrivals="steady"``) for ``duration`` seconds, limited to ``limit`` per ``window``
    seconds, through ``instances`` instances chosen by ``policy``, counting in ``store``."""

    instances: int = 4
    policy: str = "round_robin"
    store: str = "local"
    sync_every: float = 0.5
    clients: int = 5
    rate: float = 50.0
    limit: int = 10
    window: float = 1.0
    duration: float = 20.0
    algorithm: str = "fixed_window"
    arrivals: str = "poisson"
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int("instances", self.instances, 1, 64)
        _check_choice("policy", self.policy, SYNC_POLICIES)
        _check_choice("store", self.store, SYNC_STORES)
        _check_seconds("sync_every", self.sync_every, 0.0, 3600.0)
        _check_int("clients", self.clients, 1, 200)
        check_rate("rate", self.rate, "requests")
        check_count("limit", self.limit, "requests")
        check_window("window", self.window)
        _check_seconds("duration", self.duration, 0.0, 86_400.0)
        if self.duration < self.window:
            raise ValueError(
                f"duration must be at least one window ({self.window:g} s) (got {self.duration!r})"
            )
        _check_choice("algorithm", self.algorithm, RULE_ALGORITHMS)
        if self.store == "synced" and self.algorithm not in SYNCED_ALGORITHMS:
            raise ValueError(
                f"algorithm must be one of {', '.join(SYNCED_ALGORITHMS)} with store='synced' (counts add up "
                f"across instances; a bucket's level or a log does not) (got {self.algorithm!r})"
            )
        _check_choice("arrivals", self.arrivals, ("poisson", "steady"))
        _check_int("seed", self.seed, 0, 2**32 - 1)
        expected = self.clients * self.rate * self.duration
        if expected > MAX_REQUESTS:
            raise ValueError(
                f"clients x rate x duration is {expected:,.0f} requests; the model handles at most "
                f"{MAX_REQUESTS:,}: lower the rate, the clients or the duration"
            )

    @property
    def windows(self) -> int:
        """Windows in the run (the last one may be partial)."""
        return math.ceil(self.duration / self.window - 1e-9)

    def for_option(self, option: str) -> SyncConfig:
        """This configuration with the store and balancer of one of :data:`SYNC_OPTIONS`."""
        o = SYNC_OPTIONS[_check_choice("option", option, SYNC_OPTIONS)]
        policy = o.policy or (self.policy if self.policy != "sticky" else "round_robin")
        return replace(self, store=o.store, policy=policy)


@dataclass(frozen=True)
class Expectation:
    """The expected admitted requests per client per window, and the standard deviation of one window's
    count, from the model's closed form."""

    mean: float
    sd: float


def _min_poisson(limit: int, lam: float) -> tuple[float, float]:
    """Mean and variance of ``min(limit, N)`` for ``N ~ Poisson(lam)``."""
    p = math.exp(-lam)
    mean = second = below = 0.0
    for n in range(limit):
        mean += n * p
        second += n * n * p
        below += p
        p *= lam / (n + 1)
    mean += limit * (1 - below)
    second += limit * limit * (1 - below)
    return mean, max(0.0, second - mean * mean)


def expected_admitted(config: SyncConfig) -> Expectation | None:
    """What a fixed-window client should be admitted per window, in theory (``None`` for other algorithms
    and for ``synced``, which has no closed form: it lies between ``shared`` and ``local``).

    A client's requests in one window are N ~ Poisson(rate x window) (or exactly that many if steady).
    ``shared`` or ``sticky``: one counter, ``min(limit, N)``. ``local``: each of the M instances gets
    N / M of them and admits ``min(limit, N_i)``, in all at most ``M x limit``. With random routing the
    N_i are independent Poisson(rate x window / M) (thinning), which makes the mean exact; round robin
    spreads a client's requests more evenly, so it admits a little more than that."""
    if config.algorithm != "fixed_window" or config.store == "synced":
        return None
    lam = config.rate * config.window
    M, L = config.instances, config.limit
    one_counter = config.store == "shared" or config.policy == "sticky"
    if config.arrivals == "steady":
        per = lam if one_counter else lam / M
        return Expectation((1 if one_counter else M) * min(L, per), 0.0)
    if one_counter:
        mean, var = _min_poisson(L, lam)
        return Expectation(mean, math.sqrt(var))
    mean, var = _min_poisson(L, lam / M)
    return Expectation(M * mean, math.sqrt(M * var))


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a


@dataclass(frozen=True, eq=False)
class SyncResult:
    """A run of the model: per client and window, the requests sent and admitted; per instance, the
    requests it served; and what keeping the counters cost."""

    config: SyncConfig
    sent: np.ndarray  # (clients, windows) int
    admitted: np.ndarray  # (clients, windows) int
    instance_requests: np.ndarray  # (instances,) int
    store_round_trips: int  # requests that waited for the shared store (one script each)
    sync_exchanges: int  # syncs of the synced store (one pipelined round trip each)
    synced_values: int  # counters pushed by those syncs
    clients: tuple[str, ...] = field(default=())

    @property
    def limit(self) -> int:
        return self.config.limit

    @property
    def intended_rate(self) -> float:
        """Requests per second each client should get at most: the limit over the window."""
        return self.config.limit / self.config.window

    @property
    def window_starts(self) -> np.ndarray:
        return np.arange(self.config.windows) * self.config.window

    @property
    def admitted_rate(self) -> np.ndarray:
        """Per client: admitted requests per second over the run."""
        return self.admitted.sum(axis=1) / self.config.duration

    @property
    def offered_rate(self) -> np.ndarray:
        return self.sent.sum(axis=1) / self.config.duration

    @property
    def drift(self) -> np.ndarray:
        """Per client: admitted rate / intended rate (1.0 = the limit held; M = the local worst case)."""
        return self.admitted_rate / self.intended_rate

    @property
    def window_drift(self) -> np.ndarray:
        """Per client and window: admitted / limit."""
        return self.admitted / self.config.limit

    @property
    def max_drift(self) -> float:
        """The most any client got in any full window, over the limit."""
        full = self.admitted[:, : int(self.config.duration / self.config.window + 1e-9)]
        return float(full.max() / self.config.limit) if full.size else 0.0

    @property
    def mean_drift(self) -> float:
        return float(self.drift.mean())

    @property
    def worst_case(self) -> int:
        """The most a client can get per window: M x the limit with local or synced counters."""
        return self.config.limit * (
            1 if self.config.store == "shared" or self.config.policy == "sticky" else self.config.instances
        )

    @property
    def decisions(self) -> int:
        return int(self.sent.sum())

    @property
    def round_trips_per_decision(self) -> float:
        return self.store_round_trips / self.decisions if self.decisions else 0.0

    @property
    def staleness(self) -> float:
        """How old the other instances' counts can be when a decision uses them (seconds): 0 with one
        counter, up to S when synced, never shared (infinite) with local counters."""
        if self.config.store == "shared" or self.config.policy == "sticky":
            return 0.0
        return self.config.sync_every if self.config.store == "synced" else math.inf

    @property
    def load_share(self) -> np.ndarray:
        """Per instance: its share of all requests (sticky sessions can be uneven)."""
        total = self.instance_requests.sum()
        return self.instance_requests / total if total else self.instance_requests.astype(float)

    @property
    def expected(self) -> Expectation | None:
        return expected_admitted(self.config)

    def client_rows(self) -> list[dict[str, Any]]:
        """One row per client, for a table or a CSV export."""
        return [
            {
                "client": name,
                "sent per s": float(o),
                "admitted per s": float(a),
                "limit per s": self.intended_rate,
                "drift (admitted / limit)": float(d),
                "most in a window": int(self.admitted[i].max()),
            }
            for i, (name, o, a, d) in enumerate(
                zip(self.clients, self.offered_rate, self.admitted_rate, self.drift, strict=True)
            )
        ]

    def summary(self) -> dict[str, Any]:
        """One flat row: the option's admitted rate against the limit, and its cost."""
        c = self.config
        return {
            "store": c.store,
            "policy": c.policy,
            "instances": c.instances,
            "limit": c.limit,
            "window_s": c.window,
            "sync_every_s": c.sync_every if c.store == "synced" else None,
            "mean_drift": self.mean_drift,
            "max_drift": self.max_drift,
            "worst_case_drift": self.worst_case / c.limit,
            "round_trips_per_decision": self.round_trips_per_decision,
            "sync_exchanges": self.sync_exchanges,
            "sync_exchanges_per_s": self.sync_exchanges / c.duration,
            "staleness_s": self.staleness,
            "max_load_share": float(self.load_share.max()),
        }


def _traffic(cfg: SyncConfig, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """Arrival times (s, microsecond resolution, sorted) and the client index of each."""
    times, owners = [], []
    for c in range(cfg.clients):
        if cfg.arrivals == "poisson":
            t = np.sort(rng.uniform(0.0, cfg.duration, rng.poisson(cfg.rate * cfg.duration)))
        else:  # evenly spaced, clients offset from each other within one interval
            t = (np.arange(math.ceil(cfg.rate * cfg.duration)) + c / cfg.clients) / cfg.rate
            t = t[t < cfg.duration]
        times.append(np.round(t, 6))
        owners.append(np.full(len(t), c, dtype=np.int64))
    t, owner = np.concatenate(times), np.concatenate(owners)
    order = np.lexsort((owner, t))
    return t[order], owner[order]


def _routes(cfg: SyncConfig, owner: np.ndarray, rng: np.random.Generator, names: Sequence[str]) -> np.ndarray:
    if cfg.policy == "round_robin":  # one balancer in front: the next instance for every request
        return np.arange(len(owner)) % cfg.instances
    if cfg.policy == "random":
        return rng.integers(0, cfg.instances, len(owner))
    return np.array([sticky_instance(n, cfg.instances) for n in names], dtype=np.int64)[owner]


def simulate_sync(config: SyncConfig | None = None, /, **params: Any) -> SyncResult:
    """Run the model for ``config`` (or a :class:`SyncConfig` built from ``params``); deterministic for a
    seed. Every decision is a real limiter's, over the stores of the chosen option."""
    cfg = config if config is not None else SyncConfig(**params)
    if config is not None and params:
        cfg = replace(config, **params)
    rng = np.random.default_rng(cfg.seed)
    names = tuple(client_name(i) for i in range(cfg.clients))
    t, owner = _traffic(cfg, rng)
    route = _routes(cfg, owner, rng, names)
    M = cfg.instances
    synced: list[SyncedStore] = []
    if cfg.store == "shared":
        limiters = [make_limiter(cfg.algorithm, cfg.limit, cfg.window, MemoryStore())] * M
    elif cfg.store == "local":
        limiters = [make_limiter(cfg.algorithm, cfg.limit, cfg.window, MemoryStore()) for _ in range(M)]
    else:
        central = MemoryCentral()
        synced = [SyncedStore(central) for _ in range(M)]
        limiters = [make_limiter(cfg.algorithm, cfg.limit, cfg.window, s) for s in synced]
    events: list[tuple[float, int]] = []
    if synced:
        for i in range(M):
            events += [
                (float(s), i)
                for s in np.arange(sync_phase(i, M, cfg.sync_every), cfg.duration, cfg.sync_every)
            ]
        events.sort()
    admitted = np.zeros(len(t), dtype=bool)
    e = 0
    for j, (tj, c, i) in enumerate(zip(t.tolist(), owner.tolist(), route.tolist(), strict=True)):
        while e < len(events) and events[e][0] <= tj:
            synced[events[e][1]].sync(to_micros(events[e][0]))
            e += 1
        admitted[j] = limiters[i].allow(tj, names[c]).allowed
    nw = cfg.windows
    cell = owner * nw + np.minimum((t / cfg.window).astype(np.int64), nw - 1)
    sent = np.bincount(cell, minlength=cfg.clients * nw).reshape(cfg.clients, nw)
    adm = np.bincount(cell[admitted], minlength=cfg.clients * nw).reshape(cfg.clients, nw)
    return SyncResult(
        cfg,
        _frozen(sent),
        _frozen(adm),
        _frozen(np.bincount(route, minlength=M)),
        len(t) if cfg.store == "shared" else 0,
        sum(s.exchanges for s in synced),
        sum(s.values_sent for s in synced),
        names,
    )


def compare_sync(
    config: SyncConfig | None = None, /, options: Sequence[str] = tuple(SYNC_OPTIONS), **params: Any
) -> dict[str, SyncResult]:
    """:func:`simulate_sync` for each of :data:`SYNC_OPTIONS` on the same traffic (same seed)."""
    base = config if config is not None else SyncConfig(**params)
    if config is not None and params:
        base = replace(config, **params)
    return {o: simulate_sync(base.for_option(o)) for o in options}


# --- the live experiment -----------------------------------------------------------------------------


@dataclass(frozen=True)
class LiveSyncConfig:
    """A live run: ``clients`` clients (threads, or processes with ``mode="processes"``) each send
    ``rate`` requests a second (Poisson, paced by real sleeps), for ``windows`` windows of ``window`` seconds, through
    ``instances`` instances; ``runs`` times per option. Keep it short: the whole run is real time."""

    instances: int = 3
    clients: int = 3
    policy: str = "round_robin"
    limit: int = 10
    window: float = 0.5
    windows: int = 3
    rate: float = 200.0
    sync_every: float = 0.1
    algorithm: str = "fixed_window"
    mode: str = "threads"
    runs: int = 3
    seed: int = 0

    def __post_init__(self) -> None:
        _check_int("instances", self.instances, 1, 8)
        _check_int("clients", self.clients, 1, 8)
        _check_choice("policy", self.policy, ("round_robin", "random"))
        check_count("limit", self.limit, "requests")
        _check_seconds("window", self.window, 0.05, 5.0)
        _check_int("windows", self.windows, 1, 20)
        if self.window * self.windows > 10:
            raise ValueError(
                f"window x windows must be at most 10 seconds of real time (got {self.window * self.windows:g})"
            )
        if isinstance(self.rate, bool) or not isinstance(self.rate, Real) or not 0 < self.rate <= 2000:
            raise ValueError(
                f"rate must be more than 0 and at most 2,000 requests per second (got {self.rate!r})"
            )
        _check_seconds("sync_every", self.sync_every, 0.0, 10.0)
        _check_choice("algorithm", self.algorithm, SYNCED_ALGORITHMS)
        _check_choice("mode", self.mode, ("threads", "processes"))
        _check_int("runs", self.runs, 1, 10)
        _check_int("seed", self.seed, 0, 2**32 - 1)

    @property
    def duration(self) -> float:
        return self.window * self.windows


@dataclass(frozen=True, eq=False)
class LiveRun:
    """One live run of one option: per client and window, the requests sent and admitted."""

    sent: np.ndarray  # (clients, windows)
    admitted: np.ndarray
    instance_requests: np.ndarray  # (instances,)
    sync_exchanges: int
    seconds: float


@dataclass(frozen=True, eq=False)
class LiveSyncResult:
    """Every run of one option; spreads are over runs, clients and windows."""

    option: str
    label: str
    config: LiveSyncConfig
    store_backend: str  # "redis" or "memory" (threads only: one in-process store stands in for Redis)
    runs: tuple[LiveRun, ...]

    @property
    def limit(self) -> int:
        return self.config.limit

    @property
    def worst_case(self) -> int:
        return self.config.limit * (1 if self.option in ("shared", "sticky") else self.config.instances)

    @property
    def admitted_per_window(self) -> Spread:
        """Admitted requests of one client in one window: min/median/max over every client-window."""
        return Spread.of(np.concatenate([r.admitted.ravel() for r in self.runs]).tolist())

    @property
    def sent_per_window(self) -> Spread:
        return Spread.of(np.concatenate([r.sent.ravel() for r in self.runs]).tolist())

    @property
    def drift(self) -> Spread:
        """Admitted per client-window over the limit."""
        a = self.admitted_per_window
        return Spread(a.min / self.limit, a.median / self.limit, a.max / self.limit)

    def per_client(self) -> list[Spread]:
        """For each client, its mean admitted per window: min/median/max over runs."""
        return [Spread.of(float(r.admitted[c].mean()) for r in self.runs) for c in range(self.config.clients)]

    @property
    def decisions_per_second(self) -> Spread:
        return Spread.of(float(r.sent.sum()) / r.seconds for r in self.runs)

    def row(self) -> dict[str, Any]:
        a, d = self.admitted_per_window, self.drift
        return {
            "option": self.option,
            "label": self.label,
            "mode": self.config.mode,
            "store": self.store_backend,
            "instances": self.config.instances,
            "limit": self.limit,
            "worst_case": self.worst_case,
            "runs": len(self.runs),
            "admitted_min": a.min,
            "admitted_median": a.median,
            "admitted_max": a.max,
            "drift_min": d.min,
            "drift_median": d.median,
            "drift_max": d.max,
            "sent_per_window_median": self.sent_per_window.median,
            "sync_exchanges_median": statistics.median(r.sync_exchanges for r in self.runs),
        }


class _Instance:
    """One live instance: a limiter over its store, deciding requests at wall-clock time since ``t0``;
    with a synced store, a thread that syncs it every ``sync_every`` seconds (staggered by ``phase``)."""

    def __init__(
        self,
        limiter: Limiter,
        synced: SyncedStore | None = None,
        sync_every: float = 0.0,
        phase: float = 0.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.limiter, self.clock = limiter, clock
        self.synced, self.sync_every, self.phase = synced, sync_every, phase
        self.t0 = 0.0
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self, t0: float) -> None:
        self.t0 = t0
        if self.synced is not None:
            self._thread = threading.Thread(target=self._sync_loop, daemon=True)
            self._thread.start()

    def handle(self, key: str) -> tuple[bool, float]:
        now = max(0.0, self.clock() - self.t0)
        return self.limiter.allow(now, key).allowed, now

    def _sync_loop(self) -> None:
        n = 0
        while not self._stop.wait(max(0.0, self.t0 + self.phase + n * self.sync_every - self.clock())):
            self.synced.sync(to_micros(max(0.0, self.clock() - self.t0)))
            n += 1

    def close(self) -> int:
        """Stop syncing; returns how many syncs this instance made."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
        return self.synced.exchanges if self.synced is not None else 0


def _redis(url: str):
    """A blocking client for the live run's instances (each its own, as separate servers would have)."""
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    return redis.Redis.from_url(
        url, socket_timeout=2.0, socket_connect_timeout=2.0, retry=Retry(NoBackoff(), 0)
    )


def _build_instance(
    index: int, spec: Mapping[str, Any], shared: Mapping[str, Any], clock: Callable[[], float] = time.monotonic
) -> tuple[_Instance, Any]:
    """An instance for one run. ``spec``: the option's store, limit, window, algorithm, sync settings,
    redis URL and prefix; ``shared``: in-process objects every instance of a threads run shares."""
    store_kind, url = spec["store"], spec["redis_url"]
    client, synced = None, None
    if store_kind == "local":
        store: Store = MemoryStore()
    elif store_kind == "shared":
        if url:
            from sdcore.ratelimit.redis_store import RedisStore

            client = _redis(url)
            store = RedisStore(client, prefix=spec["prefix"])
        else:
            store = shared["memory"]
    else:
        if url:
            client = _redis(url)
            central: MemoryCentral | RedisCentral = RedisCentral(client, spec["prefix"])
        else:
            central = shared["central"]
        store = synced = SyncedStore(central)
    limiter = make_limiter(spec["algorithm"], spec["limit"], spec["window"], store)
    phase = sync_phase(index, spec["instances"], spec["sync_every"])
    return _Instance(limiter, synced, spec["sync_every"], phase, clock), client


class _RoundRobin:
    """The load balancer's next-instance counter, shared by every client (a lock, or a lock in shared
    memory between processes)."""

    def __init__(self, value=None) -> None:
        self._value = value
        self._lock = threading.Lock()
        self._n = 0

    def next(self) -> int:
        if self._value is None:
            with self._lock:
                self._n += 1
                return self._n - 1
        with self._value.get_lock():
            self._value.value += 1
            return self._value.value - 1


def _client_loop(
    index: int,
    spec: Mapping[str, Any],
    send: Callable[[int, str], tuple[bool, float]],
    rr: _RoundRobin,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list[int], list[int], list[int]]:
    """One client: Poisson requests from ``t0`` for ``duration`` seconds through the balancer; returns sent
    and admitted per window (by the instance's clock) and requests per instance."""
    M, nw, window = spec["instances"], spec["windows"], spec["window"]
    name = client_name(index)
    rng = np.random.default_rng([spec["seed"], index])
    sticky = sticky_instance(name, M)
    sent, admitted, per_instance = [0] * nw, [0] * nw, [0] * M
    at = spec["t0"]
    while True:
        # Poisson arrivals: clients in lockstep would meet a round robin in lockstep too (with as many
        # clients as instances, each client would always land on the same instance).
        at += float(rng.exponential(1 / spec["rate"]))
        if at >= spec["t0"] + spec["duration"]:
            break
        wait = at - clock()
        if wait > 0:
            sleep(wait)
        if spec["policy"] == "sticky":
            i = sticky
        elif spec["policy"] == "round_robin":
            i = rr.next() % M
        else:
            i = int(rng.integers(M))
        ok, now = send(i, name)
        per_instance[i] += 1
        w = int(now // window)
        if w < nw:
            sent[w] += 1
            admitted[w] += ok
    return sent, admitted, per_instance


# Process mode. Every instance is a process serving its clients' pipes one request at a time (a
# single-threaded server); every client is a process. The parent only configures and collects.


def _instance_process(index: int, control, clients: list) -> None:
    instance, client = None, None
    try:
        while True:
            for conn in wait_for([control, *clients]):
                if conn is control:
                    msg = control.recv()
                    if msg[0] == "setup":
                        instance, client = _build_instance(index, msg[1], {})
                        control.send("ready")
                    elif msg[0] == "start":
                        instance.start(msg[1])
                        control.send("started")
                    elif msg[0] == "teardown":
                        exchanges = instance.close() if instance is not None else 0
                        if client is not None:
                            client.close()
                        instance = client = None
                        control.send(exchanges)
                    else:
                        return
                else:
                    key = conn.recv()
                    conn.send(instance.handle(key))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


def _client_process(index: int, control, instances: list, rr_value) -> None:
    rr = _RoundRobin(rr_value)

    def send(i: int, key: str) -> tuple[bool, float]:
        instances[i].send(key)
        return instances[i].recv()

    try:
        while True:
            msg = control.recv()
            if msg[0] != "run":
                return
            control.send(_client_loop(index, msg[1], send, rr))
    except (EOFError, KeyboardInterrupt, BrokenPipeError):
        return


class _ProcessPool:
    """The instance and client processes of a process-mode experiment, started once for all runs."""

    def __init__(self, instances: int, clients: int, timeout: float) -> None:
        ctx = multiprocessing.get_context("spawn")
        self.timeout = timeout
        self.rr = ctx.Value("q", 0)
        links = [[ctx.Pipe() for _ in range(clients)] for _ in range(instances)]  # links[i][c]
        self.inst_controls, self.client_controls, self.procs = [], [], []
        for i in range(instances):
            mine, theirs = ctx.Pipe()
            self.inst_controls.append(mine)
            self.procs.append(
                ctx.Process(
                    target=_instance_process,
                    args=(i, theirs, [links[i][c][0] for c in range(clients)]),
                    daemon=True,
                )
            )
        for c in range(clients):
            mine, theirs = ctx.Pipe()
            self.client_controls.append(mine)
            self.procs.append(
                ctx.Process(
                    target=_client_process,
                    args=(c, theirs, [links[i][c][1] for i in range(instances)], self.rr),
                    daemon=True,
                )
            )
        for p in self.procs:
            p.start()

    def _recv(self, conn):
        try:
            if conn.poll(self.timeout):
                return conn.recv()
        except (EOFError, OSError):
            codes = [p.exitcode for p in self.procs]
            raise RuntimeError(
                f"a live-experiment process exited early (exit codes {codes}); under the spawn "
                "start method the main script needs an `if __name__ == '__main__':` guard"
            ) from None
        raise RuntimeError(f"a live-experiment process did not answer within {self.timeout:g} s")

    def setup(self, spec: Mapping[str, Any]) -> None:
        for conn in self.inst_controls:
            conn.send(("setup", dict(spec)))
        for conn in self.inst_controls:
            self._recv(conn)

    def start(self, t0: float) -> None:
        for conn in self.inst_controls:
            conn.send(("start", t0))
        for conn in self.inst_controls:
            self._recv(conn)

    def run_clients(self, spec: Mapping[str, Any]) -> list:
        for conn in self.client_controls:
            conn.send(("run", dict(spec)))
        return [self._recv(conn) for conn in self.client_controls]

    def teardown(self) -> list[int]:
        for conn in self.inst_controls:
            conn.send(("teardown",))
        return [self._recv(conn) for conn in self.inst_controls]

    def close(self) -> None:
        for conn in [*self.inst_controls, *self.client_controls]:
            with contextlib.suppress(OSError):
                conn.send(("stop",))
        for p in self.procs:
            p.join(timeout=5)
            if p.is_alive():
                p.terminate()
                p.join()


def _run_threads(
    spec: dict[str, Any],
    start_delay: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> tuple[list, list[int]]:
    shared = {"memory": MemoryStore(), "central": MemoryCentral()}
    built = [_build_instance(i, spec, shared, clock) for i in range(spec["instances"])]
    spec["t0"] = clock() + start_delay
    for inst, _ in built:
        inst.start(spec["t0"])
    rr = _RoundRobin()
    results: list = [None] * spec["clients"]
    errors: list[BaseException] = []

    def client(c: int) -> None:
        try:
            results[c] = _client_loop(c, spec, lambda i, key: built[i][0].handle(key), rr, clock, sleep)
        except BaseException as e:  # reported by the main thread
            errors.append(e)

    threads = [threading.Thread(target=client, args=(c,), daemon=True) for c in range(spec["clients"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    exchanges = [inst.close() for inst, _ in built]
    for _, client_ in built:
        if client_ is not None:
            client_.close()
    if errors:
        raise errors[0]
    return results, exchanges


def _run_processes(
    pool: _ProcessPool, spec: dict[str, Any], start_delay: float, clock: Callable[[], float] = time.monotonic
) -> tuple[list, list[int]]:
    pool.setup(spec)
    spec["t0"] = clock() + start_delay
    pool.start(spec["t0"])
    results = pool.run_clients(spec)
    return results, pool.teardown()


def run_sync_live(
    config: LiveSyncConfig | None = None,
    /,
    options: Sequence[str] = tuple(SYNC_OPTIONS),
    *,
    redis_url: str | None = None,
    start_delay: float = 0.15,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
    **params: Any,
) -> dict[str, LiveSyncResult]:
    """Run each option live ``config.runs`` times; see the module docstring.

    ``redis_url`` (``redis://127.0.0.1:6379/0``) is the shared store of ``shared`` and the central store
    of ``synced``; every run uses a fresh key prefix, deleted afterwards. Without it, the threads mode
    shares one in-process store instead, and the processes mode cannot run those two options (separate
    processes share no memory: that is the point). ``start_delay`` seconds let every instance and client
    get ready before the first request. ``clock`` and ``sleep`` are the real time this live run reads and
    waits on (injectable, as for every live adapter); separate processes all read the system's monotonic
    clock, so the processes mode uses that."""
    cfg = config if config is not None else LiveSyncConfig(**params)
    if config is not None and params:
        cfg = replace(config, **params)
    for o in options:
        _check_choice("option", o, SYNC_OPTIONS)
        if cfg.mode == "processes" and SYNC_OPTIONS[o].store != "local" and not redis_url:
            raise ValueError(
                f"option {o!r} in the processes mode needs redis_url (processes share no memory)"
            )
    pool = (
        _ProcessPool(cfg.instances, cfg.clients, timeout=cfg.duration + 30)
        if cfg.mode == "processes"
        else None
    )
    cleanup = _redis(redis_url) if redis_url else None
    out: dict[str, LiveSyncResult] = {}
    try:
        for o in options:
            opt = SYNC_OPTIONS[o]
            runs = []
            for r in range(cfg.runs):
                spec = {
                    **asdict(cfg),
                    "store": opt.store,
                    "policy": opt.policy or cfg.policy,
                    "duration": cfg.duration,
                    "redis_url": redis_url,
                    "seed": cfg.seed + r,
                    "prefix": f"sds:sync:{uuid.uuid4().hex[:12]}:",
                }
                if pool is None:
                    results, exchanges = _run_threads(spec, start_delay, clock, sleep)
                else:
                    results, exchanges = _run_processes(pool, spec, start_delay)
                elapsed_clock = clock if pool is None else time.monotonic  # processes share the system clock
                seconds = elapsed_clock() - spec["t0"]
                if cleanup is not None:
                    from sdcore.ratelimit.redis_store import delete_prefix

                    delete_prefix(cleanup, spec["prefix"])
                sent = np.array([s for s, _, _ in results], dtype=np.int64)
                admitted = np.array([a for _, a, _ in results], dtype=np.int64)
                per_instance = np.array([p for _, _, p in results], dtype=np.int64).sum(axis=0)
                runs.append(LiveRun(sent, admitted, per_instance, sum(exchanges), max(seconds, 1e-9)))
            backend = "redis" if redis_url and opt.store != "local" else "memory"
            out[o] = LiveSyncResult(o, opt.label, cfg, backend, tuple(runs))
    finally:
        if pool is not None:
            pool.close()
        if cleanup is not None:
            cleanup.close()
    return out
