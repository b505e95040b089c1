"""The home page lists every built page with what it teaches."""

from tests.pages.conftest import open_page


def test_home_lists_built_pages():
    at = open_page()
    assert at.title[0].value == "System Design Sandbox"
    text = " ".join(m.value for m in at.markdown)
    assert "virtual nodes" in text and "modulo" in text
