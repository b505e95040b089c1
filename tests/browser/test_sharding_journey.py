"""Journey: open the sharding page by a link, switch to time-range shards, see the hot newest shard,
predict, reveal what re-sharding moves, and type a key into the key-slot box."""

import pytest

from lessons import sharding as L
from sdcore.sharding import key_slot, run_sharding
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
TIME = "Time-range shards and the hot newest shard"


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def run_for(preset: str):
    values = {**{p.name: p.default for p in L.PARAMS}, **dict(L.PRESET_TABLE[preset].values)}
    return run_sharding(L.config(values))


def test_time_range_hot_shard_reveal_and_key_slot(app_url, page):
    page.goto(f"{app_url}/sharding")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Sharding" in nav
    default = run_for(L.DEFAULT_PRESET)
    writes = L.headlines(default)[2].value
    assert metric_value(page, "Hot shard writes/s") == writes

    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=TIME).click()
    hot = run_for(TIME)
    expect = L.headlines(hot)[2].value
    page.locator('[data-testid="stMetric"]', has_text="Hot shard writes/s").get_by_text(expect).wait_for(
        timeout=30_000
    )
    assert expect != writes
    page.wait_for_function("() => window.location.search.includes('preset=Time')", timeout=10_000)

    page.get_by_role("button", name="Reveal").click()
    page.get_by_text("You predicted 50%").wait_for(timeout=30_000)
    assert L.pct(hot.movement.fraction) in page.locator('[data-testid="stMain"]').inner_text()

    box = page.get_by_role("textbox", name="Type a Redis key")
    box.fill("{user42}.followers")
    box.press("Enter")
    page.get_by_text(f"= {key_slot('user42')}").wait_for(timeout=30_000)
    path = shot(page, "sharding_time_range")
    assert path.stat().st_size > 10_000
