"""The gateway (sdcore/ratelimit/gateway.py) against a brute-force model of the rules it applies, on traces
and rule sets drawn by hypothesis (fixed windows and sliding logs, per address, per user on /login, ...).

Invariants, for any rule set of the pool and any trace:

- the deny-list beats everything, the allow-list too: a request on the deny-list gets 403 with no rate-limit
  header and touches no counter, even when the allow-list also names it; one on the allow-list only gets 200,
  no header, no counter touched;
- every matching rule counts a request it admits, even when another rule rejects it, and the request is
  rejected (429) iff any matching rule is at its limit: the gateway's decisions equal the model's, request
  after request, which they could not if one counter had missed a request;
- a 200 that rules counted says the limit and what is left of the rule with the fewest left; a 429 says
  Remaining 0, the limit of the rejecting rule with the longest wait, and both Retry-After headers equal
  the exact wait rounded up to a whole second;
- Retry-After is never optimistic (and not pessimistic either): the exact wait is the model's first instant,
  to the microsecond, at which every matching rule admits again; a retry then is admitted, one microsecond
  earlier it is refused, and a retry at the whole-second header is admitted.

The model keeps every admitted request's time per counter and counts by scanning them: no state machine,
no shortcut shared with the engine.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit import gateway
from sdcore.ratelimit.gateway import (
    Gateway,
    GatewayConfig,
    Request,
    gateway_traffic,
    inspect_in_run,
    inspect_request,
    run_gateway,
)

US = 1_000_000
UNITS = {"second": 1, "minute": 60}


@dataclass(frozen=True)
class ModelRule:
    """One descriptor chain with a limit: ``limit`` per ``unit`` by ``algorithm``."""

    chain: tuple[tuple[str, str | None], ...]
    limit: int
    unit: str
    algorithm: str  # fixed_window or sliding_log (admitted requests only, as the gateway's rules log)

    @property
    def window_us(self) -> int:
        return UNITS[self.unit] * US

    def bucket(self, attrs: dict[str, str]) -> tuple | None:
        if all(k in attrs and (v is None or attrs[k] == v) for k, v in self.chain):
            return tuple((k, attrs[k]) for k, _ in self.chain)
        return None

    def yaml(self) -> str:
        """The chain as nested descriptors, the limit on the last one."""
        lines = []
        for depth, (k, v) in enumerate(self.chain):
            pad = "  " * (2 * depth)
            lines.append(f"{pad}  - key: {k}" + (f"\n{pad}    value: {v}" if v else ""))
            if depth < len(self.chain) - 1:
                lines.append(f"{pad}    descriptors:")
        pad = "  " * (2 * (len(self.chain) - 1))
        lines.append(
            f"{pad}    rate_limit: {{unit: {self.unit}, requests_per_unit: {self.limit}, "
            f"algorithm: {self.algorithm}}}"
        )
        return "\n".join(lines)


# Distinct top-level descriptors, so any subset is a valid rule set (no descriptor twice at one level).
CHAINS = (
    (("remote_address", None),),
    (("endpoint", "/login"), ("user_id", None)),
    (("endpoint", "/feed"), ("remote_address", None)),
    (("user_id", None),),
    (("api_key", None),),
)
DENY = (("remote_address", "10.0.0.0/30"), ("user_id", "mallory"))
ALLOW = (("api_key", "partner"), ("remote_address", "10.0.0.1"))  # 10.0.0.1 is in the denied range too


def on_list(entries, attrs: dict[str, str]) -> bool:
    for key, value in entries:
        got = attrs.get(key)
        if got is None:
            continue
        if "/" in value and ipaddress.ip_address(got) in ipaddress.ip_network(value):
            return True
        if got == value:
            return True
    return False


def rules_text(rules: tuple[ModelRule, ...], deny, allow) -> str:
    text = "domain: model\n"
    if deny:
        text += "deny_list:\n" + "".join(f"  - {k}: {v}\n" for k, v in deny)
    if allow:
        text += "allow_list:\n" + "".join(f"  - {k}: {v}\n" for k, v in allow)
    return text + "descriptors:\n" + "\n".join(r.yaml() for r in rules) + "\n"


@dataclass
class Verdict:
    status: int
    limit: int | None = None  # of the rule the client is told about
    remaining: int | None = None
    wait_us: int | None = None  # exact, for a 429


class BruteGateway:
    """The rules as stated, by brute force: every admitted time per (rule, counter), counted by a scan."""

    def __init__(self, rules: tuple[ModelRule, ...], deny, allow):
        self.rules, self.deny, self.allow = rules, deny, allow
        self.admitted: dict[tuple[int, tuple], list[int]] = {}

    def count(self, i: int, bucket: tuple, t: int) -> int:
        r, times = self.rules[i], self.admitted.get((i, bucket), [])
        if r.algorithm == "fixed_window":  # the window [k W, (k + 1) W) that holds t
            return sum(1 for x in times if x // r.window_us == t // r.window_us)
        return sum(1 for x in times if t - r.window_us < x <= t)  # the window (t - W, t]

    def admits(self, i: int, bucket: tuple, t: int) -> bool:
        return self.count(i, bucket, t) < self.rules[i].limit

    def first_admit(self, matches, t: int) -> int:
        """The first instant from ``t`` at which every rule in ``matches`` admits, if nothing arrives: it
        can only be ``t`` or an instant at which some counted request leaves a window."""
        candidates = {t}
        for i, b in matches:
            w = self.rules[i].window_us
            candidates.add((t // w + 1) * w)
            candidates.update(x + w for x in self.admitted.get((i, b), []) if x + w > t)
        return min(s for s in candidates if all(self.admits(i, b, s) for i, b in matches))

    def check(self, t: int, attrs: dict[str, str]) -> Verdict:
        if on_list(self.deny, attrs):
            return Verdict(403)
        if on_list(self.allow, attrs):
            return Verdict(200)
        matches = [(i, b) for i, r in enumerate(self.rules) if (b := r.bucket(attrs)) is not None]
        if not matches:
            return Verdict(200)
        ok = [self.admits(i, b, t) for i, b in matches]
        for (i, b), admitted in zip(matches, ok, strict=True):
            if admitted:  # every matching rule counts what it admits, whatever the others say
                self.admitted.setdefault((i, b), []).append(t)
        if all(ok):
            left = [self.rules[i].limit - self.count(i, b, t) for i, b in matches]
            j = left.index(min(left))  # the rule with the fewest left (the first of equals)
            return Verdict(200, self.rules[matches[j][0]].limit, left[j])
        rejecting = [(i, b) for (i, b), a in zip(matches, ok, strict=True) if not a]
        own = [self.first_admit([m], t) for m in rejecting]
        binding = rejecting[own.index(max(own))]  # the longest wait of its own (the first of equals)
        return Verdict(429, self.rules[binding[0]].limit, 0, self.first_admit(matches, t) - t)


ADDRESSES = ("10.0.0.1", "10.0.0.2", "10.0.0.9", "192.0.2.1", "192.0.2.2")
rule_sets = st.lists(
    st.tuples(
        st.sampled_from(range(len(CHAINS))),
        st.integers(1, 4),
        st.sampled_from(tuple(UNITS)),
        st.sampled_from(("fixed_window", "sliding_log")),
    ),
    min_size=1,
    max_size=len(CHAINS),
    unique_by=lambda r: r[0],
).map(lambda rs: tuple(ModelRule(CHAINS[c], n, u, a) for c, n, u, a in rs))
requests = st.lists(
    st.tuples(
        st.integers(0, 700),  # ms since the previous request
        st.sampled_from(ADDRESSES),
        st.sampled_from((None, "alice", "bob", "mallory")),
        st.sampled_from(("/login", "/feed", "/search")),
        st.sampled_from((None, None, "partner", "k2")),
    ),
    min_size=1,
    max_size=40,
)
lists = st.tuples(st.sampled_from(((), DENY[:1], DENY)), st.sampled_from(((), ALLOW[:1], ALLOW)))


def trace(reqs) -> list[tuple[int, dict[str, str]]]:
    """Requests at whole milliseconds, in order, with the attributes each carries."""
    out, t = [], 0
    for dt, address, user, endpoint, key in reqs:
        t += dt * 1000
        attrs = {"remote_address": address, "endpoint": endpoint}
        if user:
            attrs["user_id"] = user
        if key:
            attrs["api_key"] = key
        out.append((t, attrs))
    return out


def replay(text: str, log, t: int, attrs) -> int:
    """The status of a request at ``t`` (µs) after the ``log`` and nothing else."""
    gw = Gateway(text)
    for earlier, a in log:
        gw.check(Request(earlier / US, a))
    return gw.check(Request(t / US, attrs)).status


@given(rule_sets, lists, requests)
@settings(max_examples=150, deadline=None)
def test_the_gateway_decides_as_the_brute_force_model(rules, deny_allow, reqs):
    deny, allow = deny_allow
    text = rules_text(rules, deny, allow)
    gw, model = Gateway(text), BruteGateway(rules, deny, allow)
    for t, attrs in trace(reqs):
        d, want = gw.check(Request(t / US, attrs)), model.check(t, attrs)
        assert d.status == want.status, (t, attrs)
        h = d.headers()
        if want.limit is None:  # deny-list, allow-list or no rule: no counter, no header
            assert h == {} and d.checks == () and d.retry_after is None
            continue
        assert h["X-Ratelimit-Limit"] == str(want.limit)
        assert h["X-Ratelimit-Remaining"] == str(want.remaining)
        if want.status == 200:
            assert d.retry_after is None and "Retry-After" not in h
        else:
            assert round(d.retry_after * US) == want.wait_us
            assert h["Retry-After"] == h["X-Ratelimit-Retry-After"] == str(-(-want.wait_us // US))


@given(rule_sets, lists, requests)
@settings(max_examples=40, deadline=None)
def test_retry_after_is_the_first_instant_every_rule_admits(rules, deny_allow, reqs):
    """Replayed from scratch: at the exact wait the retry is admitted, one microsecond earlier it is not,
    and at the header's whole seconds it is admitted too."""
    text = rules_text(rules, *deny_allow)
    gw, log = Gateway(text), []
    for t, attrs in trace(reqs):
        d = gw.check(Request(t / US, attrs))
        log.append((t, attrs))
        if d.status != 429:
            continue
        wait = round(d.retry_after * US)
        assert replay(text, log, t + wait, attrs) == 200
        assert wait == 0 or replay(text, log, t + wait - 1, attrs) == 429
        assert replay(text, log, t + int(d.headers()["Retry-After"]) * US, attrs) == 200


