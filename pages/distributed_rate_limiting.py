"""Distributed rate limiting: many servers, one counter in Redis; the race, surviving a Redis outage, the
synchronization issue, and the limiter as real middleware."""

import uuid

import pandas as pd
import streamlit as st

from lessons import distributed_rate_limiting as words
from lessons.distributed_rate_limiting import sync_client_rows
from sdcore.charts import distributed as charts
from sdcore.ratelimit import distributed as registry
from sdcore.ratelimit.live import connection, fault_runs, race_runs
from sdcore.ratelimit.live.faults import FAULT_MODES
from sdcore.ratelimit.live.redis_server import redis_server_path
from sdcore.ratelimit.live.redis_store import measure_round_trip, session_prefix
from ui import distributed_sections as sections
from ui import explain, export, page
from ui.errors import boundary
from ui.params import PageParams, Param

P = PageParams(
    "distributed",
    [
        Param("backend", "redis", options=("redis", "memory"), defines_experiment=False),
        Param("redis_url", connection.DEFAULT_REDIS_URL, max_len=200, defines_experiment=False),
        Param("clients", 8, lo=1, hi=16),
        Param("requests", 25, lo=1, hi=100),
        Param("limit", 10, lo=1, hi=100),
        Param("think_ms", 1, lo=0, hi=10),
        Param("runs", 3, lo=1, hi=10),
        Param("variants", list(registry.VARIANTS), options=tuple(registry.VARIANTS), multi=True),
        Param("fault", "refuse", options=FAULT_MODES[1:]),
        Param("decisions", 60, lo=30, hi=300),
        Param("timeout_ms", 100, lo=20, hi=1000),
        *sections.PARAMS,
    ],
    {name: p.params for name, p in words.PRESETS.items()},
    words.DEFAULT_PRESET,
)
ss = st.session_state


def start_redis() -> None:
    try:
        ss["distributed.server"] = server = connection.start_local_redis()
    except (OSError, RuntimeError) as e:
        ss["distributed.server_error"] = str(e)
        return
    ss[P.key("redis_url")], ss[P.key("backend")] = f"{server.url}/0", "redis"


def stop_redis() -> None:
    ss.pop("distributed.server").stop()


def show(headlines) -> None:
    for col, h in zip(st.columns(len(headlines)), headlines, strict=True):
        col.metric(h.label, h.value, help=h.help)


def run_live(name: str, key: tuple, label: str, work) -> None:
    """Run ``work(progress)`` in a status box with a progress bar, and keep its result for this session
    under its settings (the last four). A core ValueError is shown, not raised."""
    with st.status(label, expanded=True) as status:
        bar = st.progress(0.0)
        with boundary(stop=False):
            kept = ss.setdefault(f"distributed.{name}", {})
            kept[key] = work(lambda f, t: bar.progress(f, text=t))
            while len(kept) > 4:
                kept.pop(next(iter(kept)))
            status.update(label=f"{label.rstrip('…')}: done", state="complete", expanded=False)
            return
        status.update(label=f"{label.rstrip('…')}: failed", state="error")


page.start(
    "Distributed rate limiting",
    "Ten servers behind a load balancer must enforce **one** limit per client, so they keep the counters in a "
    "shared in-memory store, Redis, with counters that expire. Two servers that read a counter at the same time "
    "and both write it back admit too much: the race. And when the store fails, every server must decide alone.",
)
P.preset_row(lambda name: words.PRESETS[name].description)
session = ss.setdefault("distributed.session", uuid.uuid4().hex[:12])
st.subheader("The shared store")
c = st.columns([1, 1.6, 1])
c[0].radio(
    "Backend",
    ("redis", "memory"),
    help="Redis: shared by every server. In memory: threads of this one "
    "process, which is all a lock can protect.",
    format_func={"redis": "Redis", "memory": "In memory only"}.get,
    **P.bind("backend"),
)
c[1].text_input(
    "Redis URL",
    help="redis://host:port/db. No password: the URL goes into the share link.",
    disabled=P.value("backend") == "memory",
    **P.bind("redis_url"),
)
with c[2]:
    if "distributed.server" in ss:
        st.button("Stop my local Redis", on_click=stop_redis, icon=":material/stop_circle:")
    elif redis_server_path():
        st.button(
            "Start a local Redis for me",
            on_click=start_redis,
            icon=":material/play_circle:",
            help="A throwaway redis-server on a free port of this machine, for your session only.",
        )
    if err := ss.pop("distributed.server_error", None):
        st.error(err)
v = P.values()
query = P.sync()
address = reach = None
if v["backend"] == "redis":
    with boundary(stop=False):
        address = connection.parse_redis_url(v["redis_url"])
    reach = address and connection.probe_redis(address)
    if reach and reach.ok:
        st.success(f"Connected to Redis {reach.version} at {address.url}.", icon=":material/check_circle:")
    elif reach:
        st.warning(
            f"Cannot reach Redis at {address.url} ({reach.error}). {connection.START_REDIS_HINT} Until then the page "
            "runs what works in memory; the Redis variants of the race and the fault experiment need Redis.",
            icon=":material/cloud_off:",
        )
