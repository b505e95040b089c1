"""API gateway: throttle rules over many clients, and what each client is told."""

import pandas as pd
import streamlit as st

from lessons import api_gateway as gw
from sdcore.charts import gateway as charts
from sdcore.ratelimit.gateway import GatewayConfig, rule_coverage, status_timeline
from sdcore.ratelimit.rules import parse_rules
from sdcore.ratelimit.statecost import state_cost_table
from ui import cache, headlines, page, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("gateway", gw.PARAMS, gw.PRESETS, gw.DEFAULT_PRESET)


# One shared run per question (a frozen result nobody changes): no pickled copy per rerun. Live, a run is
# about 4x its pickle (43 MB at 600 s of traffic), hence 6 entries rather than the 12 pickles of before.
@cache.shared(max_entries=6, spinner="Sending the traffic through the gateway…")
def cached_run(config: GatewayConfig):
    return config.run()


@cache.shared(max_entries=32)
def cached_inspection(config: GatewayConfig, index: int, _run):
    return config.inspect(index, _run)


@cache.shared(max_entries=6)
def cached_summary(config: GatewayConfig, _run):
    """What the page says about a run, worked out once per run."""
    coverage = rule_coverage(config.rules, _run.requests)
    carried = {k for r in _run.requests for k in r.attributes}
    return (gw.headlines(_run, config), gw.served_line(_run), gw.coverage_warnings(coverage, carried),
            gw.limited_rows(_run), gw.explanation(_run), gw.client_caption(_run),
            gw.timeline_caption(_run))  # fmt: skip


@cache.shared(max_entries=1, spinner="Measuring state per client…")
def cached_costs():
    costs = state_cost_table(gw.COST_LIMITS)
    return costs, charts.state_cost_figure(costs, dict(gw.COST_LABELS))


def outcome_chart(run, by: str):
    rows, title = (run.by_client(), "Per client") if by == "client" else (run.by_endpoint(), "Per endpoint")
    return charts.outcome_figure(rows, title)


def timeline_chart(run):
    return charts.timeline_figure(status_timeline(run))


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
heads, served, warnings, limited, why, client_caption, timeline_caption = cached_summary(config, run)
headlines.row(heads)
st.markdown(served)
for text in warnings:
    st.warning(text, icon=":material/rule:")

a, b = st.columns(2)
with a:
    st.plotly_chart(cache.figure(outcome_chart, run, "client"), key="by_client")
    st.caption(client_caption)
with b:
    st.plotly_chart(cache.figure(outcome_chart, run, "endpoint"), key="by_endpoint")
    st.caption(gw.CAPTIONS["by_endpoint"])
st.plotly_chart(cache.figure(timeline_chart, run), key="timeline")
st.caption(timeline_caption)
st.subheader("Which rule limited whom")
tables.fit(limited)

st.subheader("Request inspector")
n = len(run.requests)
asked = P.value("request")
P.clamp("request", min(asked, n - 1), gw.request_clamped(asked, n) if asked > n - 1 else None)
idx = P.widget("request", hi=n - 1)
ins = cached_inspection(config, idx, run)
i1, i2 = st.columns([1, 1.2])
with i1:
    st.markdown(gw.inspector_title(ins))
    st.json(dict(ins.request.attributes), expanded=True)
    st.markdown(gw.decided_line(ins))
with i2:
    st.code(ins.decision.http_response(ietf=v["ietf"]), language="http")
if rows := gw.inspector_rows(ins):
    tables.fit(rows)
st.caption(gw.CAPTIONS["inspector"])

st.subheader("What each algorithm keeps per client")
costs, cost_figure = cached_costs()
st.plotly_chart(cost_figure, key="cost")
st.caption(gw.cost_caption(costs))

page_end(
    P,
    title=gw.TITLE,
    why=why,
    try_this=gw.TRY_THIS,
    exports=(
        Export("Every decision (CSV)", lambda: pd.DataFrame(gw.decision_rows(run)), "gateway_decisions.csv"),
    ),
    references=gw.REFERENCES,
    headlines=heads,
)