def test_deny_beats_allow_and_touches_no_counter():
    text = rules_text((ModelRule(CHAINS[0], 1, "minute", "fixed_window"),), DENY, ALLOW)
    gw = Gateway(text)
    both = {"remote_address": "10.0.0.1", "endpoint": "/feed"}  # on the allow-list and in the denied range
    for t in range(3):
        d = gw.check(Request(t, both))
        assert (d.status, d.decided_by) == (403, "deny-list: remote_address=10.0.0.0/30")
        assert d.http_response() == "HTTP/1.1 403 Forbidden"
    assert gw.store.peek("fixed_window", "0:remote_address=10.0.0.1") is None
    partner = {"remote_address": "192.0.2.1", "endpoint": "/feed", "api_key": "partner"}
    assert all(gw.check(Request(t, partner)).status == 200 for t in range(5))  # over the limit, never limited
    assert gw.store.peek("fixed_window", "0:remote_address=192.0.2.1") is None


def test_a_rule_that_admits_still_counts_when_another_rejects():
    """Per address 3 a minute, per user on /login 1 a minute: the user's second login is refused by the
    user rule, yet the address rule counted it, so the address has 1 left, not 2."""
    rules = (
        ModelRule(CHAINS[0], 3, "minute", "fixed_window"),
        ModelRule(CHAINS[1], 1, "minute", "sliding_log"),
    )
    gw = Gateway(rules_text(rules, (), ()))
    login = {"remote_address": "192.0.2.1", "endpoint": "/login", "user_id": "alice"}
    assert gw.check(Request(0.0, login)).status == 200
    second = gw.check(Request(1.0, login))
    assert second.status == 429 and second.decided_by == "endpoint=/login > user_id"
    assert [c.decision.allowed for c in second.checks] == [True, False]
    feed = gw.check(Request(2.0, {"remote_address": "192.0.2.1", "endpoint": "/feed"}))
    assert feed.status == 200 and feed.headers()["X-Ratelimit-Remaining"] == "0"
    assert gw.check(Request(3.0, {"remote_address": "192.0.2.1", "endpoint": "/feed"})).status == 429