live = address if reach and reach.ok else None
if live:
    rtt = ss.setdefault("distributed.rtt", {})
    if live.url not in rtt or st.button("Measure the round trip again"):
        client = live.client(timeout=2.0)
        rtt[live.url] = measure_round_trip(client, prefix=session_prefix(session, "rtt"))
        client.close()
    rt = rtt[live.url]
    show(words.round_trip_headlines(rt))

st.subheader("The race: K servers, one counter")
c = st.columns(5)
c[0].slider(
    "Servers (threads) K",
    1,
    16,
    help="Each has its own connection, as separate servers would.",
    **P.bind("clients"),
)
c[1].slider(
    "Requests per server", 1, 100, help="All for the same client, in the same window.", **P.bind("requests")
)
c[2].slider("Limit per window", 1, 100, help="What the client may send in the window.", **P.bind("limit"))
c[3].slider(
    "Think time (ms)", 0, 10, help="Work between reading the counter and writing it.", **P.bind("think_ms")
)
c[4].slider(
    "Runs", 1, 10, help="Live threads are not deterministic: min/median/max over runs.", **P.bind("runs")
)
st.multiselect(
    "Variants",
    list(registry.VARIANTS),
    format_func=lambda n: registry.VARIANTS[n].label,
    **P.bind("variants"),
)
race_key = (
    live.url if live else "memory",
    v["clients"],
    v["requests"],
    v["limit"],
    v["think_ms"],
    v["runs"],
    tuple(v["variants"]),
)
seconds = race_runs.race_seconds(
    [n for n in v["variants"] if live or not registry.VARIANTS[n].needs_redis],
    requests_per_client=v["requests"],
    think_time=v["think_ms"] / 1000,
    runs=v["runs"],
)
if st.button(
    "Run the race",
    type="primary",
    icon=":material/sprint:",
    disabled=not v["variants"],
    help=f"Runs live, about {seconds:.0f} s with these settings (threads really wait the think time).",
):
    run_live(
        "races",
        race_key,
        "Racing…",
        lambda progress: race_runs.run_races(
            v["variants"],
            address=live,
            clients=v["clients"],
            requests_per_client=v["requests"],
            limit=v["limit"],
            think_time=v["think_ms"] / 1000,
            runs=v["runs"],
            prefix=session_prefix(session, "race"),
            progress=progress,
        ),
    )
if seconds > 5:
    st.caption(f"These settings take about {seconds:.0f} s to run: the threads really wait the think time.")
race = ss.get("distributed.races", {}).get(race_key)
if race is None:
    st.info("Press **Run the race** to run it live with these settings.", icon=":material/sprint:")
else:
    if race.skipped:
        st.info(f"Not run without Redis: {', '.join(registry.VARIANTS[n].short for n in race.skipped)}.")
    if race.results:
        show(words.race_headlines(race))
        st.plotly_chart(charts.race_figure(race.results), key="race")
        st.caption(
            "Admitted requests per variant (median bar, min–max whisker over the runs) against the dashed "
            "limit: red bars overshoot; only the atomic ones stop exactly at the limit."
        )
        st.dataframe(pd.DataFrame(race.rows()), hide_index=True)

st.subheader("When Redis fails: fail open or fail closed")
c = st.columns(3)
c[0].selectbox(
    "Fault",
    FAULT_MODES[1:],
    format_func=registry.FAULT_LABELS.get,
    help="What the proxy between the limiter and Redis does for the middle third of the run.",
    **P.bind("fault"),
)
c[1].slider(
    "Decisions", 30, 300, step=3, help="One request every 0.1 s of virtual time.", **P.bind("decisions")
)
c[2].slider(
    "Client timeout (ms)",
    20,
    1000,
    step=10,
    help="socket_timeout and socket_connect_timeout.",
    **P.bind("timeout_ms"),
)
fault_key = (live.url if live else None, v["fault"], v["decisions"], v["timeout_ms"])
if not live:
    st.info(
        "This experiment breaks a real connection to Redis through a proxy, and needs Redis; nothing is "
        "simulated here. "
        + ("Choose the Redis backend above." if v["backend"] == "memory" else connection.START_REDIS_HINT),
        icon=":material/cloud_off:",
    )
elif st.button("Run with a fault mid-run", type="primary", icon=":material/bolt:"):
    run_live(
        "faults",
        fault_key,
        "Breaking the connection, fail open then fail closed…",
        lambda progress: fault_runs.compare_fault_policies(
            live,
            v["fault"],
            decisions=v["decisions"],
            timeout=v["timeout_ms"] / 1000,
            prefix=session_prefix(session, "faults"),
            progress=progress,
        ),
    )
