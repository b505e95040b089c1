"""The gateway's cheaper paths decide exactly as the code they replaced, kept here as the reference.

``Gateway.check`` looks the lists and rules up once per distinct attributes and tries Retry-After on a
scratch view of the store (no snapshot per attempt); ``_tally`` and ``rule_coverage`` count per distinct
key. Every decision, header, Retry-After, tally and coverage must equal the old code's, on random rule
sets of every algorithm and on the presets' traffic.
"""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lessons.api_gateway import SCENARIOS
from sdcore.ratelimit import gateway
from sdcore.ratelimit.gateway import (
    MAX_RETRY_PROBES,
    Gateway,
    GatewayDecision,
    Request,
    RuleCheck,
    _shallow,
    gateway_traffic,
    rule_coverage,
    run_gateway,
)
from sdcore.ratelimit.limiters import LIMIT_ALGORITHMS
from sdcore.ratelimit.rules import RuleSet, parse_rules
from sdcore.ratelimit.store import MemoryStore
from tests.ratelimit.test_ratelimit_gateway import (
    CHAINS,
    UNITS,
    US,
    ModelRule,
    lists,
    requests,
    rules_text,
    trace,
)


class OldGateway(Gateway):
    """The gateway's check and Retry-After search as they were (a fresh snapshot store per attempt)."""

    def check(self, request: Request) -> GatewayDecision:
        attrs = request.attributes
        denied, allowed = self._lists(attrs)
        if denied is not None:
            return GatewayDecision(False, 403, f"deny-list: {denied.key}={denied.value}")
        if allowed is not None:
            return GatewayDecision(True, 200, f"allow-list: {allowed.key}={allowed.value}")
        matches = self._matches(attrs)
        if not matches:
            return GatewayDecision(True, 200, "no matching rule")
        now, limiters = request.time, self._limiters
        checks = tuple(
            RuleCheck(rule, bucket, limiters[i].allow(now, key)) for rule, bucket, i, key in matches
        )
        rejected = [c for c in checks if not c.decision.allowed]
        if not rejected:
            return GatewayDecision(True, 200, f"within {len(checks)} rule{'s' * (len(checks) > 1)}", checks)
        retry = self._retry(now, matches, max(c.decision.retry_after or 0.0 for c in rejected))
        first = max(rejected, key=lambda c: c.decision.retry_after or 0.0)
        return GatewayDecision(False, 429, first.rule.name, checks, retry)

    def _retry(self, now, matches, first_guess):
        if not isinstance(self.store, MemoryStore):
            return first_guess
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


def old_tally(run, group) -> list[dict]:
    rows: dict[str, dict] = {}
    for r, d in zip(run.requests, run.decisions, strict=True):
        row = rows.setdefault(group(r), {"sent": 0, "200": 0, "429": 0, "403": 0})
        row["sent"] += 1
        row[str(d.status)] += 1
    return [
        {"who": k, **v, "share served": v["200"] / v["sent"] if v["sent"] else 0.0} for k, v in rows.items()
    ]


def old_coverage(rules, requests) -> list[tuple]:
    ruleset = parse_rules(rules) if isinstance(rules, str) else rules
    carried = {k for r in requests for k in r.attributes}
    out = []
    for rule in ruleset.rules:
        matched = sum(rule.bucket(r.attributes) is not None for r in requests)
        missing = tuple(dict.fromkeys(k for k, _ in rule.chain if k not in carried))
        out.append((rule, matched, missing))
    return out


def seen(d: GatewayDecision) -> tuple:
    """Everything a decision says: status, rule, checks (rule, bucket, limiter decision), wait, headers."""
    return (d.allowed, d.status, d.decided_by, d.checks, d.retry_after, d.headers(), d.headers(ietf=True))


def same_decisions(rules, traffic) -> None:
    new, old = Gateway(rules), OldGateway(rules)
    for r in traffic:
        assert seen(new.check(r)) == seen(old.check(r)), r