def test_429_and_403_headers_on_the_wire():
    rules = (ModelRule(CHAINS[0], 2, "second", "fixed_window"),)
    gw = Gateway(rules_text(rules, DENY[:1], ()))
    ok = {"remote_address": "192.0.2.1", "endpoint": "/feed"}
    gw.check(Request(0.0, ok))
    gw.check(Request(0.1, ok))
    limited = gw.check(Request(0.25, ok))
    assert limited.http_response(ietf=True).splitlines() == [
        "HTTP/1.1 429 Too Many Requests",
        "X-Ratelimit-Limit: 2",
        "X-Ratelimit-Remaining: 0",
        "X-Ratelimit-Retry-After: 1",
        "Retry-After: 1",
        'RateLimit-Policy: "remote-address";q=2;w=1',
        'RateLimit: "remote-address";r=0;t=1',
    ]
    assert limited.retry_after == pytest.approx(0.75)
    denied = gw.check(Request(0.3, {"remote_address": "10.0.0.2", "endpoint": "/feed"}))
    assert denied.http_response(ietf=True) == "HTTP/1.1 403 Forbidden" and denied.headers(ietf=True) == {}


def test_a_config_is_the_run_and_checks_its_settings():
    rules = rules_text((ModelRule(CHAINS[0], 5, "second", "fixed_window"),), (), ())
    config = GatewayConfig(rules, ["users", "crawler"], 10, seed=4)
    assert config.clients == ("users", "crawler") and hash(config) == hash(
        GatewayConfig(rules, ("users", "crawler"), 10, 4)
    )
    traffic = gateway_traffic(("users", "crawler"), 10, 4)
    assert config.traffic() == traffic
    expected = run_gateway(rules, traffic)
    assert [d.status for d in config.run().decisions] == [d.status for d in expected.decisions]
    ins = config.inspect(7)
    assert ins.request == traffic[7] and ins.decision.status == expected.decisions[7].status
    with pytest.raises(ValueError, match="duration must be between 0 and 3,600 seconds"):
        GatewayConfig(rules, ("users",), 0)
    with pytest.raises(ValueError, match="unknown client profile 'robots'"):
        GatewayConfig(rules, ("users", "robots"))


