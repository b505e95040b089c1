"""The limiter as an API gateway sees it: throttle rules over many clients, and what each client is told.

:class:`Gateway` applies a :class:`~sdcore.ratelimit.rules.RuleSet` to requests (virtual time, attributes
such as the client's address, user id, API key and endpoint) and answers like an HTTP server would: a
status code (200, 429 when limited, 403 for the deny-list), the rule that decided, and the headers
``X-Ratelimit-Limit``, ``X-Ratelimit-Remaining``, ``X-Ratelimit-Retry-After`` (optionally the IETF draft's
``RateLimit`` and ``RateLimit-Policy``). Retry-After is never optimistic: it is found by trying every
matching rule ahead of time on a copy of their state, so a retry at that time succeeds if nothing else
arrives.

Under mixed traffic: :data:`PROFILES` names the kinds of sender, :func:`gateway_traffic` draws their seeded
requests, and a :class:`GatewayConfig` (rules, profiles, duration, seed) is one experiment, run by
:func:`run_gateway`, replayed up to one request by :func:`inspect_request`.
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np

from sdcore.ratelimit.decision import Decision
from sdcore.ratelimit.limiters import Limiter
from sdcore.ratelimit.rules import ListEntry, Rule, RuleSet, parse_rules
from sdcore.ratelimit.store import MemoryStore, Store

MAX_RETRY_PROBES = 64
MEMO_ENTRIES = (
    65_536  # distinct attribute tuples remembered per gateway; past it, start again (a server lives long)
)


@dataclass(frozen=True)
class Request:
    """One request at virtual time ``time`` (seconds) with its identifying attributes."""

    time: float
    attributes: Mapping[str, str]  # a plain dict, so a run can be cached (pickled)
    client: str = ""  # a display name for the sender (e.g. "crawler"); rules never look at it


@dataclass(frozen=True)
class RuleCheck:
    rule: Rule
    bucket: str
    decision: Decision


@dataclass(frozen=True)
class GatewayDecision:
    allowed: bool
    status: int
    decided_by: str
    checks: tuple[RuleCheck, ...] = ()
    retry_after: float | None = None

    @property
    def binding(self) -> RuleCheck | None:
        """The check the client is told about: the rejecting one with the longest wait, else the one with
        the fewest requests left."""
        if not self.checks:
            return None
        rejected = [c for c in self.checks if not c.decision.allowed]
        if rejected:
            return max(rejected, key=lambda c: c.decision.retry_after or 0.0)
        return min(self.checks, key=lambda c: c.decision.remaining)

    def headers(self, ietf: bool = False) -> dict[str, str]:
        """The response headers, as a client would receive them."""
        b = self.binding
        if b is None:
            return {}
        h = {
            "X-Ratelimit-Limit": str(b.decision.limit),
            "X-Ratelimit-Remaining": str(0 if not self.allowed else b.decision.remaining),
        }
        if self.retry_after is not None:
            wait = str(math.ceil(self.retry_after))
            h["X-Ratelimit-Retry-After"] = wait
            h["Retry-After"] = wait
        if ietf:
            h["RateLimit-Policy"] = ", ".join(
                f'"{_slug(c.rule.name)}";q={c.rule.limit.requests_per_unit};w={c.rule.limit.window}'
                for c in self.checks
            )
            r = f'"{_slug(b.rule.name)}";r={h["X-Ratelimit-Remaining"]}'
            if self.retry_after is not None:
                r += f";t={math.ceil(self.retry_after)}"
            h["RateLimit"] = r
        return h

    def http_response(self, ietf: bool = False) -> str:
        """The status line and headers as they would appear on the wire."""
        reason = {200: "OK", 403: "Forbidden", 429: "Too Many Requests"}[self.status]
        lines = [f"HTTP/1.1 {self.status} {reason}"] + [f"{k}: {v}" for k, v in self.headers(ietf).items()]
        return "\n".join(lines)


def _shallow(obj):
    """A shallow copy of a plain object (what ``copy.copy`` does for one, without its dispatch)."""
    twin = object.__new__(type(obj))
    twin.__dict__.update(obj.__dict__)
    return twin


def _slug(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "default"


class Gateway:
    """Applies a rule set to requests in time order; one limiter per rule, one counter per bucket."""

    def __init__(self, rules: RuleSet | str, store: Store | None = None):
        self.rules = parse_rules(rules) if isinstance(rules, str) else rules
        self.store = store if store is not None else MemoryStore()
        self._limiters = [r.limit.make_limiter(self.store) for r in self.rules.rules]
        self._index = {id(r): i for i, r in enumerate(self.rules.rules)}
        # What the lists and the rules decide depends only on the attributes they name: remember it per
        # distinct tuple of those values (a CIDR test parses addresses, which is most of a check otherwise).
        lists = (*self.rules.deny_list, *self.rules.allow_list)
        self._list_keys = tuple(dict.fromkeys(e.key for e in lists))
        self._rule_keys = tuple(dict.fromkeys(k for r in self.rules.rules for k, _ in r.chain))
        self._lists_memo: dict[tuple, tuple[ListEntry | None, ListEntry | None]] = {}
        self._matches_memo: dict[tuple, tuple[tuple[Rule, str, int, str], ...]] = {}
        # Both answers per distinct request attributes (their items as given: finer than the named keys, so
        # the same answers), one dict lookup per request instead of two tuples of named values.
        self._route_memo: dict[tuple, tuple] = {}
        self._probes: list[Limiter] | None = None  # the limiters on a scratch view of the store, made once

    def _key(self, rule: Rule, bucket: str) -> str:
        return f"{self._index[id(rule)]}:{bucket}"

    def _lists(self, attrs: Mapping[str, str]) -> tuple[ListEntry | None, ListEntry | None]:
        """(the deny-list entry, the allow-list entry) that match these attributes, each or None."""
        k = tuple(attrs.get(a) for a in self._list_keys)
        got = self._lists_memo.get(k)
        if got is None:
            if len(self._lists_memo) >= MEMO_ENTRIES:
                self._lists_memo.clear()
            denied = self.rules.denied_by(attrs)
            got = self._lists_memo[k] = (denied, None if denied else self.rules.allowed_by(attrs))
        return got

    def _matches(self, attrs: Mapping[str, str]) -> tuple[tuple[Rule, str, int, str], ...]:
        """(rule, bucket, rule index, store key) for every rule that counts these attributes."""
        k = tuple(attrs.get(a) for a in self._rule_keys)
        got = self._matches_memo.get(k)
        if got is None:
            if len(self._matches_memo) >= MEMO_ENTRIES:
                self._matches_memo.clear()
            got = self._matches_memo[k] = tuple(
                (rule, bucket, i := self._index[id(rule)], f"{i}:{bucket}")
                for rule, bucket in self.rules.matching(attrs)
            )
        return got

    def _route(self, attrs: Mapping[str, str]) -> tuple:
        """``(denied, allowed, matches)`` for these attributes: :meth:`_lists` and :meth:`_matches` (the
        latter only when no list decides), remembered per tuple of the attributes' items."""
        k = tuple(attrs.items())
        try:
            got = self._route_memo.get(k)
        except TypeError:  # an unhashable value of an attribute no rule or list may name
            denied, allowed = self._lists(attrs)
            return denied, allowed, self._matches(attrs) if denied is None and allowed is None else ()
        if got is None:
            if len(self._route_memo) >= MEMO_ENTRIES:
                self._route_memo.clear()
            denied, allowed = self._lists(attrs)
            matches = self._matches(attrs) if denied is None and allowed is None else ()
            got = self._route_memo[k] = (denied, allowed, matches)
        return got

    def check(self, request: Request) -> GatewayDecision:
        denied, allowed, matches = self._route(request.attributes)
        if denied is not None:
            return GatewayDecision(False, 403, f"deny-list: {denied.key}={denied.value}")
        if allowed is not None:
            return GatewayDecision(True, 200, f"allow-list: {allowed.key}={allowed.value}")
        if not matches:
            return GatewayDecision(True, 200, "no matching rule")
        now, limiters = request.time, self._limiters
        checks = tuple(
            RuleCheck(rule, bucket, limiters[i].allow(now, key)) for rule, bucket, i, key in matches
        )
        first = None  # the first rejecting check with the longest wait (what max() picks)
        longest = 0.0
        for c in checks:
            d = c.decision
            if not d.allowed:
                wait = d.retry_after or 0.0
                if first is None or wait > longest:
                    first, longest = c, wait
        if first is None:
            return GatewayDecision(True, 200, f"within {len(checks)} rule{'s' * (len(checks) > 1)}", checks)
        retry = self._retry(now, matches, longest)
        return GatewayDecision(False, 429, first.rule.name, checks, retry)

    def _honest_retry(self, now: float, matches: Sequence[tuple[Rule, str]], first_guess: float) -> float:
        """The earliest wait after which every matching rule admits a request, if nothing else arrives.

        Each rule counted this request even though another rejected it (as Envoy's service does), so a
        rule that admitted it may now be empty too; try the rules on a copy of their state until all agree.
        """
        return self._retry(
            now, [(r, b, self._index[id(r)], self._key(r, b)) for r, b in matches], first_guess
        )

    def _retry(self, now: float, matches: Sequence[tuple[Rule, str, int, str]], first_guess: float) -> float:
        if not isinstance(self.store, MemoryStore):
            return first_guess  # a shared store cannot be copied; the rejecting rule's own wait
        if len(self._index) < len(self._limiters):  # one rule object listed twice: two probes, one counter
            return self._retry_on_snapshots(now, matches, first_guess)
        probes = self._probes
        if probes is None:
            # The same limiters (same parameters, made once) on a scratch view of the store: a shallow copy
            # each, made once per gateway.
            scratch = _ScratchStore(self.store)
            probes = self._probes = [_shallow(lim) for lim in self._limiters]
            for p in probes:
                p.store = scratch
        # Each probe reads a fresh copy of its counter's real state and stores nothing: the snapshot taken
        # afresh for every attempt, as before (the counters of one request's rules are distinct).
        wait = first_guess
        for _ in range(MAX_RETRY_PROBES):
            worst = 0.0
            t = now + wait
            for _, _, i, key in matches:
                d = probes[i].allow(t, key)
                if not d.allowed:
                    r = d.retry_after or 0.0
                    if r > worst:
                        worst = r
            if worst == 0.0:
                return wait
            wait += worst
        return wait

    def _retry_on_snapshots(
        self, now: float, matches: Sequence[tuple[Rule, str, int, str]], first_guess: float
    ) -> float:
        """:meth:`_retry` on a fresh snapshot of the matching counters for every attempt (probes sharing a
        counter see each other's steps)."""
        limiters = [self._limiters[i] for _, _, i, _ in matches]
        entries = [(lim.algorithm, key) for lim, (_, _, _, key) in zip(limiters, matches, strict=True)]
        probes = [(_shallow(lim), key) for lim, (_, _, _, key) in zip(limiters, matches, strict=True)]
        wait = first_guess
        for _ in range(MAX_RETRY_PROBES):
            scratch = self.store.snapshot(entries)
            worst = 0.0
            for limiter, key in probes:
                limiter.store = scratch
                d = limiter.allow(now + wait, key)
                if not d.allowed:
                    worst = max(worst, d.retry_after or 0.0)
            if worst == 0.0:
                return wait
            wait += worst
        return wait


