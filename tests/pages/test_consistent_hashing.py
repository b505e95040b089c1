"""AppTest for the consistent-hashing page: the numbers it shows, not only that it runs."""

import json

import pytest

from lessons.consistent_hashing import PRESETS
from sdcore.hashing import HashRing, make_keys, movement
from tests.pages.conftest import metric, open_page

PAGE = "pages/consistent_hashing.py"


def apply_change(at):
    next(b for b in at.button if b.label == "Apply change").click()
    at.run()
    assert not at.exception, [e.message for e in at.exception]


def pct(text: str) -> float:
    return float(text.rstrip("%")) / 100


def test_default_shows_loads_then_a_change_moves_the_ring_minimum():
    """Default preset: 4 servers; applying "add S5" reports the fraction an independent ring computes."""
    at = open_page(PAGE, {"keys": "10000"})
    assert metric(at, "Keys moved") == "—"
    apply_change(at)
    keys = make_keys(10_000, 0)
    ring = HashRing(["S1", "S2", "S3", "S4"], vnodes=100)
    before = ring.assign(keys)
    ring.add_node("S5")
    expected = movement(before, ring.assign(keys)).fraction
    shown = pct(metric(at, "Keys moved (add S5)"))
    assert abs(shown - expected) < 0.0006
    modulo = pct(metric(at, "Same change, modulo"))
    assert 0.75 < modulo < 0.85
    assert at.query_params["changes"] == "add:S5:1"
    # The prediction (default slider 50%) is shown beside the answer.
    assert metric(at, "Your prediction") == "50%"
    # Undo returns to the start.
    next(b for b in at.button if b.label == "Undo last change").click()
    at.run()
    assert metric(at, "Keys moved") == "—"


@pytest.mark.parametrize("preset", list(PRESETS))
def test_every_preset_runs_its_suggested_change(preset):
    at = open_page(PAGE, {"preset": preset, "keys": "10000"})
    assert at.selectbox[0].value == "Custom"  # keys differ from the preset
    apply_change(at)
    suggested = PRESETS[preset].suggested
    shown = pct(metric(at, f"Keys moved ({suggested.describe()})"))
    busiest = float(metric(at, "Busiest server").rstrip("×"))
    if preset == "Bad hash function":
        # Byte sums of keys exceed every point's byte sum, so all keys wrap to one server and stay there.
        assert shown == 0 and busiest > 3
    else:
        assert 0.05 < shown < 0.7 and busiest < 2
    ring_chart = json.loads(at.get("plotly_chart")[0].proto.spec)
    names = {t.get("name") for t in ring_chart["data"]}
    assert ("moved keys" in names) == (shown > 0.05)  # 120 keys drawn: a 5% move shows some


def test_server_crash_moves_only_the_dead_servers_keys():
    at = open_page(PAGE, {"preset": "Server crash", "keys": "10000"})
    apply_change(at)
    table = at.dataframe[0].value
    ring_row = table[table["scheme"].str.startswith("Hash ring")].iloc[0]
    # Ring: moved equals S3's share, so "moved beyond minimum" is within sampling noise of zero or negative.
    assert ring_row["moved beyond minimum"] < 0.05
    jump_row = table[table["scheme"] == "Jump hash"].iloc[0]
    assert jump_row["moved beyond minimum"] > 0.2  # S3 is in the middle: buckets renumber


def test_bad_url_values_fall_back_with_a_notice():
    at = open_page(PAGE, {"vnodes": "99999", "hash": "crc32", "preset": "Nope", "keys": "10000"})
    notices = " ".join(w.value for w in at.warning)
    assert "unknown preset" in notices and "vnodes" in notices and "hash" in notices
    assert at.slider[0].value == 100  # the preset's value, not 99999


def test_bad_weights_show_an_error_not_a_traceback():
    at = open_page(PAGE, {"weights": "1,x", "keys": "10000"})
    assert any("weight 2 ('x') is not a number" in e.value for e in at.error)


def test_bad_changes_in_the_link_are_dropped_with_a_notice():
    at = open_page(PAGE, {"changes": "remove:S9", "keys": "10000"})
    assert any("could not be replayed" in w.value for w in at.warning)
    assert metric(at, "Keys moved") == "—"


