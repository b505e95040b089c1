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

import math
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType
from typing import Any

import mmh3
import numpy as np

from sdcore import checks
from sdcore.checks import number_text
from sdcore.ratelimit import steps
from sdcore.ratelimit.limiters import make_limiter
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


class SyncedStore(Store):
    """Counters kept in this instance and exchanged with ``central`` when :meth:`sync` is called (every S
    seconds). A window's count is ``base + pending``: the central total as of the last sync, plus what
    this instance admitted since. Decisions never wait for the network; the price is staleness.

    Implements the two counter algorithms (fixed window, sliding window counter) with the arithmetic of
    :mod:`sdcore.ratelimit.steps`, over the synced counts."""

    def __init__(self, central: MemoryCentral, *, ttl_margin_ms: int = 60_000) -> None:
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


_check_int = checks.count_between
_check_seconds = checks.seconds_between


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
                f"duration must be at least one window ({number_text(self.window)} s) (got {self.duration!r})"
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
    # What limiters[i].allow(tj, name).allowed decides, without a Decision per request: the store's step
    # with the limiter's integer parameters (in the store's argument order); its first value is "allowed".
    steps_ = [(getattr(lim.store, lim.algorithm), tuple(lim.params.values())) for lim in limiters]
    e = 0
    for j, (tj, c, i) in enumerate(zip(t.tolist(), owner.tolist(), route.tolist(), strict=True)):
        while e < len(events) and events[e][0] <= tj:
            synced[events[e][1]].sync(to_micros(events[e][0]))
            e += 1
        step, args = steps_[i]
        admitted[j] = step(names[c], to_micros(tj), *args)[0]
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
