"""API gateway: throttle rules over many clients, and what each client is told."""

import numpy as np
import pandas as pd
import streamlit as st

from sdcore.charts import gateway as charts
from sdcore.ratelimit import ALGORITHMS
from sdcore.ratelimit.gateway import (
    GATEWAY_PRESETS,
    PROFILES,
    explain_state,
    gateway_traffic,
    inspect_request,
    run_gateway,
    status_timeline,
)
from sdcore.ratelimit.rules import parse_rules
from sdcore.ratelimit.statecost import state_cost_table
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

DEFAULT = "API gateway with per-endpoint rules"
P = PageParams(
    "gateway",
    [
        Param("rules", GATEWAY_PRESETS[DEFAULT].rules, max_len=5000),
        Param("clients", list(GATEWAY_PRESETS[DEFAULT].clients), options=tuple(PROFILES), multi=True),
        Param("duration", 60, lo=5, hi=600),
        Param("seed", 0, lo=0, hi=2**31 - 1),
        Param("ietf", False),
        Param("request", 0, lo=0, hi=200_000, defines_experiment=False),
    ],
    {n: {"rules": p.rules, "clients": list(p.clients)} for n, p in GATEWAY_PRESETS.items()},
    DEFAULT,
)


@st.cache_data(max_entries=12, show_spinner="Sending the traffic through the gateway…")
def cached_run(rules: str, clients: tuple[str, ...], duration: int, seed: int):
    return run_gateway(rules, gateway_traffic(clients, duration, seed))


@st.cache_data(max_entries=32, show_spinner=False)
def cached_inspection(rules: str, clients: tuple[str, ...], duration: int, seed: int, index: int):
    return inspect_request(rules, gateway_traffic(clients, duration, seed), index)


@st.cache_data(max_entries=2, show_spinner="Measuring state per client…")
def cached_costs():
    return state_cost_table((10, 100, 1_000, 10_000, 70_000))


page.start(
    "API gateway: throttle rules",
    "A limiter in front of an API applies rules to many clients at once: per address, per user, per "
    "endpoint, with a deny-list for known attackers and an allow-list for partners. What each client "
    "sees is a status code and headers that say how long to wait.",
)
P.preset_row(lambda name: GATEWAY_PRESETS[name].description)
left, right = st.columns([1.3, 1])
with left:
    st.text_area(
        "Rules (YAML or JSON)",
        height=330,
        help="Envoy-style descriptors: a key (remote_address, user_id, "
        "api_key, endpoint, method), an optional value, a rate_limit {unit, requests_per_unit, algorithm} "
        "and nested descriptors. deny_list and allow_list take 'attribute: value' entries.",
        **P.bind("rules"),
    )
with right:
    st.multiselect(
        "Who sends traffic",
        list(PROFILES),
        help="Client profiles, each a seeded Poisson stream.",
        **P.bind("clients"),
    )
    st.caption(
        " · ".join(
            f"{p}: {PROFILES[p].count}× {PROFILES[p].rate:g}/s → {', '.join(PROFILES[p].endpoints)}"
            for p in P.value("clients")
        )
    )
    st.slider("Seconds of traffic", 5, 600, help="How long the run lasts.", **P.bind("duration"))
    st.number_input("Seed", 0, 2**31 - 1, help="Same seed, same traffic.", **P.bind("seed"))
    st.toggle(
        "Also send the IETF draft's RateLimit headers",
        help="RateLimit-Policy and RateLimit, as in draft-ietf-httpapi-ratelimit-headers.",
        **P.bind("ietf"),
    )
    P.reset_button()
v = P.values()
clients = tuple(v["clients"])
rules_text = v["rules"]
with boundary(stop=False):
    parse_rules(rules_text)
    st.session_state["gateway.valid_rules"] = rules_text
valid = st.session_state.get("gateway.valid_rules", GATEWAY_PRESETS[P.base_preset].rules)
if valid != rules_text:
    st.warning(
        "The results below use the last rules that were valid; fix the lines above to apply your edit."
    )
query = P.sync()
if not clients:
    st.warning("Choose at least one client profile to send traffic.")
    st.stop()
with boundary():
    run = cached_run(valid, clients, v["duration"], v["seed"])
by_client = run.by_client()
statuses = np.array([d.status for d in run.decisions])
m = st.columns(4)
m[0].metric("Requests", f"{len(run.requests):,}", help=f"{v['duration']} s from {', '.join(clients)}.")
m[1].metric("Served (200)", f"{(statuses == 200).mean():.1%}")
m[2].metric("Limited (429)", f"{(statuses == 429).sum():,}")
m[3].metric("Denied (403)", f"{(statuses == 403).sum():,}")
share = {r["who"]: r["share served"] for r in by_client}
st.markdown(" · ".join(f"**{w}**: {s:.0%} served" for w, s in share.items()))

a, b = st.columns(2)
with a:
    st.plotly_chart(charts.outcome_figure(by_client, "Per client"), key="by_client")
    st.caption(
        "Each client's requests by outcome: a good rule set contains the abuser and leaves users at 100%."
    )
