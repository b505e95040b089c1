"""The page's experiment: clusters, changes, their URL text, and the words it shows."""

import pytest

from lessons.consistent_hashing import comparison_records, explanation
from sdcore.hashing.experiment import (
    Change,
    NodeSet,
    PlacementSpec,
    decode_changes,
    encode_changes,
    parse_weights,
    replay,
    run_change,
)


def test_changes_round_trip_through_the_url_text():
    changes = (Change("add", "S5", 2.0), Change("remove", "S2"))
    assert encode_changes(changes) == "add:S5:2;remove:S2"
    assert decode_changes("add:S5:2;remove:S2") == changes
    with pytest.raises(ValueError, match="'drop:S1' is not a change"):
        decode_changes("drop:S1")


def test_replay_and_refusals():
    states = replay(NodeSet.uniform(2), (Change("add", "S3"), Change("remove", "S1")))
    assert [s.names for s in states] == [("S1", "S2"), ("S1", "S2", "S3"), ("S2", "S3")]
    with pytest.raises(ValueError, match="last node"):
        Change("remove", "S1").apply(NodeSet.uniform(1))
    with pytest.raises(ValueError, match="weight 2 \\('x'\\) is not a number"):
        parse_weights("1,x", 3)


def test_explanation_quotes_this_runs_numbers():
    """The why-text states the expected share and the measured one, for an add and for a remove."""
    add = run_change(
        PlacementSpec("ring"), NodeSet.uniform(4), Change("add", "S5"), keys=5_000, compare=False
    )
    text = explanation(add)
    assert "expected to move 20.0%" in text and f"moved {add.movement.fraction:.1%}" in text
    assert "the new server's fair share" in text
    rem = run_change(
        PlacementSpec("ring"), NodeSet.uniform(5), Change("remove", "S3"), keys=5_000, compare=False
    )
    assert "S3's fair share" in explanation(rem) and "expected to move 20.0%" in explanation(rem)
    bounded = run_change(PlacementSpec("bounded"), NodeSet.uniform(4), None, keys=1_000, compare=False)
    assert "minimal-movement guarantee no longer holds" in explanation(bounded)


def test_comparison_records_carry_every_scheme():
    report = run_change(PlacementSpec("ring"), NodeSet.uniform(4), Change("add", "S5"), keys=5_000)
    rows = comparison_records(report.comparison)
    assert [r["scheme"] for r in rows][:3] == [
        "Hash ring (virtual nodes)",
        "Ring with bounded loads",
        "Modulo (hash mod n)",
    ]
    modulo = rows[2]
    assert modulo["keys moved"] > 0.7 and modulo["moved beyond minimum"] == pytest.approx(
        modulo["keys moved"] - 0.2
    )
