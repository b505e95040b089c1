"""A shared store in Redis: every decision is one atomic Lua script, one round trip.

:class:`RedisStore` implements :class:`~sdcore.ratelimit.store.Store`, so any limiter runs on it unchanged,
and servers that share the Redis (and the prefix) share the limit::

    client = redis_client("127.0.0.1", 6379, timeout=0.2)
    bucket = TokenBucket(10, 5.0, store=RedisStore(client, prefix=session_prefix("s1", "burst")))
    bucket.allow(now=time.time(), key="alice")

Each script repeats the integer arithmetic of :mod:`sdcore.ratelimit.steps` exactly, so a decision is
bit-identical to :class:`~sdcore.ratelimit.store.MemoryStore`'s on the same ``now``. Lua numbers are
doubles, exact for integers below 2**53; the scripts keep every intermediate below that (see the notes
at each script) and use ``math.floor(a / b)``, which equals Python's ``a // b`` whenever ``|a| < 2**53``
(the rounding error of the quotient is smaller than its distance to the next integer). Where a
result can exceed 2**53 (a leaking-bucket departure far in the future, a sliding-counter numerator of
``limit * window``), the script returns small parts and Python adds them up.

Time comes only from the ``now`` passed in (never Redis TIME): a ``now`` behind the stored one is clamped
to it, as the steps do. TTLs are garbage collection only, in real milliseconds: the longest a key can
matter in virtual time (the window, two for the sliding counter, the time to refill an empty bucket or
to drain a full queue) plus ``ttl_margin`` seconds, capped at a year, and refreshed on every write, so a
run slower than real time does not lose state mid-trace unless it pauses for longer than the margin.

Key layout under ``prefix`` (client key ``K``; the last ``:`` part names the role, so no two clients'
keys collide):

==========================  ==============================================================================
``tb:K``                    hash ``tokens`` (micro-tokens), ``carry`` (10**-12 tokens), ``last`` (µs)
``lb:K``                    hash ``last`` (µs), ``n``, ``r``, ``interval``: the last departure is
                            ``last + n * interval + r`` (``0 <= r < interval``), kept in two parts
                            because it can pass 2**53
``fw:K:last``, ``fw:K:<k>`` last time seen; admitted count of fixed window ``k`` (INCR)
``swc:K:last``, ``swc:K:<k>``  the same for the sliding window counter (windows ``k`` and ``k - 1`` read)
``log:K:z``, ``log:K:last``  sorted set of request times (score µs, member ``<µs>:<log size>``); last
                            time seen
``gcra:K``                  hash ``last``, ``n``, ``r``, ``interval``: the theoretical arrival time is
                            ``last + n * interval + r``
==========================  ==============================================================================

The prefix separates sandbox sessions and experiments on one shared Redis
(:func:`session_prefix`); :func:`delete_prefix` removes them all (SCAN + UNLINK). Single Redis
instance: the scripts derive the per-window key names, which Redis Cluster would not allow.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from numbers import Real

import redis
from redis.backoff import NoBackoff
from redis.exceptions import NoScriptError
from redis.retry import Retry

from sdcore.ratelimit.spread import Spread
from sdcore.ratelimit.store import Store
from sdcore.ratelimit.units import MICROS_PER_SECOND as MICRO

MAX_TTL_MS = 366 * 24 * 3600 * 1000  # one year: a GC horizon, whatever the limiter's parameters


def _script(name: str) -> str:
    """A decision's Lua script, shipped as package data in ``lua/``: the shared header, then the body."""
    lua = resources.files(__package__) / "lua"
    return (lua / "_header.lua").read_text() + (lua / f"{name}.lua").read_text()


# Every script gets ARGV[1] = now_us and, last, the TTL in milliseconds, computed in Python from the
# parameters (the longest the state can matter, plus the margin). Number-to-string conversions are the
# dearest part of a short script, so the scripts write times back as the strings they came as (ARGV[1],
# or the stored time when the clock is behind) and convert only what they computed. Each script replies
# with one string of space-separated integers ('%d' is exact below 2**53): redis-py's pure-Python parser
# reads one bulk string faster than an array of integer replies (about 5 µs less client CPU per
# decision on the development machine, more than the script spends formatting it).

# Token bucket, KEYS[1] = tb:K, ARGV = now_us, capacity_ut, rate_uts, ttl. Sizes: tokens <= capacity_ut <=
# 10**12, carry < 10**6, rate_uts <= 10**12, now <= 9 * 10**15, so dt * rate can reach 10**28. With
# dt = a * 10**6 + b and rate = c * 10**6 + d, the whole micro-tokens earned are a*c*10**6 + a*d + b*c +
# (b*d + carry) // 10**6, and the new carry is (b*d + carry) % 10**6 (b*d < 10**12): the step's divmod.
# Each term is at most the sum, so when the sum is below 2**53 every term and partial sum is exact; when
# it is not, it is far above capacity_ut (<= 10**12) and the bucket is full either way. (No cap on dt is
# needed, unlike for the unsplit product the step's docstring mentions.)
_TOKEN_BUCKET = _script("token_bucket")

