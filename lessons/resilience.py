"""The resilience page's words: its parameters and presets, the headline numbers of the three runs (no breaker,
breaker, breaker + fallback), the captions and the "why" text computed from the runs, and the experiments.

>>> from sdcore.resilience import compare
>>> cmp = compare(config(PRESETS[DEFAULT_PRESET].values))
>>> [h.label for h in headlines(cmp, "none")][:2]
['Answered', 'Healthy requests failed']
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from lessons.base import Headline, Param, Preset, Reference, num, pct, plural, preset_table, seconds
from sdcore.checks import number_text
from sdcore.resilience import (
    FALLBACKS,
    JITTERS,
    POLICIES,
    SCRIPTS,
    VARIANTS,
    Comparison,
    ConsecutiveFailures,
    DefaultValue,
    Degraded,
    FailFast,
    FailureRateWindow,
    LastGood,
    RetryBudgetConfig,
    RetryPolicy,
    SimulationConfig,
    SimulationResult,
    script,
)

TITLE = "Resilience: circuit breaker and fallback"
IDEA = (
    "A service that waits on a sick dependency gets sick too: slow calls hold its workers until none are left, "
    "and retries pile more load on the dependency that is already failing. A circuit breaker watches the calls, "
    "and when too many fail or crawl it stops sending them for a while (open), lets a few trial calls through "
    "(half-open), and closes again once they succeed. A fallback decides what the user gets meanwhile. Script "
    "the dependency's health below and compare the same requests with no breaker, a breaker, and a breaker "
    "with a fallback."
)

_FALLBACK_SPECS = {"fail_fast": FailFast(), "default": DefaultValue("best-sellers (the default list)"),
                   "last_good": LastGood(), "degraded": Degraded(0.15, "from the simple model")}  # fmt: skip

PARAMS: tuple[Param, ...] = (
    # the dependency's health
    Param("health", "outage", options=tuple(SCRIPTS), labels={k: v.label for k, v in SCRIPTS.items()},
          label="What goes wrong", help="The dependency's script: " + " ".join(
              f"{v.label}: {v.description}" for v in SCRIPTS.values())),
    Param("start", 30, lo=0, hi=300, step=5, label="Episode starts at (s)", help="When the trouble begins."),
    Param("length", 60, lo=5, hi=300, step=5, label="Episode lasts (s)", help="How long the trouble lasts."),
    Param("failure", 100, lo=0, hi=100, step=5, label="Calls that fail (%)",
          help="Share of calls that fail during an outage, a flap or the start of a recovery."),
    Param("slow_latency", 3.0, lo=0.1, hi=10.0, step=0.1, label="Slow latency (s)",
          help="The median latency a slow dependency climbs to."),
    Param("flap", 10, lo=2, hi=60, step=1, label="Flap period (s)",
          help="A flapping dependency fails for this long, then is healthy for this long, and so on."),
    # traffic, pool, timeout, retries
    Param("duration", 120, lo=30, hi=300, step=10, label="Run length (s)", help="Virtual seconds simulated."),
    Param("rate", 100, lo=10, hi=500, step=10, label="Requests per second",
          help="Callers' requests to the service (Poisson arrivals)."),
    Param("share", 50, lo=0, hi=100, step=5, label="Requests that need the dependency (%)",
          help="The rest only do 20 ms of local work: they fail only if the service has no free worker."),
    Param("pool", 50, lo=5, hi=500, step=5, label="Worker pool",
          help="Workers in the service; a request holds one until it answers. None free: it fails at once."),
    Param("timeout", 1.0, lo=0.1, hi=10.0, step=0.1, label="Timeout (s)",
          help="How long the service waits for the dependency before giving up on a call."),
    Param("retries", 0, lo=0, hi=5, step=1, label="Retries per call",
          help="Failed or timed-out calls are tried again, up to this many times (never a rejected one)."),
    Param("backoff", 0.1, lo=0.01, hi=2.0, step=0.01, label="Back-off base (s)",
          help="The wait before the k-th retry is base × 2^(k−1), spread by the jitter."),
    Param("jitter", "full", options=tuple(JITTERS), labels={"none": "None", "full": "Full", "equal": "Equal"},
          label="Jitter", help=" · ".join(JITTERS.values())),
    Param("budget", False, label="Retry budget",
          help="Allow retries only while they stay under a share of the requests of the last second."),
    Param("budget_ratio", 20, lo=0, hi=100, step=5, label="Budget: retries per request (%)",
          help="Retries in the last second may be at most this share of the requests, plus one a second."),
    Param("capacity", 2000, lo=10, hi=2000, step=10, label="Dependency capacity (calls/s)",
          help="Calls beyond this many in the last second are shed by the dependency (they fail fast, a 503)."),
    # breaker
    Param("policy", "consecutive", options=tuple(POLICIES), labels={k: v.label for k, v in POLICIES.items()},
          label="Breaker policy", help=" ".join(f"{v.label}: {v.description}" for v in POLICIES.values())),
    Param("fail_max", 5, lo=1, hi=50, step=1, label="Failures in a row to trip",
          help="pybreaker's fail_max: the breaker opens on this many consecutive failures."),
    Param("success_threshold", 1, lo=1, hi=10, step=1, label="Trial successes to close",
          help="pybreaker's success_threshold: half-open closes after this many successes in a row."),
    Param("window", "count", options=("count", "time"), labels={"count": "Last N calls", "time": "Last N seconds"},
          label="Sliding window", help="resilience4j's COUNT_BASED or TIME_BASED window."),
    Param("size", 20, lo=1, hi=200, step=1, label="Window size (calls or s)",
          help="slidingWindowSize: N calls, or N seconds."),
    Param("min_calls", 10, lo=1, hi=200, step=1, label="Minimum calls",
          help="minimumNumberOfCalls: no decision before the window holds this many (a count window: at most N)."),
    Param("failure_threshold", 50, lo=1, hi=100, step=1, label="Failure rate to trip (%)",
          help="failureRateThreshold: open when at least this share of the window failed."),
    Param("slow_duration", 0.5, lo=0.05, hi=10.0, step=0.05, label="Slow call above (s)",
          help="slowCallDurationThreshold: calls slower than this count as slow, successes included."),
    Param("slow_threshold", 100, lo=1, hi=100, step=1, label="Slow-call rate to trip (%)",
          help="slowCallRateThreshold: open when at least this share of the window was slow."),
    Param("permitted", 5, lo=1, hi=50, step=1, label="Trial calls in half-open",
          help="permittedNumberOfCallsInHalfOpenState: this many trials, the rest rejected; their rates decide."),
    Param("wait", 5, lo=1, hi=120, step=1, label="Open wait (s)",
          help="reset_timeout / waitDurationInOpenState: how long the breaker stays open before trials."),
    Param("half_open_cap", 0, lo=0, hi=50, step=1, label="Trials in flight at once (0: no cap)",
          help="An option libraries lack: at most this many half-open trials at the same time."),
    Param("open_backoff", 1.0, lo=1.0, hi=4.0, step=0.5, label="Open wait × after a failed trial",
          help="An option libraries lack: each trip that follows a failed trial multiplies the wait (1: fixed)."),
    Param("max_wait", 60, lo=1, hi=600, step=1, label="Longest open wait (s)",
          help="The cap on the backed-off open wait (at least the open wait)."),
    Param("fallback", "last_good", options=tuple(FALLBACKS), labels={k: v.label for k, v in FALLBACKS.items()},
          label="Fallback", help=" ".join(f"{v.label}: {v.description}" for v in FALLBACKS.values())),
    Param("seed", 1, lo=0, hi=2**31 - 1, step=1, kind="number", label="Seed",
          help="Same seed, same requests and draws."),
)  # fmt: skip
PARAM = {p.name: p for p in PARAMS}
HEALTH_PARAMS = ("health", "start", "length", "failure", "slow_latency", "flap")
TRAFFIC_PARAMS = ("rate", "share", "pool", "timeout", "duration", "capacity", "retries", "backoff", "jitter",
                  "budget", "budget_ratio")  # fmt: skip
POLICY_PARAMS = MappingProxyType(
    {
        "consecutive": ("fail_max", "success_threshold", "wait"),
        "rate": (
            "window",
            "size",
            "min_calls",
            "failure_threshold",
            "slow_duration",
            "slow_threshold",
            "permitted",
            "wait",
        ),
    }
)
EXTRA_PARAMS = ("half_open_cap", "open_backoff", "max_wait", "seed")


def _preset(name: str, description: str, shows: str, **values: Any) -> Preset:
    unknown = set(values) - set(PARAM)
    if unknown:
        raise ValueError(f"preset {name!r} sets unknown parameters {sorted(unknown)}")
    return Preset(name, description, values, shows)


PRESETS = preset_table((
    _preset(
        "Dependency outage",
        "At 30 s the dependency refuses every call for 60 s. Half the requests need it; the service retries "
        "twice; the breaker trips after 5 failures in a row and tries again every 5 s.",
        "Without a breaker every call and both retries hit the dead dependency (three times the load); with "
        "one, the calls drop to a trial every 5 s and the last good response covers the gap.",
        retries=2, backoff=0.2),
    _preset(
        "Slow dependency (the cascade)",
        "At 30 s the dependency's latency climbs to 3 s. The service waits up to 2 s per call with a pool of "
        "60 workers; the breaker trips when half of the last 20 calls took over 0.5 s.",
        "Without a breaker the waiting calls fill the pool and requests that never touch the dependency fail "
        "too; the breaker fails the slow calls fast and the pool stays free.",
        health="slow", timeout=2.0, pool=60, share=40, policy="rate", slow_threshold=50, fallback="default"),
    _preset(
        "Flapping dependency",
        "From 30 s the dependency fails for 8 s, recovers for 8 s, and so on for a minute. The breaker's wait "
        "doubles after each failed trial, up to 30 s.",
        "The breaker trips on each bad spell; a trial into a bad spell doubles the wait (5 s, then 10 s), so "
        "the breaker probes a flapping dependency less often and may sit open through a healthy spell.",
        health="flapping", flap=8, open_backoff=2.0, max_wait=30),
    _preset(
        "Recovery and half-open trials",
        "The dependency is down for 30 s, then its failure rate falls from 75% to 0 in steps. The breaker "
        "judges 10 trial calls in half-open, two at a time.",
        "Trials during the partial recovery fail the 50% threshold and reopen the breaker; once the failure "
        "rate is well below it the trials pass, though a window of 20 calls at 25% failures still trips by chance.",
        health="recovering", policy="rate", permitted=10, half_open_cap=2, wait=4, fallback="degraded"),
    _preset(
        "Retry storm",
        "At 30 s half of the dependency's calls fail; the service retries up to 3 times, 50 ms apart, against "
        "a dependency that can take 80 calls a second. No retry budget.",
        "Retries multiply the load on the sick dependency well past its capacity, and it sheds calls; switch "
        "the retry budget on to hold the load near the requests' own.",
        failure=50, retries=3, backoff=0.05, capacity=80, policy="rate", size=50, min_calls=20),
))  # fmt: skip
DEFAULT_PRESET = "Dependency outage"


def describe(preset: str) -> str:
    return PRESETS[preset].description


# -- parameters -> the engine's config ----------------------------------------------------------------------


def _values(values: Mapping[str, Any]) -> dict[str, Any]:
    v = {p.name: p.default for p in PARAMS}
    v.update(values)
    return v


def policy(values: Mapping[str, Any]) -> ConsecutiveFailures | FailureRateWindow:
    v = _values(values)
    cap = int(v["half_open_cap"]) or None
    wait = float(v["wait"])
    extras = {"max_half_open_calls": cap, "open_backoff": float(v["open_backoff"]),
              "max_reset_timeout": max(wait, float(v["max_wait"])) if v["open_backoff"] > 1 else None}  # fmt: skip
    if v["policy"] == "consecutive":
        return ConsecutiveFailures(int(v["fail_max"]), wait, int(v["success_threshold"]), **extras)
    return FailureRateWindow(
        window=v["window"], size=int(v["size"]), minimum_calls=int(v["min_calls"]),
        failure_rate_threshold=float(v["failure_threshold"]), slow_call_duration=float(v["slow_duration"]),
        slow_call_rate_threshold=float(v["slow_threshold"]), wait_in_open=wait,
        permitted_calls_in_half_open=int(v["permitted"]), **extras,
    )  # fmt: skip


def config(values: Mapping[str, Any]) -> SimulationConfig:
    """The page's values (any missing take their defaults) -> the engine's frozen config."""
    v = _values(values)
    timeline = script(v["health"], start=float(v["start"]), length=float(v["length"]),
                      failure_rate=v["failure"] / 100, slow_latency=float(v["slow_latency"]),
                      flap_period=float(v["flap"]))  # fmt: skip
    budget = RetryBudgetConfig(ratio=v["budget_ratio"] / 100) if v["budget"] else None
    return SimulationConfig(
        duration=float(v["duration"]), request_rate=float(v["rate"]), dependency_share=v["share"] / 100,
        pool_size=int(v["pool"]), timeout=float(v["timeout"]),
        retry=RetryPolicy(int(v["retries"]), float(v["backoff"]), jitter=v["jitter"]), retry_budget=budget,
        dependency_capacity=float(v["capacity"]), timeline=timeline, breaker=policy(v),
        fallback=_FALLBACK_SPECS[v["fallback"]], seed=int(v["seed"]),
    )  # fmt: skip


# -- headlines ----------------------------------------------------------------------------------------------


def demand(r: SimulationResult) -> float:
    """Dependency calls the requests themselves need, without retries: expected rate x share x duration."""
    c = r.config
    return c.request_rate * c.dependency_share * c.duration


def answered(r: SimulationResult) -> float:
    t = r.totals()
    return (t["success"] + t["fallback"]) / r.requests if r.requests else 0.0


def headlines(cmp: Comparison, variant: str) -> tuple[Headline, ...]:
    """One variant's numbers; the delta compares it with no breaker."""
    r, base = cmp[variant], cmp["none"]
    t = r.totals()
    delta = None if variant == "none" else f"{100 * (answered(r) - answered(base)):+.1f} points"
    p99, p99_base = r.latency_quantile(99), base.latency_quantile(99)
    calls = int(r.dependency_calls.sum())
    return (
        Headline("Answered", pct(answered(r)), delta, help=f"{num(t['success'])} real answers and "
                 f"{num(t['fallback'])} from the fallback, of {plural(r.requests, 'request')}."),
        Headline("Healthy requests failed", num(r.local_failed),
                 None if variant == "none" else f"{r.local_failed - base.local_failed:+,}", delta_color="inverse",
                 help="Requests that never needed the dependency but found every worker busy (the cascade)."),
        Headline("p99 latency", seconds(p99) if math.isfinite(p99) else "—",
                 None if variant == "none" or not math.isfinite(p99) else f"{seconds(abs(p99 - p99_base))} "
                 f"{'faster' if p99 < p99_base else 'slower'}", delta_color="off",
                 help="99% of the requests that got a worker had their answer (or error) within this time."),
        Headline("Dependency calls", num(calls), f"{calls / demand(r):.2f}× the requests' own" if demand(r) else None,
                 delta_color="off", help=f"First attempts and retries sent to the dependency; the requests "
                 f"themselves need about {num(demand(r))}."),
        Headline("Workers busy, peak", f"{int(r.pool_peak.max())} of {r.config.pool_size}",
                 help="The most workers busy at once; at the pool size, new requests fail."),
    )  # fmt: skip


