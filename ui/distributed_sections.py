"""Two sections of the distributed rate-limiting page: the synchronization issue (M instances, four ways to
keep the counters) and "try it for real" (a burst sent to the example API). Glue only: the model, the
reports, the HTTP burst and the example API's process are in ``sdcore``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from lessons import distributed_rate_limiting as words
from lessons.distributed_rate_limiting import (
    live_demo_config,
    live_rows,
    sync_check,
    sync_cost_rows,
    sync_headlines,
)
from sdcore.charts import distributed as charts
from sdcore.ratelimit.live import burst
from sdcore.ratelimit.live.connection import STORE_ERRORS
from sdcore.ratelimit.live.sync import run_sync_live
from sdcore.ratelimit.sync import SYNC_POLICIES, SyncConfig, compare_sync
from ui.errors import boundary
from ui.params import Param

PARAMS = (
    Param("instances", 4, lo=1, hi=16), Param("balancer", "round_robin", options=("round_robin", "random")),
    Param("sync_ms", 500, lo=50, hi=5000), Param("sync_clients", 5, lo=1, hi=10), Param("rate", 50, lo=1, hi=200),
    Param("sync_limit", 10, lo=1, hi=100), Param("window", 1, lo=1, hi=10), Param("duration", 20, lo=5, hi=60),
    Param("seed", 0, lo=0, hi=2**31 - 1),
    Param("api_url", burst.DEFAULT_API_URL, max_len=200, defines_experiment=False),
    Param("burst", 15, lo=1, hi=50, defines_experiment=False),
)  # fmt: skip
ss = st.session_state


@st.cache_data(max_entries=16, show_spinner="Running the four options on the same traffic…")
def cached_compare(config: SyncConfig):
    return compare_sync(config)


def _metrics(headlines) -> None:
    for col, h in zip(st.columns(len(headlines)), headlines, strict=True):
        col.metric(h.label, h.value, help=h.help)


def sync_section(P, live) -> dict | None:
    """Widgets, headline metrics, the side-by-side figure, the cost table and the check; with Redis
    (``live``: its address, or None) a button runs the options live. Returns the model's results."""
    st.subheader("The synchronization issue: M servers, four ways to count")
    st.markdown(
        "The API runs on **M instances** behind a load balancer. Where does each keep its counters? On "
        "itself (local), in one shared Redis, on itself with the balancer pinning each client to one "
        "instance (sticky sessions), or on itself with a sync to a central store every S seconds."
    )
    c = st.columns(5)
    c[0].slider("Instances M", 1, 16, help="Servers behind the load balancer.", **P.bind("instances"))
    c[1].selectbox(
        "Load balancer",
        ("round_robin", "random"),
        format_func=SYNC_POLICIES.get,
        help="How the balancer picks an instance (sticky sessions always hash the client).",
        **P.bind("balancer"),
    )
    c[2].slider(
        "Sync interval S (ms)",
        50,
        5000,
        step=50,
        help="How often a synced instance pushes its counts and reads the totals.",
        **P.bind("sync_ms"),
    )
    c[3].slider("Clients", 1, 10, help="Each sends Poisson traffic.", **P.bind("sync_clients"))
    c[4].slider(
        "Requests/s per client", 1, 200, help="Well above the limit shows the overshoot.", **P.bind("rate")
    )
    c = st.columns(4)
    c[0].slider("Limit per window L", 1, 100, help="Per client.", **P.bind("sync_limit"))
    c[1].slider("Window (s)", 1, 10, help="A fixed window counter.", **P.bind("window"))
    c[2].slider("Seconds of traffic", 5, 60, help="Virtual time: runs in a moment.", **P.bind("duration"))
    c[3].number_input("Seed", 0, 2**31 - 1, help="Same seed, same traffic.", **P.bind("seed"))
    with boundary(stop=False):
        v = P.values()
        cfg = SyncConfig(
            instances=v["instances"],
            policy=v["balancer"],
            sync_every=v["sync_ms"] / 1000,
            clients=v["sync_clients"],
            rate=float(v["rate"]),
            limit=v["sync_limit"],
            window=float(v["window"]),
            duration=float(v["duration"]),
            seed=v["seed"],
        )
        results = cached_compare(cfg)
        st.caption(f"Requests admitted per client per window, against a limit of {cfg.limit}:")
        _metrics(sync_headlines(results))
        st.plotly_chart(charts.sync_figure(results), key="sync")
        st.caption(
            "Admitted requests per second for each client, window by window: local counters sit near the "
            "dotted M × limit, one shared counter and sticky sessions on the dashed limit, synced counters "
            "in between."
        )
        st.dataframe(pd.DataFrame(sync_cost_rows(results)), hide_index=True)
        st.markdown(sync_check(results))
        _live(live, cfg)
        return results
    return None