# Leaking bucket, KEYS[1] = lb:K, ARGV = now_us, queue_size, interval_us, ttl. The backlog
# last_departure - now can reach queue_size * interval = 10**18, so it is kept as n * interval + r
# (n <= queue_size, r < interval): admitted iff backlog <= (queue_size - 1) * interval, i.e. n < q - 1, or
# n = q - 1 and r = 0. Returns {allowed, now, n, r, waiting, retry}: Python adds now + n * interval + r
# into the departure.
_LEAKING_BUCKET = _script("leaking_bucket")

# Fixed window, KEYS[1] = fw:K, ARGV = now_us, limit, window_us, ttl. (k + 1) * window <= 9e15 + 10**12.
# One MGET reads the last time and the counter of now's window; only a clock behind the last request
# in an earlier window needs a second read.
_FIXED_WINDOW = _script("fixed_window")

# Sliding window log, KEYS[1] = log:K, ARGV = now_us, limit, window_us, log_rejected (0/1),
# inclusive_edge (0/1), ttl. ZREMRANGEBYSCORE -inf (now - window) drops entries at or before now - window,
# as bisect_right does; with inclusive_edge the bound is exclusive, '(' .. (now - window), and drops only
# entries before it, as bisect_left does (the entry exactly one window old still counts).
# Member "<now>:<size before adding>" is unique: the requests at one (clamped) time come one after
# another with nothing pruned between them, so each finds the log one entry longer.
_SLIDING_LOG = _script("sliding_log")

# Sliding window counter, KEYS[1] = swc:K, ARGV = now_us, limit, window_us, ttl. The step compares
# cur * W + prev * span < limit * W, products up to 10**6 * 10**12 where doubles are 128 apart: instead,
# with rem = limit - cur, admitted iff span <= floor((rem * W - 1) / prev), and floor((a * W - 1) / b) is
# computed as a * (W // b) + floor((a * (W % b) - 1) / b), terms below 2**53 whenever the result is. A
# result past 2**53 is only ever compared with numbers <= W (span, or W itself in the retry), and
# rounding cannot bring it down to them.
# Returns {allowed, cur, prev, span, retry}: Python computes cur * W + prev * span (+ W if admitted).
_SLIDING_WINDOW_COUNTER = _script("sliding_window_counter")


# GCRA, KEYS[1] = gcra:K, ARGV = now_us, interval_us, tolerance // interval, tolerance % interval, ttl.
# Like the leaking bucket's departure, tat - now can reach tolerance + interval ~ 10**18: it is kept as
# n * interval + r, and the tolerance comes split the same way (Python divides exactly), so conforming
# iff (n, r) <= (tq, tr) in lexicographic order. Returns "allowed remaining retry now n r": Python adds
# now + n * interval + r into tat.
_GCRA = _script("gcra")


def _check_prefix(prefix: object) -> str:
    if not isinstance(prefix, str) or not prefix:
        raise ValueError(
            f"prefix must be a non-empty string such as 'sds:session:experiment:' (got {prefix!r})"
        )
    return prefix