def all_headlines(cmp: Comparison) -> tuple[Headline, ...]:
    """Every variant's headlines, each label prefixed with its variant ("Breaker + fallback: Answered"), in
    the page's column order: the figures the interview recap quotes."""
    return tuple(
        Headline(f"{VARIANTS[name].label}: {h.label}", h.value, h.delta, h.help, h.delta_color)
        for name in VARIANTS
        for h in headlines(cmp, name)
    )


# -- captions and the why text ------------------------------------------------------------------------------


def _episode(r: SimulationResult) -> tuple[float, float]:
    """The first and last second the dependency is not healthy (the whole run if it never is)."""
    c = r.config
    sick = [(a, b) for a, b, p in c.timeline.segments(c.duration) if p.label != "healthy"]
    return (sick[0][0], sick[-1][1]) if sick else (0.0, c.duration)


def time_not_closed(r: SimulationResult) -> float:
    return sum(b - a for a, b, s in r.state_bands() if s != "closed")


def default_cursor(config: SimulationConfig) -> int:
    """Where the time cursor starts: 15 s into the trouble (the end of a healthy run)."""
    sick = [p.start for p in config.timeline.phases if p.label != "healthy"]
    return int(min(config.duration, sick[0] + 15)) if sick else int(config.duration)


def cursor_caption(cmp: Comparison, t: float) -> str:
    r = cmp["fallback"]
    phase = r.config.timeline.at(t)
    state = r.state_at(t).replace("_", "-")
    last = [tr for tr in r.transitions if tr.time <= t]
    since = f", since {seconds(last[-1].time)}: {last[-1].reason}" if last else ""
    health = (
        phase.label
        if phase.label == "healthy"
        else (
            f"{phase.label}: {pct(phase.failure_rate, 0)} of calls fail, median latency {seconds(phase.latency)}"
        )
    )
    return f"**At {seconds(t)}** the dependency is {health}; the breaker is **{state}**{since}."


