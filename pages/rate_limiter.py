"""Rate limiter: five algorithms on the same traffic; step through time and watch each one's state."""

import streamlit as st

from lessons import rate_limiter as rl
from sdcore.charts import ratelimit as charts
from sdcore.ratelimit import ROUNDING_NOTE, Trace, compare_limiters, simulate
from ui import cache, headlines, page, stepper, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("ratelimit", rl.PARAMS, rl.PRESETS, rl.DEFAULT_PRESET)
ss = st.session_state
DETAIL = {
    "token_bucket": charts.token_level_figure,
    "leaking_bucket": charts.queue_figure,
    "fixed_window": charts.window_counts_figure,
    "sliding_window_counter": charts.estimate_figure,
}


@st.cache_resource(max_entries=4, ttl=3600, show_spinner="Drawing the traffic…")
def cached_trace(source: rl.TrafficConfig) -> Trace:
    return source.build()


@st.cache_data(max_entries=4, ttl=3600, show_spinner="Reading the uploaded trace…")
def parse_upload(data: bytes, name: str) -> tuple[Trace | None, str | None]:
    return rl.read_upload(data, name)


# Results are frozen dataclasses of read-only arrays (and hold MappingProxyType, which cache_data cannot
# pickle): one shared copy serves every session without copying megabytes per rerun.
@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Running the five limiters on the trace…")
def cached_comparison(source, settings, _trace: Trace):
    return compare_limiters(_trace.timestamps, _trace.keys, settings)


@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Running setting B…")
def cached_b(source, settings, algorithm: str, _trace: Trace):
    return simulate(settings.limiters()[algorithm], _trace.timestamps, _trace.keys)


@st.cache_resource(max_entries=6, ttl=3600, show_spinner=False)
def cached_views(source, settings, client, _comparison):
    return {n: r.select(client) if client else r for n, r in _comparison.results.items()}


@st.cache_resource(max_entries=2, ttl=3600, show_spinner="Finding the limit this traffic needs…")
def cached_tuning(source, settings, algorithm: str, share: float, _trace: Trace):
    return rl.tuning(_trace, settings, algorithm, share)


# Figures are drawn once per result and view (cache.figure) and never changed after: the time axis and the
# cursor are arguments of the builders.
def arrivals_chart(comparison, shown: tuple[str, ...], a: float, b: float, t: float):
    slices = rl.arrival_slices(comparison, shown, a, b)
    bins = rl.arrival_bins(slices, a, b)
    fig = (charts.binned_arrivals_figure if bins else charts.arrivals_figure)(
        bins or slices, cursor=t, x_range=(a, b)
    )
    return fig, bins


def detail_chart(view, name: str, a: float, b: float, t: float, window: float):
    x_range = rl.chart_range(name, a, b, window)
    return DETAIL[name](rl.time_slice(view, a - 2 * window, b), cursor=t, x_range=x_range)


def ab_chart(res_b, res_a, height: int):
    return charts.arrivals_figure([res_a, res_b], height=height)


def peaks_chart(tune):
    return charts.peak_distribution_figure(tune.peaks, percentile=tune.percentile)


page.start(rl.TITLE, rl.IDEA)
# The upload is read before any widget, so the traffic inputs are off and the description is the log's
# from the first run after it.
file = (up := ss.get("rl.upload")) and (up.name, up.getvalue())
ss["rl.upload_ok"], error = rl.upload_state(ss.get("rl.upload_ok"), file, parse_upload)
uploaded = ss["rl.upload_ok"]
P.preset_row((lambda _: rl.log_description(uploaded[2], uploaded[0])) if uploaded else None)
uses = {"shape", *rl.SHAPE_USES[P.value("shape")]}
for col, name in zip(st.columns(6), ("shape", *rl.TRAFFIC_FIELDS), strict=True):
    P.widget(name, col, disabled=bool(uploaded) or name not in uses)
for col, name in zip(st.columns(7), ("algorithm", *rl.LIMITER_FIELDS), strict=True):
    P.widget(name, col)
e = st.columns([1, 1.2, 3])
P.widget("limit_by", e[0], disabled=not uploaded)
P.widget("inclusive_edge", e[1])
e[2].caption(rl.edge_sentence(P.value("inclusive_edge"), P.value("window")))
with st.expander(rl.UPLOAD_TITLE, expanded=bool(uploaded)):
    st.file_uploader(rl.UPLOAD_LABEL, type=list(rl.UPLOAD_TYPES), key="rl.upload")
    if error:
        st.error(error, icon=":material/error:")
    if uploaded:
        for col, h in zip(st.columns([1.6, 1, 1, 1, 1]), rl.upload_headlines(uploaded[2]), strict=True):
            col.metric(h.label, h.value, help=h.help)
        if bad := rl.malformed_text(uploaded[2]):
            st.text(bad)
P.reset_button()
v = P.values()
shown = rl.shown_algorithms(v["algorithm"])
with boundary():
    settings = rl.settings_from(v)
    if uploaded:
        trace, source, keyed_note = rl.upload_source(uploaded, v["limit_by"])
    else:
        source, keyed_note = rl.traffic_from(v), None
        trace = cached_trace(source)
    comparison = cached_comparison(source, settings, trace)
P.sync()
st.caption(rl.traffic_caption(trace, uploaded and uploaded[0]))
for notice in (*trace.notices, *([keyed_note] if keyed_note else [])):
    st.info(notice, icon=":material/info:")

summary = rl.summarize((source, settings), comparison)
_last, previous = ss["rl.history"] = rl.remember(ss.get("rl.history"), summary)
heads = [rl.trace_headline(trace), *rl.headlines(comparison, shown, previous)]
headlines.row(heads, slots=4, arrow="auto")
if previous:
    st.caption(rl.PREVIOUS_NOTE)