class _ScratchStore(MemoryStore):
    """A view of ``source`` for trying decisions ahead of time: each step runs on a copy of the source's state
    for that counter (what :meth:`MemoryStore.snapshot` copies) and its new state is thrown away."""

    def __init__(self, source: MemoryStore) -> None:
        super().__init__()
        self._source = source

    def _run(self, algorithm: str, key: str, step, now_us: int, *params):
        src = self._source
        with src._lock:
            state = src._state.get((algorithm, key))
        if state is not None:
            for x in state:
                if type(x) is list:
                    state = tuple(list(y) if isinstance(y, list) else y for y in state)
                    break
        return step(state, now_us, *params)[1]


# --- a gateway under mixed traffic --------------------------------------------------------------------


@dataclass(frozen=True)
class ClientProfile:
    """A kind of sender: how many of them, how fast each sends, from where, to which endpoints."""

    name: str
    count: int
    rate: float  # requests per second, per client (Poisson)
    endpoints: tuple[str, ...]
    address: str  # a format with {i}, e.g. "198.51.100.{i}"
    user: str | None = None  # a format with {i}, or None for anonymous traffic
    api_key: str | None = None


PROFILES: Mapping[str, ClientProfile] = MappingProxyType(
    {
        "users": ClientProfile("users", 12, 0.5, ("/feed", "/search", "/login"), "198.51.100.{i}", "user{i}"),
        "crawler": ClientProfile("crawler", 1, 12.0, ("/search",), "192.0.2.50"),
        "abuser": ClientProfile("abuser", 1, 40.0, ("/login",), "192.0.2.66", "victim{i}"),
        "partner": ClientProfile(
            "partner", 1, 25.0, ("/search", "/feed"), "203.0.113.200", None, "partner-key"
        ),
        "attacker": ClientProfile("attacker", 1, 8.0, ("/login",), "198.18.0.9"),
    }
)


