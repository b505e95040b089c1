"""AppTest for the distributed rate-limiting page: without Redis it says how to start one and runs what works
in memory; with a real redis-server the race and the fault run show the engine's numbers. The
synchronization section shows compare_sync's numbers for its settings; the try-it section sends a burst to
a real example API (uvicorn on a free port) and refuses URLs off this machine."""

import base64
import json
from dataclasses import replace

import numpy as np
import pytest

from lessons.distributed_rate_limiting import PRESETS, per_window, sync_cost_rows
from sdcore.ratelimit.distributed import VARIANTS
from sdcore.ratelimit.live.burst import ExampleApiServer
from sdcore.ratelimit.live.redis_server import LocalRedisServer, free_port, redis_server_path
from sdcore.ratelimit.sync import SyncConfig, compare_sync
from tests.pages.conftest import frame_with, metric, open_page

PAGE = "pages/distributed_rate_limiting.py"
SMALL = {"clients": "4", "requests": "10", "runs": "2"}


def nowhere() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


def click(at, label: str):
    next(b for b in at.button if b.label == label).click().run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def texts(elements) -> str:
    return " ".join(e.value for e in elements)


def array(v) -> np.ndarray:
    """A plotly array: a list, or a typed array {"dtype", "bdata"} encoded in base64."""
    if isinstance(v, dict):
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=v["dtype"])
    return np.asarray(v)


def live_charts(at) -> list[str]:
    """The keys of the charts of live runs (the synchronization model's chart is always there)."""
    return [c.key for c in at.get("plotly_chart") if c.key != "sync"]


@pytest.fixture(scope="module")
def redis_url():
    if redis_server_path() is None:
        pytest.skip(
            "redis-server is not on PATH (Debian: apt-get install redis-server); needed for the Redis runs"
        )
    with LocalRedisServer() as server:
        yield f"{server.url}/0"


def test_without_redis_the_page_says_how_to_start_one_and_runs_in_memory():
    at = open_page(PAGE, {"redis_url": nowhere(), **SMALL})
    assert "Press Connect" in texts(at.info) and not at.warning  # nothing is contacted before the click
    click(at, "Connect")
    warning = texts(at.warning)
    assert "Cannot reach Redis" in warning and "no Redis answered there" in warning
    assert "redis-server --port 6379" in warning and "sudo apt-get install redis-server" in warning
    assert "needs Redis; nothing is simulated" in texts(at.info)
    assert not [b for b in at.button if b.label.startswith("Run with a fault")]
    assert not live_charts(at)  # nothing runs before the click
    click(at, "Run the race")
    assert metric(at, "dict + lock overshoot") == "+0"
    assert metric(at, "Lua overshoot") == "—"
    assert "Not run without Redis: GET → SET" in texts(at.info)
    table = at.dataframe[0].value
    assert list(table["store"]) == ["this process", "this process"]
    assert table["overshoot max"].iloc[1] == 0 and table["admitted (median)"].iloc[1] == 10
    assert live_charts(at) == ["race"]


@pytest.mark.parametrize(
    ("query", "admitted"),
    [
        (
            {"clients": "16", "requests": "1", "limit": "100", "think_ms": "0", "runs": "1"},
            16,
        ),  # never reaches the limit
        (
            {"clients": "1", "requests": "100", "limit": "1", "think_ms": "10", "runs": "10"},
            1,
        ),  # one client: exact
    ],
)
def test_widget_extremes_in_memory(query, admitted):
    at = open_page(PAGE, {"backend": "memory", "variants": "memory_unlocked,memory_lock", **query})
    if query["think_ms"] == "10":  # 100 requests x 10 ms x 10 runs: the page says it takes a while
        assert "take about 10 s" in texts(at.caption)
        at.slider[1].set_value(2).run()  # keep the test short: 2 requests per run
    click(at, "Run the race")
    assert list(at.dataframe[0].value["admitted (median)"]) == [admitted, admitted]


