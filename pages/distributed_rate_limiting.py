"""Distributed rate limiting: many servers, one counter in Redis; the race, surviving a Redis outage, the
synchronization issue, and the limiter as real middleware."""

import uuid
from functools import partial

import pandas as pd
import streamlit as st

from lessons import distributed_rate_limiting as dl
from sdcore.charts import distributed as charts
from sdcore.ratelimit.distributed import VARIANTS
from sdcore.ratelimit.live import burst, connection, fault_runs, race_runs
from sdcore.ratelimit.live.redis_server import redis_server_path
from sdcore.ratelimit.live.redis_store import measure_round_trip, session_prefix
from sdcore.ratelimit.live.sync import run_sync_live
from sdcore.ratelimit.sync import compare_sync
from ui import cache, headlines, page, tables
from ui.ending import Export, page_end
from ui.errors import boundary
from ui.operator import switchboard
from ui.params import PageParams
from ui.processes import process_button

P = PageParams("distributed", dl.PARAMS, dl.PRESETS, dl.DEFAULT_PRESET)
ss = st.session_state


class SyncRuns(dict):
    """compare_sync's results, one object for every session (a dict that a figure can be kept for)."""


@cache.shared(max_entries=16, spinner=dl.SYNC_SPINNER)
def cached_compare(cfg) -> SyncRuns:
    return SyncRuns(compare_sync(cfg))


def own_server(col, what: str, starter, errors: tuple, show: bool = True) -> None:
    """Stop the server this session started, else (``show``) a button that starts one and points at it."""

    def point(server) -> None:
        ss.update({P.key(k): x for k, x in dl.pointed_at(what, server.url).items()})
        if what == "server":
            ss["distributed.connect"] = ss[P.key("redis_url")]  # started on a click: use it at once

    key = f"distributed.{what}"
    process_button(
        col, what, starter, dl.OWN_SERVER[what], errors, state_key=key, on_started=point, show=show
    )


def widgets(names: tuple[str, ...]) -> None:
    for col, name in zip(st.columns(len(names)), names, strict=True):
        P.widget(name, col)


def run_live(name: str, key: tuple, label: str, work, keep=4, bar=True, stem=None, errors=()) -> None:
    """Run ``work`` in a status box (``work(progress=...)`` with a ``bar``) and keep the last ``keep`` results
    for this session; an error of ``errors`` is said as it is, any other goes to the error boundary."""
    stem = stem or label.rstrip("…")
    with st.status(label, expanded=bar) as status:
        meter = st.progress(0.0) if bar else None
        with boundary(stop=False):
            try:
                kept = ss.setdefault(f"distributed.{name}", {})
                kept[key] = work(progress=lambda f, t: meter.progress(f, text=t)) if bar else work()
                while len(kept) > keep:
                    kept.pop(next(iter(kept)))
                status.update(label=f"{stem}: done", state="complete", expanded=False)
                return
            except errors as e:
                st.error(str(e))
        status.update(label=f"{stem}: failed", state="error")


page.start(dl.TITLE, dl.IDEA)
P.preset_row()
session = ss.setdefault("distributed.session", uuid.uuid4().hex[:12])
st.subheader("The shared store")
c = st.columns([1, 1.6, 0.5, 1])
P.widget("backend", c[0])
P.widget("redis_url", c[1], disabled=P.value("backend") == "memory", max_chars=None)
if c[2].button("Connect", disabled=P.value("backend") == "memory", help=dl.CONNECT_HELP):
    ss["distributed.connect"] = P.value("redis_url")
own_server(c[3], "server", connection.start_local_redis, (OSError, RuntimeError), bool(redis_server_path()))
v = P.values()
P.sync()
address = reach = rt = None
if v["backend"] == "redis":
    with boundary(stop=False):
        address = connection.check_allowed(
            connection.parse_redis_url(v["redis_url"]), switchboard().redis_allowed
        )
    if address and ss.get("distributed.connect") != v["redis_url"]:
        st.info(dl.press_connect(address.url), icon=":material/power:")
        address = None  # nothing connects before a click
    reach = address and connection.probe_redis(address)
    if reach and reach.ok:
        st.success(dl.connected(reach.version, address.url), icon=":material/check_circle:")
    elif reach:
        hint = connection.START_REDIS_HINT
        st.warning(dl.unreachable(address.url, reach.error, hint), icon=":material/cloud_off:")
live = address if reach and reach.ok else None
if live:
    rtt = ss.setdefault("distributed.rtt", {})
    if live.url not in rtt or st.button("Measure the round trip again"):
        client = live.client(timeout=2.0)
        rtt[live.url] = measure_round_trip(client, prefix=session_prefix(session, "rtt"))
        client.close()
    headlines.row(dl.round_trip_headlines(rt := rtt[live.url]))

st.subheader("The race: K servers, one counter")
widgets(("clients", "requests", "limit", "think_ms", "runs"))
P.widget("variants")
race_kw = dl.race_settings(v)
race_key = (live.url if live else "memory", *race_kw.values(), tuple(v["variants"]))
runnable = [n for n in v["variants"] if live or not VARIANTS[n].needs_redis]
seconds = race_runs.race_seconds(runnable, **dl.race_timing(race_kw))
tip = dl.race_button_help(seconds)
if st.button("Run the race", type="primary", icon=":material/sprint:", disabled=not v["variants"], help=tip):
    kw = dict(race_kw, address=live, prefix=session_prefix(session, "race"))
    run_live("races", race_key, "Racing…", partial(race_runs.run_races, v["variants"], **kw))
