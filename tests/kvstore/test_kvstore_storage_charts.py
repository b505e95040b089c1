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


def test_one_pass_figures_equal_the_validated_ones():
    """The bloom, amplification and space figures skip plotly's validators; built through them
    (``validate=True``) every figure is the same JSON, so a misspelt property still fails here."""
    import json

    def same(build, *args):
        assert json.loads(build(*args).to_json()) == json.loads(build(*args, validate=True).to_json())

    for bits, chosen in (([1.0, 2.0, 10.0], 10.0), ([1.0, 20.0], None), ([3.0], 0.0), ([0.5, 12.5], 12.5)):
        same(charts.bloom_figure, bloom_sweep(bits, keys=500, queries=3000, seed=3), PUBLISHED_RATES, chosen)
    for settings in (
        WorkloadSettings(writes=2000, key_space=300, reads=100),
        WorkloadSettings(StoreSettings(memtable_limit=2, bloom_bits_per_key=0.0), writes=500, key_space=900),
        WorkloadSettings(writes=50, key_space=5, delete_fraction=0.9, reads=0),
    ):
        results = compare_styles(settings)
        same(charts.amplification_figure, results)
        same(charts.space_over_time_figure, results)


def test_node_and_read_path_figures_equal_the_validated_ones():
    import json

    for script, settings in (
        ("load 9 k:\ncrash\nget k:0001\nrecover\nget k:0002", StoreSettings(memtable_limit=4)),
        ("load 40 u:\nput u:0007 x\ndelete u:0001\nget u:0007\nget zz", StoreSettings(compaction="leveled")),
        ("load 6 a:\nget a:0001", StoreSettings(memtable_limit=2, bloom_bits_per_key=0.0)),
    ):
        run = run_script(script, settings)
        for s in run.steps:
            a = charts.node_figure(s.snapshot, settings.memtable_limit, s.events)
            b = charts.node_figure(s.snapshot, settings.memtable_limit, s.events, validate=True)
            assert json.loads(a.to_json()) == json.loads(b.to_json())
            if s.trace is not None:
                a, b = charts.read_path_figure(s.trace), charts.read_path_figure(s.trace, validate=True)
                assert json.loads(a.to_json()) == json.loads(b.to_json())