def test_memory_backend_and_a_bad_url():
    at = open_page(PAGE, {"backend": "memory", "redis_url": "http://example.com"})
    assert not at.warning and not at.error and at.text_input[0].disabled
    at.radio[0].set_value("redis").run()
    assert "must start with redis://" in texts(at.error)
    assert "needs Redis" in texts(at.info)
    assert at.selectbox[0].value == "Eight servers, one counter"  # the backend is not part of the experiment


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_loads(preset):
    at = open_page(PAGE, {"preset": preset, "redis_url": nowhere()})
    assert at.selectbox[0].value == preset
    assert at.slider[0].value == PRESETS[preset].params["clients"]


def test_out_of_range_link_values_fall_back_with_a_notice():
    at = open_page(PAGE, {"clients": "99", "variants": "lua,spinlock", "redis_url": nowhere()})
    notices = texts(at.warning)
    assert "clients" in notices and "spinlock" in notices
    assert at.slider[0].value == 8 and at.multiselect[0].value == list(VARIANTS)


@pytest.mark.redis
def test_race_on_redis_lua_never_overshoots(redis_url):
    chosen = ["get_set", "get_incr", "watch_multi", "lua", "memory_lock"]
    at = open_page(PAGE, {"redis_url": redis_url, "variants": ",".join(chosen), **SMALL})
    click(at, "Connect")
    assert "Connected to Redis" in texts(at.success)
    ping = metric(at, "PING round trip")
    assert ping.endswith(" µs") and 0 < int(ping.split()[0].replace(",", "")) < 100_000
    click(at, "Run the race")
    assert metric(at, "Lua overshoot") == "+0"
    table = at.dataframe[0].value
    assert list(table["variant"]) == [VARIANTS[v].label for v in chosen]
    assert (table.loc[table["atomic"], "overshoot max"] == 0).all()
    assert not [i for i in at.info if "Not run without Redis" in i.value]
    assert "Expected with K = 4 servers" in texts(at.markdown)


@pytest.mark.redis
def test_fault_run_degrades_and_recovers(redis_url):
    at = open_page(PAGE, {"redis_url": redis_url, "decisions": "30", "timeout_ms": "500"})
    click(at, "Connect")
    click(at, "Run with a fault mid-run")
    assert int(metric(at, "Degraded, fail open")) == 10 and int(metric(at, "Degraded, fail closed")) == 10
    assert metric(at, "Back on Redis, fail open") == "decision 20"
    assert metric(at, "Back on Redis, fail closed") == "decision 20"
    summary = next(d.value for d in at.dataframe if "admitted during the fault" in d.value.columns)
    assert list(summary["admitted during the fault"]) == [10, 0]
    assert list(summary["errors"]) == ["ConnectionError × 10"] * 2
    assert list(summary["recoveries"]) == [1, 1]


@pytest.mark.redis
def test_start_and_stop_a_local_redis_from_the_page(redis_url):
    at = open_page(PAGE, {"redis_url": nowhere()})
    click(at, "Start a local Redis for me")
    assert "Connected to Redis" in texts(at.success)
    server = at.session_state["distributed.server"]
    assert at.text_input[0].value == f"{server.url}/0"
    click(at, "Stop my local Redis")
    assert server.process is None and "Cannot reach Redis" in texts(at.warning)


# --- the synchronization section (deterministic, no Redis) -----------------------------------------------

SYNC_DEFAULT = SyncConfig(instances=4, policy="round_robin", sync_every=0.5, clients=5, rate=50.0, limit=10,
                          window=1.0, duration=20.0, seed=0)  # fmt: skip


def sync_figures_match(at, cfg: SyncConfig) -> None:
    """The section's metrics, table, sentence and figure are compare_sync's for ``cfg``."""
    expected = compare_sync(cfg)
    local, shared, sticky = (per_window(expected[o]) for o in ("local", "shared", "sticky"))
    assert metric(at, "Local: worst client") == f"{local.mean(axis=1).max():.1f}"
    assert metric(at, "Worst case M × limit") == str(cfg.instances * cfg.limit)
    assert metric(at, "Shared Redis") == f"{shared.mean():.1f}"
    assert metric(at, "Sticky sessions") == f"{sticky.mean():.1f}"
    assert f"Local counters admitted {local.mean():.1f} per client per window" in texts(at.markdown)
    table = frame_with(at, "round trips / decision")
    assert table.to_dict("records") == sync_cost_rows(expected)
    spec = json.loads(next(c.proto.spec for c in at.get("plotly_chart") if c.key == "sync"))
    client_1 = next(t for t in spec["data"] if t["name"] == "client-1" and t.get("xaxis", "x") == "x")
    assert array(client_1["y"])[:-1].tolist() == (expected["local"].admitted[0] / cfg.window).tolist()


