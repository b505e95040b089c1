"""Consistent hashing: add and remove nodes on a ring and watch exactly which keys move."""

import numpy as np
import pandas as pd
import streamlit as st

from sdcore.charts import hashing as charts
from sdcore.hashing import HASH_DESCRIPTIONS, HASH_NAMES, KeyHashes, hash_keys, make_keys, spread_vs_vnodes
from sdcore.hashing.experiment import (
    PRESETS,
    SCHEME_LABELS,
    SCHEMES,
    Change,
    NodeSet,
    PlacementSpec,
    compare_schemes,
    comparison_records,
    decode_changes,
    encode_changes,
    explanation,
    locate,
    moved_keys_table,
    parse_weights,
    replay,
    run_change,
)
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

SAMPLE = 120  # keys drawn on the ring
P = PageParams(
    "hashing",
    [
        Param("nodes", 4, lo=1, hi=64),
        Param("vnodes", 100, lo=1, hi=1000),
        Param("keys", 100_000, lo=1_000, hi=1_000_000),
        Param("hash", "murmur3", options=HASH_NAMES),
        Param("scheme", "ring", options=SCHEMES),
        Param("load_factor", 1.25, lo=1.0, hi=3.0),
        Param("weights", "", max_len=200),
        Param("seed", 0, lo=0, hi=2**31 - 1),
        Param("changes", "", widget=False),
    ],
    {name: p.params for name, p in PRESETS.items()},
    "Add a 5th server",
)


@st.cache_data(max_entries=6, show_spinner="Hashing the keys…")
def cached_hashes(hash_name: str, keys: int, seed: int, bits: int) -> np.ndarray:
    return hash_keys(make_keys(keys, seed), hash_name, bits)


@st.cache_data(max_entries=24, show_spinner="Placing the keys…")
def cached_owners(spec: PlacementSpec, cluster: NodeSet, keys: int, seed: int) -> np.ndarray:
    h = cached_hashes(spec.hash_name, keys, seed, spec.hash_bits)
    return locate(spec, cluster, KeyHashes.precomputed(spec.hash_name, **{f"h{spec.hash_bits}": h}))


@st.cache_data(max_entries=8, show_spinner="Comparing schemes…")
def cached_comparison(spec: PlacementSpec, before: NodeSet, after: NodeSet, keys: int, seed: int):
    return compare_schemes(spec, before, after, KeyHashes(make_keys(keys, seed), spec.hash_name))


@st.cache_data(max_entries=8, show_spinner=False)
def cached_spread(names: tuple[str, ...], hash_name: str):
    return spread_vs_vnodes(names, hash_name=hash_name, samples=8 if len(names) <= 16 else 2)


