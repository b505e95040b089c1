"""Rate limiter: five algorithms on the same traffic; step through time and watch each one's state."""

import hashlib

import streamlit as st

from lessons import rate_limiter as rl
from sdcore.charts import ratelimit as charts
from sdcore.ratelimit import ALGORITHMS, ROUNDING_NOTE, Trace, compare_limiters, parse_trace_csv, simulate
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

ALGOS, PLAY_TICK_S = tuple(ALGORITHMS), 0.8
P = PageParams(
    "ratelimit",
    [Param(n, d, *rl.RANGES.get(n, (None, None)), options=rl.CHOICES.get(n)) for n, d in rl.DEFAULTS.items()],
    {name: p.params for name, p in rl.PRESETS.items()},
    "Flash sale burst",
)


def num(col, name: str, disabled: bool = False):
    p, (label, tip) = P.params[name], rl.FIELDS[name]
    return col.number_input(
        label,
        p.lo,
        p.hi,
        help=tip,
        disabled=disabled,
        format=None if isinstance(p.default, int) else "%g",
        **P.bind(name),
    )


@st.cache_resource(max_entries=8, show_spinner="Drawing the traffic…")
def cached_trace(source: rl.TrafficConfig) -> Trace:
    return source.build()


@st.cache_data(max_entries=4, show_spinner="Reading the uploaded trace…")
def parse_upload(data: bytes) -> tuple[Trace | None, str | None]:
    try:
        return parse_trace_csv(data), None
    except ValueError as e:
        return None, str(e)


# Results are frozen dataclasses of read-only arrays (and hold MappingProxyType, which cache_data cannot
# pickle): one shared copy serves every session without copying megabytes per rerun.
@st.cache_resource(max_entries=6, show_spinner="Running the five limiters on the trace…")
def cached_comparison(source, settings, _trace: Trace):
    return compare_limiters(_trace.timestamps, _trace.keys, settings)


@st.cache_resource(max_entries=6, show_spinner="Running setting B…")
def cached_b(source, settings, algorithm: str, _trace: Trace):
    return simulate(settings.limiters()[algorithm], _trace.timestamps, _trace.keys)


@st.cache_resource(max_entries=6, show_spinner=False)
def cached_views(source, settings, client, _comparison):
    return {n: r.select(client) if client else r for n, r in _comparison.results.items()}


page.start(
    "Rate limiter",
    "Cap how many requests a client may send in a period, so one client (or a bug, or an attacker) cannot "
    "exhaust a service. Five algorithms do it with different memory, burstiness and fairness: run them on "
    "the same traffic and step through time to see why they disagree.",
)
P.preset_row(lambda name: rl.PRESETS[name].description)
uploaded = st.session_state.get("rl.upload_ok")
uses = rl.SHAPE_USES[P.value("shape")]
cols = st.columns(6)
cols[0].selectbox(
    "Traffic",
    rl.SHAPES,
    format_func=rl.SHAPE_LABELS.get,
    disabled=bool(uploaded),
    help="The shape of the arrivals (ignored while an uploaded trace is used).",
    **P.bind("shape"),
)
for col, name in zip(cols[1:], rl.TRAFFIC_FIELDS, strict=True):
    num(col, name, disabled=bool(uploaded) or name not in uses)
cols = st.columns(7)
cols[0].selectbox(
    "Algorithm",
    rl.ALGORITHM_CHOICES,
    format_func=rl.algorithm_label,
    help="Which limiters the charts and metrics show; the comparison table always runs all five.",
    **P.bind("algorithm"),
)
for col, name in zip(cols[1:], rl.LIMITER_FIELDS, strict=True):
    num(col, name)
with st.expander("Upload a trace (CSV)", expanded=bool(uploaded)):
    up = st.file_uploader(
        "One request per row: time in seconds, then optionally the client. At most 5 MB, 1,000,000 rows.",
        type=["csv", "txt"],
        key="rl.upload",
    )
    if up is None:
        st.session_state.pop("rl.upload_ok", None)
    else:
        data = up.getvalue()
        parsed, error = parse_upload(data)
        if error:
            keep = f"the previous upload ({uploaded[0]})" if uploaded else "the generated traffic"
            st.error(
                f"{up.name}: {error}. Nothing was lost: the page still shows {keep}.", icon=":material/error:"
            )
        else:
            st.session_state["rl.upload_ok"] = (up.name, hashlib.sha1(data).hexdigest(), parsed)
    uploaded = st.session_state.get("rl.upload_ok")
