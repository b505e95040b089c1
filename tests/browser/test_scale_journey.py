"""Journey: open the scale page on the single server, see it break at a million users, switch on redundancy
and watch it keep up, then run a failure drill and step its time cursor."""

import pytest

from lessons import scale as L
from sdcore.scale.architecture import analyze
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def test_break_a_single_server_then_grow_it(app_url, page):
    page.goto(f"{app_url}/scale?preset=Single+server&users=1000000")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    assert page.locator("h1", has_text="Scale to millions").count() == 1
    v = (
        {p.name: p.default for p in L.PARAMS}
        | dict(L.PRESET_TABLE["Single server"].values)
        | {"users": 1_000_000}
    )
    broken = analyze(L.config_from(v))
    assert metric_value(page, "Requests failed") == L.pct(broken.error_rate, 2) != "0.00%"
    assert "bottleneck" in page.locator('[data-testid="stPlotlyChart"]').first.inner_text()

    page.locator('[data-testid="stMain"]').get_by_text("1. Redundancy at every tier").click()
    page.locator('[data-testid="stMetric"]', has_text="Requests failed").get_by_text(
        "0.00%", exact=True
    ).wait_for(timeout=30_000)
    grown = analyze(L.config_from(v | {"redundancy": True}))
    assert metric_value(page, "Monthly cost") == L.money(grown.monthly_cost)
    page.wait_for_function("() => window.location.search.includes('redundancy=true')", timeout=10_000)

    page.get_by_test_id("stRadioGroup").get_by_text("Kill the primary database").click()
    page.get_by_text("Kill the primary database at minute 2").wait_for(timeout=30_000)
    assert metric_value(page, "Back to") == "> 8 min"  # no automation: a person promotes a replica
    assert "Moment of the drill" in page.locator('[data-testid="stMain"]').inner_text()
    path = shot(page, "scale_single_server_grown")
    assert path.stat().st_size > 10_000