def _live(live, cfg: SyncConfig) -> None:
    if not live:
        st.caption(
            "With Redis connected, a button here runs the four options live, with threads and the real Redis."
        )
        return
    demo = live_demo_config(cfg.instances, cfg.policy, cfg.limit)
    key = (live.url, demo)
    if st.button(
        "Run it live (threads, about 10 s)",
        icon=":material/sprint:",
        help=f"{demo.clients} client threads "
        f"at {demo.rate:g}/s, {demo.windows} windows of {demo.window:g} s, synced every {demo.sync_every:g} "
        f"s, M = {demo.instances}, {demo.runs} runs per option; shared and synced on your Redis.",
    ):
        with st.status("Running the four options live…") as status:
            try:
                kept = ss.setdefault("distributed.sync_live", {})
                kept[key] = live_rows(run_sync_live(demo, redis_url=live.url))
                while len(kept) > 2:
                    kept.pop(next(iter(kept)))
                status.update(label="Live run: done", state="complete", expanded=False)
            except (ValueError, RuntimeError, *STORE_ERRORS) as e:
                status.update(label="Live run: failed", state="error")
                st.error(str(e))
    if rows := ss.get("distributed.sync_live", {}).get(key):
        st.dataframe(pd.DataFrame(rows), hide_index=True)
        st.caption(
            f"Live, admitted per client per {demo.window:g} s window (min/median/max over runs, clients and "
            f"windows): wall-clock threads, so the numbers move from run to run; the limit is {demo.limit}."
        )


def _start_api(P) -> None:
    try:
        ss["distributed.api"] = api = burst.start_example_api()
    except (OSError, RuntimeError, ValueError) as e:
        ss["distributed.api_error"] = str(e)
        return
    ss[P.key("api_url")] = f"{api.url}/search"


def _stop_api() -> None:
    ss.pop("distributed.api").stop()


def try_it_section(P) -> None:
    """How to run the example API, a button that starts it for this session, and a burst sent from the page."""
    st.subheader("Try it for real: the limiter as middleware")
    st.markdown(
        "`examples/example_api.py` puts these throttle rules, as ASGI middleware, in front of a small API "
        "(`examples/rules.yaml`: `/search` 10 a minute per address, 30 a minute for everything from one "
        "address). From the project's folder:"
    )
    st.code(words.EXAMPLE_API_COMMANDS, language="bash")
    st.caption(
        "The synchronization issue on real servers: with `--workers 2` each process counts on its own (25 "
        "searches, 20 answered 200); share the counters through Redis and the limit holds again:"
    )
    st.code(words.SHARED_COUNTERS_COMMANDS, language="bash")
    c = st.columns([2, 1, 1])
    c[0].text_input(
        "API URL",
        help="This machine only (127.0.0.1, localhost, ::1): the page sends nothing elsewhere.",
        **P.bind("api_url"),
    )
    c[1].slider("Requests in the burst", 1, 50, help="Sent one after the other.", **P.bind("burst"))
    api = ss.get("distributed.api")
    with c[2]:
        if api:
            st.button("Stop my example API", on_click=_stop_api, icon=":material/stop_circle:")
        else:
            st.button(
                "Start the example API for me",
                on_click=_start_api,
                args=(P,),
                icon=":material/play_circle:",
                help="uvicorn examples.example_api:app on a free port of this machine, for your session only.",
            )
        if err := ss.pop("distributed.api_error", None):
            st.error(err)
    if api:
        st.success(
            f"Your example API is running at {api.url} (counters in its own memory).",
            icon=":material/check_circle:",
        )
    url = None
    with boundary(stop=False):
        url = burst.check_local_url(P.value("api_url"))
    if st.button("Send a burst", type="primary", icon=":material/send:", disabled=url is None):
        with st.spinner("Sending…"), boundary(stop=False):
            ss["distributed.burst_result"] = (url, burst.send_burst(url, P.value("burst"), timeout=1.0))
    if sent := ss.get("distributed.burst_result"):
        where, rows = sent
        if all(r.status is None for r in rows):
            st.warning(
                f"Nothing answered at {where} ({rows[0].error}). {words.START_API_HINT}",
                icon=":material/cloud_off:",
            )
            return
        st.markdown(f"**{words.burst_summary(rows)}** from `{where}`")
        st.plotly_chart(charts.burst_figure(rows), key="burst")
        st.caption(
            "One marker per request at its X-Ratelimit-Remaining: the counter runs down, then 429s "
            "with Retry-After until the window moves on."
        )
        st.dataframe(pd.DataFrame([r.row() for r in rows]), hide_index=True)
