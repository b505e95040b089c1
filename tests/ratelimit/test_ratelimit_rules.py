"""Throttle rules: parsing with line numbers, list precedence, every matching rule applies, and the
headers a client receives (never an optimistic Retry-After)."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sdcore.ratelimit.gateway import Gateway, Request, gateway_traffic, run_gateway
from sdcore.ratelimit.rules import RulesError, parse_rules
from sdcore.ratelimit.statecost import state_cost

RULES = """domain: api
deny_list:
  - remote_address: 203.0.113.0/24
allow_list:
  - api_key: partner
  - remote_address: 203.0.113.7
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 3}
  - key: endpoint
    value: /login
    descriptors:
      - key: user_id
        rate_limit: {unit: minute, requests_per_unit: 2, algorithm: sliding_log}
"""


def req(t, **attrs):
    return Request(t, attrs)


def test_parse_good_rules():
    rs = parse_rules(RULES)
    assert rs.domain == "api"
    assert [r.name for r in rs.rules] == ["remote_address", "endpoint=/login > user_id"]
    assert [r.line for r in rs.rules] == [8, 13]
    assert rs.rules[1].limit.algorithm == "sliding_log" and rs.rules[1].limit.window == 60


def test_json_rules_are_accepted():
    rs = parse_rules(
        '{"domain": "d", "descriptors": [{"key": "api_key", "rate_limit": '
        '{"unit": "hour", "requests_per_unit": 100, "algorithm": "gcra"}}]}'
    )
    assert rs.rules[0].limit.describe() == "100/hour (gcra)"


@pytest.mark.parametrize(
    ("text", "line", "fragment"),
    [
        (
            "domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: week, requests_per_unit: 3}\n",
            4,
            "unit must be one of",
        ),
        (
            "domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 0}\n",
            4,
            "block everyone",
        ),
        (
            "domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 2.5}\n",
            4,
            "whole number",
        ),
        (
            "domain: a\ndescriptors:\n  - key: x\n    colour: red\n    rate_limit: {unit: second, requests_per_unit: 1}\n",
            4,
            "unknown field 'colour'",
        ),
        (
            "domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 1, algo: x}\n",
            4,
            "unknown field 'algo'",
        ),
        (
            "domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 1, algorithm: magic}\n",
            4,
            "algorithm must be one of",
        ),
        (
            "domain: a\ndescriptors:\n  - value: /x\n    rate_limit: {unit: second, requests_per_unit: 1}\n",
            3,
            "needs a 'key'",
        ),
        ("domain: a\ndeny_list:\n  - remote_address: 999.1.1.1\ndescriptors: []\n", 3, "not an IP address"),
        ("domain: a\ndescriptors:\n  - key: x\n", 3, "does nothing"),
        (
            "descriptors:\n  - key: x\n    rate_limit: {unit: second, requests_per_unit: 1}\n",
            1,
            "need a 'domain'",
        ),
        ("domain: a\ndescriptors:\n  - key: x\n    rate_limit: {unit: second\n", 5, "not valid YAML"),
        (
            '{"domain": "a",\n "descriptors": [\n  {"key": "x", "rate_limit": {"unit": "day", "requests_per_unit": -1}}]}',
            3,
            "between 1 and",
        ),
    ],
)
def test_bad_rules_name_the_line_and_field(text, line, fragment):
    with pytest.raises(RulesError) as err:
        parse_rules(text)
    assert any(ln == line and fragment in msg for ln, msg in err.value.problems), err.value.problems
    assert f"line {line}:" in str(err.value)


def test_deny_beats_allow_and_allow_is_never_limited():
    gw = Gateway(RULES)
    both = gw.check(req(0, remote_address="203.0.113.7"))  # on both lists: deny wins
    assert (both.status, both.decided_by) == (403, "deny-list: remote_address=203.0.113.0/24")
    partner = [gw.check(req(0, remote_address="10.0.0.1", api_key="partner")) for _ in range(50)]
    assert all(d.status == 200 and d.decided_by.startswith("allow-list") for d in partner)
    assert gw.check(req(0, remote_address="10.0.0.1", api_key="partner")).headers() == {}


def test_every_matching_rule_applies():
    """Two logins per minute per user AND three requests per second per address: either can reject."""
    gw = Gateway(RULES)
    a = [gw.check(req(0.0, remote_address="10.0.0.1", endpoint="/login", user_id="u1")) for _ in range(3)]
    assert [d.status for d in a] == [200, 200, 429]
    assert a[2].decided_by == "endpoint=/login > user_id"
    assert len(a[0].checks) == 2
    # Another user from the same address: the per-user rule is fresh, but the address has used 3 of 3.
    b = gw.check(req(0.0, remote_address="10.0.0.1", endpoint="/login", user_id="u2"))
    assert (b.status, b.decided_by) == (429, "remote_address")


def test_headers_match_the_decision():
    gw = Gateway(RULES)
    d1 = gw.check(req(0.0, remote_address="10.0.0.9"))
    assert d1.headers() == {"X-Ratelimit-Limit": "3", "X-Ratelimit-Remaining": "2"}
    gw.check(req(0.0, remote_address="10.0.0.9"))
    gw.check(req(0.0, remote_address="10.0.0.9"))
    d4 = gw.check(req(0.25, remote_address="10.0.0.9"))
    h = d4.headers(ietf=True)
    assert d4.status == 429 and h["X-Ratelimit-Remaining"] == "0"
    assert h["X-Ratelimit-Retry-After"] == "1" and d4.retry_after == pytest.approx(0.75)
    assert (
        h["RateLimit-Policy"] == '"remote-address";q=3;w=1' and h["RateLimit"] == '"remote-address";r=0;t=1'
    )
    assert d4.http_response().startswith("HTTP/1.1 429 Too Many Requests\nX-Ratelimit-Limit: 3")


clients = st.sampled_from(["10.0.0.1", "10.0.0.2"])
users = st.sampled_from(["u1", "u2", ""])
events = st.lists(st.tuples(st.integers(0, 20_000), clients, users), min_size=1, max_size=60).map(
    lambda e: sorted(e, key=lambda x: x[0])
)


@given(
    events,
    st.sampled_from(
        ["fixed_window", "sliding_window_counter", "sliding_log", "token_bucket", "leaking_bucket", "gcra"]
    ),
)
@settings(max_examples=60, deadline=None)
def test_retry_at_retry_after_succeeds_when_nothing_else_arrives(evs, algorithm):
    """For any trace and algorithm: after a 429, a retry exactly at now + Retry-After (whole seconds, as
    the header says) is admitted by every rule, if no other request arrives in between."""
    rules = RULES.replace("algorithm: sliding_log", f"algorithm: {algorithm}")
    rules = rules.replace(
        "{unit: second, requests_per_unit: 3}",
        f"{{unit: second, requests_per_unit: 3, algorithm: {algorithm}}}",
    )
    log = []
    for t_ms, ip, user in evs:
        attrs = {"remote_address": ip, "endpoint": "/login"}
        if user:
            attrs["user_id"] = user
        log.append(req(t_ms / 1000, **attrs))
    gw = Gateway(rules)
    for i, r in enumerate(log):
        d = gw.check(r)
        if d.status == 429:
            replay = Gateway(rules)
            for earlier in log[: i + 1]:
                replay.check(earlier)
            wait = int(d.headers()["X-Ratelimit-Retry-After"])
            assert wait == math.ceil(d.retry_after)
            assert replay.check(Request(r.time + wait, r.attributes)).status == 200
            exact = Gateway(rules)
            for earlier in log[: i + 1]:
                exact.check(earlier)
            assert exact.check(Request(r.time + d.retry_after, r.attributes)).status == 200


def test_gateway_contains_the_abuser_and_spares_the_others():
    rules = """domain: api
