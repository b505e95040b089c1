"""AppTest for the interview recap: the estimates it shows, the clock, and the recap of the pages this session
visited (and only this session's), with the bundle link that brings them back in a new session."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qsl

from streamlit.testing.v1 import AppTest

from lessons import interview_recap as L
from tests.pages.conftest import metric, open_page

PAGE = "pages/interview_recap.py"
ROOT = Path(__file__).resolve().parents[2]


def visit(at: AppTest, page: str, query: dict[str, str] | None = None) -> AppTest:
    """Switch to ``page`` in the same session; the browser clears the query when navigating, AppTest not."""
    at.query_params.clear()
    at.switch_page(page)
    for k, v in (query or {}).items():
        at.query_params[k] = v
    at.run()
    assert not at.exception, [e.message for e in at.exception]
    return at


def lines(at: AppTest) -> list[str]:
    return [m.value for m in at.markdown if "*Guarantees*" in m.value]


def experiment_links(at: AppTest) -> dict[str, dict[str, str]]:
    return {
        link.proto.page: dict(parse_qsl(link.proto.query_string))
        for link in at.get("page_link")
        if "experiment" in link.proto.label
    }


def bundle_token(at: AppTest) -> str:
    code = next(c.value for c in at.code if "bundle=" in c.value)
    return code.split("bundle=", 1)[1]


def test_default_shows_the_estimates_with_their_arithmetic_and_an_empty_recap():
    at = open_page(PAGE)
    assert not at.error and not at.warning
    e = L.estimates({p.name: p.default for p in L.PARAMS})
    for h in L.estimate_headlines(e):
        assert metric(at, h.label) == h.value
    codes = [c.value for c in at.code]
    for _, arithmetic in L.estimate_blocks(e):
        assert "\n".join(arithmetic) in codes
    headers = [h.value for h in at.header]
    assert headers[:4] == [L.step_heading(i) for i in range(4)]
    assert any(i.value == L.NO_EXPERIMENTS for i in at.info) and not lines(at)
    topics = [
        link.proto.page for link in at.get("page_link") if link.proto.label in {t.title for t in L.TOPICS}
    ]
    assert topics == [t.url_path for t in L.TOPICS]
    assert at.get("download_button")


def test_a_preset_and_an_edit_change_the_estimates():
    at = open_page(PAGE, {"preset": "Twitter-scale timeline"})
    v = {p.name: p.default for p in L.PARAMS} | dict(L.PRESETS["Twitter-scale timeline"].values)
    assert metric(at, "Stored") == L.estimate_headlines(L.estimates(v))[1].value
    at.number_input(key="recap.qps_per_server").set_value(250).run()
    assert (
        metric(at, "Web servers") == L.estimate_headlines(L.estimates(v | {"qps_per_server": 250}))[3].value
    )
    assert at.selectbox[0].value == "Custom"


def test_the_recap_lists_this_sessions_pages_with_their_figures_and_no_other_sessions():
    at = open_page("pages/kv_quorum.py", {"preset": "Fast writes (W=1)"})
    kv_stale = metric(at, "Stale reads at commit")
    visit(at, "pages/resilience.py")
    at.selectbox(key="res.fallback").set_value("default").run()  # an edit: the recap says so
    answered = {m.label: m.value for m in at.metric if m.label == "Answered"}
    assert answered
    visit(at, "pages/sharding.py")
    hot = metric(at, "Hottest key's share")
    visit(at, PAGE)
    assert not at.warning
    got = lines(at)
    assert len(got) == 3
    kv, res, sharding = got
    assert kv.startswith("**Key-value store: quorums** (preset “Fast writes (W=1)”)")
    assert "N = 3, W = 1, R = 3" in kv and f"stale at commit {kv_stale}" in kv
    assert "edited" in res and "falling back to default value" in res
    assert f"hottest key {hot}" in sharding.replace("\\", "")
    links = experiment_links(at)
    assert links["kv_quorum"] == {"preset": "Fast writes (W=1)"}
    assert links["resilience"] == {"preset": "Dependency outage", "fallback": "default"}
    assert "You measured" in " ".join(m.value for m in at.markdown)  # the wrap-up quotes the breaker

    other = open_page(PAGE)  # another browser session
    assert not lines(other) and any(i.value == L.NO_EXPERIMENTS for i in other.info)
    assert not experiment_links(other) and not [c for c in other.code if "bundle=" in c.value]

    # The bundle link restores every experiment in a new session.
    token = bundle_token(at)
    fresh = open_page(PAGE, {"bundle": token})
    assert "Experiments from the bundled link" in [s.value for s in fresh.subheader]
    assert experiment_links(fresh) == links
    assert len(lines(fresh)) == 3 and all("Not measured in this session yet" in x for x in lines(fresh))
    assert any(i.value == L.NO_EXPERIMENTS_BUNDLED for i in fresh.info)
    restored = open_page("pages/kv_quorum.py", links["kv_quorum"])
    assert metric(restored, "Stale reads at commit") == kv_stale
    restored = visit(restored, "pages/resilience.py", links["resilience"])
    assert {m.label: m.value for m in restored.metric if m.label == "Answered"} == answered


def test_a_bad_or_huge_bundle_gives_a_notice_not_a_traceback():
    for token, words in (
        ("!!not-a-bundle!!", "damaged"),
        ("eyJub3BlIjp7fX0", "does not have"),  # {"nope":{}}
        ("A" * (L.BUNDLE_MAX_CHARS + 10), "at most 4,096"),
        ("A" * (5 * L.BUNDLE_MAX_CHARS), "longer than"),  # beyond what the URL parameter takes at all
    ):
        at = open_page(PAGE, {"bundle": token})
        assert not at.exception and not at.error
        assert any(words in w.value for w in at.warning), (words, [w.value for w in at.warning])
        assert not lines(at)


def test_the_clock_runs_only_while_started():
    at = open_page(PAGE)
    assert "(not started)" in next(m.value for m in at.markdown if m.value.startswith("**Step 1 of 4"))
    at.toggle(key="recap.timer").set_value(True).run()
    assert not at.exception
    status = next(m.value for m in at.markdown if m.value.startswith("**Step 1 of 4"))
    assert "(not started)" not in status and "(paused)" not in status
    assert at.session_state["recap._timer"].running
    at.toggle(key="recap.timer").set_value(False).run()
    assert "(paused)" in next(m.value for m in at.markdown if m.value.startswith("**Step 1 of 4"))
    at.button(key="recap.reset").click().run()
    assert "(not started)" in next(m.value for m in at.markdown if m.value.startswith("**Step 1 of 4"))

    at.session_state["recap._timer"] = L.Timer(banked=60.0 * L.TOTAL_MINUTES)  # the 45 minutes are up
    at.toggle(key="recap.timer").set_value(True).run()
    assert not at.exception
    assert at.toggle(key="recap.timer").value is False  # the clock stops and the toggle switches itself off
    assert not at.session_state["recap._timer"].running
    assert any(m.value.startswith("**Time is up") for m in at.markdown)
