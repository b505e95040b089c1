"""Where a limiter's state lives: the store, separate from the algorithm (as in ``limits``).

A store has one method per algorithm; each runs one atomic read-decide-write step for one client and
returns the raw integer tuple documented in :mod:`sdcore.ratelimit.steps`. :class:`MemoryStore` keeps the
state in a dict in this process; :class:`~sdcore.ratelimit.live.redis_store.RedisStore` runs each step as one Lua script, so that
servers sharing the store share the limit.

Limiters of the same algorithm that share a store and a key share that client's state (that is what
makes two servers one limit); give different limits different keys.
"""

from __future__ import annotations

import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from typing import Any

from sdcore import checks
from sdcore.ratelimit import steps


class Store(ABC):
    """The state of every client of every limiter that uses this store."""

    @abstractmethod
    def token_bucket(self, key: str, now_us: int, capacity_ut: int, rate_uts: int) -> tuple[int, int, int]:
        """-> ``(allowed, tokens_ut, retry_us)``; see :func:`steps.token_bucket_step`."""

    @abstractmethod
    def leaking_bucket(
        self, key: str, now_us: int, queue_size: int, interval_us: int
    ) -> tuple[int, int, int, int]:
        """-> ``(allowed, departure_us, waiting_after, retry_us)``; see :func:`steps.leaking_bucket_step`."""

    @abstractmethod
    def fixed_window(self, key: str, now_us: int, limit: int, window_us: int) -> tuple[int, int, int]:
        """-> ``(allowed, count_after, retry_us)``; see :func:`steps.fixed_window_step`."""

    @abstractmethod
    def sliding_log(
        self,
        key: str,
        now_us: int,
        limit: int,
        window_us: int,
        log_rejected: bool,
        inclusive_edge: bool = False,
    ) -> tuple[int, int, int]:
        """-> ``(allowed, log_size_after, retry_us)``; see :func:`steps.sliding_log_step`."""

    @abstractmethod
    def sliding_window_counter(
        self, key: str, now_us: int, limit: int, window_us: int
    ) -> tuple[int, int, int]:
        """-> ``(allowed, estimate_after * window_us, retry_us)``; see
        :func:`steps.sliding_window_counter_step`."""

    def gcra(self, key: str, now_us: int, interval_us: int, tolerance_us: int) -> tuple[int, int, int, int]:
        """-> ``(allowed, remaining, retry_us, tat_us)``; see :func:`steps.gcra_step`."""
        raise NotImplementedError(f"{type(self).__name__} does not implement GCRA yet")


class MemoryStore(Store):
    """State in a dict, one entry per (algorithm, client). A lock makes each step atomic across threads.

    ``peek(algorithm, key)`` shows what is stored for one client (the page shows it as "state per client").
    """

    def __init__(self, max_entries: int | None = None) -> None:
        """``max_entries`` bounds the memory a flood of distinct clients can take: past it, the client seen
        least recently is forgotten (its next request starts from a fresh state, as after a long idle)."""
        if max_entries is not None:
            max_entries = checks.int_between("max_entries", max_entries, 1, 100_000_000)
        self.max_entries = max_entries
        self._state: OrderedDict[tuple[str, str], Any] = OrderedDict()
        self._lock = threading.Lock()

    def _run(self, algorithm: str, key: str, step, now_us: int, *params):
        entry = (algorithm, key)
        with self._lock:
            state, raw = step(self._state.get(entry), now_us, *params)
            self._state[entry] = state
            if self.max_entries is not None:
                self._state.move_to_end(entry)
                while len(self._state) > self.max_entries:
                    self._state.popitem(last=False)
        return raw

    def token_bucket(self, key, now_us, capacity_ut, rate_uts):
        return self._run("token_bucket", key, steps.token_bucket_step, now_us, capacity_ut, rate_uts)

    def leaking_bucket(self, key, now_us, queue_size, interval_us):
        return self._run("leaking_bucket", key, steps.leaking_bucket_step, now_us, queue_size, interval_us)

    def fixed_window(self, key, now_us, limit, window_us):
        return self._run("fixed_window", key, steps.fixed_window_step, now_us, limit, window_us)

    def sliding_log(self, key, now_us, limit, window_us, log_rejected, inclusive_edge=False):
        return self._run(
            "sliding_log", key, steps.sliding_log_step, now_us, limit, window_us, bool(log_rejected),
            bool(inclusive_edge),
        )  # fmt: skip

    def sliding_window_counter(self, key, now_us, limit, window_us):
        return self._run(
            "sliding_window_counter", key, steps.sliding_window_counter_step, now_us, limit, window_us
        )

    def gcra(self, key, now_us, interval_us, tolerance_us):
        return self._run("gcra", key, steps.gcra_step, now_us, interval_us, tolerance_us)

    def peek(self, algorithm: str, key: str) -> tuple | None:
        """The stored state of one client (a copy), or ``None`` if the client was never seen."""
        with self._lock:
            state = self._state.get((algorithm, key))
        if state is None:
            return None
        return tuple(list(x) if isinstance(x, list) else x for x in state)

    def snapshot(self, entries) -> MemoryStore:
        """A new store holding copies of the given ``(algorithm, key)`` states only: a scratch pad to try
        decisions ahead of time (e.g. to find an honest Retry-After) without touching the real state."""
        scratch = MemoryStore()
        with self._lock:
            for entry in entries:
                state = self._state.get(entry)
                if state is not None:
                    scratch._state[entry] = tuple(list(x) if isinstance(x, list) else x for x in state)
        return scratch

    def clear(self) -> None:
        with self._lock:
            self._state.clear()

    def __len__(self) -> int:
        return len(self._state)

    # A lock cannot be copied or pickled: copies get a fresh one (copy.deepcopy, st.cache_data).
    def __getstate__(self) -> dict[str, Any]:
        return {"_state": self._state, "max_entries": self.max_entries}

    def __setstate__(self, d: dict[str, Any]) -> None:
        self._state = d["_state"]
        self.max_entries = d.get("max_entries")
        self._lock = threading.Lock()
