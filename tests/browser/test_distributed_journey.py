"""Journey: open the distributed rate-limiting page on a real Redis by a link, run the race, read the Lua
overshoot off the page, then break the connection and see both policies recover."""

import pytest

from sdcore.ratelimit.redis_server import LocalRedisServer, redis_server_path
from tests.browser.conftest import shot

pytestmark = [pytest.mark.browser, pytest.mark.redis]


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


@pytest.fixture
def redis_url():
    if redis_server_path() is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install redis-server); .ci/run installs it")
    with LocalRedisServer() as server:
        yield f"{server.url}/0"


def test_race_and_fault_on_a_real_redis(app_url, page, redis_url):
    page.goto(f"{app_url}/distributed_rate_limiting?redis_url={redis_url}&clients=4&requests=10&runs=2"
              "&decisions=30&timeout_ms=500")
    main = page.locator('[data-testid="stMain"]')
    main.get_by_text("Connected to Redis").wait_for(timeout=60_000)
    assert metric_value(page, "PING round trip").endswith("µs")
    assert page.locator('[data-testid="stPlotlyChart"]').count() == 0  # nothing ran yet

    page.get_by_role("button", name="Run the race").click()
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    main.get_by_text("Racing: done").wait_for(timeout=60_000)
    assert metric_value(page, "Lua overshoot") == "+0"
    assert "Lua script (RedisStore fixed window)" in main.inner_text()

    page.get_by_role("button", name="Run with a fault mid-run").click()
    page.locator('[data-testid="stMetric"]', has_text="Back on Redis, fail closed").wait_for(timeout=60_000)
    assert metric_value(page, "Degraded, fail open") == "10"
    assert metric_value(page, "Back on Redis, fail closed") == "decision 20"
    page.locator('[data-testid="stPlotlyChart"]').nth(1).scroll_into_view_if_needed()
    path = shot(page, "distributed_fault_run")
    assert path.stat().st_size > 10_000
