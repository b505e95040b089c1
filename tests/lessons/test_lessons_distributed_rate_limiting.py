"""What the page shows of the synchronization model: the headlines, the cost table, the measured-vs-expected
sentence and the side-by-side figure, each checked against the model's own result.

Invariants: the figures are the model's numbers (nothing recomputed differently for display); shared and
sticky show the limit; local counters show M x the limit as the worst case and the closed form's mean;
the figure's per-client lines are each client's admitted per window over the window.
"""

from __future__ import annotations

import inspect

import numpy as np
import plotly.graph_objects as go
import pytest

from lessons.distributed_rate_limiting import (
    DEFAULT_API_URL,
    DEFAULT_REDIS_URL,
    OWN_SERVER,
    PARAMS,
    PRESETS,
    connected,
    explanation,
    exports,
    fault_caption,
    fault_needs_redis,
    fault_settings,
    live_demo_config,
    per_window,
    pointed_at,
    race_button_help,
    race_check,
    race_settings,
    race_timing,
    skipped_note,
    slow_race_caption,
    sync_check,
    sync_client_rows,
    sync_config,
    sync_cost_rows,
    sync_headlines,
    sync_live_caption,
    sync_live_help,
    sync_metrics_caption,
    unreachable,
)
from sdcore.charts.distributed import sync_figure
from sdcore.ratelimit.distributed import (
    FAULT_LABELS,
    FAULT_MODES,
    VARIANTS,
    FaultDecision,
    FaultRun,
    RaceReport,
    RaceResult,
    RaceRun,
)
from sdcore.ratelimit.spread import Spread
from sdcore.ratelimit.sync import SYNC_OPTIONS, SyncConfig, compare_sync, expected_admitted

CFG = SyncConfig(instances=4, clients=5, rate=50.0, limit=10, window=1.0, duration=20.0, sync_every=0.5)


@pytest.fixture(scope="module")
def results():
    return compare_sync(CFG)


def test_headlines_are_the_models_numbers(results):
    h = {x.label: x for x in sync_headlines(results)}
    local = per_window(results["local"])
    assert h["Local: worst client"].value == f"{local.mean(axis=1).max():.1f}"
    assert f"expects {expected_admitted(CFG).mean:.1f}" in h["Local: worst client"].help
    assert h["Worst case M × limit"].value == "40"
    assert h["Shared Redis"].value == "10.0"
    assert h["Sticky sessions"].value == "10.0"
    share = results["sticky"].load_share.max()
    assert f"serves {share:.0%}" in h["Sticky sessions"].help
    assert "Synced 0.5 s: worst client" in h


def test_cost_table(results):
    rows = {r["option"]: r for r in sync_cost_rows(results)}
    assert list(rows) == ["Local counters", "Shared Redis", "Sticky sessions", "Synced every 0.5 s"]
    assert rows["Shared Redis"]["round trips / decision"] == 1.0
    assert rows["Local counters"]["round trips / decision"] == 0.0
    assert rows["Local counters"]["staleness"] == "never shared"
    assert rows["Sticky sessions"]["staleness"] == "0 s"
    assert rows["Synced every 0.5 s"]["staleness"] == "up to 0.5 s"
    # every instance syncs every S: M / S round trips a second
    assert rows["Synced every 0.5 s"]["sync round trips / s"] == pytest.approx(4 / 0.5, abs=0.3)
    assert rows["Local counters"]["worst case"] == 40
    assert rows["Local counters"]["most in a window"] <= 40
    assert rows["Shared Redis"]["admitted / client / window"] == 10.0
    assert rows["Local counters"]["admitted / client / window"] == round(
        float(per_window(results["local"]).mean()), 2
    )


def test_the_check_sentence_says_measured_and_expected(results):
    text = sync_check(results)
    mean, e = per_window(results["local"]).mean(), expected_admitted(CFG)
    assert text.startswith(f"Local counters admitted {mean:.1f} per client per window on average")
    assert f"the closed form says {e.mean:.1f}" in text and "M × limit = 40" in text
    assert "Shared Redis 10.0, Sticky sessions 10.0" in text
    assert sync_check({o: results[o] for o in ("shared",)}).startswith("Include local counters")


def test_client_rows_for_the_csv(results):
    rows = sync_client_rows(results)
    assert len(rows) == len(SYNC_OPTIONS) * CFG.clients
    assert {r["option"] for r in rows} == {
        "Local counters",
        "Shared Redis",
        "Sticky sessions",
        "Synced every 0.5 s",
    }


