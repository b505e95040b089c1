"""The page kit on a small script of its own: widgets drawn from their Param, URL round trips with a bad
value falling back with a notice, clamping, the page ending's recap record and the step control."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():  # runs inside AppTest: imports are local
    import streamlit as st

    from lessons.base import Headline, Param, Preset
    from ui import stepper
    from ui.ending import page_end
    from ui.params import PageParams

    params = (
        Param("n", 3, lo=1, hi=7, label="N: replicas", help="How many copies."),
        Param("r", 2, lo=1, hi=7, label="R: read quorum"),
        Param("mode", "a", options=("a", "b"), labels={"a": "Alpha", "b": "Beta"}, label="Mode"),
        Param("rate", 1.5, lo=0.5, hi=9.5, step=0.5, label="Rate"),
        Param("on", False, label="Switch"),
    )
    presets = (Preset("Small", "Three copies.", {"n": 3}), Preset("Big", "Seven copies.", {"n": 7, "r": 4}))
    P = PageParams("kit", params, presets, "Small")
    P.preset_row()
    n = P.widget("n")
    P.clamp("r", min(P.value("r"), n), "R was lowered to N" if P.value("r") > n else None)
    P.widget("r", hi=n)
    P.widget("mode")
    P.widget("rate")
    P.widget("on")
    P.sync()
    stepper.play_toggle("kit.play")
    stepper.animate("kit.play", lambda: st.write(f"step {stepper.step_buttons('kit.cursor', 5) + 1}"),
                    stepper.advance_steps("kit.cursor", 5))  # fmt: skip
    page_end(P, title="Kit", why="Because.", try_this=("Try it.",), headlines=(Headline("Copies", str(n)),))


def run(query=None) -> AppTest:
    at = AppTest.from_function(_script, default_timeout=30)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    return at.run()


def test_widgets_take_label_bounds_options_and_help_from_their_param():
    at = run()
    assert not at.exception
    n = at.slider(key="kit.n")
    assert (n.label, n.min, n.max, n.value, n.help) == ("N: replicas", 1, 7, 3, "How many copies.")
    assert at.slider(key="kit.r").max == 3  # the override: R never above N
    assert at.selectbox(key="kit.mode").options == ["Alpha", "Beta"]
    rate = at.slider(key="kit.rate")
    assert (rate.min, rate.max, rate.step) == (0.5, 9.5, 0.5)
    assert at.toggle(key="kit.on").value is False
    assert "Three copies." in at.info[0].value


def test_the_url_carries_preset_and_changes_and_a_bad_value_falls_back_with_a_notice():
    at = run({"preset": "Big", "r": "99"})
    assert at.slider(key="kit.n").value == 7
    assert at.slider(key="kit.r").value == 4  # 99 is out of range: the preset's value
    assert any("r = `99`" in w.value and "using `4`" in w.value for w in at.warning)
    assert dict(at.query_params) == {"preset": "Big"}


def test_editing_a_widget_switches_to_custom_and_lands_in_the_url():
    at = run()
    at.slider(key="kit.rate").set_value(3.0).run()
    assert at.selectbox(key="kit._preset").value == "Custom"
    assert at.query_params["rate"] == "3"


def test_clamp_writes_the_engine_value_back_with_its_sentence():
    at = run({"preset": "Big"})
    at.slider(key="kit.n").set_value(2).run()
    assert at.slider(key="kit.r").value == 2
    assert any("R was lowered to N" in w.value for w in at.warning)


def test_page_end_records_the_experiment_for_the_recap():
    at = run({"preset": "Big"})
    rec = at.session_state["_recap"]["kit"]
    assert (rec.preset, rec.custom, rec.query) == ("Big", False, {"preset": "Big"})
    assert rec.headlines == (("Copies", "7"),)
    assert rec.link.endswith("?preset=Big")
    assert [e.label for e in at.expander] == ["Why it behaves this way", "Try this"]


def test_step_buttons_move_the_cursor_within_bounds():
    at = run()
    assert any("step 1" in m.value for m in at.markdown)
    at.button(key="kit.next").click().run()
    at.button(key="kit.next").click().run()
    assert any("step 3" in m.value for m in at.markdown)
    for _ in range(5):
        at.button(key="kit.back").click().run()
    assert any("step 1" in m.value for m in at.markdown)


def test_a_new_link_in_the_same_session_wins_and_an_empty_query_keeps_the_values():
    at = run()
    at.slider(key="kit.rate").set_value(3.0).run()
    at.query_params.clear()
    at.run()  # navigating back to the page: no query, the session's values stay
    assert at.slider(key="kit.rate").value == 3.0
    assert dict(at.query_params) == {"preset": "Small", "rate": "3"}  # the page wrote its state back
    at.query_params.clear()
    at.query_params["preset"] = "Big"
    at.run()  # a different link (a bundle's restore link) opened in this session
    assert at.slider(key="kit.n").value == 7 and at.slider(key="kit.rate").value == 1.5


def test_every_widget_is_drawn_with_its_current_value_as_its_default():
    """A browser that mounts a widget afresh shows the element's default and sends it back on the next rerun
    (a click during the first run did that): with the widget minimum as default, sliders fell to 1."""
    at = run({"preset": "Big", "rate": "4.5", "mode": "b"})
    assert list(at.slider(key="kit.n").proto.default) == [7]
    assert list(at.slider(key="kit.r").proto.default) == [4]
    assert list(at.slider(key="kit.rate").proto.default) == [4.5]
    assert at.selectbox(key="kit.mode").proto.default == 1  # "b", not the first option
    at.slider(key="kit.rate").set_value(3.0).run()
    assert list(at.slider(key="kit.rate").proto.default) == [3.0]  # follows the student's move
    at.toggle(key="kit.on").set_value(True).run()
    assert at.toggle(key="kit.on").proto.default is True
    assert at.slider(key="kit.rate").value == 3.0 and not at.exception