if seconds > 5:
    st.caption(dl.slow_race_caption(seconds))
race = ss.get("distributed.races", {}).get(race_key)
if race is None:
    st.info(dl.RACE_NOT_RUN, icon=":material/sprint:")
elif race.skipped:
    st.info(dl.skipped_note(race))
if race and race.results:
    headlines.row(dl.race_headlines(race))
    st.plotly_chart(charts.race_figure(race.results), key="race")
    st.caption(dl.CAPTIONS["race"])
    st.dataframe(pd.DataFrame(race.rows()), hide_index=True)

st.subheader("When Redis fails: fail open or fail closed")
widgets(("fault", "decisions", "timeout_ms"))
fault_key = (live.url if live else None, v["fault"], v["decisions"], v["timeout_ms"])
if not live:
    st.info(dl.fault_needs_redis(v["backend"], connection.START_REDIS_HINT), icon=":material/cloud_off:")
elif st.button("Run with a fault mid-run", type="primary", icon=":material/bolt:"):
    kw = dict(dl.fault_settings(v), prefix=session_prefix(session, "faults"))
    work = partial(fault_runs.compare_fault_policies, live, v["fault"], **kw)
    run_live("faults", fault_key, dl.FAULT_RUNNING, work)
runs = ss.get("distributed.faults", {}).get(fault_key)
if live and runs:
    headlines.row(dl.fault_headlines(runs))
    st.plotly_chart(charts.fault_figure(runs), key="faults")
    st.caption(dl.fault_caption(runs))
    st.dataframe(pd.DataFrame([r.summary() for r in runs]), hide_index=True)

st.subheader("The synchronization issue: M servers, four ways to count")
st.markdown(dl.SYNC_INTRO)
widgets(("instances", "balancer", "sync_ms", "sync_clients", "rate"))
widgets(("sync_limit", "window", "duration", "seed"))
sync, heads = None, ()
with boundary(stop=False):
    cfg = dl.sync_config(v)
    sync = cached_compare(cfg)
    st.caption(dl.sync_metrics_caption(cfg))
    headlines.row(heads := dl.sync_headlines(sync))
    st.plotly_chart(cache.figure(charts.sync_figure, sync), key="sync")
    st.caption(dl.CAPTIONS["sync"])
    tables.fit(dl.sync_cost_rows(sync))
    st.markdown(dl.sync_check(sync))
    if not live:
        st.caption(dl.SYNC_LIVE_NEEDS_REDIS)
    else:
        demo = dl.live_demo_config(cfg.instances, cfg.policy, cfg.limit)
        key = (live.url, demo)
        tip = dl.sync_live_help(demo)
        if st.button("Run it live (threads, about 10 s)", icon=":material/sprint:", help=tip):
            work = partial(run_sync_live, demo, redis_url=live.url)
            errors = (ValueError, RuntimeError, *connection.STORE_ERRORS)
            run_live("sync_live", key, dl.SYNC_LIVE_RUNNING, work, 2, False, "Live run", errors)
        if done := ss.get("distributed.sync_live", {}).get(key):
            st.dataframe(pd.DataFrame(dl.live_rows(done)), hide_index=True)
            st.caption(dl.sync_live_caption(demo))

st.subheader("Try it for real: the limiter as middleware")
st.markdown(dl.TRY_IT_INTRO)
st.code(dl.EXAMPLE_API_COMMANDS, language="bash")
st.caption(dl.SHARED_COUNTERS_CAPTION)
st.code(dl.SHARED_COUNTERS_COMMANDS, language="bash")
c = st.columns([2, 1, 1])
P.widget("api_url", c[0], max_chars=None)
P.widget("burst", c[1])
own_server(c[2], "api", burst.start_example_api, (OSError, RuntimeError, ValueError))
if api := ss.get("distributed.api"):
    st.success(dl.api_running(api.url), icon=":material/check_circle:")
url = None
with boundary(stop=False):
    url = burst.check_local_url(v["api_url"])
if st.button("Send a burst", type="primary", icon=":material/send:", disabled=url is None):
    with st.spinner("Sending…"), boundary(stop=False):
        ss["distributed.burst_result"] = (url, burst.send_burst(url, v["burst"], timeout=1.0))
if sent := ss.get("distributed.burst_result"):
    where, rows = sent
    if all(r.status is None for r in rows):
        st.warning(dl.nothing_answered(where, rows), icon=":material/cloud_off:")
    else:
        st.markdown(f"**{dl.burst_summary(rows)}** from `{where}`")
        st.plotly_chart(charts.burst_figure(rows), key="burst")
        st.caption(dl.CAPTIONS["burst"])
        st.dataframe(pd.DataFrame([r.row() for r in rows]), hide_index=True)

csv = [Export(t, lambda f=f: pd.DataFrame(f()), n) for t, f, n in dl.exports(race, live and runs, sync)]
why, heads = dl.explanation(race, rt), (*heads, *(dl.race_headlines(race) if race else ()))
page_end(
    P, title=dl.TITLE, why=why, try_this=dl.TRY_THIS, exports=csv, references=dl.REFERENCES, headlines=heads
)
