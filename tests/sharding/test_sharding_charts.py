"""The figures draw the numbers of the result they are given."""

import numpy as np
import pytest

from sdcore.charts import sharding as charts
from sdcore.sharding import SLOTS, ShardingConfig, run_sharding, skew_table


@pytest.fixture(scope="module")
def result():
    return run_sharding(ShardingConfig(users=1_000, posts_per_user=4.0, strategy="slots", shards=4, new_shards=5,
                                       celebrity_share=0.3))  # fmt: skip


def test_shard_figure(result):
    fig = charts.shard_figure(result.loads, 3000, 1000)
    bars = {t.name: t for t in fig.data}
    assert list(bars["rows"].y) == result.loads.rows.tolist()
    assert np.allclose(bars["reads/s"].y, result.loads.reads)
    assert {s.y0 for s in fig.layout.shapes} >= {3000, 1000}


def test_skew_heatmap(result):
    rows = skew_table(result.dataset, 4, result.config.workload())
    fig = charts.skew_heatmap(rows)
    assert np.array(fig.data[0].z).shape == (5, 5)


def test_movement_and_migration(result):
    fig = charts.movement_figure(result.movements, "slots")
    assert list(fig.data[0].x) == [m.fraction for m in result.movements]
    mig = charts.migration_figure(result.migration)
    assert list(mig.data[0].y) == [s.name for s in result.migration.steps]


def test_slot_map_covers_every_slot(result):
    fig = charts.slot_map_figure(result.placement.state, result.resharded.state)
    for trace in fig.data:
        assert int(np.sum(trace.x)) == SLOTS


def test_hot_and_join_figures(result):
    fig = charts.hot_shard_figure(result.hot)
    assert len(fig.data[0].y) == len(result.hot.options)
    assert fig.data[0].x[0] == pytest.approx(result.hot.option("none").hot_reads / 3000)
    join = charts.join_figure(result.feed)
    assert list(join.data[0].y) == [result.feed.normalized_shards, result.feed.denormalized_shards]
