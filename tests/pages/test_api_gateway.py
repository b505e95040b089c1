"""AppTest for the API gateway page: the figures shown equal an independent run of the engine."""

import pytest

from lessons.api_gateway import SCENARIOS as GATEWAY_PRESETS
from sdcore.ratelimit.gateway import Gateway, gateway_traffic
from tests.pages.conftest import metric, open_page

PAGE = "pages/api_gateway.py"


def engine_counts(rules: str, clients, duration: int, seed: int = 0) -> dict[int, int]:
    gw = Gateway(rules)
    out = {200: 0, 429: 0, 403: 0}
    for r in gateway_traffic(clients, duration, seed):
        out[gw.check(r).status] += 1
    return out


@pytest.mark.parametrize("preset", list(GATEWAY_PRESETS))
def test_every_preset_shows_the_engines_counts(preset):
    at = open_page(PAGE, {"preset": preset, "duration": "20"})
    p = GATEWAY_PRESETS[preset]
    counts = engine_counts(p.rules, p.clients, 20)
    assert metric(at, "Requests") == f"{sum(counts.values()):,}"
    assert metric(at, "Limited (429)") == f"{counts[429]:,}"
    assert metric(at, "Denied (403)") == f"{counts[403]:,}"
    text = " ".join(m.value for m in at.markdown)
    if "users" in p.clients:
        assert "**users**: 100% served" in text
    if "attacker" in p.clients:
        assert "**attacker**: 0% served" in text


def test_invalid_rules_show_the_line_and_keep_the_last_valid_results():
    at = open_page(PAGE, {"duration": "10"})
    before = metric(at, "Requests")
    at.text_area[0].set_value(
        "domain: api\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: week, requests_per_unit: 5}\n"
    )
    at.run()
    assert any("line 4: unit must be one of" in e.value for e in at.error)
    assert any("last rules that were valid" in w.value for w in at.warning)
    assert metric(at, "Requests") == before


def test_editing_rules_changes_the_outcome():
    """A per-address limit of 1/s throttles everyone; the page's 429 count follows the engine."""
    at = open_page(PAGE, {"preset": "Crawler vs users", "duration": "10"})
    tight = "domain: d\ndescriptors:\n  - key: remote_address\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
    at.text_area[0].set_value(tight)
    at.run()
    counts = engine_counts(tight, ("users", "crawler"), 10)
    assert metric(at, "Limited (429)") == f"{counts[429]:,}"
    assert at.selectbox[0].value == "Custom"


def test_request_inspector_shows_the_http_response_and_states():
    at = open_page(PAGE, {"preset": "Deny-listed attacker", "duration": "10", "ietf": "true"})
    reqs = gateway_traffic(GATEWAY_PRESETS["Deny-listed attacker"].clients, 10, 0)
    gw = Gateway(GATEWAY_PRESETS["Deny-listed attacker"].rules)
    decisions = [gw.check(r) for r in reqs]
    i = next(k for k, d in enumerate(decisions) if d.status == 429)
    chosen = at.selectbox[0].value
    at.slider[1].set_value(i).run()
    code = at.code[0].value
    assert code.startswith("HTTP/1.1 429 Too Many Requests")
    assert f"Retry-After: {decisions[i].headers()['Retry-After']}" in code and "RateLimit-Policy" in code
    assert at.selectbox[0].value == chosen  # moving the inspector does not change the experiment
    assert at.query_params["request"] == str(i)
    states = next(
        t.value for t in at.table if "verdict" in t.value.columns
    )  # a fitted table: every column shown
    assert list(states["verdict"]) == ["over the limit"]


def test_no_clients_and_bad_url():
    at = open_page(PAGE, {"clients": "users,robots", "duration": "9999"})
    notices = " ".join(w.value for w in at.warning)
    assert "robots" in notices and "duration" in notices
    at.multiselect[0].set_value([]).run()
    assert any("at least one client" in w.value for w in at.warning)


def test_a_typo_in_a_descriptor_key_is_warned_about_not_silently_ignored():
    """`remote_adress` is carried by no request: the limit never applies, and the page says so (with the
    keys the requests do carry) instead of serving 100% in silence."""
    typo = "domain: d\ndescriptors:\n  - key: remote_adress\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
    at = open_page(PAGE, {"preset": "Crawler vs users", "duration": "10"})
    at.text_area[0].set_value(typo).run()
    warning = " ".join(w.value for w in at.warning)
    assert "`remote_adress`" in warning and "never applies" in warning and "`remote_address`" in warning
    assert metric(at, "Limited (429)") == "0"
    exact = "domain: d\ndescriptors:\n  - key: endpoint\n    value: /nowhere\n    rate_limit: {unit: second, requests_per_unit: 1}\n"
    at.text_area[0].set_value(exact).run()
    assert any("matched no request in this run" in w.value for w in at.warning)


def test_a_request_beyond_the_run_is_clamped_with_a_notice():
    at = open_page(PAGE, {"duration": "10", "request": "100000"})
    n = int(metric(at, "Requests").replace(",", ""))
    assert any("asks for request 100,000" in w.value and f"has {n:,} requests" in w.value for w in at.warning)
    assert (
        at.number_input(key="gateway.request").value == n - 1
        if any(x.key == "gateway.request" for x in at.number_input)
        else at.slider(key="gateway.request").value == n - 1
    )


def test_a_rerun_draws_no_figure_and_runs_nothing_again(monkeypatch):
    """The run, its summary and its figures are shared: a rerun with nothing changed recomputes none."""
    from collections import Counter

    from sdcore.charts import gateway as charts
    from sdcore.ratelimit import gateway

    calls = Counter()
    for module, name in ((charts, "outcome_figure"), (charts, "timeline_figure"), (gateway, "run_gateway")):
        real = getattr(module, name)
        monkeypatch.setattr(
            module, name, lambda *a, _real=real, _name=name, **k: calls.update([_name]) or _real(*a, **k)
        )
    at = open_page(PAGE, {"duration": "17", "seed": "5"})
    drawn = dict(calls)
    assert drawn == {"run_gateway": 1, "outcome_figure": 2, "timeline_figure": 1}
    at.run()
    assert not at.exception and dict(calls) == drawn
