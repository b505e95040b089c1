"""Journey: open the quorum page by a link, flip R + W across N, and see the verdict and the numbers follow."""

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def wait_for_text(page, text: str) -> None:
    page.locator('[data-testid="stMain"]').get_by_text(text).first.wait_for(timeout=60_000)


def test_deep_link_eventual_then_quorum_levels(app_url, page):
    page.goto(f"{app_url}/kv_quorum?preset=Eventual+(3,1,1)+on+LinkedIn+disks&trials=20000")
    wait_for_text(page, "Stale reads possible")
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Data" in nav and "Key-value store: quorums" in nav
    assert metric_value(page, "Stale reads at commit") == "66.7%"  # C(2,1)/C(3,1)
    assert float(metric_value(page, "Consistent reads at t = 10 ms").rstrip("%")) < 99
    page.get_by_role("button", name="QUORUM / QUORUM").click()
    wait_for_text(page, "Strong consistency guaranteed")
    assert "Stale reads possible" not in main_text(page)
    assert metric_value(page, "Stale reads at commit") == "0.0%"
    assert metric_value(page, "Consistent reads at t = 10 ms") == "100.00%"
    page.wait_for_function("() => window.location.search.includes('r=2')", timeout=10_000)
    path = shot(page, "kv_quorum_after_levels")
    assert path.stat().st_size > 10_000


def test_moving_r_below_the_overlap(app_url, page):
    """Dynamo default (3,2,2) is strong; one step left on the R slider makes R + W = N: stale reads appear."""
    page.goto(f"{app_url}/kv_quorum?trials=20000")
    wait_for_text(page, "Strong consistency guaranteed")
    thumb = page.locator('[data-testid="stSlider"]', has_text="R: read quorum").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowLeft")
    wait_for_text(page, "Stale reads possible")
    assert metric_value(page, "Stale reads at commit") == "33.3%"  # C(1,1)/C(3,1)
    page.wait_for_function("() => window.location.search.includes('r=1')", timeout=10_000)
    assert page.locator('[data-testid="stSelectbox"] input').first.input_value() == "Custom"
