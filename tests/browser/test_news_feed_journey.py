"""Journey: open the news-feed page by a link, see the fanout charts, switch to the celebrity preset and
watch the last-follower delay appear, then add workers and see it fall."""

import pytest

from lessons import news_feed as L
from lessons.base import seconds
from sdcore.feed import simulate_feed
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def expected_delay(**changes) -> str:
    v = {p.name: p.default for p in L.PARAMS} | dict(L.PRESET["Celebrity posts"].values) | changes
    v |= {"users": 2_000, "posts": 200, "celebrity_followers": 100_000}
    run = simulate_feed(L.config_from(v), "push")
    return seconds(float(run.delay[0]))


def test_celebrity_delay_falls_with_more_workers(app_url, page):
    page.goto(f"{app_url}/news_feed?preset=Celebrity+posts&users=2000&posts=200&celebrity_followers=100000")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120_000)
    assert L.TITLE in page.locator('[data-testid="stMain"]').inner_text()
    four = expected_delay()
    assert metric_value(page, "Last follower after") == four
    assert page.locator('[data-testid="stPlotlyChart"]').count() >= 5

    page.goto(
        f"{app_url}/news_feed?preset=Celebrity+posts&users=2000&posts=200&celebrity_followers=100000&workers=16"
    )
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=120_000)
    sixteen = expected_delay(workers=16)
    page.locator('[data-testid="stMetric"]', has_text="Last follower").get_by_text(sixteen).wait_for(
        timeout=30_000
    )
    assert sixteen != four

    page.get_by_role("radiogroup", name="Strategy shown in detail").get_by_text(
        "Pull (fanout on read)"
    ).click()
    page.locator('[data-testid="stMetric"]', has_text="Last follower").get_by_text("at once").wait_for(
        timeout=30_000
    )
    page.wait_for_function("() => window.location.search.includes('strategy=pull')", timeout=10_000)
    path = shot(page, "news_feed_celebrity")
    assert path.stat().st_size > 10_000
