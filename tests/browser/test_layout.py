"""Layout at a classroom laptop's width (1440 px): nothing a student has to read is cut off."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TRUNCATED = """(selector) => [...document.querySelectorAll(selector)]
    .filter(e => e.scrollWidth > e.clientWidth + 1)
    .map(e => e.innerText)"""


def settle(page) -> None:
    """Widths are final once the web fonts are in and the sidebar has stopped sliding in."""
    page.evaluate("document.fonts.ready.then(() => true)")
    page.wait_for_timeout(1500)


@pytest.fixture
def wide(browser):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def test_every_page_name_in_the_sidebar_fits(app_url, wide):
    wide.goto(app_url)
    nav = wide.locator('[data-testid="stSidebarNav"]')
    nav.wait_for(timeout=60_000)
    wide.get_by_role("link", name="Interview recap").wait_for(timeout=30_000)
    settle(wide)
    names = wide.locator('[data-testid="stSidebarNavLink"]').all_inner_texts()
    assert len(names) >= 14
    assert wide.evaluate(TRUNCATED, '[data-testid="stSidebarNavLink"] span') == []


RING_GAP = """() => {
    const drawn = document.querySelector('.polarlayer .polar .frontplot');
    const chart = drawn.closest('[data-testid="stPlotlyChart"]');
    return chart.getBoundingClientRect().bottom - drawn.getBoundingClientRect().bottom;
}"""


def test_no_blank_band_under_the_hash_ring(app_url, wide):
    """The ring's figure is no taller than the circle it draws (there were about 115 px of blank under it)."""
    wide.goto(f"{app_url}/consistent_hashing")
    wide.locator(".polarlayer .polar .frontplot").first.wait_for(timeout=60_000)
    settle(wide)
    assert 0 <= wide.evaluate(RING_GAP) < 40
