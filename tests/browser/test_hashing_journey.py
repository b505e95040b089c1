"""Journey: open the hashing page by its link, add a node, see the moved-keys metric change."""

import re

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def test_deep_link_add_node_and_see_keys_move(app_url, page):
    # A deep link is the first request to this server: it must still show the grouped navigation.
    page.goto(f"{app_url}/consistent_hashing?keys=10000")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Foundations" in nav and "Consistent hashing" in nav
    assert metric_value(page, "Keys moved") == "—"
    page.get_by_role("button", name="Apply change").click()
    page.locator('[data-testid="stMetric"]', has_text="Keys moved (add S5)").wait_for(timeout=60_000)
    moved = metric_value(page, "Keys moved (add S5)")
    assert re.fullmatch(r"\d+\.\d%", moved) and 5 < float(moved[:-1]) < 40
    page.wait_for_function("() => window.location.search.includes('changes=add')", timeout=10_000)
    path = shot(page, "hashing_after_add")
    assert path.stat().st_size > 10_000


def test_shared_link_reproduces_the_experiment(app_url, page):
    """Opening a link with a preset and a changed parameter shows that preset as Custom with the value."""
    page.goto(f"{app_url}/consistent_hashing?preset=Too+few+virtual+nodes&keys=10000&changes=add:S6:1")
    page.locator('[data-testid="stMetric"]', has_text="Keys moved (add S6)").wait_for(timeout=60_000)
    text = page.locator('[data-testid="stMain"]').inner_text()
    assert "Cluster now: S1, S2, S3, S4, S5, S6" in text
    assert page.locator('[data-testid="stSelectbox"] input').first.input_value() == "Custom"
