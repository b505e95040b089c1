"""Printable handouts: one page per topic, from each lesson module's ``TITLE``, ``IDEA`` and ``TRY_THIS``
(and its ``REFERENCES``), as self-contained HTML a teacher prints or hands out as a PDF
(``benchmarks/handouts_pdf.py`` prints them in Chromium).

Every text is HTML-escaped first; only then does the small inline subset the prompts use (``**bold**``,
``*italic*``, ```code```, ``[text](https://...)``) become tags, so a lesson's words can never inject markup.
A module without the three names (``lessons.base``, this one) has no handout.
"""

from __future__ import annotations

import html
import importlib
import pkgutil
import re
from dataclasses import dataclass
from types import ModuleType

NOT_LESSONS = ("base", "handouts")

_BOLD = re.compile(r"\*\*(?=\S)(.+?)(?<=\S)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?=\S)(.+?)(?<=\S)\*(?![\w*])")
_CODE = re.compile(r"`([^`]+)`")
_LINK = re.compile(r"\[([^\]]+)\]\((https?://[^\s)]+)\)")


@dataclass(frozen=True)
class Handout:
    """One topic's handout: the page it belongs to (its url path), its title, idea and prompts."""

    module: str
    title: str
    idea: str
    prompts: tuple[str, ...]
    references: tuple[tuple[str, str], ...] = ()

    @property
    def page_path(self) -> str:
        """The page's address below the app's root: Streamlit names a page by its script (pages/<m>.py)."""
        return self.module


def inline(text: str) -> str:
    """Escaped HTML of a lesson's text, with its inline markdown as tags.

    >>> inline("Pick **Celebrity posts**: is 2 < 3 & `W + R > N`?")
    'Pick <strong>Celebrity posts</strong>: is 2 &lt; 3 &amp; <code>W + R &gt; N</code>?'
    >>> inline("<script>alert(1)</script> *maybe*")
    '&lt;script&gt;alert(1)&lt;/script&gt; <em>maybe</em>'
    """
    out = html.escape(str(text), quote=True)
    out = _CODE.sub(r"<code>\1</code>", out)
    out = _LINK.sub(r'<a href="\2">\1</a>', out)
    out = _BOLD.sub(r"<strong>\1</strong>", out)
    return _ITALIC.sub(r"<em>\1</em>", out)


def plain(text: str) -> str:
    """The text a reader sees once the inline markdown is drawn (markers gone), spaces collapsed.

    >>> plain("In *Retry storm*, switch **the budget** on: `x`  [docs](https://a.b/c).")
    'In Retry storm, switch the budget on: x docs.'
    """
    out = _CODE.sub(r"\1", str(text))
    out = _LINK.sub(r"\1", out)
    out = _BOLD.sub(r"\1", out)
    out = _ITALIC.sub(r"\1", out)
    return " ".join(out.split())


def handout_from(module: ModuleType) -> Handout | None:
    """The handout of a lesson module, or None if it lacks ``TITLE``, ``IDEA`` or a non-empty ``TRY_THIS``."""
    title, idea, prompts = (getattr(module, n, None) for n in ("TITLE", "IDEA", "TRY_THIS"))
    if not isinstance(title, str) or not isinstance(idea, str) or not prompts:
        return None
    refs = tuple((str(r.title), str(r.url)) for r in getattr(module, "REFERENCES", ()) if hasattr(r, "url"))
    return Handout(module.__name__.rsplit(".", 1)[-1], title, idea, tuple(str(p) for p in prompts), refs)


def lesson_module_names() -> tuple[str, ...]:
    """Every ``lessons.<page>`` module (not ``lessons.base`` nor this one), sorted."""
    import lessons

    return tuple(
        sorted(
            f"lessons.{m.name}"
            for m in pkgutil.iter_modules(lessons.__path__)
            if not m.ispkg and m.name not in NOT_LESSONS
        )
    )


def collect(names: tuple[str, ...] | None = None) -> tuple[Handout, ...]:
    """The handouts of the named lesson modules (default: all), skipping those without the three names."""
    out = []
    for name in lesson_module_names() if names is None else names:
        h = handout_from(importlib.import_module(name))
        if h is not None:
            out.append(h)
    return tuple(out)


_CSS = """
@page { size: A4; margin: 14mm 16mm; }
* { box-sizing: border-box; }
body { font-family: "DejaVu Sans", Arial, sans-serif; font-size: 10.5pt; line-height: 1.4; color: #111;
       margin: 0; }
header { border-bottom: 2px solid #0072B2; margin-bottom: 8pt; padding-bottom: 4pt; }
.kicker { color: #0072B2; font-size: 9pt; letter-spacing: .04em; text-transform: uppercase; }
h1 { font-size: 19pt; margin: 2pt 0 0; }
.where { font-size: 9.5pt; color: #333; margin-top: 3pt; }
.where code { font-size: 9.5pt; }
.idea { font-size: 11pt; margin: 6pt 0 10pt; }
h2 { font-size: 12pt; margin: 10pt 0 4pt; color: #0072B2; }
ol { padding-left: 16pt; margin: 0; }
li { margin-bottom: 6pt; break-inside: avoid; }
.answer { border: 1px solid #bbb; border-radius: 3pt; height: 44pt; margin-top: 3pt; }
code { font-family: "DejaVu Sans Mono", monospace; font-size: 9.5pt; background: #f2f2f2; padding: 0 2pt; }
footer { margin-top: 8pt; font-size: 8.5pt; color: #444; border-top: 1px solid #ccc; padding-top: 4pt; }
footer a { color: #0072B2; text-decoration: none; }
"""


def render(h: Handout, base_url: str = "") -> str:
    """One topic's printable page (HTML5, A4, one page at the lesson's usual length).

    >>> page = render(Handout("x", "A & B", "Why <b>", ("Predict **it**",)), "http://class:8080")
    >>> "<h1>A &amp; B</h1>" in page and "Why &lt;b&gt;" in page and "<strong>it</strong>" in page
    True
    >>> "http://class:8080/x" in page
    True
    """
    where = f"{base_url.rstrip('/')}/{h.page_path}" if base_url else f"/{h.page_path}"
    prompts = "\n".join(f'<li>{inline(p)}<div class="answer"></div></li>' for p in h.prompts)
    refs = " · ".join(f'<a href="{html.escape(u)}">{html.escape(t)}</a>' for t, u in h.references)
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>{html.escape(h.title)} — System Design Sandbox</title>
<style>{_CSS}</style></head>
<body>
<header><div class="kicker">System Design Sandbox · handout</div>
<h1>{html.escape(h.title)}</h1>
<div class="where">Open the page: <code>{html.escape(where)}</code></div></header>
<p class="idea">{inline(h.idea)}</p>
<h2>Try this (write your prediction before you look)</h2>
<ol>
{prompts}
</ol>
<footer>{"Read more: " + refs if refs else ""}</footer>
</body></html>
"""


def render_index(handouts: tuple[Handout, ...], base_url: str = "") -> str:
    """A contents page linking every handout file (``<module>.html``)."""
    items = "\n".join(
        f'<li><a href="{html.escape(h.module)}.html">{html.escape(h.title)}</a></li>' for h in handouts
    )
    where = html.escape(base_url or "the class address")
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>Handouts — System Design Sandbox</title>
<style>{_CSS}</style></head>
<body><header><div class="kicker">System Design Sandbox</div><h1>Handouts</h1>
<div class="where">The sandbox: <code>{where}</code></div></header>
<ol>
{items}
</ol></body></html>
"""
