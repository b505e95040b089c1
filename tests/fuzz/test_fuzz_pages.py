"""Every page opened from hostile links: each of its URL parameters with garbage, huge, negative, NaN,
unicode and markdown/HTML values, plus names the page does not know.

Invariant: the page draws with no exception (tracebacks are raised under the tests, see tests/conftest.py),
every notice about the link shows the value as text (never a live markdown link or image), and every
number in a metric is finite. Derandomized; FUZZ_PAGE_EXAMPLES sets the number of links per page.
"""

from __future__ import annotations

import os
import random
import re
from pathlib import Path

import pytest

from tests.pages.conftest import open_page

ROOT = Path(__file__).resolve().parents[2]
PAGES = sorted(
    p.name for p in (ROOT / "pages").glob("*.py") if p.name not in ("home.py", "interview_recap.py")
)
EXAMPLES = int(os.environ.get("FUZZ_PAGE_EXAMPLES", "2"))
HOSTILE = (
    "",
    "-1",
    "0",
    "1e309",
    "nan",
    "-inf",
    str(2**70),
    "9" * 400,
    "🙂 sérvér",
    "[log in again](http://evil.example)",
    "![x](http://evil.example/a.png)",
    "<img src=x onerror=alert(1)>",
    "a,b,,a",
    "true",
    "\x00\x01",
)


def _names(at) -> list[str]:
    store = next(v for k, v in at.session_state.items() if str(k).startswith("_params."))
    return sorted(store["values"])


@pytest.mark.parametrize("page", PAGES)
def test_hostile_links_end_in_a_clear_page(page):
    path = f"pages/{page}"
    names = _names(open_page(path))
    rng = random.Random(page)  # derandomized: the same links every run
    for _ in range(EXAMPLES):
        query = {n: rng.choice(HOSTILE) for n in rng.sample(names, k=min(len(names), 4))}
        query[rng.choice(["preset", "x" * 50, "<b>"])] = rng.choice(HOSTILE)
        at = open_page(path, query)  # asserts no exception
        for notice in (*at.warning, *at.info, *at.error):
            outside_code = re.sub(r"(`+)(.+?)\1", "", notice.value)  # a code span shows its text as is
            assert "](http" not in outside_code and "<img" not in outside_code, notice.value
        for m in at.metric:
            assert not any(bad in str(m.value).lower() for bad in ("nan", "inf")), (m.label, m.value)


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize("end", ["min", "max"])
def test_every_slider_and_number_box_at_its_extreme(page, end):
    """Every slider and number box of the page moved to its minimum (or maximum) at once, as a student
    dragging everything to one end would: the page ends with a clear message or a result, never a
    traceback, and every metric stays finite."""
    at = open_page(f"pages/{page}")
    for w in [*at.slider, *at.number_input]:
        if getattr(w, "disabled", False):
            continue
        bound = getattr(w, end, None)
        if bound is None or (isinstance(w.value, tuple | list)):
            continue
        w.set_value(type(w.value)(bound) if isinstance(w.value, int | float) else bound)
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    for m in at.metric:
        assert not any(bad in str(m.value).lower() for bad in ("nan", "inf")), (m.label, m.value)
