"""The five algorithms as atomic read-decide-write steps over integers.

Each step is ``step(state, now_us, *parameters) -> (new_state, raw)``: ``state`` is what a store keeps for
one client (``None`` for a client never seen), ``raw`` is a tuple of integers the limiter turns into a
:class:`~sdcore.ratelimit.decision.Decision`. A store runs one step per decision, atomically; the in-memory
store calls these functions, and a Redis store runs the same arithmetic as one Lua script. They are the
reference semantics, so they use only integers and floor division (``//`` rounds towards minus infinity,
as Lua's ``math.floor(a / b)`` does for the exact quotients used here): every decision is bit-identical
wherever it runs.

Shared rules:

- Time is in whole microseconds. A ``now_us`` earlier than the last one seen for the client is treated as
  the last one (clocks of different servers disagree a little; the state never goes back in time).
- Sliding windows are half-open, ``(now - window, now]``: an entry exactly one window old has expired.
  The sliding log also offers the closed window ``[now - window, now]`` (``inclusive_edge``: Xu's book
  and ``limits``' moving window), where such an entry still counts. Fixed windows are aligned to multiples of the window from t = 0: ``[k * window, (k + 1) * window)``.
- ``retry_us`` is the time until a retry would succeed if nothing else arrived (0 when allowed); one
  microsecond earlier it would fail.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right

from sdcore.ratelimit.units import MICROS_PER_SECOND

MICRO = MICROS_PER_SECOND  # micro-tokens per token, microseconds per second


def token_bucket_step(
    state: tuple[int, int, int] | None, now_us: int, capacity_ut: int, rate_uts: int
) -> tuple[tuple[int, int, int], tuple[int, int, int]]:
    """Token bucket: starts full; ``rate_uts`` micro-tokens per second drip back in; a request takes one
    token (1,000,000 micro-tokens) or is rejected.

    State ``(tokens_ut, carry, last_us)``: whole micro-tokens, the fraction of a micro-token earned but not
    yet whole (in millionths, ``0 <= carry < 1_000_000``) so that no refill is lost to rounding however
    often requests arrive, and the time of the last refill. Together ``tokens_ut * 10**6 + carry`` is the
    level in 10**-12 tokens, and a refill over ``dt`` microseconds adds exactly ``dt * rate_uts`` to it.
    A full bucket holds ``capacity_ut`` with ``carry = 0``.

    Raw result ``(allowed, tokens_ut, retry_us)``, tokens after the decision;
    ``retry_us = ceil(((10**6 - tokens_ut) * 10**6 - carry) / rate_uts)``.

    For Lua (exact below 2**53): first cap ``dt`` at the time to fill the bucket (the result is then full
    either way), then with ``dt = a * 10**6 + b`` and ``rate_uts = c * 10**6 + d`` (``0 <= b, d < 10**6``)
    compute ``whole = a*c*10**6 + a*d + b*c + (b*d + carry) // 10**6`` and
    ``carry = (b*d + carry) % 10**6``: the same numbers as the ``divmod`` below, with small terms.
    """
    if state is None:
        tokens, carry, last = capacity_ut, 0, now_us
    else:
        tokens, carry, last = state
    now = max(now_us, last)
    if tokens < capacity_ut:
        whole, carry = divmod(carry + (now - last) * rate_uts, MICRO)
        tokens += whole
        if tokens >= capacity_ut:
            tokens, carry = capacity_ut, 0
    if tokens >= MICRO:
        tokens -= MICRO
        return (tokens, carry, now), (1, tokens, 0)
    need = (MICRO - tokens) * MICRO - carry
    return (tokens, carry, now), (0, tokens, -(-need // rate_uts))


def leaking_bucket_step(
    state: tuple[int, int | None] | None, now_us: int, queue_size: int, interval_us: int
) -> tuple[tuple[int, int | None], tuple[int, int, int, int]]:
    """Leaking bucket: a FIFO queue drained one request every ``interval_us``.

    Admitted request i departs at ``max(arrival_i, departure of the previous admitted + interval_us)``; it is
    waiting while ``arrival <= t < departure`` (one that departs on arrival never waits). A request is
    admitted iff fewer than ``queue_size`` admitted requests are waiting.

    The queue needs no list: the waiting requests always depart back to back (a request that arrives
    after the previous departure + interval departs on arrival, so it never waits), so they are the last
    ``ceil((last_departure - now) / interval_us)`` admitted ones. State ``(last_seen_us, last_departure_us)``
    (``None`` before the first admission): two integers per client, like GCRA.

    Admitted iff ``last_departure - now <= (queue_size - 1) * interval_us``.
    Raw result ``(allowed, departure_us (-1 if rejected), waiting_after, retry_us)``; a rejected request
    can retry when the oldest waiting request departs: ``last_departure - (queue_size - 1) * interval - now``.
    """
    if state is None:
        last_seen, last_dep = now_us, None
    else:
        last_seen, last_dep = state
    now = max(now_us, last_seen)
    if last_dep is None:
        dep = now
    elif last_dep - now <= (queue_size - 1) * interval_us:
        dep = max(now, last_dep + interval_us)
    else:
        waiting = -((now - last_dep) // interval_us)
        retry = last_dep - (queue_size - 1) * interval_us - now
        return (now, last_dep), (0, -1, waiting, retry)
    return (now, dep), (1, dep, -((now - dep) // interval_us), 0)


def fixed_window_step(
    state: tuple[int, int] | None, now_us: int, limit: int, window_us: int
) -> tuple[tuple[int, int], tuple[int, int, int]]:
    """Fixed window counter: count admitted requests in ``[k * window, (k + 1) * window)``; admit while the
    count is below ``limit``. Only admitted requests are counted (so the count never exceeds the limit).

    State ``(last_seen_us, count)``: the window is ``last_seen_us // window_us``.
    Raw result ``(allowed, count_after, retry_us)``; a rejected request can retry when the next window
    opens: ``(k + 1) * window_us - now``.
    """
    if state is None:
        now, count = now_us, 0
    else:
        last, count = state
        now = max(now_us, last)
        if now // window_us != last // window_us:
            count = 0
    if count < limit:
        return (now, count + 1), (1, count + 1, 0)
    return (now, count), (0, count, (now // window_us + 1) * window_us - now)


def sliding_log_step(
    state: tuple[int, list[int]] | None,
    now_us: int,
    limit: int,
    window_us: int,
    log_rejected: bool,
    inclusive_edge: bool = False,
) -> tuple[tuple[int, list[int]], tuple[int, int, int]]:
    """Sliding window log: keep a sorted log of request times; drop those that have left the window;
    admit iff fewer than ``limit`` remain. The textbook logs rejected requests too (``log_rejected``), so a
    client that keeps sending stays blocked; most libraries log only admitted ones.

    The window is ``(now - window, now]`` (an entry exactly one window old has left: drop entries at or
    before ``now - window``), or with ``inclusive_edge`` ``[now - window, now]`` (it still counts: drop
    entries before ``now - window``). With whole-second timestamps and a one-second window the two differ
    on every pair of requests one second apart.

    State ``(last_seen_us, log)``; the list is updated in place (a Redis store keeps a sorted set).
    Raw result ``(allowed, log_size_after, retry_us)``. With the log after this request, ``e[n - limit]``
    (``n`` entries, oldest first) is the entry that must expire before a retry fits:
    ``retry_us = e[n - limit] + window_us - now`` (plus 1 µs with ``inclusive_edge``: the entry leaves
    only once it is strictly more than one window old).
    """
    if state is None:
        last, log = now_us, []
    else:
        last, log = state
    now = max(now_us, last)
    if inclusive_edge:
        del log[: bisect_left(log, now - window_us)]
    else:
        del log[: bisect_right(log, now - window_us)]
    if len(log) < limit:
        log.append(now)
        return (now, log), (1, len(log), 0)
    if log_rejected:
        log.append(now)
    retry = log[len(log) - limit] + window_us + (1 if inclusive_edge else 0) - now
    return (now, log), (0, len(log), retry)


def sliding_window_counter_step(
    state: tuple[int, int, int, int] | None, now_us: int, limit: int, window_us: int
) -> tuple[tuple[int, int, int, int], tuple[int, int, int]]:
    """Sliding window counter: two fixed-window counts (aligned to multiples of the window) stand in for
    the log. The rolling window ``(now - window, now]`` overlaps the previous fixed window for
    ``span = (k + 1) * window - now`` microseconds, so the estimate is
    ``current + previous * span / window``; admit iff it is below ``limit``, unrounded, compared in
    integers: ``current * window + previous * span < limit * window``.

    State ``(last_seen_us, window_index, current, previous)``, counts of admitted requests.
    Raw result ``(allowed, estimate_after * window_us, retry_us)`` (the estimate counts this request if
    admitted). Retry: later in this window when ``previous * (window - elapsed) <= (limit - current) *
    window - 1``; otherwise in the next window, where this window's count becomes the previous one.

    For Lua: the largest product is ``limit * window_us``; it stays exact below 2**53 (for example up to
    1,000 requests per day, or 1,000,000 per hour).
    """
    W = window_us
    if state is None:
        now, cur, prev = now_us, 0, 0
        k = now // W
    else:
        last, k_last, cur, prev = state
        now = max(now_us, last)
        k = now // W
        if k == k_last + 1:
            cur, prev = 0, cur
        elif k != k_last:
            cur, prev = 0, 0
    num = cur * W + prev * ((k + 1) * W - now)
    if num < limit * W:
        cur += 1
        return (now, k, cur, prev), (1, num + W, 0)
    return (now, k, cur, prev), (0, num, _counter_retry_us(now, k, cur, prev, limit, W))


def _counter_retry_us(now: int, k: int, cur: int, prev: int, limit: int, W: int) -> int:
    # Rejected with cur < limit implies prev > 0 (else the estimate would be cur < limit).
    if cur < limit:
        elapsed = W - ((limit - cur) * W - 1) // prev
        if elapsed < W:
            return k * W + elapsed - now
    elapsed = max(0, W - (limit * W - 1) // cur) if cur else 0
    if elapsed < W:
        return (k + 1) * W + elapsed - now
    return (k + 2) * W - now  # only for a 1-µs window at the limit: the window after next starts empty


def gcra_step(
    state: tuple[int, int] | None, now_us: int, interval_us: int, tolerance_us: int
) -> tuple[tuple[int, int], tuple[int, int, int, int]]:
    """GCRA, the generic cell rate algorithm (ATM's leaky bucket as a meter; what redis-cell uses).

    One number per client, the theoretical arrival time ``tat``: when the next request would be due if
    requests came exactly one ``interval_us`` apart. A request is conforming iff it is not earlier than
    ``tat - tolerance_us``; then ``tat`` moves on by one interval. With ``tolerance = (burst - 1) *
    interval`` it makes the same decisions as a token bucket of capacity ``burst`` refilled one token per
    interval (the bucket's level is ``burst - (tat - now) / interval``).

    State ``(last_seen_us, tat_us)``. Raw result ``(allowed, remaining, retry_us, tat_after)`` with
    ``remaining = max(0, (tolerance - (tat - now)) // interval + 1)`` (requests still conforming now) and,
    when rejected, ``retry_us = tat - tolerance - now``.
    """
    if state is None:
        now, tat = now_us, now_us
    else:
        last, tat = state
        now = max(now_us, last)
    tat = max(tat, now)
    if tat - now <= tolerance_us:
        tat += interval_us
        return (now, tat), (1, max(0, (tolerance_us - (tat - now)) // interval_us + 1), 0, tat)
    return (now, tat), (0, 0, tat - tolerance_us - now, tat)
