"""What the API gateway page says, checked against the run it describes.

Invariants: every preset is one of the scenarios (its rules parse, its clients are profiles) and fits the
page's parameters; the headline counts, the share served per client and the "why" text's Retry-After are
the run's own numbers; the inspector's states in words say what the store holds; with nothing limited the
table says so rather than showing nothing.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np
import pytest

from lessons.api_gateway import (
    DEFAULT_PRESET,
    PARAMS,
    PRESETS,
    SCENARIOS,
    client_caption,
    clients_caption,
    cost_caption,
    decided_line,
    decision_rows,
    explain_state,
    explanation,
    headlines,
    inspector_rows,
    inspector_title,
    limited_rows,
    served_line,
    settings_from,
    status_counts,
    timeline_caption,
)
from sdcore.ratelimit.gateway import PROFILES, GatewayConfig
from sdcore.ratelimit.limiters import make_limiter
from sdcore.ratelimit.rules import parse_rules
from sdcore.ratelimit.statecost import state_cost_table
from sdcore.ratelimit.store import MemoryStore

# A rule on api_key, which users never send: nothing is limited.
QUIET = "domain: d\ndescriptors:\n  - key: api_key\n    rate_limit: {unit: second, requests_per_unit: 1}\n"


@pytest.fixture(scope="module")
def run():
    return replace(SCENARIOS[DEFAULT_PRESET], duration=20).run()


def test_every_preset_is_a_scenario_and_fits_the_parameters():
    params = {p.name: p for p in PARAMS}
    assert list(PRESETS) == list(SCENARIOS) and DEFAULT_PRESET in PRESETS
    for name, preset in PRESETS.items():
        s = SCENARIOS[name]
        assert preset.values == {"rules": s.rules, "clients": list(s.clients)} and preset.description
        assert parse_rules(s.rules).rules and len(s.rules) <= params["rules"].max_len
        assert set(s.clients) <= set(params["clients"].options) == set(PROFILES)
    assert params["rules"].default == SCENARIOS[DEFAULT_PRESET].rules
    assert all(p.label and p.help for p in PARAMS)
    assert not params["request"].defines_experiment  # moving the inspector keeps the preset


def test_the_page_values_become_the_config():
    values = {p.name: p.default for p in PARAMS} | {"duration": 30, "seed": 5, "clients": ["users"]}
    assert settings_from(values, "domain: d\n") == GatewayConfig("domain: d\n", ("users",), 30, 5)


def test_headlines_are_the_runs_counts(run):
    statuses = [d.status for d in run.decisions]
    h = {x.label: x for x in headlines(run, replace(SCENARIOS[DEFAULT_PRESET], duration=20))}
    assert h["Requests"].value == f"{len(statuses):,}"
    assert h["Requests"].help == "20 s from users, crawler, abuser, partner, attacker."
    # One kind of number per row: each outcome a count, with its share of the requests beside it.
    for label, status in (("Served (200)", 200), ("Limited (429)", 429), ("Denied (403)", 403)):
        assert h[label].value == f"{statuses.count(status):,}" != "0"
        assert h[label].delta == f"{statuses.count(status) / len(statuses):.1%} of requests"
    assert status_counts(run) == {s: statuses.count(s) for s in (200, 429, 403)}


def test_the_share_served_per_client(run):
    line = served_line(run)
    for client in ("users", "crawler", "abuser", "partner", "attacker"):
        mine = [d.status for r, d in zip(run.requests, run.decisions, strict=True) if r.client == client]
        assert f"**{client}**: {mine.count(200) / len(mine):.0%} served" in line
    assert "**users**: 100% served" in line and "**attacker**: 0% served" in line


def test_limited_rows_say_when_nothing_was_limited(run):
    rows = limited_rows(run)
    assert rows == run.limited_by()
    assert sum(r["requests turned away"] for r in rows) == sum(not d.allowed for d in run.decisions)
    quiet = GatewayConfig(QUIET, ("users",), 10).run()
    assert limited_rows(quiet) == [
        {"client": "-", "decided by": "nothing was limited", "requests turned away": 0}
    ]


def test_the_why_text_has_the_runs_retry_after(run):
    waits = [d.retry_after for d in run.decisions if d.status == 429]
    text = explanation(run)
    assert f"Here {len(waits):,} limited responses" in text
    assert f"median of {np.median(waits):.2f} s, sent as Retry-After: {math.ceil(np.median(waits))}." in text
    quiet = GatewayConfig(QUIET, ("users",), 5).run()
    text = explanation(quiet)
    assert "Here 0 limited responses; the exact wait had a median of 0.00 s, sent as Retry-After: 0." in text


@pytest.mark.parametrize(
    ("algorithm", "expected"),
    [
        ("token_bucket", "2.000 tokens, as of 0.500 s"),
        ("leaking_bucket", "last queued request leaves at 0.500 s"),
        ("fixed_window", "2 counted in the window that holds 0.500 s"),
        ("sliding_log", "2 timestamps in the log (latest: 0.000 s, 0.500 s)"),
        ("sliding_window_counter", "window #0: 2 this window, 0 in the previous one"),
        ("gcra", "theoretical arrival time 0.833 s (seen 0.500 s)"),
    ],
)
def test_a_stored_state_in_words(algorithm, expected):
    """Three a second, a request at 0 and one at 0.5 s: the bucket is refilled to 3 at 0.5 s and spends one;
    the queue has drained (the second leaves on arrival); GCRA's arrival time is 0.5 s + 1/3 s."""
    store = MemoryStore()
    limiter = make_limiter(algorithm, 3, 1.0, store)
    limiter.allow(0.0, "k")
    limiter.allow(0.5, "k")
    assert explain_state(algorithm, store.peek(algorithm, "k")) == expected
    assert explain_state(algorithm, None).startswith("nothing stored yet")


