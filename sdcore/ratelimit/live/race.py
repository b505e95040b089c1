"""The race condition of a shared counter, live: K threads, each with its own Redis connection, hammer one
key through a check-then-act that is, or is not, atomic.

A live experiment on a real server with real threads (so it sleeps and reads the wall clock, through the
injectable ``sleep`` and ``clock``); it cannot be deterministic, so it runs several times and reports
min/median/max. Every request falls into one fixed window (window 3600 s, one virtual ``now``), so the only
way to admit more than the limit is the race.

The variants, weakest first (``think_time`` seconds pass between the read and the write, as they would
while a server does other work; it makes the race window visible):

- ``get_set``: GET the count, decide, SET count + 1. Lost updates: two clients that read the same count
  both write the same next value, so the counter itself undercounts and the overshoot grows with every
  round of the race.
- ``get_incr``: GET, decide, INCR. The counter is exact, but every client that read "below the limit"
  before the others incremented is admitted: at most ``clients - 1`` extra.
- ``log_separate``: the sliding log as separate commands (ZREMRANGEBYSCORE, ZCARD, decide, ZADD): the same
  check-then-act race on a sorted set.
- ``watch_multi``: optimistic locking: WATCH the key, GET, decide, MULTI/SET/EXEC; EXEC fails if another
  client wrote the key since WATCH, and the client retries (retries counted). Never overshoots.
- ``lua``: the :class:`~sdcore.ratelimit.live.redis_store.RedisStore` fixed window, read-decide-write in one
  script, which Redis runs without interleaving. Never overshoots; ``think_time`` does not apply (nothing
  can happen between the read and the write inside a script).
- ``lua_log``: the RedisStore sliding log, likewise.
"""

from __future__ import annotations

import contextlib
import secrets
import threading
import time
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable
from numbers import Real
from types import MappingProxyType
from typing import ClassVar

import redis

from sdcore import checks
from sdcore.ratelimit.distributed import VARIANTS, RaceResult, RaceRun
from sdcore.ratelimit.limiters import FixedWindowCounter, SlidingWindowLog
from sdcore.ratelimit.live.redis_store import RedisStore, delete_prefix
from sdcore.ratelimit.units import check_count, check_window, to_micros

RACE_WINDOW = 3600.0  # seconds: every request of a race falls into one window
RACE_NOW = 1800.0  # the virtual time of every request of a race, mid-window


class RaceVariant(ABC):
    """One way to implement "admit if fewer than ``limit`` in this window" on a Redis ``client``.

    ``allow(key, now)`` decides one request; ``retries`` counts optimistic-lock retries (WATCH/MULTI
    only). One instance per client connection (not shared between threads). Keys are ``prefix + ...``.
    """

    name: ClassVar[str]
    label: ClassVar[str]
    atomic: ClassVar[bool]

    def __init__(
        self,
        client: redis.Redis,
        limit: int,
        window: float = RACE_WINDOW,
        think_time: float = 0.0,
        *,
        prefix: str = "sds:race:",
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.client = client
        self.limit = check_count("limit", limit, "requests")
        self.window_us = check_window("window", window)
        self.think_time = _check_think_time(think_time)
        self.prefix = prefix
        self.sleep = sleep
        self.retries = 0
        # Garbage collection only: the window plus a minute, in real milliseconds.
        self._ttl_ms = self.window_us // 1000 + 60_000

    def _think(self) -> None:
        if self.think_time:
            self.sleep(self.think_time)

    def _counter_key(self, key: str, now_us: int) -> str:
        return f"{self.prefix}fw:{key}:{now_us // self.window_us}"

    @abstractmethod
    def allow(self, key: str, now: float) -> bool:
        """Decide one request of client ``key`` at virtual time ``now`` (seconds)."""


class GetSetFixedWindow(RaceVariant):
    name, atomic = "get_set", False
    label = VARIANTS["get_set"].label

    def allow(self, key: str, now: float) -> bool:
        counter = self._counter_key(key, to_micros(now))
        count = int(self.client.get(counter) or 0)
        self._think()
        if count >= self.limit:
            return False
        self.client.set(counter, count + 1, px=self._ttl_ms)
        return True


class GetIncrFixedWindow(RaceVariant):
    name, atomic = "get_incr", False
    label = VARIANTS["get_incr"].label

    def allow(self, key: str, now: float) -> bool:
        counter = self._counter_key(key, to_micros(now))
        count = int(self.client.get(counter) or 0)
        self._think()
        if count >= self.limit:
            return False
        # Two commands: a crash between them would leave a counter without TTL (another classic bug).
        self.client.incr(counter)
        self.client.pexpire(counter, self._ttl_ms)
        return True


class SeparateCommandsLog(RaceVariant):
    name, atomic = "log_separate", False
    label = VARIANTS["log_separate"].label

    def allow(self, key: str, now: float) -> bool:
        now_us = to_micros(now)
        log = f"{self.prefix}log:{key}"
        self.client.zremrangebyscore(log, "-inf", now_us - self.window_us)
        size = self.client.zcard(log)
        self._think()
        if size >= self.limit:
            return False
        self.client.zadd(log, {f"{now_us}:{secrets.token_hex(8)}": now_us})
        self.client.pexpire(log, self._ttl_ms)
        return True


class WatchMultiFixedWindow(RaceVariant):
    name, atomic = "watch_multi", True
    label = VARIANTS["watch_multi"].label

    def allow(self, key: str, now: float) -> bool:
        counter = self._counter_key(key, to_micros(now))
        with self.client.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(counter)
                    count = int(pipe.get(counter) or 0)
                    self._think()
                    if count >= self.limit:
                        # The count only grows within a window, so a stale read cannot wrongly reject.
                        pipe.unwatch()
                        return False
                    pipe.multi()
                    pipe.set(counter, count + 1, px=self._ttl_ms)
                    pipe.execute()
                    return True
                except redis.WatchError:
                    self.retries += 1


class LuaFixedWindow(RaceVariant):
    name, atomic = "lua", True
    label = VARIANTS["lua"].label

    def __init__(
        self, client, limit, window=RACE_WINDOW, think_time=0.0, *, prefix="sds:race:", sleep=time.sleep
    ):
        super().__init__(client, limit, window, think_time, prefix=prefix, sleep=sleep)
        self._limiter = FixedWindowCounter(self.limit, window, store=RedisStore(client, prefix=prefix))

    def allow(self, key: str, now: float) -> bool:
        return self._limiter.allow(now, key).allowed


class LuaSlidingLog(RaceVariant):
    name, atomic = "lua_log", True
    label = VARIANTS["lua_log"].label

    def __init__(
        self, client, limit, window=RACE_WINDOW, think_time=0.0, *, prefix="sds:race:", sleep=time.sleep
    ):
        super().__init__(client, limit, window, think_time, prefix=prefix, sleep=sleep)
        store = RedisStore(client, prefix=prefix)
        self._limiter = SlidingWindowLog(self.limit, window, log_rejected=False, store=store)

    def allow(self, key: str, now: float) -> bool:
        return self._limiter.allow(now, key).allowed


RACE_VARIANTS: MappingProxyType[str, type[RaceVariant]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            GetSetFixedWindow,
            GetIncrFixedWindow,
            SeparateCommandsLog,
            WatchMultiFixedWindow,
            LuaFixedWindow,
            LuaSlidingLog,
        )
    }
)