def _check_traffic(profiles: Sequence[str], duration: float) -> None:
    if not 0 < duration <= 3600:
        raise ValueError(f"duration must be between 0 and 3,600 seconds (got {duration})")
    for name in profiles:
        if name not in PROFILES:
            raise ValueError(f"unknown client profile {name!r} (choose from {', '.join(PROFILES)})")


def gateway_traffic(profiles: Sequence[str], duration: float, seed: int = 0) -> list[Request]:
    """Seeded Poisson traffic from the named client profiles, merged in time order.

    The abuser rotates through user ids (credential stuffing), so only a per-address rule catches it.
    """
    _check_traffic(profiles, duration)
    rng = np.random.default_rng(seed)
    out: list[Request] = []
    for name in profiles:
        p = PROFILES[name]
        for i in range(p.count):
            n = int(rng.poisson(p.rate * duration))
            times = np.sort(rng.uniform(0, duration, n))
            endpoints = rng.choice(len(p.endpoints), n)
            users = rng.integers(0, 1000, n)
            for t, e, u in zip(times.tolist(), endpoints.tolist(), users.tolist(), strict=True):
                attrs = {"remote_address": p.address.format(i=i + 1), "endpoint": p.endpoints[e]}
                if p.user is not None:
                    attrs["user_id"] = p.user.format(i=(u if name == "abuser" else i + 1))
                if p.api_key is not None:
                    attrs["api_key"] = p.api_key
                out.append(Request(round(t, 6), attrs, p.name))
    out.sort(key=lambda r: r.time)
    if len(out) > 200_000:
        raise ValueError(
            f"{len(out):,} requests is more than the gateway view handles (200,000); shorten the run"
        )
    return out


