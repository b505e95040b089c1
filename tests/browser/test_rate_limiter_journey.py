"""Journey: open the rate-limiter page by a link, switch to the window-edge burst, step through time, play,
and upload a broken trace through the real file input."""

import re

import pytest

from tests.browser.conftest import shot

pytestmark = pytest.mark.browser


def metric_value(page, label: str) -> str:
    m = (
        page.locator('[data-testid="stMetric"]')
        .filter(
            has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(f"^{re.escape(label)}$"))
        )
        .first
    )
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def cursor_text(page) -> str:
    return page.locator(
        '[data-testid="stMarkdownContainer"]', has_text=re.compile(r"^At t = ")
    ).first.inner_text()


def test_edge_burst_step_through_time_and_play(app_url, page):
    page.goto(f"{app_url}/rate_limiter?duration=30")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    nav = page.locator('[data-testid="stSidebarNav"]').inner_text()
    assert "Traffic control" in nav and "Rate limiter" in nav
    assert metric_value(page, "Fixed window: admitted") != "100.0%"
    # Pick the preset: the fixed window lets all 20 requests through, the sliding log only 10.
    page.locator('[data-testid="stSelectbox"]').first.click()
    page.get_by_role("option", name="Burst across the window edge").click()
    page.wait_for_function("() => window.location.search.includes('Burst+across')", timeout=30_000)
    page.locator('[data-testid="stMetric"]', has_text="Requests in the trace").filter(
        has_text="20"
    ).wait_for()
    page.wait_for_function(
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => "
        "m.innerText.startsWith('Fixed window') && m.innerText.includes('100.0%'))",
        timeout=30_000,
    )
    assert metric_value(page, "Sliding log: admitted") == "50.0%"
    # The cursor starts at the first rejection (1.000 s); one step right moves it and the state it shows.
    page.get_by_text("At t = 1.000 s").wait_for(timeout=30_000)
    before = cursor_text(page)
    thumb = page.locator('[data-testid="stSlider"]', has_text="Time cursor").get_by_role("slider")
    thumb.focus()
    thumb.press("ArrowRight")
    page.wait_for_function(
        "(b) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('At t = ') && "
        "p.innerText !== b)",
        arg=before,
        timeout=30_000,
    )
    assert cursor_text(page).startswith("At t = 1.001 s")
    # Play: the cursor moves by itself, then stops when the toggle is off.
    toggle = page.locator('[data-testid="stCheckbox"]', has_text="Play")
    toggle.click()
    moved = cursor_text(page)
    page.wait_for_function(
        "(b) => [...document.querySelectorAll('p')].some(p => p.innerText.startsWith('At t = ') && "
        "p.innerText !== b)",
        arg=moved,
        timeout=30_000,
    )
    toggle.click()
    path = shot(page, "rate_limiter_edge_burst")
    assert path.stat().st_size > 10_000


def test_bad_upload_shows_the_row_and_keeps_the_trace(app_url, page, tmp_path):
    page.goto(f"{app_url}/rate_limiter?preset=Burst+across+the+window+edge")
    page.locator('[data-testid="stMetric"]', has_text="Requests in the trace").filter(has_text="20").wait_for(
        timeout=60_000
    )
    bad = tmp_path / "bad_trace.csv"
    bad.write_text("time,client\n0.1,alice\nlater,alice\n0.3,bob\n")
    page.get_by_text("Upload a trace (CSV)").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(bad))
    error = page.locator('[data-testid="stAlert"]', has_text="bad_trace.csv")
    error.wait_for(timeout=30_000)
    assert "row 3: 'later' is not a number" in error.inner_text()
    assert metric_value(page, "Requests in the trace") == "20"  # the generated trace is still shown


def test_an_access_log_through_the_real_uploader(app_url, page, tmp_path):
    """A gzipped four-day combined log through the real file input: the summary says what was read, the
    traffic inputs turn off, and the tuning panel draws the peak distribution and the clients limited."""
    import gzip

    from tests.pages.test_rate_limiter import combined_log

    page.goto(f"{app_url}/rate_limiter?preset=Abusive+client")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    log = tmp_path / "access.log.gz"
    log.write_bytes(gzip.compress(combined_log()))
    page.get_by_text("Upload a trace (CSV)").click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(log))
    page.locator('[data-testid="stMetric"]', has_text="Malformed lines").wait_for(timeout=60_000)
    page.get_by_text("The limit this traffic needs").wait_for(timeout=60_000)
    assert metric_value(page, "Format") == "Combined, gzip"
    assert metric_value(page, "Requests") == "3,000" and metric_value(page, "Clients") == "6"
    assert page.locator('[data-testid="stNumberInput"]', has_text="Duration").locator("input").is_disabled()
    assert "Your upload, access.log.gz" in page.locator('[data-testid="stAlert"]').first.inner_text()
    page.locator('[data-testid="stPlotlyChart"]').nth(7).scroll_into_view_if_needed()
    assert page.locator('[data-testid="stDataFrame"]').count() == 2  # suggestions, clients limited
    assert page.locator('[data-testid="stTable"]', has_text="state per client").count() == 1  # the comparison
    path = shot(page, "rate_limiter_access_log")
    assert path.stat().st_size > 10_000
