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


HIDDEN_COLUMNS = """() => {
    const out = [];
    for (const t of document.querySelectorAll('[data-testid="stDataFrame"]')) {
        const s = t.querySelector('.dvn-scroller');
        if (s && s.scrollWidth > s.clientWidth + 2) out.push(`grid ${s.scrollWidth} > ${s.clientWidth}`);
    }
    for (const t of document.querySelectorAll('[data-testid="stTable"]')) {
        const table = t.querySelector('table');
        if (table && table.getBoundingClientRect().right > t.getBoundingClientRect().right + 2)
            out.push(`table ${table.scrollWidth} > ${t.clientWidth}`);
    }
    return out;
}"""


@pytest.mark.parametrize(
    ("page", "header"),
    [
        ("rate_limiter", "state per client"),
        ("distributed_rate_limiting", "worst case"),
        ("kv_cluster?preset=Network+partition%2C+writes+on+both+sides", "written by"),
        ("sharding", "cost"),
        ("news_feed", "most batches waiting"),
        ("kv_quorum?n=10", "preference list"),
    ],
)
def test_tables_the_captions_point_at_show_every_column(app_url, wide, page, header):
    """At 1440 px every column of these tables is on screen (the grids hid the right-most ones behind a scroll
    bar that shows only under the mouse: the rate limiter's 'state per client', the sync table's 'worst case')."""
    wide.goto(f"{app_url}/{page}")
    main = wide.locator('[data-testid="stMain"]')
    main.locator('[data-testid="stTable"]').first.wait_for(timeout=90_000)
    settle(wide)
    heading = main.locator('[data-testid="stTable"] th', has_text=header).first
    heading.scroll_into_view_if_needed()
    assert heading.is_visible()
    assert wide.evaluate(HIDDEN_COLUMNS) == []
