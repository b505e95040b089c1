"""AppTest for the scale page: what it shows, recomputed here from the engine and the lesson."""

from __future__ import annotations

import json

import pytest

from lessons import scale as L
from sdcore.scale.architecture import analyze
from sdcore.scale.drills import run_drill
from tests.pages.conftest import metric, open_page

PAGE = "pages/scale.py"


def expected(query: dict[str, str]):
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESET_TABLE[query.get("preset", L.DEFAULT_PRESET)].values)
    for k, raw in query.items():
        if k != "preset":
            v[k] = L.PARAM[k].parse(raw)
    a = analyze(L.config_from(v))
    return a, run_drill(a, L.drill_from(v))


def assert_shows(at, query) -> None:
    a, r = expected(query)
    assert not at.exception and not at.error
    for h in (*L.headlines(a), *L.drill_headlines(r, a)):
        assert metric(at, h.label) == h.value
    figures = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figures) == 6
    drawn = " ".join(str(t.get("text")) for t in figures[0]["data"])
    assert all(t.label in drawn for t in a.tiers)
    table = next(d.value for d in at.dataframe if "utilization" in d.value.columns)
    assert list(table["tier"]) == [t.label for t in a.tiers]
    captions = " ".join(c.value for c in at.caption)
    assert L.architecture_caption(a) in captions and L.drill_caption(r) in captions


@pytest.mark.parametrize("preset", [p.name for p in L.PRESETS])
def test_every_preset(preset):
    at = open_page(PAGE, {"preset": preset})
    assert at.selectbox[0].value == preset
    assert_shows(at, {"preset": preset})


def test_default_is_a_million_users():
    at = open_page(PAGE)
    assert_shows(at, {})
    assert metric(at, "Bottleneck") == "Web servers"


@pytest.mark.parametrize(
    "query",
    [
        {"preset": "Single server", "users": "100000000", "drill": "traffic_spike"},
        {
            "preset": "Global, 100 million users",
            "users": "1000",
            "target_utilization": "0.9",
            "drill": "cache",
        },
    ],
)
def test_extremes(query):
    at = open_page(PAGE, query)
    assert_shows(at, query)


def test_a_bad_link_value_falls_back_with_a_notice():
    at = open_page(PAGE, {"preset": "Single server", "users": "12345", "peak_factor": "nan"})
    assert any("users" in w.value for w in at.warning)
    assert metric(at, "Peak load") == L.rate(
        analyze(
            L.config_from({**{p.name: p.default for p in L.PARAMS}, **L.PRESET_TABLE["Single server"].values})
        ).load.total
    )


def test_switching_a_practice_changes_the_numbers():
    at = open_page(PAGE, {"preset": "Single server", "users": "1000000"})
    assert metric(at, "Requests failed") != "0.00%"
    at.toggle(key="scale.redundancy").set_value(True).run()
    assert not at.exception
    assert metric(at, "Requests failed") == "0.00%"
    assert at.selectbox[0].value == "Custom"
