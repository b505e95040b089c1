"""The storage page's figures draw what the engine computed: tables, read steps, bloom points, amplification."""

from sdcore.charts import kv_storage as charts
from sdcore.kvstore.bloom import PUBLISHED_RATES, bloom_sweep
from sdcore.kvstore.lsm import StoreSettings, WorkloadSettings, compare_styles, run_script


def test_node_figure_draws_every_table_and_marks_a_crash():
    run = run_script("load 9 k:\ncrash", StoreSettings(memtable_limit=4))
    crashed = run.steps[-1].snapshot
    fig = charts.node_figure(crashed, 4, run.steps[-1].events)
    hovers = [t.hovertemplate for t in fig.data]
    assert (
        sum(h.startswith(f"T{t.table_id}:") for t in crashed.tables for h in hovers)
        == len(crashed.tables)
        == 2
    )
    texts = " ".join(a.text for a in fig.layout.annotations)
    assert "CRASHED" in texts and "0 of 4" in texts


def test_read_path_figure_has_one_box_per_step():
    run = run_script("load 8 k:\nget k:0002", StoreSettings(memtable_limit=4))
    trace = run.steps[-1].trace
    fig = charts.read_path_figure(trace)
    assert len(fig.layout.shapes) == len(trace.steps)
    thick = [s for s in fig.layout.shapes if s.line.width == 3]
    assert len(thick) == trace.disk_reads


def test_bloom_and_amplification_figures_carry_the_numbers():
    points = bloom_sweep([2.0, 10.0], keys=2000, queries=20_000)
    fig = charts.bloom_figure(points, PUBLISHED_RATES, 10.0)
    assert list(fig.data[0].y) == [p.expected for p in points]
    assert {t.name for t in fig.data} >= {"measured", "RocksDB wiki", "LevelDB docs"}
    results = compare_styles(WorkloadSettings(writes=2000, key_space=300, reads=100))
    amp = charts.amplification_figure(results)
    bars = [t for t in amp.data if t.type == "bar"]
    assert [b.y[0] for b in bars[:3]] == [
        results[0].write_amplification,
        results[0].read_amplification,
        results[0].space_amplification,
    ]
    space = charts.space_over_time_figure(results)
    assert len(space.data) == 2 and list(space.data[0].x) == list(results[0].series_ops)
