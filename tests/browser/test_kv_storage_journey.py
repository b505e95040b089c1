"""Journey: open the storage page by a link, step back through the session, switch to the crash preset and
see the memtable crossed out, then recovered with every acknowledged write."""

import re

import pytest

from lessons import kv_storage as L
from sdcore.kvstore.lsm import run_script
from tests.browser.conftest import shot

pytestmark = pytest.mark.browser
SMALL = "writes=1000&key_space=200"


def main_text(page) -> str:
    return page.locator('[data-testid="stMain"]').inner_text()


def wait_for_step(page, number: int) -> None:
    page.locator('[data-testid="stMain"]').get_by_text(re.compile(rf"^Step {number} of ")).first.wait_for(
        timeout=30_000
    )


def metric_value(page, label_start: str) -> str:
    m = page.locator('[data-testid="stMetric"]', has_text=label_start).first
    return m.locator('[data-testid="stMetricValue"]').inner_text()


def test_step_through_a_crash_and_recovery(app_url, page):
    page.goto(f"{app_url}/kv_storage?{SMALL}")
    page.locator('[data-testid="stPlotlyChart"] .main-svg').first.wait_for(timeout=60_000)
    default = run_script(L.PARAM["script"].default, L.settings_from({p.name: p.default for p in L.PARAMS})[0])
    total = len(default.steps)
    wait_for_step(page, total)
    page.get_by_role("button", name="◀").click()
    wait_for_step(page, total - 1)

    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    option = page.get_by_role("option", name="Crash before the flush")
    for _ in range(3):  # a click that lands while the ◀ rerun still redraws closes the list again at once
        page.locator('[data-testid="stSelectbox"]').first.click()
        try:
            option.wait_for(timeout=5_000)
            break
        except PlaywrightTimeout:
            continue
    option.click()
    crash = run_script(L.PRESET_TABLE["Crash before the flush"].values["script"], default.settings)
    n = len(crash.steps)
    wait_for_step(page, n)
    assert metric_value(page, "Reads matching a dict") == f"{crash.reads_matching} of {len(crash.gets)}"
    crash_at = next(i for i, s in enumerate(crash.steps) if s.op.command == "crash") + 1
    for number in range(n - 1, crash_at - 1, -1):  # one click at a time: each one reruns the fragment
        page.get_by_role("button", name="◀").click()
        wait_for_step(page, number)
    assert "crashed: 3 memtable entries lost" in main_text(page)
    node = page.locator('[data-testid="stPlotlyChart"]').first.inner_text()
    assert "CRASHED" in node
    for number in (crash_at + 1, crash_at + 2):
        page.get_by_role("button", name="▶").click()
        wait_for_step(page, number)
    assert "recovered: 3 log records replayed" in main_text(page)
    path = shot(page, "kv_storage_recovery")
    assert path.stat().st_size > 10_000