P.reset_button()
v = P.values()
shown = rl.shown_algorithms(v["algorithm"])
with boundary():
    settings = rl.limiter_settings(
        v["limit"], v["window"], v["capacity"], v["refill"], v["queue"], v["outflow"]
    )
    if uploaded:
        source, trace = ("upload", uploaded[1]), uploaded[2]
    else:
        source = rl.TrafficConfig(
            v["shape"], v["rate"], v["peak"], v["duration"], v["clients"], v["seed"], v["limit"], v["window"]
        ).normalized()
        trace = cached_trace(source)
    comparison = cached_comparison(source, settings, trace)
query = P.sync()
st.caption(
    f"Traffic: {trace.description} ({len(trace):,} requests)."
    + (f" Uploaded file {uploaded[0]}; clear it to return to generated traffic." if uploaded else "")
)
for notice in trace.notices:
    st.info(notice, icon=":material/info:")

summary = rl.summarize((source, settings), comparison)
_last, previous = st.session_state["rl.history"] = rl.remember(st.session_state.get("rl.history"), summary)
cols = st.columns(max(len(shown) + 1, 4))
cols[0].metric("Requests in the trace", f"{len(trace):,}", help=trace.description)
for col, h in zip(cols[1:], rl.headlines(comparison, shown, previous), strict=False):
    col.metric(h.label, h.value, h.delta, help=h.help, delta_color="off")
if previous:
    st.caption("Arrows: the change against the previous run's settings.")
if split := rl.clients_sentence(comparison, shown):
    st.markdown(split)

st.subheader("Predict first")
fw, W = comparison.row("fixed_window"), settings.window
g = st.columns([3, 1, 4])
guess = g[0].number_input(
    f"How many requests will the fixed window counter admit to one client in the busiest "
    f"{W:g} s window (limit {settings.limit:,})?",
    0,
    10**7,
    settings.limit,
    key=f"rl.guess_{settings.limit}_{W:g}",
)
g[1].button(
    "Reveal", type="primary", on_click=st.session_state.__setitem__, args=("rl.revealed", summary.key)
)
if st.session_state.get("rl.revealed") == summary.key:
    g[2].metric(
        "Fixed window, busiest window",
        f"{fw.max_in_window:,}",
        f"{fw.max_in_window - guess:+,} vs your guess; {fw.max_in_window / settings.limit:.2f}x the limit",
        delta_color="off",
    )

st.subheader("Step through time")
key = None
if trace.keys is not None:
    options = rl.clients_by_volume(trace)[:500]
    if st.session_state.get("rl.client") not in options:
        st.session_state["rl.client"] = options[0]
    key = st.selectbox(
        "Client shown in the state charts",
        options,
        key="rl.client",
        help="Busiest first. "
        "The arrivals chart shows every client; the state belongs to one client's limiter.",
    )
lo, hi = rl.time_range(trace)
if (
    st.session_state.get("rl.cursor_for") != (summary.key, key)
    or not lo <= st.session_state.get("rl.cursor", -1) <= hi
):
    st.session_state["rl.cursor"] = rl.default_cursor(comparison, shown, key)
    st.session_state["rl.cursor_for"] = (summary.key, key)
z = st.columns([1, 3])
playing = z[0].toggle(
    "Play",
    key="rl.play",
    help="Move the cursor across the trace by itself. It runs only "
    "while this is on (an animation reruns in every open tab).",
)
z[1].select_slider(
    "Charts show",
    rl.ZOOMS,
    format_func=rl.zoom_label,
    help="The time span of the charts below, centred on the cursor, in windows of length W.",
    **P.bind("zoom"),
)
views = cached_views(source, settings, key, comparison)
DETAIL = {
    "token_bucket": charts.token_level_figure,
    "leaking_bucket": charts.queue_figure,
    "fixed_window": charts.window_counts_figure,
    "sliding_window_counter": charts.estimate_figure,
}


