"""Journey: the gateway view contains the abuser; a broken rules text is explained by line."""

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def test_gateway_rules_validation_and_inspector(app_url, page):
    page.goto(f"{app_url}/api_gateway?duration=20")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    main = page.locator('[data-testid="stMain"]')
    assert "abuser" in main.inner_text() and "users: 100% served" in main.inner_text().replace("**", "")
    area = page.locator("textarea").first
    area.fill(
        "domain: api\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: fortnight, requests_per_unit: 5}\n"
    )
    area.press("Control+Enter")
    page.get_by_text("line 4: unit must be one of").wait_for(timeout=30_000)
    assert "last rules that were valid" in main.inner_text()
    page.locator('[data-testid="stCode"]').first.wait_for(timeout=30_000)
    assert "HTTP/1.1" in page.locator('[data-testid="stCode"]').first.inner_text()
    shot(page, "gateway_invalid_rules")