page.start(
    "Consistent hashing",
    "Spread keys over servers so that when a server joins or leaves, only the keys that must move do. "
    "`hash(key) mod n` moves almost every key when n changes; a hash ring moves about 1/(n+1) of them.",
)
P.preset_row(lambda name: PRESETS[name].description)
cols = st.columns(4)
cols[0].number_input(
    "Servers at the start", 1, 64, step=1, help="S1, S2, … before any change.", **P.bind("nodes")
)
cols[1].slider(
    "Virtual nodes per server",
    1,
    1000,
    help="Points each server of weight 1 has on the ring.",
    **P.bind("vnodes"),
)
cols[2].select_slider(
    "Keys",
    [1_000, 10_000, 100_000, 300_000, 1_000_000],
    format_func=lambda k: f"{k:,}",
    help="How many seeded keys to place.",
    **P.bind("keys"),
)
cols[3].selectbox(
    "Hash function", HASH_NAMES, format_func=lambda h: f"{h}: {HASH_DESCRIPTIONS[h]}", **P.bind("hash")
)
cols = st.columns(4)
cols[0].selectbox(
    "Scheme", SCHEMES, format_func=SCHEME_LABELS.get, help="How a key finds its server.", **P.bind("scheme")
)
cols[1].slider(
    "Load factor c (bounded loads)",
    1.0,
    3.0,
    step=0.05,
    help="No server may hold more than c × its fair share. Only for 'Ring with bounded loads'.",
    **P.bind("load_factor"),
)
cols[2].text_input(
    "Weights (S1, S2, …)",
    placeholder="e.g. 1,1,2,4",
    help="Capacity of each starting server; a weight-2 server gets twice the points. Blank: all 1.",
    **P.bind("weights"),
)
cols[3].number_input(
    "Seed", 0, 2**31 - 1, help="Which keys are generated; same seed, same keys.", **P.bind("seed")
)
P.reset_button()
v = P.values()
with boundary():
    spec = PlacementSpec(v["scheme"], v["vnodes"], v["hash"], v["load_factor"])
    start = NodeSet.uniform(v["nodes"], parse_weights(v["weights"], v["nodes"]))
    try:
        changes = decode_changes(v["changes"])
        clusters = replay(start, changes)
    except ValueError as e:
        st.warning(
            f"The changes in the link could not be replayed ({e}); starting from the preset's cluster."
        )
        changes, clusters = (), [start]
        P.set("changes", "")
query = P.sync()
now = clusters[-1]

st.subheader("Change the cluster")
suggested = PRESETS[P.base_preset].suggested if not changes else None
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
    new_name = f[1].text_input("New node's name", suggested.node if fresh else now.next_name())
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
    "NodeSet now: "
    + ", ".join(f"{n} (×{w:g})" if w != 1 else n for n, w in now.nodes)
    + (f" — after: {'; '.join(c.describe() for c in changes)}" if changes else " — no change yet")
)

last = changes[-1] if changes else None
with boundary():
    report = run_change(
        spec,
        clusters[-2] if last else now,
        last,
        keys=v["keys"],
        seed=v["seed"],
        locator=lambda s, c: cached_owners(s, c, v["keys"], v["seed"]),
        compare=False,
    )
mv, loads = report.movement, report.loads
m = st.columns(4)
if last:
    m[0].metric(
        f"Keys moved ({last.describe()})",
        f"{mv.fraction:.1%}",
        f"{100 * (mv.fraction - report.minimum_fraction):+.1f} pts vs ideal {report.minimum_fraction:.1%}",
        delta_color="inverse",
        help=f"{mv.moved:,} of {mv.total:,} keys. The minimum any scheme must move is "
        f"{report.minimum_fraction:.1%}.",
    )
    comparison = cached_comparison(spec, report.before, report.after, min(v["keys"], 200_000), v["seed"])
    modulo = next(r for r in comparison if r.scheme == "modulo")
    m[1].metric(
        "Same change, modulo hashing", f"{modulo.moved_fraction:.1%}", help="hash(key) mod n, same keys."
    )
    done, guessed = st.session_state.get("hashing.guess", (None, None))
    if done == len(changes):
        m[2].metric(
            "Your prediction", f"{guessed}%", f"{guessed - 100 * mv.fraction:+.1f} pts off", delta_color="off"
        )
else:
    m[0].metric("Keys moved", "—", help="Apply a change above to see which keys move.")
m[3].metric(
    "Busiest server / fair share",
    f"{loads.max_over_mean:.2f}×",
    f"CV {loads.cv:.3f}" + (f" (theory {report.theory_cv:.3f})" if report.theory_cv else ""),
    delta_color="off",
    help="Load over fair share of the most loaded server; CV is the coefficient of variation of the loads.",
)