def test_extremes_one_server_one_vnode_and_the_poor_hash():
    at = open_page(PAGE, {"nodes": "1", "vnodes": "1", "hash": "poor", "keys": "1000"})
    assert metric(at, "Busiest server") == "1.00×"
    apply_change(at)  # the preset's suggestion, add S5, to a single server
    assert 0 <= pct(metric(at, "Keys moved (add S5)")) <= 1


@pytest.mark.parametrize("scheme", ["modulo", "jump", "rendezvous", "bounded"])
def test_other_schemes(scheme):
    at = open_page(PAGE, {"scheme": scheme, "keys": "10000", "vnodes": "1000"})
    apply_change(at)
    shown = pct(metric(at, "Keys moved (add S5)"))
    if scheme == "modulo":
        assert shown > 0.7
    else:
        assert 0.1 < shown < 0.35


def test_max_keys_one_million():
    """The largest setting runs; the moved fraction of a ring with 100 vnodes is near 1/5."""
    at = open_page(PAGE, {"keys": "1000000"}, timeout=120)
    apply_change(at)
    assert 0.12 < pct(metric(at, "Keys moved (add S5)")) < 0.28


def test_many_servers_and_tight_bounded_loads():
    """63 servers with c = 1.0: no server above its cap ceil(K / 63); adding a 64th moves keys between old
    servers too (caps bind), a 65th is refused with a sentence while the page still shows its results."""
    at = open_page(PAGE, {"nodes": "63", "scheme": "bounded", "load_factor": "1", "keys": "10000"})
    busiest = float(metric(at, "Busiest server").rstrip("×"))
    assert busiest <= (-(-10_000 // 63)) / (10_000 / 63) + 0.005  # shown with 2 decimals
    apply_change(at)  # S5 is taken, so the form proposes the next free name
    moved = pct(metric(at, "Keys moved (add S64)"))
    table = at.dataframe[0].value
    bounded = table[table["scheme"].str.startswith("Ring with bounded")].iloc[0]
    assert moved > 0 and bounded["moved beyond minimum"] > 0.01
    apply_change(at)
    assert any("at most 64 nodes" in e.value for e in at.error)
    assert metric(at, "Keys moved (add S64)") == f"{moved:.1%}"


@pytest.mark.parametrize("name", ["S 6", "a/b", "x(1)", "a:b", "a,b", "sérvér-ü", "<b>x</b>", "N" * 40])
def test_a_name_the_link_cannot_carry_is_refused_at_apply_and_earlier_changes_stay(name):
    """Apply validates the name with the rule the replay uses: the bad change is refused with the rule,
    and the good change made before it stays (in the page and in the link)."""
    at = open_page(PAGE, {"keys": "1000"})
    apply_change(at)  # add S5, a good change
    assert at.query_params["changes"] == "add:S5:1"
    next(t for t in at.text_input if t.label == "New node's name").input(name)
    apply_change(at)
    assert any("a node name may use letters, digits" in e.value for e in at.error)
    assert at.query_params["changes"] == "add:S5:1"
    assert metric(at, "Keys moved (add S5)")
    assert not any("could not be replayed" in w.value for w in at.warning)


def test_a_link_with_one_bad_change_keeps_the_others():
    at = open_page(PAGE, {"keys": "1000", "changes": "add:S5:1;remove:S9;add:S6:2"})
    warnings = [w.value for w in at.warning]
    assert len(warnings) == 1 and "remove:S9" in warnings[0] and "other changes were kept" in warnings[0]
    assert at.query_params["changes"] == "add:S5:1;add:S6:2"
    assert metric(at, "Keys moved (add S6 (weight 2))")


def test_controls_that_do_not_apply_are_disabled_and_captions_follow_the_drawing():
    ring = open_page(PAGE, {"keys": "1000"})
    assert not ring.slider(key="hashing.vnodes").disabled and ring.slider(key="hashing.load_factor").disabled
    caption = next(c.value for c in ring.caption if "points on the ring" in c.value)
    assert "too short to see" in caption and "diamonds" not in caption  # 400 points, no change yet
    apply_change(ring)
    caption = next(c.value for c in ring.caption if "points on the ring" in c.value)
    assert "vermillion" in caption and " red " not in caption
    modulo = open_page(PAGE, {"keys": "1000", "scheme": "modulo"})
    assert modulo.slider(key="hashing.vnodes").disabled and modulo.slider(key="hashing.load_factor").disabled
    assert any("has no virtual nodes" in c.value for c in modulo.caption)