@st.fragment(run_every=PLAY_TICK_S if playing else None)
def timeline():
    span = v["zoom"] * W
    if playing:
        st.session_state["rl.cursor"] = rl.next_cursor(st.session_state["rl.cursor"], lo, hi, span)
    t = st.slider("Time cursor (s)", lo, hi, step=rl.cursor_step(lo, hi), format="%.3f", key="rl.cursor")
    st.markdown(
        f"**At t = {t:.3f} s**" + (f" (client {key})" if key else "") + ": each limiter's state as "
        "its store holds it at that moment."
    )
    st.table(rl.states_frame(comparison.results, shown, t, key))
    a, b = rl.view_range(t, lo, hi, span)
    detail = [n for n in shown if n in DETAIL]
    top = st.columns([1, 1] if len(shown) == 1 and detail else [1])
    with top[0]:
        fig = charts.arrivals_figure(
            [rl.time_slice(comparison.results[n], a, b, False) for n in shown], cursor=t
        )
        st.plotly_chart(fig.update_xaxes(range=[a, b]), key="arrivals")
        st.caption(
            "Every request, admitted (green) or rejected (red), per algorithm on one time axis"
            + (" (all clients)" if key else "")
            + ": notice who lets a burst through and who spreads it out."
        )
    grid = top[1:] if len(top) > 1 else st.columns(2) if detail else []
    for i, name in enumerate(detail):
        with grid[i % len(grid)]:
            fig = DETAIL[name](rl.time_slice(views[name], a - 2 * W, b), cursor=t)
            st.plotly_chart(fig.update_xaxes(range=rl.chart_range(name, a, b, W)), key=f"detail_{name}")
            st.caption(rl.CHART_NOTES[name])


timeline()

st.subheader("The five, and GCRA, on the same traffic")
num_col = st.column_config.NumberColumn
st.dataframe(
    rl.comparison_table(comparison),
    hide_index=True,
    column_config={
        "accepted": "admitted",
        "admitted_pct": num_col("admitted %", format="%.1f%%"),
        "max_in_window": f"most in any {W:g} s",
        "mean_delay": num_col("mean added latency (s)", format="%.3g"),
        "max_delay": num_col("max added latency (s)", format="%.3g"),
        "state_bytes": "state per client (bytes)",
        "state_note": "what the state holds",
        "differs_pct": num_col("decides unlike the counter", format="%.3f%%"),
    },
)
st.caption(
    "Only the leaking bucket adds latency (it queues); the logs' memory grows with the traffic, the "
    "counters' does not. The last column compares each log with the sliding window counter."
)
left, right = st.columns([1.1, 1])
with left:
    st.plotly_chart(charts.max_in_window_figure(comparison), key="max_in_window")
    st.caption(
        "The most admitted to one client in any window of length W, anywhere: bars past the dotted "
        "limit (red) let more through than the limit promises."
    )
with right:
    st.markdown(rl.cloudflare_sentence(comparison))
    st.markdown(rl.sliding_log_sentence(comparison))
    st.markdown(rl.rounding_sentence(comparison.results["sliding_window_counter"]))
    st.caption(ROUNDING_NOTE)

st.subheader("Two settings side by side")
cols = st.columns(6)
cols[0].selectbox(
    "A: algorithm",
    ALGOS,
    format_func=ALGORITHMS.get,
    help="A uses the parameters at the top.",
    **P.bind("a_algo"),
)
cols[1].selectbox(
    "B: algorithm",
    ALGOS,
    format_func=ALGORITHMS.get,
    help="B uses the four settings to the right.",
    **P.bind("b_algo"),
)
for col, name in zip(cols[2:], rl.B_FIELDS, strict=True):
    num(col, name)
with boundary(stop=False):
    b_settings = rl.limiter_settings(
        v["b_limit"], v["b_window"], v["b_burst"], v["b_rate"], v["b_burst"], v["b_rate"]
    )
    res_a, res_b = comparison.results[v["a_algo"]], cached_b(source, b_settings, v["b_algo"], trace)
    a, b = rl.side(res_a, W), rl.side(res_b, b_settings.window)
    for col, s, other, name in zip(st.columns(2), (a, b), (None, a), "AB", strict=True):
        with col.container(border=True):
            st.markdown(f"**{name}: {s.label}**")
            for c, (label, value, delta) in zip(st.columns(3), rl.side_metrics(s, other), strict=True):
                c.metric(label, value, delta, delta_color="off")
    st.plotly_chart(
        charts.arrivals_figure([res_a, res_b], height=260 if len(trace) <= 2000 else 420), key="ab"
    )
    st.caption("A above B on one time axis: notice where one setting rejects and the other does not.")

explain.why(rl.explanation(comparison))
explain.try_this(rl.TRY_THIS)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    export.csv_download(
        "Every decision (CSV)", lambda: rl.decisions_frame(comparison), "decisions.csv", key="csv_decisions"
    )
with e[1]:
    export.csv_download(
        "Comparison table (CSV)", lambda: rl.comparison_table(comparison), "comparison.csv", key="csv_table"
    )
export.share_link(query)
if uploaded:
    st.caption("The link carries the settings, not the uploaded file: share the file alongside it.")
explain.references(rl.REFERENCES)
