"""AppTest for the resilience page: the numbers shown are the engine's, recomputed here from the lesson's
config for the same parameters."""

from __future__ import annotations

import json

import pytest

from lessons import resilience as L
from sdcore.resilience import VARIANTS, compare
from tests.pages.conftest import open_page

PAGE = "pages/resilience.py"


def shown(at) -> list[tuple[str, str]]:
    return [(m.label, m.value) for m in at.metric]


def expected(values: dict) -> list[tuple[str, str]]:
    cmp = compare(L.config(values))
    return [(h.label, h.value) for v in VARIANTS for h in L.headlines(cmp, v)]


def check(query: dict[str, str], values: dict) -> None:
    at = open_page(PAGE, query)
    assert not at.error, [e.value for e in at.error]
    assert shown(at) == expected(values)
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == 2
    text = " ".join(m.value for m in at.markdown)
    assert "**At " in text and "**The fallback**" in text
    assert "**The breaker" in text


@pytest.mark.parametrize("preset", list(L.PRESETS))
def test_every_preset(preset):
    check({"preset": preset}, dict(L.PRESETS[preset].values))


def test_extremes_at_reduced_sizes():
    small = {"duration": 30, "rate": 10, "share": 100, "pool": 5, "timeout": 0.1, "retries": 5, "budget": True,
             "budget_ratio": 0, "capacity": 10, "policy": "rate", "window": "time", "size": 1, "min_calls": 1,
             "permitted": 1, "wait": 1, "half_open_cap": 1, "open_backoff": 4.0, "max_wait": 600, "start": 0,
             "length": 300, "failure": 0, "health": "slow", "slow_latency": 10.0, "seed": 0}  # fmt: skip
    query = {k: ("true" if v is True else str(v)) for k, v in small.items()}
    check({"preset": "Dependency outage", **query}, dict(L.PRESETS["Dependency outage"].values) | small)


def test_step_moves_the_cursor_and_a_bad_link_value_is_a_notice():
    at = open_page(PAGE, {"preset": "Dependency outage", "rate": "99999"})
    assert any("rate" in w.value for w in at.warning)
    before = next(m.value for m in at.markdown if m.value.startswith("**At "))
    at.button(key="res.next").click().run()
    after = next(m.value for m in at.markdown if m.value.startswith("**At "))
    assert before.startswith("**At 45 s**") and after.startswith("**At 47 s**")


def test_no_request_needing_the_dependency_is_shown_without_an_error():
    # the default preset retries twice; with a share of 0 the why text divided by zero
    values = {**L.PRESETS[L.DEFAULT_PRESET].values, "share": 0}
    check({"preset": L.DEFAULT_PRESET, "share": "0"}, values)
