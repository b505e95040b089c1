"""Journey: run an experiment on the quorum page, go to the interview recap through the sidebar and find it
listed with the figure it measured; then open the bundle link in a new session and restore it."""

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def wait_for_text(page, text: str) -> None:
    page.locator('[data-testid="stMain"]').get_by_text(text).first.wait_for(timeout=60_000)


def test_an_experiment_shows_up_in_the_recap_and_comes_back_from_the_bundle(app_url, page, browser):
    page.goto(f"{app_url}/kv_quorum?trials=20000")
    wait_for_text(page, "Strong consistency guaranteed")
    thumb = page.locator('[data-testid="stSlider"]', has_text="R: read quorum").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowLeft")  # R = 1: W + R = N
    wait_for_text(page, "Stale reads possible")
    stale = metric_value(page, "Stale reads at commit")
    page.wait_for_function("() => window.location.search.includes('r=1')", timeout=10_000)

    page.locator('[data-testid="stSidebarNav"]').get_by_text("Interview recap").click()
    wait_for_text(page, "Recap: the experiments of this session")
    line = page.locator('[data-testid="stMarkdownContainer"]', has_text="Guarantees").first
    line.wait_for(timeout=30_000)
    text = line.inner_text()
    assert text.startswith("Key-value store: quorums") and "N = 3, W = 2, R = 1" in text
    assert "edited" in text and f"stale at commit {stale}" in text
    page.get_by_text("Back to this experiment (Key-value store: quorums)").wait_for(timeout=30_000)
    code = page.locator('[data-testid="stCode"]', has_text="bundle=").first
    code.wait_for(timeout=30_000)
    link = code.inner_text().strip()
    assert link.startswith(f"{app_url}/interview_recap?bundle=")
    line.scroll_into_view_if_needed()
    path = shot(page, "interview_recap_listed")
    assert path.stat().st_size > 10_000

    context = browser.new_context(viewport={"width": 1400, "height": 1000})  # a new session
    try:
        fresh = context.new_page()
        fresh.goto(link)
        wait_for_text(fresh, "Experiments from the bundled link")
        fresh.get_by_text("Restore this experiment (Key-value store: quorums)").click()
        wait_for_text(fresh, "Stale reads possible")
        assert metric_value(fresh, "Stale reads at commit") == stale
        fresh.wait_for_function("() => window.location.search.includes('r=1')", timeout=10_000)
    finally:
        context.close()