deny_list:
  - remote_address: 198.18.0.0/15
allow_list:
  - api_key: partner-key
descriptors:
  - key: remote_address
    rate_limit: {unit: second, requests_per_unit: 5}
"""
    run = run_gateway(rules, gateway_traffic(["users", "abuser", "partner", "attacker"], 30, seed=3))
    by = {row["who"]: row for row in run.by_client()}
    assert by["abuser"]["share served"] < 0.2
    assert by["users"]["share served"] > 0.95
    assert by["partner"]["share served"] == 1.0
    assert by["attacker"]["403"] == by["attacker"]["sent"] > 0


def test_state_cost_is_measured():
    """A sliding log holds one timestamp per admitted request; counters hold a fixed handful."""
    log = state_cost("sliding_log", 5_000)
    assert log.numbers == 5_001 and log.python_bytes > 5_000 * 8
    for algorithm in ("fixed_window", "sliding_window_counter", "token_bucket", "gcra"):
        small, big = state_cost(algorithm, 10), state_cost(algorithm, 5_000)
        assert small.numbers == big.numbers <= 4


def _alias_bomb(levels: int) -> str:
    """A 'billion laughs' rules text: each level's descriptors list names the previous one nine times."""
    lines = [
        "domain: bomb",
        "x0: &a0",
        "  - key: remote_address",
        "    rate_limit: {unit: second, requests_per_unit: 1}",
    ]
    for i in range(1, levels + 1):
        lines.append(f"x{i}: &a{i}")
        lines += [f"  - {{key: k{i}_{j}, descriptors: *a{i - 1}}}" for j in range(9)]
    lines.append(f"descriptors: *a{levels}")
    return "\n".join(lines)


def test_an_alias_bomb_is_refused_at_once_with_its_line():
    """About 2 KB that would expand to 9**12 descriptors: refused before anything is expanded."""
    import time

    text = _alias_bomb(12)
    assert len(text) < 5_000
    start = time.process_time()
    with pytest.raises(RulesError, match=r"aliases \(\*a0\) are not allowed") as e:
        parse_rules(text)
    assert time.process_time() - start < 2  # a guard against the exponential walk, not a speed goal
    assert e.value.problems[0][0] > 1


def test_nesting_and_descriptor_counts_are_bounded_while_walking():
    deep = (
        "domain: d\ndescriptors:\n"
        + "".join("  " * i + f"  - key: k{i}\n" + "  " * i + "    descriptors:\n" for i in range(12))
        + "  " * 12
        + "  - key: last\n"
        + "  " * 12
        + "    rate_limit: {unit: second, requests_per_unit: 1}\n"
    )
    with pytest.raises(RulesError, match="nested more than 8 deep"):
        parse_rules(deep)
    many = "domain: d\ndescriptors:\n" + "".join(
        f"  - {{key: k{i}, rate_limit: {{unit: second, requests_per_unit: 1}}}}\n" for i in range(2_100)
    )
    with pytest.raises(RulesError, match="more than 2,000 descriptors|the limit is 50,000"):
        parse_rules(many)
