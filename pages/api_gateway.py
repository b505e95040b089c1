"""API gateway: throttle rules over many clients, and what each client is told."""

import pandas as pd
import streamlit as st

from lessons import api_gateway as gw
from sdcore.charts import gateway as charts
from sdcore.ratelimit.gateway import GatewayConfig, rule_coverage, status_timeline
from sdcore.ratelimit.rules import parse_rules
from sdcore.ratelimit.statecost import state_cost_table
from ui import page
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("gateway", gw.PARAMS, gw.PRESETS, gw.DEFAULT_PRESET)


@st.cache_data(max_entries=12, ttl=3600, show_spinner="Sending the traffic through the gateway…")
def cached_run(config: GatewayConfig):
    return config.run()


@st.cache_data(max_entries=32, ttl=3600, show_spinner=False)
def cached_inspection(config: GatewayConfig, index: int):
    return config.inspect(index)


@st.cache_data(max_entries=2, ttl=3600, show_spinner="Measuring state per client…")
def cached_costs():
    return state_cost_table(gw.COST_LIMITS)


page.start(gw.TITLE, gw.IDEA)
P.preset_row()
left, right = st.columns([1.3, 1])
P.widget("rules", left, height=330, max_chars=None)
with right:
    P.widget("clients")
    st.caption(gw.clients_caption(P.value("clients")))
    for name in ("duration", "seed", "ietf"):
        P.widget(name)
    P.reset_button()
v = P.values()
with boundary(stop=False):
    parse_rules(v["rules"])
    st.session_state["gateway.valid_rules"] = v["rules"]
valid = st.session_state.get("gateway.valid_rules", gw.PRESETS[P.base_preset].values["rules"])
if valid != v["rules"]:
    st.warning(gw.STALE_RULES)
P.sync()
if not v["clients"]:
    st.warning(gw.NO_CLIENTS)
    st.stop()
with boundary():
    config = gw.settings_from(v, valid)
    run = cached_run(config)
heads = gw.headlines(run, config)
for col, h in zip(st.columns(len(heads)), heads, strict=True):
    col.metric(h.label, h.value, help=h.help)
st.markdown(gw.served_line(run))
for text in gw.coverage_warnings(
    rule_coverage(valid, run.requests), {k for r in run.requests for k in r.attributes}
):
    st.warning(text, icon=":material/rule:")

a, b = st.columns(2)
with a:
    st.plotly_chart(charts.outcome_figure(run.by_client(), "Per client"), key="by_client")
    st.caption(gw.CAPTIONS["by_client"])
with b:
    st.plotly_chart(charts.outcome_figure(run.by_endpoint(), "Per endpoint"), key="by_endpoint")
    st.caption(gw.CAPTIONS["by_endpoint"])
st.plotly_chart(charts.timeline_figure(status_timeline(run)), key="timeline")
st.caption(gw.CAPTIONS["timeline"])
st.subheader("Which rule limited whom")
st.dataframe(pd.DataFrame(gw.limited_rows(run)), hide_index=True)

st.subheader("Request inspector")
n = len(run.requests)
asked = P.value("request")
P.clamp("request", min(asked, n - 1), gw.request_clamped(asked, n) if asked > n - 1 else None)
idx = P.widget("request", hi=n - 1)
ins = cached_inspection(config, idx)
i1, i2 = st.columns([1, 1.2])
with i1:
    st.markdown(gw.inspector_title(ins))
    st.json(dict(ins.request.attributes), expanded=True)
    st.markdown(gw.decided_line(ins))
with i2:
    st.code(ins.decision.http_response(ietf=v["ietf"]), language="http")
if rows := gw.inspector_rows(ins):
    st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption(gw.CAPTIONS["inspector"])

st.subheader("What each algorithm keeps per client")
costs = cached_costs()
st.plotly_chart(charts.state_cost_figure(costs, dict(gw.COST_LABELS)), key="cost")
st.caption(gw.cost_caption(costs))

page_end(
    P,
    title=gw.TITLE,
    why=gw.explanation(run),
    try_this=gw.TRY_THIS,
    exports=(
        Export("Every decision (CSV)", lambda: pd.DataFrame(gw.decision_rows(run)), "gateway_decisions.csv"),
    ),
    references=gw.REFERENCES,
    headlines=heads,
)