if split := rl.clients_sentence(comparison, shown):
    st.markdown(split)

st.subheader("Predict first")
W = settings.window
g = st.columns([3, 1, 4])
guess = g[0].number_input(
    rl.guess_label(settings),
    0,
    10**7,
    settings.limit,
    key=f"rl.guess_{settings.limit}_{W:g}",  # %g on purpose: a widget key
)
g[1].button("Reveal", type="primary", on_click=ss.__setitem__, args=("rl.revealed", summary.key))
if ss.get("rl.revealed") == summary.key:
    h = rl.reveal_headline(comparison, guess)
    g[2].metric(h.label, h.value, h.delta, delta_color=h.delta_color)

st.subheader("Step through time")
key = None
if trace.keys is not None:
    options = rl.clients_by_volume(trace)[:500]
    if ss.get("rl.client") not in options:
        ss["rl.client"] = options[0]
    key = st.selectbox(rl.CLIENT_LABEL, options, key="rl.client", help=rl.CLIENT_HELP)
lo, hi = rl.time_range(trace)
if ss.get("rl.cursor_for") != (summary.key, key) or not lo <= ss.get("rl.cursor", -1) <= hi:
    ss["rl.cursor"], ss["rl.cursor_for"] = rl.default_cursor(comparison, shown, key), (summary.key, key)
z = st.columns([1, 3])
stepper.play_toggle("rl.play", help=rl.PLAY_HELP, container=z[0])
P.widget("zoom", z[1])
views = cached_views(source, settings, key, comparison)
span = v["zoom"] * W


def advance() -> bool:
    ss["rl.cursor"] = rl.next_cursor(ss["rl.cursor"], lo, hi, span)
    return True  # the cursor wraps to the start: play runs until it is switched off


def timeline():
    t = st.slider(
        rl.CURSOR_LABEL, lo, hi, step=rl.cursor_step(lo, hi), format=rl.cursor_format(lo, hi), key="rl.cursor"
    )
    st.markdown(rl.cursor_sentence(t, key))
    st.table(rl.states_frame(comparison.results, shown, t, key))
    a, b = rl.view_range(t, lo, hi, span)
    detail = [n for n in shown if n in DETAIL]
    top = st.columns([1, 1] if len(shown) == 1 and detail else [1])
    with top[0]:
        fig, bins = cache.figure(arrivals_chart, comparison, shown, a, b, t)
        st.plotly_chart(fig, key="arrivals")
        st.caption(rl.arrivals_caption(comparison, shown, key, bins))
    grid = top[1:] if len(top) > 1 else st.columns(2) if detail else []
    for i, name in enumerate(detail):
        with grid[i % len(grid)]:
            st.plotly_chart(cache.figure(detail_chart, views[name], name, a, b, t, W), key=f"detail_{name}")
            st.caption(rl.CHART_NOTES[name])


stepper.animate("rl.play", timeline, advance)

st.subheader("The five, and GCRA, on the same traffic")
table = cache.figure(rl.comparison_table, comparison)  # one frame per result, never changed (fit copies it)
tables.fit(table, columns=rl.table_columns(W))
st.caption(rl.table_caption(comparison))
left, right = st.columns([1.1, 1])
with left:
    st.plotly_chart(cache.figure(charts.max_in_window_figure, comparison), key="max_in_window")
    st.caption(rl.max_in_window_caption(comparison))
with right:
    for text in rl.counter_sentences(comparison):
        st.markdown(text)
    st.caption(ROUNDING_NOTE)

st.subheader("Two settings side by side")
for col, name in zip(st.columns(6), ("a_algo", "b_algo", *rl.B_FIELDS), strict=True):
    P.widget(name, col)
with boundary(stop=False):
    b_settings = rl.b_settings_from(v)
    res_a, res_b = comparison.results[v["a_algo"]], cached_b(source, b_settings, v["b_algo"], trace)
    a, b = rl.side(res_a, W), rl.side(res_b, b_settings.window)
    for col, s, other, name in zip(st.columns(2), (a, b), (None, a), "AB", strict=True):
        with col.container(border=True):
            st.markdown(f"**{name}: {s.label}**")
            for c, (label, value, delta) in zip(st.columns(3), rl.side_metrics(s, other), strict=True):
                c.metric(label, value, delta, delta_color="off")
    st.plotly_chart(cache.figure(ab_chart, res_b, res_a, 260 if len(trace) <= 2000 else 420), key="ab")
    st.caption(rl.ab_caption(res_a, res_b))

tune = None
if trace.keys is not None and len(options) > 1:
    st.subheader(rl.TUNING_TITLE)
    left, right = st.columns([1.1, 1])
    P.widget("tune_share", right)
    tune = cached_tuning(source, settings, v["a_algo"], v["tune_share"], trace)
    left.plotly_chart(cache.figure(peaks_chart, tune), key="peaks")
    left.caption(rl.peaks_caption(tune))
    right.dataframe(rl.suggestions_frame(tune), hide_index=True)
    right.caption(rl.suggestions_caption(tune))
    st.dataframe(tune.limited.to_frame(), hide_index=True)
    st.caption(rl.limited_caption(tune, settings))

page_end(
    P,
    title=rl.TITLE,
    why=rl.explanation(comparison),
    try_this=rl.TRY_THIS,
    exports=(
        Export("Every decision (CSV)", lambda: rl.decisions_frame(comparison), "decisions.csv"),
        Export("Comparison table (CSV)", lambda: table, "comparison.csv"),
        *([Export("Clients limited (CSV)", tune.limited.to_frame, "limited_clients.csv")] if tune else []),
    ),
    references=rl.REFERENCES,
    headlines=heads,
    link_note=rl.UPLOAD_LINK_NOTE if uploaded else None,
)
