"""What every page's words are made of: parameters with their widget ranges and labels, presets, headline
metrics, references, and the text helpers that keep numbers and plurals right.

No Streamlit here: ``ui/`` draws these, ``tests/lessons/`` checks them without AppTest.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from sdcore.checks import number_text

# -- parameters -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Param:
    """One page parameter: its URL name, default and bounds, and how its widget is labelled.

    ``options`` makes it a choice (``labels`` maps each option to the text shown); ``lo``/``hi``/``step``
    bound a number and are what the widget uses, so no page repeats a range. ``widget=False`` is state the
    page sets itself (the changes applied), kept out of "Custom"; ``defines_experiment=False`` is a view
    cursor: moving it does not switch the preset to Custom.
    """

    name: str
    default: Any
    lo: float | None = None
    hi: float | None = None
    options: tuple[Any, ...] | None = None
    widget: bool = True
    max_len: int = 400
    multi: bool = False  # a list of options (st.multiselect), written "a,b,c" in the URL
    defines_experiment: bool = True
    label: str = ""
    help: str | None = None
    step: float | None = None
    labels: Mapping[Any, str] | None = None
    # How the page kit draws it: "slider", "number", "select", "radio", "select_slider", "toggle", "text",
    # "text_area", "multiselect"; empty: inferred (options -> select, multi -> multiselect, bool -> toggle,
    # a number with bounds -> slider, a string -> text).
    kind: str = ""
    number_format: str | None = None  # a number widget's printf format ("%g", "%.3f")

    def widget_kind(self) -> str:
        if self.kind:
            return self.kind
        if self.multi:
            return "multiselect"
        if self.options is not None:
            return "select"
        if isinstance(self.default, bool):
            return "toggle"
        if isinstance(self.default, int | float):
            return "slider" if self.lo is not None and self.hi is not None else "number"
        return "text"

    def __post_init__(self) -> None:
        if self.labels is not None and not isinstance(self.labels, MappingProxyType):
            object.__setattr__(self, "labels", MappingProxyType(dict(self.labels)))

    def format(self, option: Any) -> str:
        """The text shown for one option (its label, else the option itself)."""
        if self.labels is not None and option in self.labels:
            return self.labels[option]
        return str(option)

    def parse(self, raw: str) -> Any:
        """Text from the URL -> a value, or ValueError saying what is wrong with it."""
        d = self.default
        if self.multi:
            items = list(dict.fromkeys(x for x in raw.split(",") if x))  # repeats count once
            unknown = [x for x in items if x not in self.options]
            if unknown:
                raise ValueError(
                    f"names unknown choices {', '.join(unknown)} (choose from {', '.join(self.options)})"
                )
            return items
        if self.options is not None:
            for o in self.options:
                if self.encode(o) == raw or str(o) == raw:
                    return o
            raise ValueError(f"must be one of {', '.join(map(str, self.options))}")
        if isinstance(d, bool):
            if raw.lower() in ("1", "true", "yes", "on"):
                return True
            if raw.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("must be true or false")
        if isinstance(d, int):
            try:
                value: Any = int(raw)
            except ValueError:
                raise ValueError("must be a whole number") from None
        elif isinstance(d, float):
            try:
                value = float(raw)
            except ValueError:
                raise ValueError("must be a number") from None
            if not math.isfinite(value):
                raise ValueError("must be a finite number")
        else:
            if len(raw) > self.max_len:
                raise ValueError(f"is longer than {self.max_len} characters")
            return raw
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            raise ValueError(f"must be between {number_text(self.lo)} and {number_text(self.hi)}")
        return value

    def encode(self, value: Any) -> str:
        if self.multi:
            return ",".join(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        if isinstance(value, float):
            short = f"{value:g}"  # %g on purpose: the short form links always carried (0.5, 100)
            return (
                short if float(short) == value else repr(value)
            )  # never lose digits (1234567.0, not 1.23457e+06)
        return str(value)


# -- presets, headlines, references ------------------------------------------------------------------------


@dataclass(frozen=True)
class Preset:
    """A named situation: the parameter values it sets, a description of the set-up, and what it shows."""

    name: str
    description: str
    values: Mapping[str, Any] = field(default_factory=dict)
    shows: str = ""
    suggested: Any = None  # what the preset invites the student to do next (a change to apply), if anything

    def __post_init__(self) -> None:
        object.__setattr__(self, "values", MappingProxyType(dict(self.values)))

    @property
    def params(self) -> Mapping[str, Any]:
        """The parameter values (the name the first pages' presets used)."""
        return self.values


def preset_table(presets: tuple[Preset, ...]) -> Mapping[str, Preset]:
    """Presets by name, in order (names must be unique)."""
    table = {p.name: p for p in presets}
    if len(table) != len(presets):
        raise ValueError("preset names must be unique")
    return MappingProxyType(table)


@dataclass(frozen=True)
class Headline:
    """One ``st.metric``: what is measured, its value as text, the comparison that matters, a tooltip."""

    label: str
    value: str
    delta: str | None = None
    help: str | None = None
    delta_color: str = "normal"


@dataclass(frozen=True)
class Reference:
    title: str
    url: str


# -- text helpers ------------------------------------------------------------------------------------------


def num(x: float, digits: int = 0) -> str:
    """A number for a sentence: thousands separators, never ``1e+06``; ``digits`` after the point."""
    if isinstance(x, bool):
        return str(x)
    if x is None or (isinstance(x, float) and not math.isfinite(x)):
        return "—" if x is None or math.isnan(x) else ("∞" if x > 0 else "−∞")
    if isinstance(x, int) or digits == 0:
        return f"{round(x):,}"
    return f"{x:,.{digits}f}"


def pct(fraction: float, digits: int = 1) -> str:
    """A fraction as a percentage: 0.0974 -> "9.7%"."""
    return f"{num(100 * fraction, digits)}%"


def plural(n: int, singular: str, plural_form: str | None = None) -> str:
    """ "1 point", "2 points", "1,000 keys" ("1 child" / "2 children" with ``plural_form``)."""
    word = singular if n == 1 else (plural_form or singular + "s")
    return f"{num(n)} {word}"


def echo(text: object, limit: int = 60) -> str:
    """User input quoted for a message: truncated, control characters made visible. The caller still shows
    it as text (``st.text``/code span), never as markdown."""
    s = str(text)
    s = "".join(c if c.isprintable() else "\N{REPLACEMENT CHARACTER}" for c in s)
    if len(s) > limit:
        s = s[: limit - 1] + "…"
    return s


def md_text(text: object, limit: int = 60) -> str:
    """User input inside a sentence that Streamlit renders as markdown (st.warning, st.info, st.markdown):
    bounded like :func:`echo`, then put in a code span (with a fence longer than any run of backticks in
    it), so a crafted value shows as the characters it is, never as a link, an image or formatting."""
    body = echo(text, limit)
    longest = max((len(run) for run in re.findall("`+", body)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if body.startswith("`") or body.endswith("`") or not body.strip() else ""
    return f"{fence}{pad}{body}{pad}{fence}"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|~$])")  # no link, image, tag, emphasis, table or formula can form


def md_escape(text: object, limit: int = 300) -> str:
    """Text (which may quote a visitor's input) for a markdown sentence: bounded like :func:`echo`, markdown
    characters backslash-escaped, and ``://`` / ``www.`` broken so no bare link forms."""
    out = _MD_SPECIAL.sub(r"\\\1", echo(text, limit))
    return out.replace("://", ":\u2060//").replace("www.", "www\u2060.")


def seconds(s: float) -> str:
    """A duration in the unit that reads best: "350 µs", "12 ms", "4.2 s", "3 min 20 s", "2.5 h", "3 days"."""
    if s < 0.001:
        return f"{num(s * 1e6)} µs"
    if s < 1:
        return f"{num(s * 1000, 0 if s >= 0.01 else 1)} ms"
    if s < 60:
        return f"{num(s, 1 if s < 10 else 0)} s"
    if s < 3600:
        m, r = divmod(round(s), 60)
        return f"{m} min {r} s" if r else f"{m} min"
    if s < 86400 * 2:
        return f"{num(s / 3600, 1)} h"
    return f"{num(s / 86400, 1)} days"
