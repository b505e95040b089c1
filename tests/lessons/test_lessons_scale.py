"""The scale page's words: parameters and presets are consistent, and every sentence states this run's numbers."""

import pytest

from lessons import scale as L
from lessons.base import pct
from sdcore.scale.architecture import PRACTICE_ORDER, analyze, ladder
from sdcore.scale.drills import DRILLS, run_drill


def values(preset: str | None = None, **over):
    v = {p.name: p.default for p in L.PARAMS}
    if preset:
        v.update(L.PRESET_TABLE[preset].values)
    v.update(over)
    return v


def test_params_are_consistent():
    names = [p.name for p in L.PARAMS]
    assert len(names) == len(set(names))
    assert set(PRACTICE_ORDER) <= set(names)
    for p in L.PARAMS:
        assert p.label and p.help
        if p.options is not None:
            assert p.default in p.options and all(p.format(o) for o in p.options)
        elif p.lo is not None:
            assert p.lo <= p.default <= p.hi
    assert L.USER_STEPS[0] == 1_000 and L.USER_STEPS[-1] == 100_000_000
    assert L.PARAM["users"].format(100_000_000) == "100 million"
    assert L.PARAM["drill"].options == tuple(DRILLS)


def test_presets_name_only_real_parameters_and_build_configs():
    assert [p.name for p in L.PRESETS] == [
        "Single server",
        "The first 10,000 users",
        "A million users",
        "Global, 100 million users",
    ]
    assert L.DEFAULT_PRESET in L.PRESET_TABLE
    for p in L.PRESETS:
        assert set(p.values) <= set(L.PARAM)
        cfg = L.config_from(values(p.name))
        assert cfg.users == p.values["users"]
        assert cfg.practices == frozenset(k for k in PRACTICE_ORDER if p.values[k])
    assert L.config_from(values("Single server")).practices == frozenset()
    assert L.config_from(values("Global, 100 million users")).practices == frozenset(PRACTICE_ORDER)


def test_bad_values_become_clear_errors():
    with pytest.raises(ValueError, match="users must be between 1"):
        L.config_from(values(users=0))


@pytest.mark.parametrize("preset", [p.name for p in L.PRESETS])
def test_headlines_and_words_state_this_runs_numbers(preset):
    v = values(preset)
    a = analyze(L.config_from(v))
    h = {x.label: x for x in L.headlines(a)}
    assert h["Requests failed"].value == pct(a.error_rate, 2)
    assert h["Bottleneck"].value == a.bottleneck.label
    assert h["Availability"].value == pct(a.availability, 3)
    assert h["Monthly cost"].value == L.money(a.monthly_cost)
    assert "365.25" in h["Availability"].help
    why = L.why(a)
    assert "365.25 days" in why and a.bottleneck.label in why
    if "caching" in a.config.practices:
        assert pct(a.load.cache_hit_ratio, 1) in why and L.rate(a.load.db_reads) in why
    if a.cdn:
        assert pct(a.cdn.byte_hit_ratio, 1) in why
    if a.ceiling:
        assert L.ceiling_text(a).removeprefix("≈ ") in why
    assert a.bottleneck.label in L.architecture_caption(a)
    lines = L.envelope(a)
    assert lines[:3] == a.qps.arithmetic and "365.25 days" in lines[4]
    r = run_drill(a, L.drill_from(v))
    d = {x.label: x for x in L.drill_headlines(r, a)}
    assert d["Requests failed in the drill"].value == pct(r.after.error_share, 2)
    assert d["Sessions lost"].value == L.num(r.after.sessions_lost)
    assert pct(r.after.error_share, 2) in L.drill_why(r, a)
    assert L.ladder_caption(ladder(a.config))


def test_overloaded_run_says_so():
    a = analyze(L.config_from(values("Single server", users=1_000_000)))
    assert "no steady state" in L.why(a) and "Web servers" in L.utilization_caption(a)
    assert L.headlines(a)[2].delta == "overloaded"


def test_stateful_drill_counts_logged_out_users():
    v = values("A million users", stateless=False)
    a = analyze(L.config_from(v))
    r = run_drill(a, L.drill_from(v))
    assert f"{L.num(r.after.sessions_lost)} users are logged out" in L.drill_why(r, a)


def test_try_this_and_references():
    assert 2 <= len(L.TRY_THIS) <= 4
    assert all(r.url.startswith("https://") for r in L.REFERENCES)