class RedisStore(Store):
    """Limiter state in Redis under ``prefix``; each decision is one EVALSHA (see the module docstring).

    ``client`` is a ``redis.Redis`` (thread-safe: threads may share one store). ``ttl_margin`` (seconds,
    1 to 30 days' worth) is added to every key's TTL. Copying a limiter does not copy the Redis state: a
    copy of a RedisStore is the same store (it is a handle to shared state, as a second server would be).
    """

    def __init__(self, client: redis.Redis, prefix: str = "sds:", *, ttl_margin: float = 60.0) -> None:
        if not hasattr(client, "register_script"):
            raise ValueError(f"client must be a redis.Redis client (got {client!r})")
        self.prefix = _check_prefix(prefix)
        if (
            isinstance(ttl_margin, bool)
            or not isinstance(ttl_margin, Real)
            or not 1 <= ttl_margin <= 2_592_000
        ):
            raise ValueError(f"ttl_margin must be between 1 and 2,592,000 seconds (got {ttl_margin!r})")
        self.ttl_margin = float(ttl_margin)
        self._margin_ms = math.ceil(self.ttl_margin * 1000)
        self.client = client
        self._token_bucket = client.register_script(_TOKEN_BUCKET)
        self._leaking_bucket = client.register_script(_LEAKING_BUCKET)
        self._fixed_window = client.register_script(_FIXED_WINDOW)
        self._sliding_log = client.register_script(_SLIDING_LOG)
        self._sliding_window_counter = client.register_script(_SLIDING_WINDOW_COUNTER)
        self._gcra = client.register_script(_GCRA)

    # Each method is one EVALSHA; redis-py's Script object (register_script) loads the script on the
    # first NOSCRIPT (a restarted or different server) and retries.

    def _eval(self, script, key: str, *args):
        try:
            return self.client.evalsha(script.sha, 1, key, *args)
        except NoScriptError:
            return script(keys=[key], args=args)

    def _ttl_ms(self, horizon_us: int) -> int:
        return min(MAX_TTL_MS, -(-horizon_us // 1000) + self._margin_ms)

    def token_bucket(self, key, now_us, capacity_ut, rate_uts):
        # Horizon: refilling from empty, after which the state is that of a fresh, full bucket.
        ttl = self._ttl_ms(-(-capacity_ut * MICRO // rate_uts))
        allowed, tokens_ut, retry_us = self._eval(
            self._token_bucket, self.prefix + "tb:" + key, now_us, capacity_ut, rate_uts, ttl
        ).split()
        return int(allowed), int(tokens_ut), int(retry_us)

    def leaking_bucket(self, key, now_us, queue_size, interval_us):
        # Horizon: a full queue drained, plus one interval.
        ttl = self._ttl_ms((queue_size + 1) * interval_us)
        allowed, now, n, r, waiting, retry_us = map(
            int,
            self._eval(
                self._leaking_bucket, self.prefix + "lb:" + key, now_us, queue_size, interval_us, ttl
            ).split(),
        )
        return allowed, (now + n * interval_us + r) if allowed else -1, waiting, retry_us

    def fixed_window(self, key, now_us, limit, window_us):
        allowed, count, retry_us = self._eval(
            self._fixed_window, self.prefix + "fw:" + key, now_us, limit, window_us, self._ttl_ms(window_us)
        ).split()
        return int(allowed), int(count), int(retry_us)

    def sliding_log(self, key, now_us, limit, window_us, log_rejected, inclusive_edge=False):
        allowed, size, retry_us = self._eval(
            self._sliding_log, self.prefix + "log:" + key, now_us, limit, window_us, int(log_rejected),
            int(bool(inclusive_edge)), self._ttl_ms(window_us + 1),
        ).split()  # fmt: skip
        return int(allowed), int(size), int(retry_us)

    def sliding_window_counter(self, key, now_us, limit, window_us):
        # Horizon: a window's count is read until the end of the next window.
        allowed, cur, prev, span, retry_us = map(int, self._eval(
            self._sliding_window_counter, self.prefix + "swc:" + key, now_us, limit, window_us,
            self._ttl_ms(2 * window_us),
        ).split())  # fmt: skip
        return allowed, cur * window_us + prev * span + (window_us if allowed else 0), retry_us

    def gcra(self, key, now_us, interval_us, tolerance_us):
        # Horizon: tat at most tolerance + interval ahead; after that the state is that of a new client.
        tq, tr = divmod(tolerance_us, interval_us)
        allowed, remaining, retry_us, now, n, r = map(int, self._eval(
            self._gcra, self.prefix + "gcra:" + key, now_us, interval_us, tq, tr,
            self._ttl_ms(tolerance_us + interval_us),
        ).split())  # fmt: skip
        return allowed, remaining, retry_us, now + n * interval_us + r

    def keys(self) -> list[str]:
        """The names of every key under this store's prefix (without the prefix), sorted."""
        n = len(self.prefix)
        return sorted(_text(k)[n:] for k in self.client.scan_iter(match=_glob_escape(self.prefix) + "*"))

    def inspect(self, max_keys: int = 100) -> tuple[KeyInfo, ...]:
        """What Redis holds for this store, key by key (for a page's "what is in Redis" table)."""
        out = []
        for name in self.keys()[:max_keys]:
            full = self.prefix + name
            kind = _text(self.client.type(full))
            if kind == "hash":
                value = ", ".join(
                    f"{_text(f)}={_text(v)}" for f, v in sorted(self.client.hgetall(full).items())
                )
            elif kind == "zset":
                value = ", ".join(f"{s:.0f}" for _, s in self.client.zrange(full, 0, -1, withscores=True))
            elif kind == "string":
                value = _text(self.client.get(full) or b"")
            else:  # expired between SCAN and TYPE
                continue
            out.append(KeyInfo(name, kind, int(self.client.pttl(full)), value))
        return tuple(out)

    def clear(self) -> int:
        """Delete every key of this store's prefix; returns how many were deleted."""
        return delete_prefix(self.client, self.prefix)

    def __copy__(self) -> RedisStore:
        return self

    def __deepcopy__(self, memo: dict) -> RedisStore:
        return self

    def __repr__(self) -> str:
        return f"RedisStore(prefix={self.prefix!r})"


@dataclass(frozen=True)
class KeyInfo:
    """One Redis key of a store: its name without the prefix, type, TTL left (ms) and value as text."""

    name: str
    kind: str
    ttl_ms: int
    value: str


def _text(x: bytes | str) -> str:
    return x.decode() if isinstance(x, bytes) else x


def _glob_escape(s: str) -> str:
    return "".join("\\" + c if c in "*?[]\\" else c for c in s)


def session_prefix(session: str, experiment: str) -> str:
    """``sds:<session>:<experiment>:``: one namespace per sandbox session and experiment, so a whole class
    can share one Redis without seeing each other's counters."""
    for name, value in (("session", session), ("experiment", experiment)):
        if not isinstance(value, str) or not value or ":" in value or any(c in value for c in "*?[]\\ "):
            raise ValueError(
                f"{name} must be a non-empty string without ':', spaces or glob characters (got {value!r})"
            )
    return f"sds:{session}:{experiment}:"


def delete_prefix(client: redis.Redis, prefix: str, *, batch: int = 500) -> int:
    """Delete every key that starts with ``prefix`` (SCAN + UNLINK, in batches, never KEYS or FLUSHDB);
    returns how many keys were deleted."""
    _check_prefix(prefix)
    deleted, pending = 0, []
    for key in client.scan_iter(match=_glob_escape(prefix) + "*", count=batch):
        pending.append(key)
        if len(pending) >= batch:
            deleted += client.unlink(*pending)
            pending.clear()
    if pending:
        deleted += client.unlink(*pending)
    return deleted


def redis_client(
    host: str = "127.0.0.1",
    port: int = 6379,
    *,
    timeout: float = 0.25,
    connect_timeout: float | None = None,
    db: int = 0,
    **options,
) -> redis.Redis:
    """A ``redis.Redis`` for the request path: explicit ``socket_timeout`` (``timeout`` seconds) and
    ``socket_connect_timeout`` (``connect_timeout``, default the same), and no automatic retries (redis-py
    otherwise retries up to 10 times with backoff, which turns an outage into a long stall). A pooled
    connection that the server closed is replaced on the next command, so the client recovers by itself
    when Redis comes back."""
    connect_timeout = timeout if connect_timeout is None else connect_timeout
    for name, value in (("timeout", timeout), ("connect_timeout", connect_timeout)):
        if isinstance(value, bool) or not isinstance(value, Real) or not 0 < value <= 60:
            raise ValueError(f"{name} must be more than 0 and at most 60 seconds (got {value!r})")
    return redis.Redis(
        host=host,
        port=port,
        db=db,
        socket_timeout=timeout,
        socket_connect_timeout=connect_timeout,
        retry=Retry(NoBackoff(), 0),
        **options,
    )


@dataclass(frozen=True)
class RoundTrip:
    """Measured round trips to a Redis, in milliseconds per operation (mean of each run; spread over runs)."""

    ping_ms: Spread
    decision_ms: Spread
    runs: int
    per_run: int


def measure_round_trip(
    client: redis.Redis,
    *,
    runs: int = 5,
    per_run: int = 50,
    prefix: str = "sds:rtt:",
    clock: Callable[[], float] = time.perf_counter,
) -> RoundTrip:
    """Time ``per_run`` PINGs and ``per_run`` fixed-window decisions (one Lua script each), ``runs``
    times. The decisions use a scratch prefix, deleted afterwards."""
    from sdcore.ratelimit.limiters import FixedWindowCounter

    for name, value in (("runs", runs), ("per_run", per_run)):
        if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= 10_000:
            raise ValueError(f"{name} must be a whole number between 1 and 10,000 (got {value!r})")
    store = RedisStore(client, prefix=f"{_check_prefix(prefix)}{uuid.uuid4().hex[:12]}:")
    limiter = FixedWindowCounter(1_000_000, 3600.0, store=store)
    ping, decision = [], []
    try:
        client.ping()  # connect outside the timing
        for _ in range(runs):
            start = clock()
            for _ in range(per_run):
                client.ping()
            ping.append((clock() - start) * 1000 / per_run)
            start = clock()
            for i in range(per_run):
                limiter.allow(1.0, f"k{i % 8}")
            decision.append((clock() - start) * 1000 / per_run)
    finally:
        store.clear()
    return RoundTrip(Spread.of(ping), Spread.of(decision), runs, per_run)
