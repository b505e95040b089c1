"""Consistent hashing: add and remove nodes on a ring and watch exactly which keys move."""

import numpy as np
import pandas as pd
import streamlit as st

from lessons import consistent_hashing as lesson
from sdcore.charts import hashing as charts
from sdcore.checks import number_text
from sdcore.hashing import KeyHashes, hash_seeded_keys, spread_vs_vnodes
from sdcore.hashing.experiment import (
    Change,
    NodeSet,
    PlacementSpec,
    compare_schemes,
    encode_changes,
    locate,
    moved_keys_table,
    parse_weights,
    restore,
    run_change,
)
from sdcore.hashing.validate import NODE_NAME_RULE
from ui import cache, headlines, page
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.params import PageParams

P = PageParams("hashing", lesson.PARAMS, lesson.PRESETS, lesson.DEFAULT_PRESET)
SAMPLE = lesson.SAMPLE


@cache.shared(max_entries=6, spinner="Hashing the keys…")
def cached_hashes(hash_name: str, keys: int, seed: int, bits: int) -> np.ndarray:
    h = hash_seeded_keys(keys, seed, hash_name, bits)
    h.setflags(write=False)  # one array for every session: nobody may change it
    return h


@cache.shared(max_entries=24, spinner="Placing the keys…")
def cached_owners(spec: PlacementSpec, cluster: NodeSet, keys: int, seed: int) -> np.ndarray:
    h = cached_hashes(spec.hash_name, keys, seed, spec.hash_bits)
    owners = locate(spec, cluster, KeyHashes.precomputed(spec.hash_name, **{f"h{spec.hash_bits}": h}))
    owners.setflags(write=False)
    return owners


@cache.shared(max_entries=16, spinner=False)
def cached_report(spec: PlacementSpec, before: NodeSet, change: Change | None, keys: int, seed: int):
    return run_change(spec, before, change, keys=keys, seed=seed, compare=False,
                      locator=lambda s, c: cached_owners(s, c, keys, seed))  # fmt: skip


@cache.shared(max_entries=8, spinner="Comparing schemes…")
def cached_comparison(spec: PlacementSpec, before: NodeSet, after: NodeSet, keys: int, seed: int):
    hashed = KeyHashes.precomputed(spec.hash_name, h32=cached_hashes(spec.hash_name, keys, seed, 32),
                                   h64=cached_hashes(spec.hash_name, keys, seed, 64))  # fmt: skip
    return compare_schemes(spec, before, after, hashed)


@cache.shared(max_entries=8, spinner=False)
def cached_spread(names: tuple[str, ...], hash_name: str):
    return spread_vs_vnodes(names, hash_name=hash_name, samples=8 if len(names) <= 16 else 2)


page.start(lesson.TITLE, lesson.IDEA)
P.preset_row()
cols = st.columns(4)
scheme = P.value("scheme")
for col, name in zip(cols, ("nodes", "vnodes", "keys", "hash"), strict=True):
    P.widget(name, col, disabled=not lesson.uses(scheme, name))
cols = st.columns(4)
P.widget("scheme", cols[0])
P.widget("load_factor", cols[1], disabled=not lesson.uses(scheme, "load_factor"))
P.widget("weights", cols[2], placeholder="e.g. 1,1,2,4")
P.widget("seed", cols[3])
P.reset_button()
v = P.values()
with boundary():
    spec = PlacementSpec(v["scheme"], v["vnodes"], v["hash"], v["load_factor"])
    start = NodeSet.uniform(v["nodes"], parse_weights(v["weights"], v["nodes"]))
    restored = restore(start, v["changes"])
    changes, clusters = restored.changes, list(restored.clusters)
    for text in lesson.skipped_changes(restored.skipped):
        st.warning(text, icon=":material/link_off:")
    if restored.skipped:
        P.set("changes", encode_changes(changes))
P.sync()
now = clusters[-1]