with b:
    st.plotly_chart(charts.outcome_figure(run.by_endpoint(), "Per endpoint"), key="by_endpoint")
    st.caption("The same requests by endpoint: per-endpoint rules protect the expensive ones.")
st.plotly_chart(charts.timeline_figure(status_timeline(run)), key="timeline")
st.caption(
    "Requests per second over time, per client: the abuser's orange (429) band starts as soon as its "
    "counter fills, while the users' bars stay green."
)
st.subheader("Which rule limited whom")
st.dataframe(
    pd.DataFrame(
        run.limited_by() or [{"client": "-", "decided by": "nothing was limited", "requests turned away": 0}]
    ),
    hide_index=True,
)

st.subheader("Request inspector")
n = len(run.requests)
if P.value("request") > n - 1:  # a shorter run than the link's: clamp before the slider is drawn
    st.session_state[P.key("request")] = n - 1
st.slider(
    "Request number",
    0,
    n - 1,
    help="Pick one request: its rules' state before and after, and the response the client gets.",
    **P.bind("request"),
)
idx = P.value("request")
ins = cached_inspection(valid, clients, v["duration"], v["seed"], idx)
i1, i2 = st.columns([1, 1.2])
with i1:
    r = ins.request
    st.markdown(f"**Request {idx}** at t = {r.time:.3f} s from **{r.client}**")
    st.json(dict(r.attributes), expanded=True)
    st.markdown(f"Decided by: **{ins.decision.decided_by}**")
with i2:
    st.code(ins.decision.http_response(ietf=v["ietf"]), language="http")
rows = [
    {
        "rule": s.rule,
        "counter": s.bucket,
        "algorithm": ALGORITHMS.get(s.algorithm, s.algorithm),
        "state before": explain_state(s.algorithm, s.before),
        "state after": explain_state(s.algorithm, s.after),
        "verdict": "admitted" if c.decision.allowed else "over the limit",
    }
    for s, c in zip(ins.states, ins.decision.checks, strict=False)
]
if rows:
    st.dataframe(pd.DataFrame(rows), hide_index=True)
st.caption("Every matching rule counts the request; a rule that admits it still spends a token or a slot.")

st.subheader("What each algorithm keeps per client")
costs = cached_costs()
st.plotly_chart(charts.state_cost_figure(costs, dict(ALGORITHMS) | {"gcra": "GCRA"}), key="cost")
log70k = next(c for c in costs if c.algorithm == "sliding_log" and c.limit == 70_000)
st.caption(
    f"Measured on the stored state: a sliding log at 70,000 a day holds {log70k.numbers:,} timestamps "
    f"({log70k.python_bytes / 1e6:.1f} MB in Python) per busy client; a counter or GCRA holds two numbers."
)
retry = np.array([d.retry_after for d in run.decisions if d.retry_after is not None])
explain.why(
    "Rules are evaluated like Envoy's rate-limit service: the deny-list first (403, no counter touched), then "
    "the allow-list (never limited; deny wins when both match), then **every** matching descriptor counts the "
    "request and any one of them can reject it (429). Counters are per distinct value — per address, per user — "
    "so rotating user ids does not help an abuser caught by a per-address rule.\n\n"
    f"Retry-After is never optimistic: after a 429 the gateway tries every matching rule ahead of time on a "
    f"copy of its state and reports the first instant all would admit, rounded up to whole seconds. Here "
    f"{len(retry):,} limited responses; the exact wait had a median of {np.median(retry) if len(retry) else 0:.2f} s, "
    f"sent as Retry-After: {int(np.ceil(np.median(retry))) if len(retry) else 0}. GCRA keeps one timestamp per "
    "client and makes the token bucket's decisions."
)
explain.try_this(
    [
        "Predict: the abuser rotates user ids on /login. Which rule stops it? Delete the remote_address rule and see.",
        "Move the partner's key off the allow-list: how much of its traffic survives the public limit?",
        "Switch a rule to sliding_log and compare its memory per client above with the counter's.",
        "Interview question: where would you put this limiter — in each service, in the gateway, or both — and why?",
    ]
)
st.subheader("Export")
export.csv_download(
    "Every decision (CSV)",
    lambda: pd.DataFrame(
        [
            {
                "time": r.time,
                "client": r.client,
                **r.attributes,
                "status": d.status,
                "decided_by": d.decided_by,
                "retry_after": d.retry_after,
            }
            for r, d in zip(run.requests, run.decisions, strict=True)
        ]
    ),
    "gateway_decisions.csv",
    key="csv_gateway",
)
export.share_link(query)
explain.references(
    [
        ("Envoy rate limit service config", "https://github.com/envoyproxy/ratelimit#configuration"),
        (
            "IETF RateLimit headers draft",
            "https://datatracker.ietf.org/doc/draft-ietf-httpapi-ratelimit-headers/",
        ),
        ("redis-cell (GCRA)", "https://github.com/brandur/redis-cell"),
        ("Stripe: scaling your API with rate limiters", "https://stripe.com/blog/rate-limiters"),
    ]
)
