"""Scale to millions: grow an architecture one practice at a time, then break it on purpose."""

from dataclasses import replace

import pandas as pd
import streamlit as st

from lessons import scale as L
from sdcore.charts import scale as charts
from sdcore.scale.architecture import PRACTICE_ORDER, Analysis, ScaleConfig, analysis, ladder_key
from sdcore.scale.drills import DrillConfig, DrillResult, DrillRun, healthy_run, run_drill
from ui import headlines, page
from ui.cache import figure, shared
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("scale", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS}, L.DEFAULT_PRESET)
ss = st.session_state


@shared(max_entries=64)
def cached_ladder(key: ScaleConfig) -> Analysis:  # one object for every session: frozen, never changed
    return analysis(key)  # key: no practice on; every config that differs only in practices has this ladder


@shared(max_entries=64)
def cached_analysis(config: ScaleConfig) -> Analysis:
    return analysis(config, like=cached_ladder(ladder_key(config)))


@shared(max_entries=64)
def cached_healthy(config: ScaleConfig, drill: DrillConfig) -> DrillRun:  # the same for every drill
    return healthy_run(cached_analysis(config).architecture, drill)


@shared(max_entries=64)
def cached_drill(config: ScaleConfig, drill: DrillConfig) -> DrillResult:
    healthy = cached_healthy(config, replace(drill, drill=DrillConfig.drill))
    return run_drill(cached_analysis(config).architecture, drill, healthy)


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
ladder_col, load_col = st.columns([1, 2.3])
with ladder_col:
    st.markdown("**The ladder: practices in the order a design grows**")
    for name in PRACTICE_ORDER:
        P.widget(name)
with load_col:
    P.widget("users")
    cols = st.columns(2)
    with cols[0]:
        P.widget("requests_per_user")
        P.widget("static_share")
    with cols[1]:
        P.widget("read_write_ratio")
        P.widget("peak_factor")
    with st.expander("Capacity plan, cache and data centers"):
        cols = st.columns(2)
        with cols[0]:
            P.widget("target_utilization")
            P.widget("cache_share")
            P.widget("items")
        with cols[1]:
            P.widget("data_centers")
            P.widget("autoscale_delay")
    P.reset_button()
with boundary():
    config = L.config_from(P.values())
    result = cached_analysis(config)
    ladder = cached_ladder(ladder_key(config))  # its figure is drawn once for all the configs that share it
    arch, steps = result.architecture, result.steps

heads = L.headlines(arch)
headlines.row(heads[:4], arrow="auto")
headlines.row(heads[4:], arrow="auto")
st.subheader("The architecture at the peak hour")
st.plotly_chart(figure(charts.architecture_figure, arch), key="arch")
st.caption(L.architecture_caption(arch))
left, right = st.columns([1, 1.3])
with left:
    st.plotly_chart(figure(charts.utilization_figure, arch), key="util")
    st.caption(L.utilization_caption(arch))
with right:
    st.plotly_chart(figure(charts.ladder_steps_figure, ladder), key="ladder")
    st.caption(L.ladder_caption(steps))
with st.expander("Every tier, and the back of the envelope"):
    st.dataframe(pd.DataFrame(arch.rows()), hide_index=True)
    st.markdown("\n".join(f"- {line}" for line in L.envelope(arch)))
    st.caption("Costs: " + "; ".join(f"{c.item} {L.money(c.monthly)} ({c.detail})" for c in arch.costs) + ".")

st.subheader("Failure drills: break it at the peak hour")
P.widget("drill", horizontal=True)
with boundary():
    drill = cached_drill(config, L.drill_from(P.values()))
P.sync()
drill_heads = L.drill_headlines(drill, arch)
headlines.row(drill_heads, arrow="auto")
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
    t = P.widget("t")
    st.plotly_chart(figure(charts.drill_figure, drill, cursor=t), key="drill")
    st.caption(L.drill_caption(drill))
    now = tuple((n, float(u[t])) for n, u in drill.after.utilization.items())
    st.plotly_chart(figure(charts.architecture_figure, arch, utilization=now, height=430), key="arch_now")
    st.caption(L.moment_caption(drill, t))
    st.plotly_chart(figure(charts.drill_utilization_figure, drill, cursor=t), key="drill_util")
    st.caption(L.drill_utilization_caption(drill))


moment()
page_end(
    P,
    title=L.TITLE,
    why=L.why(arch) + "\n\n**The drill.** " + L.drill_why(drill, arch),
    try_this=L.TRY_THIS,
    exports=(
        Export("Tiers (CSV)", lambda: pd.DataFrame(arch.rows()), "scale_tiers.csv"),
        Export("Drill, second by second (CSV)", lambda: pd.DataFrame(drill.rows()), "scale_drill.csv"),
    ),
    references=L.REFERENCES,
    headlines=(*heads, *drill_heads),
)
