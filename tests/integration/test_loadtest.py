"""The short class: 5 students (one in real Chromium) on a real ``streamlit run app.py``, for at most 60 s.

The load test's own client speaks Streamlit's websocket protocol; this checks, against the real app, that
every interaction it starts finishes without an error (no exception on a page, no rerun left hanging, no
dropped websocket), that the widgets it moves really rerun the page, and that its numbers are finite.
Skips (a failure under CI=true) when websockets, Playwright or Chromium is missing.
"""

from __future__ import annotations

import asyncio
import math
import os

import pytest

pytest.importorskip("websockets", reason="websockets is needed by the load test's client (test extra)")
pytest.importorskip("playwright", reason="playwright is needed for the load test's Chromium student")

from benchmarks import loadtest  # noqa: E402
from classroom.run import Replica, free_port  # noqa: E402

CHROMIUM = loadtest.CHROMIUM


@pytest.fixture(scope="module")
def server():
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    replica = Replica(free_port(), env=dict(os.environ, SDS_ALLOW_PROCESSES="0")).start()
    try:
        replica.wait_ready(90)
        yield replica
    finally:
        replica.stop()


def test_five_students_for_fifteen_seconds(server):
    plan = loadtest.Plan(
        duration=15, think=(0.5, 1.5), ramp=2, timeout=20, pages=(), start="", seed=7
    )  # at most ramp + duration + timeout + 15 = 52 s
    meter = loadtest.Meter({"replica": server.pid})

    async def go():
        await loadtest.warm([server.url])  # the teacher's own first visit: imports and caches
        return await loadtest.run_load([server.url], 5, 1, plan, meter, label="suite")

    result = asyncio.run(go())
    report = result.report()
    assert report["errors"] == 0, report["error_samples"]
    assert report["finished"] == report["interactions"] >= 10
    kinds = {i.kind for i in result.interactions}
    assert {"open", "move"} <= kinds
    clients = {i.client for i in result.finished}
    assert clients == {"ws", "browser"}, "both kinds of student finished interactions"
    moved = [i for i in result.finished if i.kind == "move"]
    assert all(i.received > 0 for i in moved), "a widget move reran the page and sent its elements"
    assert len({i.page for i in result.finished}) >= 2, "the students walked more than one page"
    for value in (
        report["latency_s"]["median"],
        report["latency_s"]["p95"],
        report["cpu_per_interaction_s"],
        report["rss_mib"]["peak"],
        report["rss_mib"]["per_session"],
    ):
        assert math.isfinite(value)
    assert report["cpu_per_interaction_s"] > 0
    assert report["rss_mib"]["peak"] >= report["rss_mib"]["start"] > 0
    assert result.wall < plan.ramp + plan.duration + plan.timeout + 15


def test_a_move_sends_what_the_browser_would():
    """The client's widget moves stay inside the widget's range and step, and change its value."""
    import random

    from streamlit.proto.Slider_pb2 import Slider

    proto = Slider(id="$$ID-x-k", min=10, max=20, step=2, data_type=Slider.INT)
    proto.default[:] = [14]
    w = loadtest.Widget("slider", proto, "")
    rng = random.Random(3)
    state = None
    for _ in range(200):
        state = loadtest.propose_move(w, state, rng)
        (v,) = state.double_array_value.data
        assert 10 <= v <= 20 and (v - 10) % 2 == 0
    values = set()
    state = None
    for _ in range(50):
        new = loadtest.propose_move(w, state, rng)
        before = loadtest._current(w, state)[0]
        assert new.double_array_value.data[0] != before
        values.add(new.double_array_value.data[0])
        state = new
    assert len(values) >= 3
