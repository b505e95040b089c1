"""Key-value store: one node's storage. Commit log, memtable, SSTables, compaction and bloom filters, run for real."""

import pandas as pd
import streamlit as st

from lessons import kv_storage as L
from sdcore.charts import kv_storage as charts
from sdcore.kvstore import bloom, lsm
from ui import cache, headlines, page
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("kvs", L.PARAMS, {p.name: dict(p.values) for p in L.PRESETS}, L.DEFAULT_PRESET)
ss = st.session_state


@cache.shared(max_entries=32)
def session_run(store: lsm.StoreSettings, script: str) -> lsm.ScriptRun:
    return lsm.run_script(script, store)


@cache.shared(max_entries=32)
def style_run(settings: lsm.WorkloadSettings, style: str) -> lsm.WorkloadResult:
    return lsm.run_workload(settings, style)


@cache.shared(max_entries=16, spinner="Running the workload under both compaction styles…")
def workload(settings: lsm.WorkloadSettings) -> tuple[lsm.WorkloadResult, ...]:
    return lsm.compare_styles(settings, style_run)  # a knob of one style reruns only that style


@cache.shared(max_entries=64)
def sweep(bits: tuple[float, ...], seed: int) -> tuple[bloom.BloomPoint, ...]:
    return bloom.bloom_sweep(bits, L.SWEEP_KEYS, L.SWEEP_QUERIES, seed)


@cache.shared(max_entries=64)
def bloom_chart(seed: int, bits: float):  # one figure per seed and setting, for every session
    return charts.bloom_figure(sweep(L.BLOOM_SWEEP, seed), L.PUBLISHED, bits)


@cache.shared(max_entries=16)
def workload_charts(settings: lsm.WorkloadSettings):  # the two figures of one workload
    results = workload(settings)
    return charts.amplification_figure(results), charts.space_over_time_figure(results)


def step(delta: int, count: int) -> None:
    ss["kvs.cursor"] = max(1, min(count, ss["kvs.cursor"] + delta))


def play_toggled(count: int) -> None:
    if ss["kvs.play"] and ss["kvs.cursor"] >= count:
        ss["kvs.cursor"] = 1


page.start(L.TITLE, L.IDEA)
P.preset_row(L.describe)
c = st.columns([1, 1, 1.3])
P.widget("memtable_limit", c[0])
P.widget("bloom_bits", c[1])
P.widget("compaction", c[2], horizontal=True)
leveled = P.value("compaction") == "leveled"
c = st.columns(3)
P.widget("min_threshold", c[0], disabled=leveled)
P.widget("fanout", c[1], disabled=not leveled)
P.widget("l0_trigger", c[2], disabled=not leveled)
with st.expander("The session: put, get, delete, load, flush, compact, crash, recover", expanded=True):
    P.widget("script", height=200)
    st.caption(" · ".join(f"`{v.split(':')[0]}`" for v in lsm.SCRIPT_COMMANDS.values()))
c = st.columns(4)
for col, name in zip(c, ("writes", "key_space", "delete_pct", "seed"), strict=True):
    P.widget(name, col)
P.reset_button()
v = P.values()
with boundary():
    store, work, script = L.settings_from(v)
    run = session_run(store, script)
    results = workload(work)
    points = sweep(L.BLOOM_SWEEP, work.seed)
    bits = store.bloom_bits_per_key  # a setting the sweep measured is its point: the same keys and hashes
    chosen = next((q for q in points if q.bits_per_key == bits), None) or (
        sweep((bits,), work.seed)[0] if bits > 0 else None
    )
P.sync()

heads = L.headlines(run, results, chosen)
headlines.row(heads, arrow="auto")

st.subheader("Step through the session")
count = len(run.steps)
if not count:
    st.info("The session is empty: add a line such as `put cart:1 milk`.", icon=":material/edit:")
else:
    if ss.get("kvs._run") != (store, script) or ss.get("kvs.cursor", 1) > count:
        ss["kvs._run"], ss["kvs.cursor"] = (store, script), count
    st.toggle(
        "Play",
        key="kvs.play",
        on_change=play_toggled,
        args=(count,),
        disabled=count < 2,
        help="Advance one operation every 0.8 s (reruns only while on).",
    )

    @st.fragment(run_every=0.8 if ss.get("kvs.play") else None)
    def stepper() -> None:
        if ss.get("kvs.play"):
            if ss["kvs.cursor"] >= count:
                ss["kvs.play"] = False
                st.rerun()
            ss["kvs.cursor"] += 1
        b = st.columns([0.6, 0.6, 8])
        b[0].button("◀", key="kvs.back", on_click=step, args=(-1, count), help="One operation back")
        b[1].button("▶", key="kvs.next", on_click=step, args=(1, count), help="One operation on")
        cursor = (
            b[2].slider(
                "Operation",
                1,
                max(count, 2),
                key="kvs.cursor",
                disabled=count < 2,
                label_visibility="collapsed",
            )
            - 1
        )
        cursor = min(cursor, count - 1)
        s = run.steps[cursor]
        st.markdown(L.step_caption(run, cursor))
        st.plotly_chart(
            cache.figure(
                charts.node_figure,
                s.snapshot,
                store.memtable_limit,
                s.events,
                level_names=L.level_names(store.compaction),
            ),
            key="node",
        )
        st.caption(L.NODE_CAPTION)
        traced = L.trace_for(run, cursor)
        if traced is not None:
            st.markdown(
                "**The read path** of " + ("this get" if traced is s else "the last get before this step")
            )
            st.plotly_chart(cache.figure(charts.read_path_figure, traced.trace), key="read")
            st.caption(L.trace_caption(traced))

    stepper()

st.subheader("Bloom filters: bits per key against false positives")
st.plotly_chart(bloom_chart(work.seed, store.bloom_bits_per_key), key="bloom")
st.caption(L.bloom_caption(points))

st.subheader("Size-tiered vs leveled: the same workload")
left, right = st.columns(2)
amp, space = workload_charts(work)
with left:
    st.plotly_chart(amp, key="amp")
    st.caption(L.amplification_caption(results))
with right:
    st.plotly_chart(space, key="space")
    st.caption(L.space_caption(results))

page_end(
    P,
    title=L.TITLE,
    why=L.why(run, results, points, store.bloom_bits_per_key),
    try_this=L.TRY_THIS,
    exports=(
        Export("Session steps (CSV)", lambda: pd.DataFrame(L.step_rows(run)), "kv_storage_steps.csv"),
        Export(
            "Amplification (CSV)",
            lambda: pd.DataFrame(L.workload_rows(results)),
            "kv_storage_amplification.csv",
        ),
        Export("Bloom sweep (CSV)", lambda: pd.DataFrame(L.bloom_rows(points)), "kv_storage_bloom.csv"),
    ),
    references=L.REFERENCES,
    headlines=heads,
)
