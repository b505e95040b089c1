"""Journey: open the healthy-replicas page, step the gossip back to the crash, then pick the GC pause preset
and see the normal model's false conviction appear."""

import re

import pytest

from lessons import kv_health as L
from sdcore.kvstore.phi import simulate_heartbeats
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def test_step_the_gossip_and_pick_the_gc_pause(app_url, page):
    page.goto(f"{app_url}/kv_health")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Key-value store: healthy replicas" in nav
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text(f"Round {L.ROUNDS} of {L.ROUNDS}").first.wait_for(timeout=30_000)
    page.get_by_role("button", name="◀").click()
    main.get_by_text(f"Round {L.ROUNDS - 1} of {L.ROUNDS}").first.wait_for(timeout=30_000)
    assert metric_value(page, "Normal convicts after") == "1.5 s"
    assert metric_value(page, "False suspicions") == "0"

    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="GC pause").click()
    page.wait_for_function("() => window.location.search.includes('preset=GC')", timeout=30_000)
    expected = simulate_heartbeats(
        L.heartbeat_scenario({**{p.name: p.default for p in L.PARAMS}, "pause": 4.0})
    )
    assert len(expected.runs["normal"].false_convictions) == 1
    page.locator('[data-testid="stMetric"]', has_text="Normal convicts after").get_by_text(
        "1 false conviction"
    ).wait_for(timeout=30_000)
    text = main.inner_text()
    assert re.search(r"Normal \(Akka, the paper\) convicted the live node 1 time", text)
    path = shot(page, "kv_health_gc_pause")
    assert path.stat().st_size > 10_000
