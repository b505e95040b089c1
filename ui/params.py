"""Widgets whose values round-trip through the URL, so a copied link reproduces the experiment.

A page declares its parameters and presets once, in its lesson (``lessons/<page>.py``)::

    P = PageParams("hashing", lesson.PARAMS, lesson.PRESETS, lesson.DEFAULT_PRESET)
    P.preset_row()                              # reads the URL (or this session's last values), the selector
    P.widget("vnodes")                          # label, bounds, step and help come from the Param
    P.sync()                                    # writes preset + changed parameters back to the URL

The URL carries the preset and only the parameters that differ from it; explicit parameters win. A bad or
out-of-range value falls back to the preset's value with a visible notice. Editing a parameter switches the
selector to "Custom"; the reset button returns to the preset.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

import streamlit as st

from lessons.base import Param, Preset, md_text

CUSTOM = "Custom"


def _plain(error: Exception) -> str:
    """A parse error's sentence (it may quote the link's choices): its markdown characters escaped."""
    return "".join("\\" + c if c in "\\`*_[]()<>!#|~" else c for c in str(error))[:300]


class PageParams:
    """The parameters of one page, their presets, and their mirror in the URL and in the session."""

    def __init__(
        self,
        page_id: str,
        params: Sequence[Param],
        presets: Sequence[Preset] | Mapping[str, Preset] | Mapping[str, Mapping[str, Any]],
        default_preset: str,
    ):
        """``presets``: the lesson's :class:`~lessons.base.Preset` objects (a tuple or a name -> Preset
        mapping), or plain ``{name: values}``."""
        if not isinstance(presets, Mapping):
            presets = {p.name: p for p in presets}
        self.descriptions = {n: p.description for n, p in presets.items() if isinstance(p, Preset)}
        presets = {n: dict(p.values) if isinstance(p, Preset) else p for n, p in presets.items()}
        if default_preset not in presets:
            raise ValueError(f"default preset {default_preset!r} is not among the presets")
        self.page_id = page_id
        self.params = {p.name: p for p in params}
        self.presets = presets
        self.default_preset = default_preset
        self.notices: list[str] = []
        self.query: dict[str, str] = {}

    # -- keys -------------------------------------------------------------------------------------------
    def key(self, name: str) -> str:
        return f"{self.page_id}.{name}"

    @property
    def _store_key(self) -> str:
        return f"_params.{self.page_id}"

    @property
    def _selector_key(self) -> str:
        return self.key("_preset")

    def preset_values(self, preset: str) -> dict[str, Any]:
        values = {name: list(p.default) if p.multi else p.default for name, p in self.params.items()}
        values.update({k: list(v) if self.params[k].multi else v for k, v in self.presets[preset].items()})
        return values

    # -- lifecycle --------------------------------------------------------------------------------------
    def setup(self) -> None:
        """Load values (from this session, else from the URL) into the widgets' session state."""
        ss = st.session_state
        query = dict(st.query_params)
        stored = ss.get(self._store_key)
        # A link opened in a session that already has this page (a bundle's restore link, a pasted share
        # link) wins over the session's values; an empty query (navigating between pages) keeps them.
        relink = stored is not None and query and query != stored.get("query")
        if stored is None or relink:
            ss[self._store_key] = self._from_url(query)
            ss[self._store_key]["query"] = query
        store = ss[self._store_key]
        for name, p in self.params.items():
            if p.widget and (relink or self.key(name) not in ss):
                ss[self.key(name)] = store["values"][name]
        if relink or self._selector_key not in ss:
            ss[self._selector_key] = store["selected"]
        for text in store.pop("notices", []):
            st.warning(text, icon=":material/link:")

    def _from_url(self, query: dict[str, str]) -> dict[str, Any]:
        notices = []
        base = query.get("preset", self.default_preset)
        if base not in self.presets:
            notices.append(
                f"The link names an unknown preset {md_text(base)}; showing {md_text(self.default_preset)} instead."
            )
            base = self.default_preset
        values = self.preset_values(base)
        for name, raw in query.items():
            if name == "preset":
                continue
            p = self.params.get(name)
            if p is None:
                notices.append(
                    f"The link's parameter {md_text(name)} is not used on this page and was ignored."
                )
                continue
            try:
                values[name] = p.parse(raw)
            except ValueError as e:
                notices.append(
                    f"The link's {name} = {md_text(raw, 40)} {_plain(e)}; "
                    f"using {md_text(p.encode(values[name]))} from the preset instead."
                )
        selected = base if self._matches(base, values) else CUSTOM
        return {"base": base, "values": values, "selected": selected, "notices": notices}

    def _matches(self, preset: str, values: Mapping[str, Any]) -> bool:
        ref = self.preset_values(preset)
        return all(values[n] == ref[n] for n, p in self.params.items() if p.widget and p.defines_experiment)

    # -- widgets ----------------------------------------------------------------------------------------
    def bind(self, name: str) -> dict[str, Any]:
        """Keyword arguments that tie a widget to the parameter: ``st.slider(..., **P.bind("vnodes"))``."""
        if name not in self.params:
            raise KeyError(name)
        if not self.params[name].defines_experiment:
            return {"key": self.key(name)}
        return {"key": self.key(name), "on_change": self._edited}

    def _edited(self) -> None:
        st.session_state[self._selector_key] = CUSTOM

    def edit(self, **values: Any) -> None:
        """Set widget parameters from a callback (a shortcut button), as if the student had moved them.

        Use as ``on_click=P.edit, kwargs={"r": 1, "w": 3}``: callbacks run before the widgets are drawn.
        """
        for name, value in values.items():
            if not self.params[name].widget:
                raise ValueError(f"{name!r} is not a widget; use set() for the page's own state")
            st.session_state[self.key(name)] = value
        if any(self.params[n].defines_experiment for n in values):
            self._edited()

    def _preset_chosen(self) -> None:
        chosen = st.session_state[self._selector_key]
        if chosen == CUSTOM:
            return
        self._load_preset(chosen)

    def _load_preset(self, preset: str) -> None:
        store = st.session_state[self._store_key]
        store["base"] = preset
        store["values"] = self.preset_values(preset)
        for name, p in self.params.items():
            if p.widget:
                st.session_state[self.key(name)] = store["values"][name]
        st.session_state[self._selector_key] = preset

    def preset_selector(self, label: str = "Scenario preset", help: str | None = None) -> str:
        """The selector of named situations, with "Custom" once a parameter has been edited."""
        options = [*self.presets, CUSTOM]
        return st.selectbox(
            label,
            options,
            key=self._selector_key,
            on_change=self._preset_chosen,
            help=help or "A named situation. Editing any parameter below switches this to Custom.",
        )

    def preset_row(self, describe: Callable[[str], str] | None = None) -> None:
        """The page's first row: load the values (:meth:`setup`), the preset selector, and what the preset
        sets up (``describe(preset_name)``, by default the Preset's description); once edited, the box says
        which preset the edits started from."""
        describe = describe or self.descriptions.__getitem__
        self.setup()
        left, right = st.columns([1, 2])
        with left:
            self.preset_selector()
        text = describe(self.base_preset)
        if self.selected == CUSTOM:
            text = f"Custom settings, starting from “{self.base_preset}”: {text}"
        with right:
            st.info(text, icon=":material/science:")

    def reset_button(self, label: str = "Reset to preset") -> None:
        store = st.session_state[self._store_key]
        st.button(
            f"{label} ({store['base']})",
            key=self.key("_reset"),
            on_click=self._load_preset,
            args=(store["base"],),
            help="Return every parameter to the preset's value and undo the changes applied.",
        )

    @property
    def base_preset(self) -> str:
        return st.session_state[self._store_key]["base"]

    @property
    def selected(self) -> str:
        return st.session_state[self._selector_key]

    # -- widgets drawn from their Param ------------------------------------------------------------------
    def widget(self, name: str, container: Any = st, **overrides: Any) -> Any:
        """Draw parameter ``name``'s widget with the label, bounds, step, options and help its
        :class:`~lessons.base.Param` declares (no page repeats a range). ``overrides`` change one drawing
        (``hi=n`` for a bound that follows another widget, ``disabled=True``, ``label_visibility=...``)."""
        p = self.params[name]
        kind = overrides.pop("kind", p.widget_kind())
        label = overrides.pop("label", p.label or name)
        kw: dict[str, Any] = {"help": p.help, **self.bind(name)}
        # The widget's own default is the value it holds now. A browser that mounts the widget afresh (the
        # first run was cut short by a click before the widget reached it) shows the element's default and
        # sends it back on the next rerun, where it would win over session state: with the widget minimum as
        # the default, a click during the first run set every later slider to its minimum.
        current = st.session_state.get(self.key(name), p.default)
        if kind in ("select", "radio", "select_slider", "multiselect"):
            options = overrides.pop("options", p.options)
            kw["format_func"] = p.format
        kw.update(overrides)
        if kind == "slider":
            lo, hi = kw.pop("lo", p.lo), kw.pop("hi", p.hi)
            if isinstance(p.default, int) and not isinstance(p.default, bool):
                lo, hi = int(lo), int(hi)
                step = kw.pop("step", p.step)
                kw["step"] = int(step) if step is not None else None
            else:
                lo, hi = float(lo), float(hi)
                kw.setdefault("step", p.step)
                if p.number_format:
                    kw.setdefault("format", p.number_format)
            if hi <= lo:  # a range that collapsed (N = 1): keep a drawable slider, disabled
                hi, kw["disabled"] = lo + (1 if isinstance(lo, int) else 1.0), True
            kw.setdefault("value", _within(current, lo, hi, type(lo)))
            return container.slider(label, lo, hi, **kw)
        if kind == "number":
            lo, hi = kw.pop("lo", p.lo), kw.pop("hi", p.hi)
            if isinstance(p.default, float):
                lo = None if lo is None else float(lo)
                hi = None if hi is None else float(hi)
                # "%g" writes 1,000,000 as "1e+06": a value past 10^5 is shown as a plain whole number
                big = isinstance(current, int | float) and abs(current) >= 1e5
                kw.setdefault("format", p.number_format or ("%.0f" if big else "%g"))
                kind_of = float
            else:
                lo = None if lo is None else int(lo)
                hi = None if hi is None else int(hi)
                kind_of = int
            kw.setdefault("step", p.step)
            kw.setdefault("value", _within(current, lo, hi, kind_of))
            return container.number_input(label, lo, hi, **kw)
        if kind in ("select", "radio"):
            kw.setdefault("index", options.index(current) if current in options else 0)
            return (container.selectbox if kind == "select" else container.radio)(label, options, **kw)
        if kind == "select_slider":
            kw.setdefault("value", current if current in options else options[0])
            return container.select_slider(label, options, **kw)
        if kind == "multiselect":
            chosen = current if isinstance(current, list | tuple) else []
            kw.setdefault("default", [o for o in chosen if o in options])
            return container.multiselect(label, options, **kw)
        if kind == "toggle":
            kw.setdefault("value", bool(current))
            return container.toggle(label, **kw)
        if kind in ("text_area", "text"):
            kw.setdefault("max_chars", p.max_len)
            text = current if isinstance(current, str) else ""
            if kw["max_chars"]:
                text = text[: kw["max_chars"]]
            kw.setdefault("value", text)
            return (container.text_area if kind == "text_area" else container.text_input)(label, **kw)
        raise ValueError(f"unknown widget kind {kind!r} for parameter {name!r}")

    def clamp(self, name: str, value: Any, notice: str | None = None) -> None:
        """Write an engine-clamped value back into a widget before it is drawn (R above a smaller N), with
        the engine's sentence saying why. The one way every page does it."""
        if st.session_state.get(self.key(name)) != value:
            st.session_state[self.key(name)] = value
        if notice:
            st.warning(notice, icon=":material/tune:")

    # -- values -----------------------------------------------------------------------------------------
    def value(self, name: str) -> Any:
        p = self.params[name]
        if p.widget:
            return st.session_state[self.key(name)]
        return st.session_state[self._store_key]["values"][name]

    def values(self) -> dict[str, Any]:
        return {n: self.value(n) for n in self.params}

    def set(self, name: str, value: Any) -> None:
        """Set a non-widget parameter (state the page owns, such as the changes applied so far)."""
        p = self.params[name]
        if p.widget:
            raise ValueError(f"{name!r} belongs to a widget; change it through the widget")
        st.session_state[self._store_key]["values"][name] = value

    def sync(self) -> dict[str, str]:
        """Remember the current values for this session and mirror them into the URL."""
        store = st.session_state[self._store_key]
        store["values"] = self.values()
        ref = self.preset_values(store["base"])
        query = {"preset": store["base"]}
        for name, p in self.params.items():
            if store["values"][name] != ref[name]:
                query[name] = p.encode(store["values"][name])
        if dict(st.query_params) != query:
            st.query_params.from_dict(query)
        store["query"] = query
        self.query = query
        return query


def _within(value: Any, lo: Any, hi: Any, kind: type) -> Any:
    """``value`` as a widget default of ``kind`` inside [lo, hi] (either bound may be None); a value that
    is not a number gives ``lo`` (or 0)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or value != value:
        value = lo if lo is not None else 0
    if lo is not None:
        value = max(value, lo)
    if hi is not None:
        value = min(value, hi)
    return kind(value)