st.subheader("Change the cluster")
suggested = lesson.PRESETS[P.base_preset].suggested if not changes else None
with st.form("change", border=True):
    f = st.columns([1.2, 1, 1, 0.8, 1.6])
    action = f[0].radio(
        "Action",
        ["add", "remove"],
        index=0 if not suggested or suggested.action == "add" else 1,
        format_func=lambda a: {"add": "Add a node", "remove": "Remove a node"}[a],
        horizontal=True,
    )
    fresh = suggested and suggested.action == "add" and suggested.node not in now.names
    new_name = f[1].text_input(
        "New node's name",
        suggested.node if fresh else now.next_name(),
        max_chars=40,
        help=f"{NODE_NAME_RULE.capitalize()}. Enter applies the change.",
    )
    weight = f[2].number_input("Its weight", 0.05, 64.0, suggested.weight if suggested else 1.0, step=0.5)
    gone = f[3].selectbox(
        "Node to remove",
        now.names,
        index=now.names.index(suggested.node)
        if suggested and suggested.node in now.names
        else len(now.names) - 1,
    )
    guess = f[4].slider(
        "Predict first: % of keys that will move",
        0,
        100,
        50,
        help="Recorded with the change and shown beside the answer.",
    )
    if st.form_submit_button("Apply change", type="primary"):
        change = Change("add", new_name.strip(), weight) if action == "add" else Change("remove", gone)
        with boundary(stop=False):  # a refused change is explained; the page below still draws
            change.apply(now)
            P.set("changes", encode_changes((*changes, change)))
            st.session_state["hashing.guess"] = (len(changes) + 1, guess)
            P.sync()
            st.rerun()
u = st.columns([1, 1, 4])
if u[0].button("Undo last change", disabled=not changes):
    P.set("changes", encode_changes(changes[:-1]))
    P.sync()
    st.rerun()
u[2].caption(
    "Cluster now: "
    + ", ".join(f"{n} (×{number_text(w)})" if w != 1 else n for n, w in now.nodes)
    + (f" — after: {'; '.join(c.describe() for c in changes)}" if changes else " — no change yet")
)

last = changes[-1] if changes else None
with boundary():
    report = cached_report(spec, clusters[-2] if last else now, last, v["keys"], v["seed"])
mv, loads = report.movement, report.loads
comparison = None
if last:
    comparison = cached_comparison(spec, report.before, report.after, min(v["keys"], 200_000), v["seed"])
done, guessed = st.session_state.get("hashing.guess", (None, None))
heads = lesson.headlines(report, comparison, guessed if last and done == len(changes) else None)
headlines.row(heads, arrow="auto")

left, right = st.columns([1.1, 1])
with left:
    if spec.scheme in ("ring", "bounded"):
        st.plotly_chart(
            cache.figure(charts.report_ring_figure, report, v["keys"], v["seed"], SAMPLE), key="ring"
        )
        st.caption(
            lesson.ring_caption(len(report.spec.build(now).ring_points()), moved=bool(last and mv.moved))
        )
    else:
        st.info(
            f"{lesson.SCHEME_LABELS[spec.scheme]} has no ring to draw: each key is placed by a formula. "
            "Compare how many keys it moves in the table below."
        )
with right:
    st.plotly_chart(cache.figure(charts.report_load_figure, report), key="loads")
    st.caption(lesson.CAPTIONS["loads"])
    if last and mv.moved:
        st.plotly_chart(cache.figure(charts.report_flows_figure, report), key="flows")
        st.caption(lesson.CAPTIONS["flows"])
if last:
    st.subheader("The same change under every scheme")
    table = pd.DataFrame(lesson.comparison_records(comparison))
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ("keys moved", "minimum", "moved beyond minimum")
        },
    )
    st.caption(lesson.comparison_caption(min(v["keys"], 200_000), comparison))
st.subheader("Load spread as virtual nodes grow")
if lesson.uses(spec.scheme, "vnodes"):
    curve = cached_spread(now.names, spec.hash_name)
    st.plotly_chart(cache.figure(charts.spread_figure, curve, spec.vnodes), key="spread")
    st.caption(lesson.CAPTIONS["spread"])
else:
    st.caption(
        f"{lesson.SCHEME_LABELS[spec.scheme]} has no virtual nodes: pick a ring scheme to see the spread fall."
    )
page_end(
    P,
    title=lesson.TITLE,
    why=lesson.explanation(report),
    try_this=lesson.TRY_THIS,
    exports=(
        Export(
            "Per-node loads (CSV)",
            lambda: pd.DataFrame({"node": loads.nodes, "keys": loads.counts, "fair_share": loads.ideal}),
            "node_loads.csv",
        ),
        Export(
            "Moved keys (CSV)",
            lambda: pd.DataFrame(moved_keys_table(report, seed=v["seed"]), columns=["key", "from", "to"]),
            "moved_keys.csv",
        ),
    ),
    references=lesson.REFERENCES,
    headlines=[h for h in heads if h is not None],
)
