"""Scale to millions: grow an architecture one practice at a time, then break it on purpose."""

import pandas as pd
import streamlit as st

from lessons import scale as L
from sdcore.charts import scale as charts
from sdcore.scale.architecture import PRACTICE_ORDER, Architecture, ScaleConfig, analyze, ladder
from sdcore.scale.drills import DRILLS, DrillConfig, DrillResult, run_drill
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("scale", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS}, L.DEFAULT_PRESET)
ss = st.session_state


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def cached_analysis(config: ScaleConfig) -> tuple[Architecture, tuple[Architecture, ...]]:
    return analyze(config), ladder(config)


@st.cache_data(max_entries=64, ttl=3600, show_spinner=False)
def cached_drill(config: ScaleConfig, drill: DrillConfig) -> DrillResult:
    return run_drill(analyze(config), drill)


def widget(name: str, kind=st.slider, where=st):
    p = L.PARAM[name]
    if p.options is not None:
        return where.select_slider(
            p.label, p.options, format_func=lambda o: p.format(o), help=p.help, **P.bind(name)
        )
    return kind(p.label, p.lo, p.hi, step=p.step, help=p.help, **P.bind(name))


def headline_row(items) -> None:
    for col, h in zip(st.columns(len(items)), items, strict=True):
        col.metric(h.label, h.value, h.delta, help=h.help, delta_color=h.delta_color)


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
ladder_col, load_col = st.columns([1, 2.3])
with ladder_col:
    st.markdown("**The ladder: practices in the order a design grows**")
    for name in PRACTICE_ORDER:
        st.toggle(L.PARAM[name].label, help=L.PARAM[name].help, **P.bind(name))
with load_col:
    widget("users")
    cols = st.columns(2)
    with cols[0]:
        widget("requests_per_user")
        widget("static_share")
    with cols[1]:
        widget("read_write_ratio")
        widget("peak_factor")
    with st.expander("Capacity plan, cache and data centers"):
        cols = st.columns(2)
        with cols[0]:
            widget("target_utilization")
            widget("cache_share")
            widget("items")
        with cols[1]:
            widget("data_centers")
            widget("autoscale_delay")
    P.reset_button()
with boundary():
    config = L.config_from(P.values())
    arch, steps = cached_analysis(config)

headline_row(L.headlines(arch)[:4])
headline_row(L.headlines(arch)[4:])
st.subheader("The architecture at the peak hour")
st.plotly_chart(charts.architecture_figure(arch), key="arch")
st.caption(L.architecture_caption(arch))
left, right = st.columns([1, 1.3])
with left:
    st.plotly_chart(charts.utilization_figure(arch), key="util")
    st.caption(L.utilization_caption(arch))
with right:
    st.plotly_chart(charts.ladder_figure(steps), key="ladder")
    st.caption(L.ladder_caption(steps))
with st.expander("Every tier, and the back of the envelope"):
    st.dataframe(pd.DataFrame(arch.rows()), hide_index=True)
    st.markdown("\n".join(f"- {line}" for line in L.envelope(arch)))
    st.caption("Costs: " + "; ".join(f"{c.item} {L.money(c.monthly)} ({c.detail})" for c in arch.costs) + ".")

st.subheader("Failure drills: break it at the peak hour")
st.radio(
    L.PARAM["drill"].label,
    tuple(DRILLS),
    format_func=lambda o: L.PARAM["drill"].format(o),
    horizontal=True,
    help=L.PARAM["drill"].help,
    **P.bind("drill"),
)
with boundary():
    drill = cached_drill(config, L.drill_from(P.values()))
query = P.sync()
headline_row(L.drill_headlines(drill, arch))
last = L.DRILL_SECONDS - 1


def play_toggled() -> None:
    if ss["scale.play"] and ss[P.key("t")] >= last:
        ss[P.key("t")] = 0  # playing from the end starts over


st.toggle("Play", key="scale.play", on_change=play_toggled, help="Advance the drill 20 s every 0.8 s.")


@st.fragment(run_every=0.8 if ss.get("scale.play") else None)
def moment() -> None:
    if ss.get("scale.play"):
        if ss[P.key("t")] >= last:
            ss["scale.play"] = False
            st.rerun()
        ss[P.key("t")] = min(last, ss[P.key("t")] + 20)
    t = widget("t")
    st.plotly_chart(charts.drill_figure(drill, cursor=t), key="drill")
    st.caption(L.drill_caption(drill))
    now = {n: float(u[t]) for n, u in drill.after.utilization.items()}
    st.plotly_chart(charts.architecture_figure(arch, utilization=now, height=430), key="arch_now")
    st.caption(L.moment_caption(drill, t))
    st.plotly_chart(charts.drill_utilization_figure(drill, cursor=t), key="drill_util")
    st.caption(L.drill_utilization_caption(drill))


moment()
explain.why(L.why(arch) + "\n\n**The drill.** " + L.drill_why(drill, arch))
explain.try_this(L.TRY_THIS)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    export.csv_download("Tiers (CSV)", lambda: pd.DataFrame(arch.rows()), "scale_tiers.csv", key="csv_tiers")
with e[1]:
    export.csv_download(
        "Drill, second by second (CSV)",
        lambda: pd.DataFrame(drill.rows()),
        "scale_drill.csv",
        key="csv_drill",
    )
export.share_link(query)
explain.references([(r.title, r.url) for r in L.REFERENCES])
