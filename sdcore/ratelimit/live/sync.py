"""The synchronization issue run for real (see :mod:`sdcore.ratelimit.sync` for the scenario and the
virtual-time model): wall-clock threads or processes as clients and instances, ``shared`` and ``synced``
on a real Redis. It cannot be deterministic: it runs ``runs`` times and reports min/median/max.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import statistics
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, replace
from multiprocessing.connection import wait as wait_for
from numbers import Real
from typing import Any

import numpy as np

from sdcore.checks import number_text
from sdcore.ratelimit.limiters import Limiter, make_limiter
from sdcore.ratelimit.spread import Spread
from sdcore.ratelimit.store import MemoryStore, Store
from sdcore.ratelimit.sync import (
    SYNC_OPTIONS,
    SYNCED_ALGORITHMS,
    MemoryCentral,
    SyncedStore,
    _check_choice,
    _check_int,
    _check_seconds,
    client_name,
    sticky_instance,
    sync_phase,
)
from sdcore.ratelimit.units import check_count, to_micros


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
                f"window x windows must be at most 10 seconds of real time (got {number_text(self.window * self.windows)})"
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
    index: int,
    spec: Mapping[str, Any],
    shared: Mapping[str, Any],
    clock: Callable[[], float] = time.monotonic,
) -> tuple[_Instance, Any]:
    """An instance for one run. ``spec``: the option's store, limit, window, algorithm, sync settings,
    redis URL and prefix; ``shared``: in-process objects every instance of a threads run shares."""
    store_kind, url = spec["store"], spec["redis_url"]
    client, synced = None, None
    if store_kind == "local":
        store: Store = MemoryStore()
    elif store_kind == "shared":
        if url:
            from sdcore.ratelimit.live.redis_store import RedisStore

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
        raise RuntimeError(f"a live-experiment process did not answer within {number_text(self.timeout)} s")

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
                    from sdcore.ratelimit.live.redis_store import delete_prefix

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