def test_sync_section_at_its_defaults_shows_the_models_numbers():
    at = open_page(PAGE, {"redis_url": nowhere()})
    sync_figures_match(at, SYNC_DEFAULT)
    assert metric(at, "Shared Redis") == metric(at, "Sticky sessions") == "10.0"  # the limit
    assert "the closed form says" in texts(at.markdown)
    assert "With Redis connected, a button here runs the four options live" in texts(at.caption)


def test_sync_section_from_a_link_and_from_the_widgets():
    query = {"instances": "8", "balancer": "random", "sync_ms": "100", "sync_clients": "3", "rate": "120",
             "sync_limit": "5", "window": "2", "duration": "30", "seed": "7"}  # fmt: skip
    at = open_page(PAGE, {"redis_url": nowhere(), **query})
    assert at.selectbox[0].value == "Custom"
    cfg = SyncConfig(instances=8, policy="random", sync_every=0.1, clients=3, rate=120.0, limit=5, window=2.0,
                     duration=30.0, seed=7)  # fmt: skip
    sync_figures_match(at, cfg)
    slider = next(s for s in at.slider if s.label == "Instances M")
    slider.set_value(1).run()
    sync_figures_match(at, replace(cfg, instances=1))
    assert at.query_params["instances"] == "1"
    # one instance: its local counters are the shared counter
    assert metric(at, "Local: worst client") == metric(at, "Shared Redis") == "5.0"


@pytest.mark.parametrize(
    "query",
    [
        {"instances": "16", "sync_ms": "50", "sync_clients": "10", "rate": "200", "sync_limit": "1", "duration": "60"},
        {"instances": "1", "sync_ms": "5000", "sync_clients": "1", "rate": "1", "sync_limit": "100", "window": "10",
         "duration": "10", "seed": str(2**31 - 1)},
    ],
)  # fmt: skip
def test_sync_widget_extremes(query):
    at = open_page(PAGE, {"redis_url": nowhere(), **query})
    assert not at.error
    q = {k: int(v) for k, v in query.items()}
    cfg = SyncConfig(instances=q["instances"], sync_every=q["sync_ms"] / 1000, clients=q["sync_clients"],
                     rate=float(q["rate"]), limit=q["sync_limit"], window=float(q.get("window", 1)),
                     duration=float(q["duration"]), seed=q.get("seed", 0))  # fmt: skip
    sync_figures_match(at, cfg)


def test_sync_section_reports_a_bad_combination():
    at = open_page(PAGE, {"redis_url": nowhere(), "window": "10", "duration": "5"})
    assert "duration must be at least one window" in texts(at.error)
    assert not [m for m in at.metric if m.label.startswith("Local:")]
    assert at.subheader[-1].value == "Export"  # the rest of the page still draws


# --- try it for real: a real example API on a free port ----------------------------------------------------


@pytest.fixture
def example_api():
    with ExampleApiServer() as api:
        yield api


def burst_table(at):
    return next(d.value for d in at.dataframe if "X-Ratelimit-Remaining" in d.value.columns)


def test_burst_to_the_example_api(example_api):
    at = open_page(PAGE, {"redis_url": nowhere(), "api_url": f"{example_api.url}/search", "burst": "13"})
    assert at.selectbox[0].value == "Eight servers, one counter"  # the API URL is not part of the experiment
    click(at, "Send a burst")
    table = burst_table(at)
    statuses = list(table["status"])
    # examples/rules.yaml: /search 10 a minute per address (one more if a minute boundary passes mid-burst)
    assert statuses[:10] == ["200"] * 10 and statuses[-1] == "429" and set(statuses) == {"200", "429"}
    assert list(table["X-Ratelimit-Limit"])[:10] == ["10"] * 10
    assert list(table["X-Ratelimit-Remaining"])[:3] == ["9", "8", "7"]
    limited = table[table["status"] == "429"]
    assert (limited["Retry-After"] != "").all() and (
        limited["decided by"] == "endpoint=/search > remote_address"
    ).all()
    assert f"from `{example_api.url}/search`" in texts(at.markdown)
    assert any("429 ×" in m.value for m in at.markdown)
    burst = json.loads(next(c.proto.spec for c in at.get("plotly_chart") if c.key == "burst"))["data"]
    assert [t["name"] for t in burst] == ["remaining", "200", "429"]
    assert len(array(burst[2]["x"])) == statuses.count("429")