def test_a_partial_last_window_is_left_out():
    r = compare_sync(CFG, duration=5.5, options=("shared",))["shared"]
    assert r.admitted.shape[1] == 6 and per_window(r).shape[1] == 5


def test_figure_one_panel_per_option_with_the_limit_lines(results):
    fig = sync_figure(results)
    assert isinstance(fig, go.Figure)
    assert [a.text for a in fig.layout.annotations] == [
        "Local counters",
        "Shared Redis",
        "Sticky sessions",
        "Synced every 0.5 s",
    ]
    local = [t for t in fig.data if t.xaxis == "x" and t.name.startswith("client-")]
    assert len(local) == CFG.clients
    r = results["local"]
    assert np.array_equal(np.asarray(local[0].y[:-1]), r.admitted[0] / CFG.window)
    limits = [t for t in fig.data if t.name == "limit"]
    worst = [t for t in fig.data if t.name == "M × limit"]
    assert len(limits) == 4 and all(list(t.y) == [10, 10] for t in limits)
    assert len(worst) == 2 and all(list(t.y) == [40, 40] for t in worst)  # local and synced only
    assert sum(t.showlegend is not False for t in fig.data) == CFG.clients + 2  # one legend entry each


def test_figure_needs_results():
    with pytest.raises(ValueError, match="at least one"):
        sync_figure({})


def test_live_demo_config_is_small_and_bounded():
    demo = live_demo_config(16, "random", 10)
    assert demo.instances == 8 and demo.policy == "random" and demo.mode == "threads"
    assert demo.duration * demo.runs * len(SYNC_OPTIONS) <= 10
    with pytest.raises(ValueError, match="policy"):
        live_demo_config(4, "weighted", 10)


# --- the page's parameters, settings and sentences ----------------------------------------------------------
# Invariants: every widget's words and range come from PARAMS and every preset fits them; the page's values
# become exactly the settings the engine's functions take; each sentence says what the result it was given
# says (its numbers, its labels), and nothing when there is nothing to say.


def _race_report() -> RaceReport:
    """A hand-written report (a record of runs, not a live race): GET → SET overshoots, Lua does not."""

    def result(variant: str, admitted: tuple[int, ...]) -> RaceResult:
        runs = tuple(RaceRun(a, 40, 0.1, 0, 10) for a in admitted)
        return RaceResult(variant, VARIANTS[variant].label, VARIANTS[variant].atomic, 4, 10, 10, 0.001, runs)

    return RaceReport((result("get_set", (17, 19)), result("lua", (10, 10))), ("watch_multi",))


def _fault_runs() -> tuple[FaultRun, FaultRun]:
    """Hand-written fault runs of six decisions, Redis failing for decisions 2 and 3."""
    from sdcore.ratelimit.live.resilient import FailureCounter  # the live code, loaded by this test only

    def run(policy: str) -> FaultRun:
        counter, decisions = FailureCounter(), []
        for i in range(6):
            degraded = i in (2, 3)
            if degraded:
                counter.failure(ConnectionError("refused"))
            else:
                counter.success()
            phase = "fault" if degraded else "before" if i < 2 else "after"
            allowed = policy == "open" if degraded else True
            decisions.append(FaultDecision(i, i * 0.1, phase, allowed, degraded, None, 0.2, True))
        return FaultRun(policy, "refuse", None, 0.1, 5, 5.0, 0.1, tuple(decisions), 2, 4, counter.report())

    return run("open"), run("closed")


def test_the_live_defaults_are_the_live_modules():
    from sdcore.ratelimit.live import burst, connection

    assert DEFAULT_REDIS_URL == connection.DEFAULT_REDIS_URL
    assert DEFAULT_API_URL == burst.DEFAULT_API_URL


def test_every_widget_has_its_words_and_every_preset_fits_the_ranges():
    params = {p.name: p for p in PARAMS}
    assert all(p.label for p in PARAMS) and all(p.help for p in PARAMS if p.name != "variants")
    for preset in PRESETS.values():
        assert preset.description
        for name, value in ({p.name: p.default for p in PARAMS} | dict(preset.values)).items():
            p = params[name]
            if p.multi:
                assert value and set(value) <= set(p.options), (preset.name, name)
            elif p.options is not None:
                assert value in p.options, (preset.name, name)
            elif p.lo is not None:
                assert p.lo <= value <= p.hi, (preset.name, name)
    assert [params["fault"].format(m) for m in params["fault"].options] == [
        FAULT_LABELS[m] for m in FAULT_MODES[1:]
    ]
    assert params["variants"].format("lua") == VARIANTS["lua"].label


