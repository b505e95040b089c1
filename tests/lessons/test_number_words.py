"""No sentence prints a number in exponent form. Python's ``%g`` (and ``.3g``) writes 2,147,483,647 as
``2.14748e+09`` and 1,234 ms as ``1.23e+03 ms``; every sentence of the engine and the words goes through
``sdcore.checks.number_text`` instead. A ``%g`` that is no sentence (a link's encoding, a widget key) says so."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from sdcore.checks import number_text

ROOT = Path(__file__).resolve().parents[2]
G_FORMAT = re.compile(
    r"(^|[^%{])\{[^{}]+:[,.0-9]*g\}"
)  # an f-string field with a g format; not plotly's %{x:g}


def g_formats() -> list[str]:
    found = []
    for folder in ("sdcore", "lessons", "ui", "pages"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            for i, line in enumerate(path.read_text().splitlines(), 1):
                if G_FORMAT.search(line) and "%g on purpose" not in line:
                    found.append(f"{path.relative_to(ROOT)}:{i}: {line.strip()}")
    return found


def test_no_sentence_formats_a_number_with_g():
    assert g_formats() == []


def test_the_scan_finds_a_g_format():
    assert G_FORMAT.search('f"at most {hi:g} s"') and G_FORMAT.search('f"{t:.3g} ms"')
    assert not G_FORMAT.search('"hovertemplate": f"t = %{{x:g}} s"')


@pytest.mark.parametrize(
    ("value", "digits", "text"),
    [(2**31 - 1, 6, "2,147,483,647"), (1e6, 6, "1,000,000"), (1234.5, 3, "1,234"), (0.25, 6, "0.25")],
)
def test_numbers_read_as_written(value, digits, text):
    assert number_text(value, digits) == text
    assert "e+" not in f"{value:g}" or "e+" not in number_text(value, digits)
