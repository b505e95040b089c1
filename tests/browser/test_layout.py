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


CUT_OFF = """() => {
    const out = [];
    for (const e of document.querySelectorAll('body *')) {
        const cs = getComputedStyle(e);
        if (cs.textOverflow === 'ellipsis' && cs.overflow !== 'visible' && e.offsetParent !== null
            && e.innerText && e.scrollWidth > e.clientWidth + 1)
            out.push(`cut off: ${e.innerText.slice(0, 60)}`);
    }
    for (const svg of document.querySelectorAll('[data-testid="stPlotlyChart"] svg.main-svg')) {
        const b = svg.getBoundingClientRect();
        for (const t of svg.querySelectorAll('text')) {
            const r = t.getBoundingClientRect();
            if (!t.textContent.trim() || r.width === 0) continue;
            if (r.left < b.left - 1 || r.right > b.right + 1 || r.top < b.top - 1 || r.bottom > b.bottom + 1)
                out.push(`outside its chart: ${t.textContent.slice(0, 60)}`);
        }
    }
    return out;
}"""

EVERY_PAGE = (
    "",
    "consistent_hashing",
    "rate_limiter",
    "rate_limiter?preset=Abusive+client",
    "api_gateway",
    "api_gateway?preset=Crawler+vs+users",
    "distributed_rate_limiting",
    "kv_quorum",
    "kv_cluster",
    "kv_health",
    "kv_storage",
    "sharding",
    "news_feed",
    "resilience?preset=Slow+dependency+%28the+cascade%29",
    "scale",
    "interview_recap",
)


def test_nothing_a_student_reads_is_cut_off_on_any_page(app_url, wide):
    """Every page (and the presets where something was cut before) at 1440 px: no label, headline, delta or
    chip ends in an ellipsis, no table hides a column, no chart text falls outside its chart. Found this way:
    'Token bucket: admi…' six headlines to a row, 'Replicas read-repai…', the gateway inspector's hidden
    'state after', the breaker's hidden 'why', '99th percentile: 129' past the chart's edge."""
    problems = {}
    for page in EVERY_PAGE:
        wide.goto(f"{app_url}/{page}")
        main = wide.locator('[data-testid="stMain"]')
        main.locator("h1").first.wait_for(timeout=90_000)
        wide.wait_for_function(
            "!document.querySelector('[data-testid=\"stStatusWidget\"]')", timeout=90_000
        )  # the run is over: everything the page draws is drawn
        settle(wide)
        height = wide.evaluate("document.querySelector('[data-testid=\"stMain\"]').scrollHeight")
        for y in range(0, height, 900):  # charts draw once they have been on screen
            wide.evaluate(f"document.querySelector('[data-testid=\"stMain\"]').scrollTo(0, {y})")
            wide.wait_for_timeout(100)
        wide.wait_for_timeout(500)
        if found := [*wide.evaluate(CUT_OFF), *wide.evaluate(HIDDEN_COLUMNS)]:
            problems[page or "home"] = found
    assert problems == {}