@dataclass(frozen=True)
class GatewayConfig:
    """One gateway experiment: a rules text, the client profiles that send traffic, for ``duration`` seconds
    from ``seed``. Frozen and hashable, so a page caches its run by it; checked when made (the rules are
    parsed when the run starts, with their line numbers)."""

    rules: str
    clients: tuple[str, ...]
    duration: float = 60.0
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "clients", tuple(self.clients))
        _check_traffic(self.clients, self.duration)

    def traffic(self) -> list[Request]:
        return gateway_traffic(self.clients, self.duration, self.seed)

    def run(self) -> GatewayRun:
        return run_gateway(self.rules, self.traffic())

    def inspect(self, index: int, run: GatewayRun | None = None) -> Inspection:
        """Request ``index``'s decision and its rules' state around it (``run``: this config's run, if at
        hand, which makes it cheaper; the answer is the same)."""
        if run is None:
            return inspect_request(self.rules, self.traffic(), index)
        return inspect_in_run(self.rules, run, index)


@dataclass(frozen=True, eq=False)
class GatewayRun:
    requests: tuple[Request, ...]
    decisions: tuple[GatewayDecision, ...]
    summary: tuple[dict, ...] = field(default=())

    def by_client(self) -> list[dict]:
        return _tally(self, lambda r: r.client)

    def by_endpoint(self) -> list[dict]:
        return _tally(self, lambda r: r.attributes.get("endpoint", "-"))

    def limited_by(self) -> list[dict]:
        """Which rule (or list) turned whom away."""
        counts: dict[tuple[str, str], int] = {}
        for r, d in zip(self.requests, self.decisions, strict=True):
            if not d.allowed:
                k = (r.client, d.decided_by)
                counts[k] = counts.get(k, 0) + 1
        return [
            {"client": c, "decided by": rule, "requests turned away": n}
            for (c, rule), n in sorted(counts.items())
        ]


def _tally(run: GatewayRun, group) -> list[dict]:
    # Counted per (group, status) pair in one pass; the groups come out in the order they first appear.
    pairs = Counter(zip(map(group, run.requests), [d.status for d in run.decisions], strict=True))
    rows: dict[str, dict] = {}
    for (who, status), n in pairs.items():
        row = rows.get(who)
        if row is None:
            row = rows[who] = {"sent": 0, "200": 0, "429": 0, "403": 0}
        row["sent"] += n
        row[str(status)] += n
    return [
        {"who": k, **v, "share served": v["200"] / v["sent"] if v["sent"] else 0.0} for k, v in rows.items()
    ]


def run_gateway(rules: RuleSet | str, requests: Sequence[Request]) -> GatewayRun:
    """Send every request through a fresh gateway, in order."""
    gw = Gateway(rules)
    decisions = tuple(gw.check(r) for r in requests)
    return GatewayRun(tuple(requests), decisions)