def test_the_inspector_rows_are_the_requests_checks():
    config = replace(SCENARIOS["Deny-listed attacker"], duration=10)
    run = config.run()
    i = next(k for k, d in enumerate(run.decisions) if d.status == 429)
    ins = config.inspect(i)
    rows = inspector_rows(ins)
    assert [r["verdict"] for r in rows] == ["over the limit"]
    assert rows[0]["rule"] == "remote_address" and rows[0]["algorithm"] == "Fixed window counter"
    assert rows[0]["state after"] == explain_state("fixed_window", ins.states[0].after)
    assert inspector_title(ins).startswith(f"**Request {i}** at t = {ins.request.time:.3f} s from **")
    assert decided_line(ins) == "Decided by: **remote_address**"
    j = next(k for k, d in enumerate(run.decisions) if d.status == 403)
    assert inspector_rows(config.inspect(j)) == []  # the deny-list touches no counter


def test_the_cost_caption_is_the_measured_log():
    costs = state_cost_table((10, 70_000))
    log = next(c for c in costs if c.algorithm == "sliding_log" and c.limit == 70_000)
    assert f"holds {log.numbers:,} timestamps ({log.python_bytes / 1e6:.1f} MB in Python)" in cost_caption(
        costs
    )


def test_clients_caption_and_the_export(run):
    assert clients_caption(["crawler", "abuser"]) == "crawler: 1× 12/s → /search · abuser: 1× 40/s → /login"
    rows = decision_rows(run)
    assert len(rows) == len(run.requests)
    assert [r["status"] for r in rows] == [d.status for d in run.decisions]
    assert rows[0]["remote_address"] == run.requests[0].attributes["remote_address"]


def test_the_charts_captions_name_the_clients_this_run_limited_and_spared(run):
    """'a good rule set contains the abuser' was the caption of presets that have no abuser (a crawler)."""
    crawler = replace(SCENARIOS["Crawler vs users"], duration=20).run()
    for r in (run, crawler):
        rows = {row["who"]: row for row in r.by_client()}
        text, timeline = client_caption(r), timeline_caption(r)
        for who, row in rows.items():
            assert (f"**{who}**" in text) == bool(row["429"] or row["403"] or row["200"] == row["sent"])
        assert ("abuser" in text) == ("abuser" in rows)
        limited = [w for w, row in rows.items() if row["429"]]
        assert all(f"**{w}**" in timeline for w in limited)
    assert client_caption(crawler) == (
        "Each client's requests by outcome: the rules slow **crawler**, and serve **users** in full."
    )
    quiet = GatewayConfig(QUIET, ("users",), 10).run()
    assert "no rule turned anyone away" in client_caption(quiet)
    assert timeline_caption(quiet).endswith("no request was limited (429).")
