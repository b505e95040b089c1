"""Journey: open the resilience page by a link to the cascade, see the pool fill without a breaker, switch to
the retry storm, and step the time cursor."""

import re

import pytest

from lessons import resilience as L
from sdcore.resilience import compare
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
CASCADE = "Slow dependency (the cascade)"


def metric_values(page, label_start: str) -> list[str]:
    boxes = page.locator('[data-testid="stMetric"]', has_text=label_start)
    return [boxes.nth(i).locator('[data-testid="stMetricValue"]').inner_text() for i in range(boxes.count())]


def cursor_time(page) -> int:
    text = page.locator('[data-testid="stMain"]').inner_text()
    return int(re.search(r"At (\d+) s the dependency is", text).group(1))


def test_cascade_then_retry_storm_then_step(app_url, page):
    cascade = compare(L.config(L.PRESETS[CASCADE].values))
    page.goto(f"{app_url}/resilience?preset=Slow+dependency+%28the+cascade%29")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    assert page.locator("h1").first.inner_text().startswith(L.TITLE)  # routed through app.py's navigation
    assert page.locator('[data-testid="stSidebarNav"]').count() == 1
    assert metric_values(page, "Healthy requests failed") == [
        f"{r.local_failed:,}" for r in cascade.runs.values()
    ]
    assert metric_values(page, "Workers busy, peak")[0] == f"{cascade['none'].config.pool_size} of 60"

    storm = compare(L.config(L.PRESETS["Retry storm"].values))
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Retry storm").click()
    calls = f"{int(storm['none'].dependency_calls.sum()):,}"
    page.locator('[data-testid="stMetric"]', has_text="Dependency calls").get_by_text(calls).wait_for(
        timeout=30_000
    )
    page.wait_for_function("() => window.location.search.includes('preset=Retry')", timeout=10_000)

    start = cursor_time(page)
    assert start == L.default_cursor(storm.config) == 45
    page.get_by_role("button", name="▶").click()
    page.locator('[data-testid="stMain"]').get_by_text(
        re.compile(rf"At {start + 2} s the dependency is")
    ).first.wait_for(timeout=30_000)
    assert "Retries multiply the load" in page.locator('[data-testid="stMain"]').inner_text()
    path = shot(page, "resilience_retry_storm")
    assert path.stat().st_size > 10_000