runs = ss.get("distributed.faults", {}).get(fault_key)
if live and runs:
    show(words.fault_headlines(runs))
    st.plotly_chart(charts.fault_figure(runs), key="faults")
    st.caption(
        "Every decision's latency by its number, coloured by outcome; grey is the fault: fail open admits "
        f"(orange), fail closed rejects (purple); Redis answers again at decision {runs[0].recovered_at} and "
        f"{runs[1].recovered_at}, and the first decision back pays for a new connection."
    )
    st.dataframe(pd.DataFrame([r.summary() for r in runs]), hide_index=True)
sync = sections.sync_section(P, live)
sections.try_it_section(P)

rtt_text = (
    f"{rt.decision_ms.median * 1000:.0f} µs here, against {rt.ping_ms.median * 1000:.0f} µs for a bare "
    "PING (the difference is the script and the client's work)"
    if live
    else "tens to hundreds of µs on one machine, a millisecond or more across a network"
)
explain.why(
    "**INCR and EXPIRE.** A fixed window is one counter per client and window, `INCR` to count and `EXPIRE` so "
    "old windows vanish by themselves. `INCR` alone is atomic, but *check then INCR* is two commands: every "
    "server that read a count below the limit before the others incremented is admitted, up to K − 1 extra. "
    "GET then SET is worse: two servers write the same next value and the counter itself loses updates. "
    "Sent as two commands, INCR then EXPIRE can also leave a counter without a TTL if the server dies between. "
    + (words.race_check(race) if race else "Run the race to check this against the theory.")
    + "\n\n"
    "**Lua atomicity.** Redis runs a script from start to end with nothing interleaved, so read-decide-write "
    "in one script can never race; WATCH/MULTI gets the same answer optimistically, paying retries when servers "
    "collide. A lock (the in-memory store) is atomic too, but only among threads of one process.\n\n"
    "**Sorted-set logs.** A sliding log keeps one member per request in a sorted set scored by time: "
    "ZREMRANGEBYSCORE drops the old ones, ZCARD counts, ZADD records. As separate commands it races like the "
    "counter; in one script it is exact, at the price of one entry per request.\n\n"
    f"**Where the latency goes.** A Lua decision is one round trip: {rtt_text}, added to every request the "
    "limiter guards. GET→INCR→PEXPIRE needs three round trips, the separate log four, each WATCH retry "
    "three more (compare decisions/s in the table). When Redis is slow, every request waits up to the client's "
    "timeout, so set it explicitly to a small multiple of the normal round trip.\n\n"
    "**The synchronization issue.** With counters on each of M instances, a client spread over them is counted "
    "M times: up to M × limit a window. Sticky sessions count each client on one instance, exact with no store, "
    "but a hash of a few clients is uneven (a hot instance) and an instance that goes away forgets its counts. "
    "Syncing every S seconds (Kong's `sync_rate`) saves the round trip per decision, but every instance misses "
    "what the others admitted since their last sync: up to S seconds stale."
)
explain.try_this(
    [
        "Predict: with K = 1, how far over the limit does GET → SET go? Run “One server: no race”.",
        "Fail open or fail closed for a login endpoint? For a product page? Run both faults and count what slipped "
        "through in the table.",
        "Interview question: Redis is down for 30 s. What should 50 API servers do, and how does the limit recover?",
        "Predict: with M = 8 instances and local counters, what does a client get per window? With sticky sessions, "
        "how busy is the busiest instance? Then set S to 50 ms and to 5 s: where do synced counters land?",
    ]
)
st.subheader("Export")
e = st.columns(2)
with e[0]:
    if race and race.results:
        export.csv_download(
            "Race results (CSV)", lambda: pd.DataFrame(race.rows()), "race.csv", key="csv_race"
        )
with e[1]:
    if live and runs:
        export.csv_download(
            "Every decision of the fault runs (CSV)",
            lambda: pd.DataFrame([row for r in runs for row in r.rows()]),
            "fault_decisions.csv",
            key="csv_faults",
        )
if sync:
    export.csv_download(
        "Synchronization model, every client (CSV)",
        lambda: pd.DataFrame(sync_client_rows(sync)),
        "sync_clients.csv",
        key="csv_sync",
    )
export.share_link(query)
explain.references(
    [
        ("Redis INCR: the rate limiter pattern", "https://redis.io/docs/latest/commands/incr/"),
        (
            "Redis EVAL: atomicity of scripts",
            "https://redis.io/docs/latest/develop/interact/programmability/eval-intro/",
        ),
        ("Redis transactions: WATCH", "https://redis.io/docs/latest/develop/interact/transactions/"),
        ("Stripe: scaling your API with rate limiters", "https://stripe.com/blog/rate-limiters"),
        (
            "Kong: rate limiting strategies and sync_rate",
            "https://developer.konghq.com/gateway/rate-limiting/strategies",
        ),
    ]
)