TIMELINE_CAPTION = (
    "One time axis, three runs of the same requests. Top: the dependency's health and the breaker's state. Then "
    "what the callers got each second, their median and 99th-percentile latency, the calls that reached the "
    "dependency (dashed: what the requests need without retries) and the busiest the worker pool got (dashed: "
    "its size)."
)


def state_machine_caption(r: SimulationResult, t: float) -> str:
    taken = [tr for tr in r.transitions if tr.time <= t]
    if not taken:
        return "Up to the cursor the breaker stayed closed: no transition taken yet."
    trips = sum(tr.to_state == "open" for tr in taken)
    return (f"Transitions taken up to the cursor: {len(taken)} (opened {plural(trips, 'time')}); the last, in "
            f"orange, at {seconds(taken[-1].time)}: {taken[-1].reason}.")  # fmt: skip


def _load_check(r: SimulationResult) -> str:
    """Retries against the closed form: a call that fails with probability f and is retried up to k times is
    sent 1 + f + ... + f^k = (1 - f^(k+1)) / (1 - f) times on average."""
    c = r.config
    k = c.retry.max_retries
    a, b = _episode(r)
    sick = [p for p in c.timeline.phases if p.label != "healthy"]
    if not k or not sick or b - a < 1:
        return ""
    f = max(p.failure_rate for p in sick)
    if sick[0].label == "slow":
        return ""
    expected = k + 1 if f >= 1 else (1 - f ** (k + 1)) / (1 - f)
    need = c.request_rate * c.dependency_share * (b - a)
    if need <= 0:  # no request needs the dependency: nothing was sent, nothing multiplied
        return ""
    sent = r.calls_between(a, b)
    shed = int(r.shed[int(a // c.bin_width) : int(math.ceil(b / c.bin_width))].sum())
    text = (f"With {plural(k, 'retry', 'retries')} and {pct(f, 0)} of calls failing, each request is expected to "
            f"send (1 − f^{k + 1}) / (1 − f) = {expected:.2f} calls; without a breaker it sent "
            f"{sent / need:.2f} per request during the episode ({num(sent)} calls for about {num(need)} "
            "requests)")  # fmt: skip
    if shed:
        text += (f", and {num(shed)} of them were shed for exceeding the dependency's capacity of "
                 f"{num(c.dependency_capacity)} a second (each shed call fails and may be retried again)")  # fmt: skip
    if r.budget_denied:
        text += f"; the retry budget refused {plural(r.budget_denied, 'retry', 'retries')}"
    return text + "."


def _cascade_check(r: SimulationResult) -> str:
    """Little's law: workers busy = arrival rate x time each holds one."""
    c = r.config
    slow = [p for p in c.timeline.phases if p.label == "slow"]
    if not slow:
        return ""
    hold = min(c.timeout, max(p.latency for p in slow))
    need = c.request_rate * c.dependency_share * hold
    return (f"Little's law: {num(c.request_rate * c.dependency_share)} calls a second each holding a worker for "
            f"up to {seconds(hold)} need about {num(need)} workers; the pool has {c.pool_size}. Without a breaker "
            f"the pool peaked at {int(r.pool_peak.max())} and {plural(r.local_failed, 'request')} that never "
            "needed the dependency failed for want of a worker.")  # fmt: skip


def why(cmp: Comparison) -> str:
    none, br, fb = cmp["none"], cmp["breaker"], cmp["fallback"]
    c = br.config
    p = c.breaker
    parts = []
    if br.trips:
        halves = sum(tr.to_state == "half_open" for tr in br.transitions)
        rule = (f"opens after {p.fail_max} failures in a row and, after {seconds(p.reset_timeout)}, lets every call "
                "through as a trial until one fails" if isinstance(p, ConsecutiveFailures) else
                f"opens when {number_text(p.failure_rate_threshold)}% of the calls in its window fail (or "
                f"{number_text(p.slow_call_rate_threshold)}% are slower than {seconds(p.slow_call_duration)}), once the window "
                f"holds {p.effective_minimum}; after {seconds(p.wait_in_open)} it admits "
                f"{p.permitted_calls_in_half_open} trials")  # fmt: skip
        trials = int(br.trial_calls.sum())
        cap = (f", at most {p.permitted_calls_in_half_open} permitted" if isinstance(p, FailureRateWindow) else
               ", every call admitted until an outcome decides")  # fmt: skip
        parts.append(
            f"**The breaker** {rule}. In this run it opened {plural(br.trips, 'time')}. Open or half-open for "
            f"{seconds(time_not_closed(br))} in all, it let through only its trials: {plural(trials, 'call')} over "
            f"{plural(halves, 'half-open episode')} ({trials / max(halves, 1):.1f} each{cap}), none while open. The "
            f"dependency got {num(int(br.dependency_calls.sum()))} calls in all against "
            f"{num(int(none.dependency_calls.sum()))} without a breaker."
        )
    else:
        parts.append("**The breaker never opened** in this run: the failures never reached its threshold.")
    if text := _cascade_check(none):
        parts.append(
            f"**The cascade.** {text} With the breaker the pool peaked at {int(br.pool_peak.max())}."
        )
    if text := _load_check(none):
        parts.append(f"**Retries multiply the load.** {text}")
    ages = fb.fallback_age[~np.isnan(fb.fallback_age)]
    t = fb.totals()
    kind = next(k.label for k in FALLBACKS.values() if isinstance(fb.config.fallback, k.cls))
    fallback = f"**The fallback** ({kind}) answered {plural(t['fallback'], 'request')}"
    if ages.size:
        fallback += (f" with the last good response, {seconds(float(np.median(ages)))} old at the median and "
                     f"{seconds(float(ages.max()))} at most: specific, but stale")  # fmt: skip
    fallback += (f"; {pct(answered(fb))} of the requests got an answer, against {pct(answered(br))} with the breaker "
                 f"alone and {pct(answered(none))} with neither.")  # fmt: skip
    parts.append(fallback)
    return "\n\n".join(parts)


TRY_THIS = (
    "**Predict, then look:** in *Dependency outage*, how many calls per second reach the dead dependency while "
    "the breaker is open? Set *Trials in flight at once* to 1 and count the calls per half-open episode.",
    "In *Slow dependency (the cascade)*, lower the pool to 40 or raise the timeout to 3 s. Which column starts "
    "failing requests that never touch the dependency, and why does the breaker's column not?",
    "In *Retry storm*, switch the retry budget on. What happens to the dependency's calls and to the shed calls, "
    "and what does it cost in answered requests? (Interview: why do Envoy and gRPC cap retries as a ratio?)",
    "In *Recovery and half-open trials* the breaker closes at 25% failures and then trips again now and then: "
    "a window of 20 calls is noisy. Predict what a window of 100 calls with a minimum of 50 does to those "
    "chance trips, and what it costs when the outage begins.",
)

REFERENCES = (
    Reference("Nygard, Release It! (2nd ed., 2018): Circuit Breaker, Timeouts, Fail Fast",
              "https://pragprog.com/titles/mnee2/release-it-second-edition/"),
    Reference("Fowler, CircuitBreaker (2014)", "https://martinfowler.com/bliki/CircuitBreaker.html"),
    Reference("resilience4j: CircuitBreaker", "https://resilience4j.readme.io/docs/circuitbreaker"),
    Reference("pybreaker", "https://github.com/danielfm/pybreaker"),
    Reference("Brooker, Exponential Backoff And Jitter (AWS, 2015)",
              "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/"),
    Reference("Envoy: retry budgets",
              "https://www.envoyproxy.io/docs/envoy/latest/api-v3/config/cluster/v3/circuit_breaker.proto"),
    Reference("Google SRE book: Addressing Cascading Failures",
              "https://sre.google/sre-book/addressing-cascading-failures/"),
)  # fmt: skip


def csv_rows(cmp: Comparison) -> list[dict[str, Any]]:
    """Every second of every run, for the CSV."""
    return [{"run": VARIANTS[v].label, **row} for v, r in cmp.runs.items() for row in r.rows()]