colours = charts.node_colours(list(dict.fromkeys([*report.before.names, *now.names])))
left, right = st.columns([1.1, 1])
with left:
    if spec.scheme in ("ring", "bounded"):
        ring = spec.build(now).ring_points()
        names = make_keys(v["keys"], v["seed"], first=SAMPLE)
        h = cached_hashes(spec.hash_name, v["keys"], v["seed"], 32)[:SAMPLE]
        prev = [report.before.names[i] for i in report.owners_before[:SAMPLE]] if last else None
        st.plotly_chart(
            charts.ring_figure(
                ring, h, names, [now.names[i] for i in report.owners_after[:SAMPLE]], prev, colours
            ),
            key="ring",
        )
        st.caption(
            f"{len(ring):,} points on the ring; {SAMPLE} of the keys drawn inside it with an arc to their "
            "owner. Moved keys are red diamonds: notice they all sit on arcs the change took over or gave up."
        )
    else:
        st.info(
            f"{SCHEME_LABELS[spec.scheme]} has no ring to draw: each key is placed by a formula. "
            "Compare how many keys it moves in the table below."
        )
with right:
    st.plotly_chart(
        charts.load_bar_figure(loads, report.loads_before if last else None, colours), key="loads"
    )
    st.caption(
        "Keys per server; the black tick is each server's fair share (keys × weight / total weight). "
        "Fewer virtual nodes or a poor hash push the bars away from their ticks."
    )
    if last and mv.moved:
        st.plotly_chart(charts.flows_figure(dict(mv.flows), colours), key="flows")
        st.caption(
            "Where the moved keys went: on a ring only the new node gains, or only the removed node loses."
        )
if last:
    st.subheader("The same change under every scheme")
    table = pd.DataFrame(comparison_records(comparison))
    st.dataframe(
        table,
        hide_index=True,
        column_config={
            c: st.column_config.NumberColumn(format="percent")
            for c in ("keys moved", "minimum", "moved beyond minimum")
        },
    )
    st.caption(
        f"On {min(v['keys'], 200_000):,} keys. Modulo moves most keys; jump hash is perfect at the end "
        "of the list but renumbers buckets when a middle node leaves; bounded loads trade extra moves for a cap."
    )
st.subheader("Load spread as virtual nodes grow")
curve = cached_spread(now.names, spec.hash_name)
st.plotly_chart(charts.spread_figure(curve, spec.vnodes), key="spread")
st.caption(
    "Each server's share of the ring, as a coefficient of variation: it falls like 1/√k, so 100 points per "
    "server give about 10% spread and 1,000 about 3%. A poor hash stays uneven whatever k is."
)
explain.why(explanation(report))
explain.try_this(
    [
        "Predict how many keys adding a 5th server moves, then apply it. Now remove S2: predict again.",
        "Set virtual nodes to 1, then 10, then 1000: watch the busiest server's share fall toward 1.0×.",
        "Pick the 'poor' hash: why does the ring look empty, and why does one server take almost everything?",
        "Interview question: why does Cassandra give each node 16–256 tokens, and what does bounded-load hashing "
        "buy a cache like Vimeo's?",
    ]
)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    export.csv_download(
        "Per-node loads (CSV)",
        lambda: pd.DataFrame({"node": loads.nodes, "keys": loads.counts, "fair_share": loads.ideal}),
        "node_loads.csv",
        key="csv_loads",
    )
with e[1]:
    export.csv_download(
        "Moved keys (CSV)",
        lambda: pd.DataFrame(moved_keys_table(report, seed=v["seed"]), columns=["key", "from", "to"]),
        "moved_keys.csv",
        key="csv_moved",
    )
export.share_link(query)
explain.references(
    [
        ("Karger et al. 1997, Consistent hashing", "https://dl.acm.org/doi/10.1145/258533.258660"),
        ("Lamping & Veach 2014, Jump hash", "https://arxiv.org/abs/1406.2294"),
        ("Mirrokni et al. 2018, Bounded loads", "https://arxiv.org/abs/1608.01350"),
        (
            "DeCandia et al. 2007, Dynamo",
            "https://www.allthingsdistributed.com/files/amazon-dynamo-sosp2007.pdf",
        ),
    ]
)
