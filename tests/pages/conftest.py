"""AppTest helpers: run the real entry script, then switch to a page."""

from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]


def open_page(page: str | None = None, query: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
    """Run app.py (navigation, sidebar) and then the page, with ``query`` as the URL's query string."""
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    if page is not None:
        at.switch_page(page)
        for k, v in (query or {}).items():
            at.query_params[k] = v
        at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def metric(at: AppTest, label_start: str) -> str:
    """The value of the metric whose label starts with ``label_start``."""
    for m in at.metric:
        if m.label.startswith(label_start):
            return m.value
    raise AssertionError(f"no metric starting {label_start!r}; have {[m.label for m in at.metric]}")


def frame_with(at: AppTest, column: str):
    """The data of the first table (an ``st.dataframe`` or a fitted ``st.table``) that has ``column``."""
    for e in (*at.dataframe, *at.table):
        if column in e.value.columns:
            return e.value
    raise AssertionError(f"no table with a column {column!r}")


@pytest.fixture
def app():
    return open_page