def test_the_model_rules_render_as_the_engine_reads_them():
    """The model and the engine read the same rule set: names, limits, windows, algorithms."""
    from sdcore.ratelimit.rules import parse_rules

    rules = tuple(ModelRule(c, k + 1, "minute", "sliding_log") for k, c in enumerate(CHAINS))
    parsed = parse_rules(rules_text(rules, DENY, ALLOW))
    assert [r.chain for r in parsed.rules] == [r.chain for r in rules]
    assert [(r.limit.requests_per_unit, r.limit.window) for r in parsed.rules] == [
        (k + 1, 60) for k in range(5)
    ]
    assert [(e.key, e.value) for e in parsed.deny_list] == list(DENY)
    assert [(e.key, e.value) for e in parsed.allow_list] == list(ALLOW)


def test_rule_coverage_counts_matches_and_names_keys_no_request_carries():
    from sdcore.ratelimit.gateway import Request, rule_coverage

    rules = (
        "domain: d\ndescriptors:\n"
        "  - key: remote_adress\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
        "  - key: endpoint\n    value: /login\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
        "  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
    )
    reqs = [Request(float(i), {"remote_address": f"10.0.0.{i % 3}", "endpoint": "/feed"}) for i in range(9)]
    typo, login, address = rule_coverage(rules, reqs)
    assert (typo.matched, typo.missing_keys) == (0, ("remote_adress",))
    assert (login.matched, login.missing_keys) == (0, ())
    assert (address.matched, address.missing_keys) == (9, ())


