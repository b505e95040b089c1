"""The resilience page's words: presets within their widgets' ranges, the config they build, and headlines
and explanations whose numbers are the runs'."""

from __future__ import annotations

import re

import numpy as np
import pytest

from lessons import resilience as L
from lessons.base import Param
from sdcore.resilience import ConsecutiveFailures, FailureRateWindow, LastGood, compare


@pytest.mark.parametrize("preset", list(L.PRESETS))
def test_presets_stay_within_their_widgets(preset):
    for name, value in L.PRESETS[preset].values.items():
        p: Param = L.PARAM[name]
        if p.options is not None:
            assert value in p.options
        elif not isinstance(p.default, bool):
            assert p.lo <= value <= p.hi and type(value) is type(p.default), (name, value)
    L.config(L.PRESETS[preset].values)  # builds a valid config


def test_every_param_has_a_label_and_help_and_every_group_names_real_params():
    assert all(p.label and p.help for p in L.PARAMS)
    grouped = {*L.HEALTH_PARAMS, *L.TRAFFIC_PARAMS, *L.EXTRA_PARAMS, "policy", "fallback"}
    grouped |= {n for names in L.POLICY_PARAMS.values() for n in names}
    assert grouped == set(L.PARAM)


def test_config_maps_the_values():
    c = L.config({"policy": "rate", "window": "time", "size": 30, "min_calls": 7, "wait": 9, "half_open_cap": 2,
                  "open_backoff": 2.0, "max_wait": 5, "share": 40, "budget": True, "budget_ratio": 10})  # fmt: skip
    assert c.breaker == FailureRateWindow(window="time", size=30, minimum_calls=7, slow_call_duration=0.5,
                                          slow_call_rate_threshold=100.0, wait_in_open=9.0,
                                          permitted_calls_in_half_open=5, max_half_open_calls=2, open_backoff=2.0,
                                          max_reset_timeout=9.0)  # fmt: skip
    assert c.dependency_share == 0.4 and c.retry_budget.ratio == 0.1
    d = L.config({})
    assert d.breaker == ConsecutiveFailures(5, 5.0, 1) and d.fallback == LastGood() and d.retry_budget is None


CMP = compare(L.config(L.PRESETS["Dependency outage"].values))


def test_headlines_are_the_runs_numbers():
    for v, r in CMP.runs.items():
        h = {x.label: x for x in L.headlines(CMP, v)}
        t = r.totals()
        assert h["Answered"].value == f"{100 * (t['success'] + t['fallback']) / r.requests:.1f}%"
        assert h["Dependency calls"].value == f"{int(r.dependency_calls.sum()):,}"
        assert h["Workers busy, peak"].value == f"{int(r.pool_peak.max())} of {r.config.pool_size}"
        assert h["Healthy requests failed"].value == str(r.local_failed)
    assert L.headlines(CMP, "fallback")[0].delta == (
        f"{100 * (L.answered(CMP['fallback']) - L.answered(CMP['none'])):+.1f} points"
    )


def test_why_checks_the_retries_against_the_closed_form():
    text = L.why(CMP)
    none = CMP["none"]
    k = none.config.retry.max_retries
    assert f"(1 − f^{k + 1}) / (1 − f) = {k + 1:.2f} calls" in text
    sent = re.search(r"it sent ([\d.]+) per request", text)
    assert abs(float(sent.group(1)) - (k + 1)) < 0.1
    br = CMP["breaker"]
    assert f"opened {br.trips} times" in text
    assert f"{int(br.trial_calls.sum())} calls over" in text
    ages = CMP["fallback"].fallback_age
    assert L.num(float(np.nanmax(ages))) in text or "1 min" in text


def test_why_explains_the_cascade_with_littles_law():
    cmp = compare(L.config(L.PRESETS["Slow dependency (the cascade)"].values))
    text = L.why(cmp)
    assert "need about 80 workers; the pool has 60" in text
    assert f"{cmp['none'].local_failed:,} requests that never needed the dependency failed" in text


def test_captions_say_what_is_true_at_the_cursor():
    r = CMP["fallback"]
    tr = r.transitions[2]
    caption = L.cursor_caption(CMP, tr.time + 0.001)
    assert f"the breaker is **{tr.to_state.replace('_', '-')}**" in caption and tr.reason in caption
    assert "closed" in L.state_machine_caption(r, 0.0)
    assert L.default_cursor(CMP.config) == 45


def test_csv_rows_cover_every_second_of_every_run():
    rows = L.csv_rows(CMP)
    assert len(rows) == 3 * CMP.config.bins
    assert sum(row["success"] for row in rows) == sum(r.totals()["success"] for r in CMP.runs.values())


def test_all_headlines_name_their_variant_for_the_recap():
    """Every variant's headlines, in column order, each label prefixed with its variant: labels unique."""
    heads = L.all_headlines(CMP)
    labels = [h.label for h in heads]
    assert len(labels) == len(set(labels)) == 3 * len(L.headlines(CMP, "none"))
    assert labels[0] == "No breaker: Answered" and "Breaker + fallback: Answered" in labels
    by = {h.label: h.value for h in heads}
    assert by["Breaker + fallback: Answered"] == L.headlines(CMP, "fallback")[0].value
    assert by["No breaker: Dependency calls"] == f"{int(CMP['none'].dependency_calls.sum()):,}"


def test_why_with_no_request_needing_the_dependency_says_nothing_of_retries():
    # the default preset retries twice; with a share of 0 no call is sent, and the load check divided by zero
    cmp = compare(L.config({**L.PRESETS[L.DEFAULT_PRESET].values, "share": 0}))
    text = L.why(cmp)
    assert "Retries multiply the load" not in text and "never opened" in text
    assert all(h.value for h in L.all_headlines(cmp))