# Any algorithm, tight limits, so that many requests are rejected and Retry-After is searched across rules.
any_rules = st.lists(
    st.tuples(
        st.sampled_from(range(len(CHAINS))),
        st.integers(1, 4),
        st.sampled_from(tuple(UNITS)),
        st.sampled_from(LIMIT_ALGORITHMS),
    ),
    min_size=1,
    max_size=len(CHAINS),
    unique_by=lambda r: r[0],
).map(lambda rs: tuple(ModelRule(CHAINS[c], n, u, a) for c, n, u, a in rs))


@given(any_rules, lists, requests)
@settings(max_examples=200, deadline=None)
def test_check_decides_as_the_old_check_on_random_rules(rules, deny_allow, reqs):
    text = rules_text(rules, *deny_allow)
    same_decisions(text, [Request(t / US, attrs) for t, attrs in trace(reqs)])


@pytest.mark.parametrize("name", list(SCENARIOS))
@pytest.mark.parametrize("seed", [0, 7])
def test_check_decides_as_the_old_check_on_the_presets(name, seed):
    config = replace(SCENARIOS[name], duration=40, seed=seed)
    traffic = gateway_traffic(tuple(gateway.PROFILES), 40, seed)  # every sender, whatever the preset's
    same_decisions(config.rules, traffic)
    same_decisions(config.rules, config.traffic())


def test_one_rule_listed_twice_probes_its_shared_counter_as_before():
    """Two probes on one counter (a hand-made rule set naming one rule object twice) see each other's steps,
    as on the old snapshot: that case keeps the snapshot search."""
    ruleset = parse_rules(rules_text((ModelRule(CHAINS[0], 2, "second", "sliding_log"),), (), ()))
    twice = RuleSet(ruleset.domain, ruleset.rules * 2)
    traffic = [Request(i / 20, {"remote_address": "10.0.0.1", "endpoint": "/feed"}) for i in range(60)]
    same_decisions(twice, traffic)
    gw = Gateway(twice)
    assert any(gw.check(r).status == 429 for r in traffic)


def test_an_unhashable_attribute_no_rule_names_is_still_decided():
    text = rules_text((ModelRule(CHAINS[0], 1, "second", "token_bucket"),), (), ())
    traffic = [
        Request(i / 4, {"remote_address": "10.0.0.1", "endpoint": "/feed", "tags": ["a"]}) for i in range(8)
    ]
    same_decisions(text, traffic)
    assert [c.matched for c in rule_coverage(text, traffic)] == [m for _, m, _ in old_coverage(text, traffic)]


def test_the_route_memo_is_bounded_and_changes_no_decision(monkeypatch):
    text = rules_text((ModelRule(CHAINS[0], 3, "second", "gcra"),), (), ())
    traffic = [
        Request(i / 10, {"remote_address": f"10.0.{i % 7}.{i % 5}", "endpoint": "/feed"}) for i in range(300)
    ]
    wide = [seen(d) for d in run_gateway(text, traffic).decisions]
    monkeypatch.setattr(gateway, "MEMO_ENTRIES", 1)
    gw = Gateway(text)
    assert [seen(gw.check(r)) for r in traffic] == wide
    assert len(gw._route_memo) <= 1


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_tallies_and_coverage_equal_the_old_counts(name):
    config = replace(SCENARIOS[name], clients=tuple(gateway.PROFILES), duration=30, seed=3)
    run = config.run()
    for group, tally in (
        (lambda r: r.client, run.by_client),
        (lambda r: r.attributes.get("endpoint", "-"), run.by_endpoint),
    ):
        got, want = tally(), old_tally(run, group)
        assert [list(row.items()) for row in got] == [list(row.items()) for row in want]  # and in that order
    got = [(c.rule, c.matched, c.missing_keys) for c in rule_coverage(config.rules, run.requests)]
    assert got == old_coverage(config.rules, run.requests)
    typo = config.rules.replace("key: user_id", "key: user_idd")
    assert [(c.rule, c.matched, c.missing_keys) for c in rule_coverage(typo, run.requests)] == old_coverage(
        typo, run.requests
    )