def run_race(
    client_factory: Callable[[], redis.Redis],
    variant: str | type[RaceVariant],
    *,
    clients: int = 8,
    requests_per_client: int = 50,
    limit: int = 10,
    think_time: float = 0.001,
    runs: int = 5,
    prefix: str = "sds:race:",
    clock: Callable[[], float] = time.perf_counter,
    sleep: Callable[[float], None] = time.sleep,
) -> RaceResult:
    """``clients`` threads, each with its own connection from ``client_factory()``, send
    ``requests_per_client`` requests each for one key, all at the same virtual time, through ``variant``
    (a name in :data:`RACE_VARIANTS` or a :class:`RaceVariant` class); ``runs`` times, each on a fresh
    key under ``prefix`` (deleted afterwards). The clock starts when all threads are connected and
    released together."""
    cls = RACE_VARIANTS.get(variant) if isinstance(variant, str) else variant
    if not (isinstance(cls, type) and issubclass(cls, RaceVariant)):
        raise ValueError(f"variant must be one of {', '.join(RACE_VARIANTS)} (got {variant!r})")
    clients = _check_int("clients", clients, 1, 64)
    requests_per_client = _check_int("requests_per_client", requests_per_client, 1, 100_000)
    runs = _check_int("runs", runs, 1, 100)
    limit = check_count("limit", limit, "requests")
    think_time = _check_think_time(think_time)
    results = [
        _one_run(client_factory, cls, clients, requests_per_client, limit, think_time, prefix, clock, sleep)
        for _ in range(runs)
    ]
    return RaceResult(cls.name, cls.label, cls.atomic, clients, requests_per_client, limit, think_time,
                      tuple(results))  # fmt: skip


def compare_race(
    client_factory: Callable[[], redis.Redis],
    variants: tuple[str, ...] = tuple(RACE_VARIANTS),
    *,
    clients: int = 8,
    requests_per_client: int = 50,
    limit: int = 10,
    think_time: float = 0.001,
    runs: int = 5,
    prefix: str = "sds:race:",
) -> tuple[RaceResult, ...]:
    """:func:`run_race` for each variant with the same settings."""
    return tuple(
        run_race(client_factory, v, clients=clients, requests_per_client=requests_per_client, limit=limit,
                 think_time=think_time, runs=runs, prefix=prefix)
        for v in variants
    )  # fmt: skip


def _check_think_time(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, Real) or not 0 <= value <= 1:
        raise ValueError(f"think_time must be between 0 and 1 second (got {value!r})")
    return float(value)


_check_int = checks.count_between


def _one_run(client_factory, cls, clients, requests_per_client, limit, think_time, prefix, clock, sleep):
    run_prefix = f"{prefix}{uuid.uuid4().hex[:12]}:"
    ready = threading.Barrier(clients + 1)
    admitted = [0] * clients
    retries = [0] * clients
    errors: list[BaseException] = []

    def worker(i: int) -> None:
        client = client_factory()
        try:
            variant = cls(client, limit, RACE_WINDOW, think_time, prefix=run_prefix, sleep=sleep)
            client.ping()  # connect before the start line
        except BaseException as e:  # reported by the main thread
            errors.append(e)
            ready.abort()
            client.close()
            return
        try:
            ready.wait()
            n = 0
            for _ in range(requests_per_client):
                n += variant.allow("shared", RACE_NOW)
            admitted[i], retries[i] = n, variant.retries
        except threading.BrokenBarrierError:
            pass
        except BaseException as e:
            errors.append(e)
        finally:
            client.close()

    threads = [threading.Thread(target=worker, args=(i,), daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    with contextlib.suppress(threading.BrokenBarrierError):  # a worker failed to connect: reported below
        ready.wait()
    start = clock()
    for t in threads:
        t.join()
    seconds = clock() - start
    cleanup = client_factory()
    try:
        delete_prefix(cleanup, run_prefix)
    finally:
        cleanup.close()
    if errors:
        raise errors[0]
    return RaceRun(sum(admitted), clients * requests_per_client, seconds, sum(retries), limit)
