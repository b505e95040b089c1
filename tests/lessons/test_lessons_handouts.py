"""The handouts: every lesson with "Try this" prompts gets one, holding each prompt as the reader sees it,
with every text escaped (a lesson's words never become markup)."""

from __future__ import annotations

import importlib
from html.parser import HTMLParser
from types import ModuleType

import pytest

from lessons import handouts
from lessons.base import Reference


class _Text(HTMLParser):
    """The visible text of a page (entities decoded) and every tag that opens in its body."""

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.tags: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self._skip += tag in ("style", "title")

    def handle_endtag(self, tag):
        self._skip -= tag in ("style", "title")

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)

    @property
    def text(self) -> str:
        return " ".join("".join(self.parts).split())


def _parse(page: str) -> _Text:
    p = _Text()
    p.feed(page)
    p.close()
    return p


def test_every_lesson_with_prompts_has_a_handout():
    names = handouts.lesson_module_names()
    assert "lessons.base" not in names and "lessons.handouts" not in names
    expected = set()
    for name in names:
        m = importlib.import_module(name)
        if all(hasattr(m, a) for a in ("TITLE", "IDEA")) and getattr(m, "TRY_THIS", ()):
            expected.add(name.rsplit(".", 1)[1])
    assert {"consistent_hashing", "rate_limiter", "kv_quorum", "kv_cluster", "news_feed"} <= expected
    assert {h.module for h in handouts.collect()} == expected


@pytest.mark.parametrize("handout", handouts.collect(), ids=lambda h: h.module)
def test_a_handout_holds_its_title_idea_and_every_prompt(handout):
    module = importlib.import_module(f"lessons.{handout.module}")
    page = handouts.render(handout, "http://10.0.0.5:8080")
    seen = _parse(page)
    assert handouts.plain(module.TITLE) in seen.text
    assert handouts.plain(module.IDEA) in seen.text
    for prompt in module.TRY_THIS:
        assert handouts.plain(prompt) in seen.text
    assert seen.text.count("Open the page: http://10.0.0.5:8080/" + handout.module) == 1
    assert seen.tags.count("li") == len(module.TRY_THIS)
    assert set(seen.tags) <= {"html", "head", "meta", "title", "style", "body", "header", "div", "h1", "h2", "p",
                              "ol", "li", "strong", "em", "code", "a", "footer"}  # fmt: skip


def test_hostile_words_are_escaped_and_a_module_without_prompts_has_no_handout():
    m = ModuleType("lessons.evil")
    m.TITLE = "<script>alert('t')</script>"
    m.IDEA = 'An idea with <img src=x onerror="alert(1)"> & **bold** words'
    m.TRY_THIS = ("Is 1 < 2 && `a<b>`? Pick **<i>this</i>**", "[click](javascript:alert(1)) *or* not")
    m.REFERENCES = (Reference('"><script>x</script>', "https://e.example/?a=1&b=<2>"),)
    h = handouts.handout_from(m)
    page = handouts.render(h)
    seen = _parse(page)
    assert "script" not in seen.tags and "img" not in seen.tags and "i" not in seen.tags
    assert "<script>alert('t')</script>" in seen.text  # shown as text, not run
    assert 'An idea with <img src=x onerror="alert(1)"> & bold words' in seen.text
    assert "Is 1 < 2 && a<b>? Pick <i>this</i>" in seen.text
    assert 'href="javascript' not in page
    # one <code> is the page address in the header
    assert seen.tags.count("strong") == 2 and seen.tags.count("code") == 2 and seen.tags.count("em") == 1
    bare = ModuleType("lessons.bare")
    bare.TITLE, bare.IDEA = "Title", "Idea"
    assert handouts.handout_from(bare) is None
    bare.TRY_THIS = ()
    assert handouts.handout_from(bare) is None
    assert handouts.handout_from(importlib.import_module("lessons.base")) is None


def test_the_index_links_every_handout():
    items = handouts.collect()
    seen = _parse(handouts.render_index(items, "http://class:8080"))
    assert seen.tags.count("a") == len(items)
    for h in items:
        assert h.title in seen.text