def test_start_the_example_api_from_the_page_then_stop_it():
    at = open_page(PAGE, {"redis_url": nowhere()})
    click(at, "Start the example API for me")
    api = at.session_state["distributed.api"]
    try:
        assert api.running and f"running at {api.url}" in texts(at.success)
        assert next(t for t in at.text_input if t.label == "API URL").value == f"{api.url}/search"
        click(at, "Send a burst")
        assert list(burst_table(at)["status"])[:10] == ["200"] * 10
        click(at, "Stop my example API")
        assert not api.running and api.process is None
        assert "distributed.api" not in at.session_state
    finally:
        api.stop()


def test_nothing_answering_says_how_to_start_the_example_api():
    at = open_page(PAGE, {"redis_url": nowhere(), "api_url": f"http://127.0.0.1:{free_port()}/search"})
    click(at, "Send a burst")
    warning = texts(at.warning)
    assert "Nothing answered at http://127.0.0.1:" in warning and "ConnectError" in warning
    assert "make run-api" in warning and "uvicorn examples.example_api:app --port 8000" in warning
    assert not [d for d in at.dataframe if "X-Ratelimit-Remaining" in d.value.columns]


@pytest.mark.parametrize("url", ["http://10.0.0.1/search", "http://example.com/search"])
def test_a_url_off_this_machine_is_refused(url):
    at = open_page(PAGE, {"redis_url": nowhere(), "api_url": url})
    error = texts(at.error)
    assert "refused" in error and "is not this machine" in error and "127.0.0.1, localhost or ::1" in error
    assert next(b for b in at.button if b.label == "Send a burst").disabled
    assert at.selectbox[0].value == "Eight servers, one counter"


@pytest.mark.redis
def test_sync_live_run_on_redis(redis_url):
    at = open_page(PAGE, {"redis_url": redis_url, "instances": "3", "sync_limit": "10"})
    click(at, "Connect")
    click(at, "Run it live (threads, about 10 s)")
    table = next(d.value for d in at.dataframe if "admitted median" in d.value.columns).set_index("option")
    assert list(table["store"]) == ["this process", "Redis", "this process", "Redis"]
    assert (
        table.loc["Shared Redis", "admitted max"] <= 10 and table.loc["Sticky sessions", "admitted max"] <= 10
    )
    assert (
        10
        < table.loc["Local counters", "admitted median"]
        <= table.loc["Local counters", "admitted max"]
        <= 30
    )
    assert (table["runs"] == 3).all() and (table["worst case"] == [30, 10, 10, 30]).all()


@pytest.mark.parametrize("host", ["10.255.255.1", "192.0.2.77", "evil.example"])
def test_a_link_to_a_redis_the_operator_did_not_allow_connects_nowhere(host):
    """Even after Connect, an address outside SDS_REDIS_ALLOWED (default: this machine) is refused with a
    sentence and nothing is contacted (the socket-level check is tests/browser/test_network_guard.py)."""
    at = open_page(PAGE, {"redis_url": f"redis://{host}:6379/0"})
    click(at, "Connect")
    assert "does not allow connecting to Redis" in texts(at.error) and "nothing was contacted" in texts(
        at.error
    )
    assert not at.success and not at.warning


def test_the_sync_figure_is_drawn_once_per_result(monkeypatch):
    from sdcore.charts import distributed as charts

    calls = []
    real = charts.sync_figure
    monkeypatch.setattr(charts, "sync_figure", lambda r: calls.append(1) or real(r))
    at = open_page(PAGE, {"seed": "11"})
    assert len(calls) == 1
    at.run()
    assert not at.exception and len(calls) == 1
