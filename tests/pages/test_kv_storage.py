"""AppTest for the one-node storage page: what it shows, recomputed here from the engine and the lesson.

Presets run with a smaller workload (``writes``/``key_space`` in the URL) to stay fast; the default runs
at its own size once."""

from __future__ import annotations

import json

import pytest

from lessons import kv_storage as L
from sdcore.kvstore.bloom import bloom_sweep
from sdcore.kvstore.lsm import compare_styles, run_script
from tests.pages.conftest import metric, open_page

PAGE = "pages/kv_storage.py"
SMALL = {"writes": "1000", "key_space": "200"}


def expected(query: dict[str, str]):
    preset = query.get("preset", L.DEFAULT_PRESET)
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESET_TABLE[preset].values)
    v.update({k: L.PARAM[k].parse(x) for k, x in query.items() if k != "preset"})
    store, work, script = L.settings_from(v)
    run, results = run_script(script, store), compare_styles(work)
    chosen = None
    if store.bloom_bits_per_key > 0:
        (chosen,) = bloom_sweep([store.bloom_bits_per_key], L.SWEEP_KEYS, L.SWEEP_QUERIES, work.seed)
    return run, results, L.headlines(run, results, chosen)


def assert_shows(at, query):
    run, results, heads = expected(query)
    for h in heads:
        assert metric(at, h.label) == h.value
    markdown = " ".join(m.value for m in at.markdown)
    assert f"**Step {len(run.steps)} of {len(run.steps)}**" in markdown
    figs = [json.loads(c.proto.spec) for c in at.get("plotly_chart")]
    assert len(figs) == 5 if run.gets else 4
    amp = figs[-2]
    bars = [t for t in amp["data"] if t["type"] == "bar"]
    assert bars[0]["y"][0] == pytest.approx(results[0].write_amplification)
    assert not at.error


@pytest.mark.parametrize("preset", [p.name for p in L.PRESETS])
def test_every_preset(preset):
    query = {"preset": preset, **SMALL}
    at = open_page(PAGE, query)
    assert_shows(at, query)


def test_default_and_stepping_back():
    at = open_page(PAGE)
    assert at.selectbox[0].value == L.DEFAULT_PRESET
    assert_shows(at, {})
    run, _, _ = expected({})
    at.button(key="kvs.back").click().run()
    assert f"**Step {len(run.steps) - 1} of {len(run.steps)}**" in " ".join(m.value for m in at.markdown)


def test_extremes_and_a_bad_script():
    query = {
        "memtable_limit": "2",
        "bloom_bits": "0",
        "compaction": "leveled",
        "fanout": "2",
        "l0_trigger": "1",
        "writes": "1000",
        "key_space": "100",
        "delete_pct": "50",
    }
    at = open_page(PAGE, query)
    assert_shows(at, query)
    at = open_page(PAGE, {"script": "put a\nget a"})
    assert [e.value for e in at.error] == ["line 1: write it as 'put KEY VALUE'"]
    assert not at.exception
