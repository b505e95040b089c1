"""Resilience: a circuit breaker and a fallback between a service and a sick dependency."""

import pandas as pd
import streamlit as st

from lessons import resilience as L
from sdcore.charts import resilience as charts
from sdcore.resilience import POLICIES, VARIANTS, compare, run, variant_config
from ui import headlines, page, tables
from ui.cache import figure, shared
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("res", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS.values()}, L.DEFAULT_PRESET)
ss = st.session_state
STEP = 2  # seconds the cursor moves per step or play tick


@shared(max_entries=32)
def cached_baseline(config):  # the run without a breaker: the same while only the breaker or fallback change
    return run(config)


@shared(max_entries=32, spinner="Simulating the three runs…")
def cached_compare(config):  # one Comparison for every session: frozen, its arrays read-only
    return compare(config, baseline=cached_baseline(variant_config(config, "none")))


def grid(names, columns: int) -> None:
    cols = st.columns(columns)
    for i, name in enumerate(names):
        P.widget(name, cols[i % columns])


def step(delta: int, end: int) -> None:
    ss["res.cursor"] = max(0, min(end, ss["res.cursor"] + delta))


def play_toggled(end: int) -> None:
    if ss["res.play"] and ss["res.cursor"] >= end:
        ss["res.cursor"] = 0  # playing from the end starts over


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
with st.expander("The dependency's health", expanded=True):
    grid(L.HEALTH_PARAMS, 6)
with st.expander("Traffic, worker pool, timeout and retries", expanded=False):
    grid(L.TRAFFIC_PARAMS[:6], 6)
    grid(L.TRAFFIC_PARAMS[6:], 5)
with st.expander("Breaker and fallback", expanded=True):
    c = st.columns([1.3, 1.3, 3])
    P.widget("policy", c[0])
    P.widget("fallback", c[1])
    c[2].caption(POLICIES[P.value("policy")].description)
    grid(L.POLICY_PARAMS[P.value("policy")], 8 if P.value("policy") == "rate" else 4)
    grid(L.EXTRA_PARAMS, 4)
P.reset_button()
v = P.values()
with boundary():
    config = L.config(v)
    cmp = cached_compare(config)
P.sync()

cols = st.columns(len(VARIANTS))
for col, name in zip(cols, VARIANTS, strict=True):
    with col:
        st.markdown(f"#### {VARIANTS[name].label}")
        st.caption(VARIANTS[name].description)
        for h in L.headlines(cmp, name):
            color, arrow = headlines.delta_style(h)
            st.metric(h.label, h.value, h.delta, help=h.help, delta_color=color, delta_arrow=arrow)

st.subheader("Step through time")
end = int(config.duration)
if ss.get("res._run") != config or ss.get("res.cursor", 0) > end:
    ss["res._run"], ss["res.cursor"] = config, L.default_cursor(config)
st.toggle("Play", key="res.play", on_change=play_toggled, args=(end,), help="Move the cursor 2 s every 0.8 s "
          "(reruns only while on).")  # fmt: skip


@st.fragment(run_every=0.8 if ss.get("res.play") else None)
def stepper() -> None:
    if ss.get("res.play"):
        if ss["res.cursor"] >= end:
            ss["res.play"] = False
            st.rerun()
        ss["res.cursor"] = min(end, ss["res.cursor"] + STEP)
    b = st.columns([0.5, 0.5, 9])
    b[0].button("◀", key="res.back", on_click=step, args=(-STEP, end), help="2 s back")
    b[1].button("▶", key="res.next", on_click=step, args=(STEP, end), help="2 s on")
    t = b[2].slider("Time (s)", 0, end, key="res.cursor", label_visibility="collapsed")
    st.markdown(L.cursor_caption(cmp, t))
    st.plotly_chart(figure(charts.timeline_figure, cmp, t), key="timeline")
    st.caption(L.TIMELINE_CAPTION)
    left, right = st.columns([1, 1.2])
    with left:
        st.plotly_chart(figure(charts.state_machine_figure, cmp["fallback"], t), key="machine")
        st.caption(L.state_machine_caption(cmp["fallback"], t))
    with right:
        rows = [{"time (s)": round(tr.time, 3), "from": tr.from_state, "to": tr.to_state, "why": tr.reason}
                for tr in cmp["fallback"].transitions if tr.time <= t]  # fmt: skip
        st.markdown("**Transitions up to the cursor** (breaker + fallback)")
        if rows:
            tables.fit(rows[::-1])
        else:
            st.caption("None yet: the breaker is closed.")


stepper()
page_end(
    P,
    title=L.TITLE,
    why=L.why(cmp),
    try_this=L.TRY_THIS,
    exports=(
        Export(
            "Every second of the three runs (CSV)",
            lambda: pd.DataFrame(L.csv_rows(cmp)),
            "resilience_runs.csv",
        ),
    ),
    references=L.REFERENCES,
    headlines=L.all_headlines(cmp),
)
