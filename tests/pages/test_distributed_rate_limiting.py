"""AppTest for the distributed rate-limiting page: without Redis it says how to start one and runs what works
in memory; with a real redis-server the race and the fault run show the engine's numbers."""

import pytest

from sdcore.ratelimit.distributed import PRESETS, VARIANTS
from sdcore.ratelimit.redis_server import LocalRedisServer, free_port, redis_server_path
from tests.pages.conftest import metric, open_page

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


@pytest.fixture(scope="module")
def redis_url():
    if redis_server_path() is None:
        pytest.skip("redis-server is not on PATH (Debian: apt-get install redis-server); needed for the Redis runs")
    with LocalRedisServer() as server:
        yield f"{server.url}/0"


def test_without_redis_the_page_says_how_to_start_one_and_runs_in_memory():
    at = open_page(PAGE, {"redis_url": nowhere(), **SMALL})
    warning = texts(at.warning)
    assert "Cannot reach Redis" in warning and "Connection refused" in warning
    assert "redis-server --port 6379" in warning and "sudo apt-get install redis-server" in warning
    assert "needs Redis; nothing is simulated" in texts(at.info)
    assert not [b for b in at.button if b.label.startswith("Run with a fault")]
    assert not at.get("plotly_chart")  # nothing runs before the click
    click(at, "Run the race")
    assert metric(at, "dict + lock overshoot") == "+0"
    assert metric(at, "Lua overshoot") == "—"
    assert "Not run without Redis: GET → SET" in texts(at.info)
    table = at.dataframe[0].value
    assert list(table["store"]) == ["this process", "this process"]
    assert table["overshoot max"].iloc[1] == 0 and table["admitted (median)"].iloc[1] == 10
    assert len(at.get("plotly_chart")) == 1


@pytest.mark.parametrize(
    ("query", "admitted"),
    [
        ({"clients": "16", "requests": "1", "limit": "100", "think_ms": "0", "runs": "1"}, 16),  # never reaches the limit
        ({"clients": "1", "requests": "100", "limit": "1", "think_ms": "10", "runs": "10"}, 1),  # one client: exact
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
    click(at, "Run with a fault mid-run")
    assert int(metric(at, "Degraded, fail open")) == 10 and int(metric(at, "Degraded, fail closed")) == 10
    assert metric(at, "Back on Redis, fail open") == "decision 20"
    assert metric(at, "Back on Redis, fail closed") == "decision 20"
    summary = at.dataframe[-1].value
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