def test_the_page_values_become_the_engines_settings():
    from sdcore.ratelimit.live.fault_runs import run_fault_scenario
    from sdcore.ratelimit.live.race_runs import race_seconds, run_races

    values = {p.name: p.default for p in PARAMS}
    assert sync_config(values) == SyncConfig(instances=4, policy="round_robin", sync_every=0.5, clients=5,
                                             rate=50.0, limit=10, window=1.0, duration=20.0, seed=0)  # fmt: skip
    race = race_settings(values)
    assert race == {"clients": 8, "requests_per_client": 25, "limit": 10, "think_time": 0.001, "runs": 3}
    assert race_timing(race) == {"requests_per_client": 25, "think_time": 0.001, "runs": 3}
    assert fault_settings(values | {"timeout_ms": 250}) == {"decisions": 60, "timeout": 0.25}
    inspect.signature(run_races).bind(["lua"], **race)  # the names the engine takes
    inspect.signature(race_seconds).bind(["lua"], **race_timing(race))
    inspect.signature(run_fault_scenario).bind(None, "open", "refuse", **fault_settings(values))
    with pytest.raises(ValueError, match="duration must be at least one window"):
        sync_config(values | {"window": 10, "duration": 5})


def test_the_why_text_carries_the_race_check_and_the_measured_round_trip():
    from sdcore.ratelimit.live.redis_store import RoundTrip

    report = _race_report()
    assert race_check(report) in explanation(report, None)
    assert "GET → SET +9" in race_check(report) and "Lua window +0" in race_check(report)
    untried = explanation(None, None)
    assert "Run the race to check this against the theory." in untried
    assert "tens to hundreds of µs on one machine" in untried
    rt = RoundTrip(ping_ms=Spread(0.04, 0.045, 0.05), decision_ms=Spread(0.1, 0.123, 0.2), runs=5, per_run=50)
    assert "123 µs here, against 45 µs for a bare PING" in explanation(None, rt)


def test_the_run_sentences_say_what_the_run_says():
    report, runs = _race_report(), _fault_runs()
    assert skipped_note(report) == "Not run without Redis: WATCH/MULTI."
    assert "about 12 s" in race_button_help(12.4) and "about 12 s" in slow_race_caption(12.4)
    assert runs[0].recovered_at == runs[1].recovered_at == 4
    assert "Redis answers again at decision 4 and 4" in fault_caption(runs)
    hint = "Start one with redis-server."
    assert fault_needs_redis("memory", hint).endswith("Choose the Redis backend above.")
    assert fault_needs_redis("redis", hint).endswith(hint)
    text = unreachable("redis://127.0.0.1:1/0", "ConnectionError: refused", hint)
    assert text.startswith("Cannot reach Redis at redis://127.0.0.1:1/0 (ConnectionError: refused). " + hint)
    assert connected("7.2.4", "redis://h:1/0") == "Connected to Redis 7.2.4 at redis://h:1/0."
    demo = live_demo_config(4, "random", 10)
    assert sync_live_help(demo).startswith(
        "3 client threads at 200/s, 2 windows of 0.3 s, synced every 0.1 s, M = 4"
    )
    assert sync_live_caption(demo).endswith("the limit is 10.")
    assert sync_metrics_caption(CFG).endswith("against a limit of 10:")


def test_the_exports_are_the_results_rows(results):
    report, runs = _race_report(), _fault_runs()
    assert exports(None, None, None) == [] and exports(RaceReport((), ("lua",)), None, None) == []
    made = {name: (label, rows()) for label, rows, name in exports(report, runs, results)}
    assert list(made) == ["race.csv", "fault_decisions.csv", "sync_clients.csv"]
    assert made["race.csv"] == ("Race results (CSV)", report.rows())
    assert made["fault_decisions.csv"][1] == [*runs[0].rows(), *runs[1].rows()]
    assert made["sync_clients.csv"][1] == sync_client_rows(results)


def test_a_started_server_points_the_page_at_itself():
    assert pointed_at("server", "redis://127.0.0.1:7000") == {
        "redis_url": "redis://127.0.0.1:7000/0",
        "backend": "redis",
    }
    assert pointed_at("api", "http://127.0.0.1:8123") == {"api_url": "http://127.0.0.1:8123/search"}
    assert set(OWN_SERVER) == {"server", "api"} and all(len(words) == 3 for words in OWN_SERVER.values())