@dataclass(frozen=True)
class RuleCoverage:
    """How one rule met the traffic: requests it counted, and the descriptor keys of its chain that no
    request carried at all (a typo such as ``remote_adress`` silently turns a limit off)."""

    rule: Rule
    matched: int
    missing_keys: tuple[str, ...]


def rule_coverage(rules: RuleSet | str, requests: Sequence[Request]) -> tuple[RuleCoverage, ...]:
    """For every rule: how many of ``requests`` it counted, and which of its keys no request carries."""
    ruleset = parse_rules(rules) if isinstance(rules, str) else rules
    # A rule's bucket depends only on the attributes: test each distinct set of them once, weighted.
    seen: dict[object, list] = {}
    try:
        for r in requests:
            attrs = r.attributes
            k = tuple(attrs.items())
            got = seen.get(k)
            if got is None:
                seen[k] = [attrs, 1]
            else:
                got[1] += 1
    except TypeError:  # an unhashable attribute value: each request on its own
        seen = {i: [r.attributes, 1] for i, r in enumerate(requests)}
    carried = {k for attrs, _ in seen.values() for k in attrs}
    out = []
    for rule in ruleset.rules:
        matched = sum(n for attrs, n in seen.values() if rule.bucket(attrs) is not None)
        missing = tuple(dict.fromkeys(k for k, _ in rule.chain if k not in carried))
        out.append(RuleCoverage(rule, matched, missing))
    return tuple(out)


# --- inspecting one request ---------------------------------------------------------------------------


@dataclass(frozen=True)
class RuleState:
    rule: str
    bucket: str
    algorithm: str
    before: tuple | None  # what the store held for this counter before the request (None: never seen)
    after: tuple | None


@dataclass(frozen=True)
class Inspection:
    index: int
    request: Request
    decision: GatewayDecision
    states: tuple[RuleState, ...]


def inspect_request(rules: RuleSet | str, requests: Sequence[Request], index: int) -> Inspection:
    """Replay the trace up to request ``index`` and show each matching rule's stored state around it."""
    _check_index(requests, index)
    return _inspect(Gateway(rules), requests[:index], requests[index])


def inspect_in_run(rules: RuleSet | str, run: GatewayRun, index: int) -> Inspection:
    """:func:`inspect_request` for request ``index`` of ``run`` (made from the same ``rules``), replaying only
    the earlier requests that touched a counter of this request's rules (the same answer: a counter changes
    only when a request it counts is checked, and the decision reads only this request's counters)."""
    requests = run.requests
    _check_index(requests, index)
    gw = Gateway(rules)
    req = requests[index]
    target = {(rule, bucket) for rule, bucket in gw.rules.matching(req.attributes)}
    buckets = {bucket for _, bucket in target}
    earlier = [
        r
        for r, d in zip(requests[:index], run.decisions[:index], strict=True)
        if any(c.bucket in buckets and (c.rule, c.bucket) in target for c in d.checks)
    ]
    return _inspect(gw, earlier, req, index)


def _check_index(requests: Sequence[Request], index: int) -> None:
    if not 0 <= index < len(requests):
        raise ValueError(f"request number must be between 0 and {len(requests) - 1} (got {index})")


def _inspect(gw: Gateway, earlier: Sequence[Request], req: Request, index: int | None = None) -> Inspection:
    for r in earlier:
        gw.check(r)
    matches = gw.rules.matching(req.attributes)
    entries = [(gw._limiters[gw._index[id(r)]].algorithm, gw._key(r, b)) for r, b in matches]
    before = [gw.store.peek(*e) for e in entries]
    decision = gw.check(req)
    states = tuple(
        RuleState(r.name, b, e[0], bf, gw.store.peek(*e))
        for (r, b), e, bf in zip(matches, entries, before, strict=True)
    )
    return Inspection(len(earlier) if index is None else index, req, decision, states)


def status_timeline(run: GatewayRun, bins: int = 60) -> dict[str, dict[int, np.ndarray]]:
    """Per client, per status: request counts in equal time bins (for a stacked timeline)."""
    if not run.requests:
        return {}
    end = max(r.time for r in run.requests) or 1.0
    edges = np.linspace(0.0, end, bins + 1)
    out: dict[str, dict[int, list[float]]] = {}
    for r, d in zip(run.requests, run.decisions, strict=True):
        out.setdefault(r.client, {}).setdefault(d.status, []).append(r.time)
    return {
        c: {s: np.histogram(ts, bins=edges)[0] for s, ts in by.items()} | {"edges": edges}  # type: ignore[dict-item]
        for c, by in out.items()
    }
