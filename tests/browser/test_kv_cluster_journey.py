"""Journey: open the cluster page by a link, pick the partition preset, step through the events, and see
the siblings with their concurrent clocks and the hints handed off."""

import re

import pytest

from lessons.kv_cluster import PRESETS
from sdcore.kvstore.scenario import run_scenario
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
PARTITION = "Network partition, writes on both sides"


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def event_number(page) -> tuple[int, int]:
    found = re.search(r"Event (\d+) of (\d+)", main_text(page))
    return int(found.group(1)), int(found.group(2))


def wait_for_event(page, number: int) -> None:
    page.locator('[data-testid="stMain"]').get_by_text(re.compile(rf"^Event {number} of ")).first.wait_for(
        timeout=30_000
    )


def test_partition_preset_step_through_and_see_siblings(app_url, page):
    run = run_scenario(PRESETS[PARTITION])
    total = len(run.events)
    page.goto(f"{app_url}/kv_cluster?preset=Stale+read+with+R%3D1")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Data" in nav and "Key-value store: break a cluster" in nav
    stale = run_scenario(PRESETS["Stale read with R=1"]).summary()["stale_gets"]
    assert metric_value(page, "Stale gets") == str(stale) != "0"

    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name=PARTITION).click()
    page.locator('[data-testid="stMetric"]', has_text="Hints delivered").get_by_text("2 of 2").wait_for(
        timeout=30_000
    )
    assert metric_value(page, "Most siblings in a get") == "2"
    page.wait_for_function("() => window.location.search.includes('preset=Network')", timeout=10_000)
    wait_for_event(page, total)

    page.get_by_role("button", name="◀").click()
    wait_for_event(page, total - 1)
    page.get_by_role("button", name="◀").click()
    wait_for_event(page, total - 2)
    page.get_by_role("button", name="▶").click()
    wait_for_event(page, total - 1)
    assert event_number(page) == (total - 1, total)

    text = main_text(page)
    assert "concurrent: neither write saw the other" in text
    assert "Reconciled: {eggs,milk}" in text
    assert "partition A,B | C,D,E" in page.locator('[data-testid="stPlotlyChart"]').first.inner_text()
    path = shot(page, "kv_cluster_partition")
    assert path.stat().st_size > 10_000


def test_play_advances_only_while_on(app_url, page):
    page.goto(f"{app_url}/kv_cluster?preset=Hinted+handoff+after+a+node+returns")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    _, total = event_number(page)
    page.locator('[data-testid="stMain"]').get_by_text("Play", exact=True).click()
    wait_for_event(page, 3)  # playing from the end starts over at event 1
    page.locator('[data-testid="stMain"]').get_by_text("Play", exact=True).click()
    page.wait_for_timeout(1500)
    stopped, _ = event_number(page)
    page.wait_for_timeout(2000)
    assert event_number(page)[0] == stopped < total