# --- the cheaper paths the page takes: they give the same answers ---------------------------------------


@given(rule_sets, lists, requests, st.data())
@settings(max_examples=60, deadline=None)
def test_inspecting_within_a_run_equals_replaying_the_whole_trace(rules, deny_allow, reqs, data):
    """inspect_in_run replays only the requests that touched this request's counters: same decision, same
    state before and after, for any request of any trace."""
    text = rules_text(rules, *deny_allow)
    traffic = [Request(t / US, attrs) for t, attrs in trace(reqs)]
    if not traffic:
        return
    run = run_gateway(text, traffic)
    for index in {0, len(traffic) - 1, data.draw(st.integers(0, len(traffic) - 1))}:
        assert inspect_in_run(text, run, index) == inspect_request(text, traffic, index)


@pytest.mark.parametrize("preset", ["Crawler vs users", "Deny-listed attacker", "Partner on the allow-list"])
def test_a_configs_inspection_from_its_run_equals_the_replay(preset):
    from lessons.api_gateway import SCENARIOS

    p = SCENARIOS[preset]
    config = GatewayConfig(p.rules, p.clients, 20, seed=3)
    run = config.run()
    rng = np.random.default_rng(0)
    for index in (0, len(run.requests) - 1, *rng.integers(0, len(run.requests), 6).tolist()):
        assert config.inspect(index, run) == config.inspect(index)
    with pytest.raises(ValueError, match="request number must be between 0 and"):
        config.inspect(len(run.requests), run)


def test_the_gateway_memo_is_bounded_and_changes_no_decision(monkeypatch):
    """A long-lived gateway (the live middleware) forgets remembered matches past MEMO_ENTRIES; decisions
    are the same with a memo of one entry as with a large one."""
    text = rules_text((ModelRule(CHAINS[0], 3, "second", "fixed_window"),), DENY, ALLOW)
    traffic = [
        Request(i / 10, {"remote_address": f"10.0.{i % 7}.{i % 5}", "endpoint": "/feed"}) for i in range(300)
    ]
    wide = [d for d in run_gateway(text, traffic).decisions]
    monkeypatch.setattr(gateway, "MEMO_ENTRIES", 1)
    gw = Gateway(text)
    assert [gw.check(r) for r in traffic] == wide
    assert len(gw._lists_memo) <= 1 and len(gw._matches_memo) <= 1


def test_to_micros_fast_path_matches_the_checked_path():
    from sdcore.ratelimit.units import to_micros

    rng = np.random.default_rng(1)
    for x in [0.0, 0.5, 1e-6, 2.5e-6, 9e9, *rng.uniform(0, 1e6, 200).tolist()]:
        assert to_micros(x) == round(float(x) * US) == to_micros(np.float64(x))
    for bad in (float("nan"), -1e-9, 9e9 + 1, float("inf")):
        with pytest.raises(ValueError):
            to_micros(bad)
