"""The interview-recap lesson: the four steps and their time boxes, estimates with their arithmetic, the
timer on a fake clock, one recap line per page, the Markdown export, and the bundle link (round trip and
rejection of anything it did not write)."""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from pathlib import Path

import pytest

from lessons import interview_recap as L
from sdcore.scale import bandwidth_from_qps, format_bytes, qps_from_dau, servers_for, storage_per_year

ROOT = Path(__file__).resolve().parents[2]


def values(preset: str = L.DEFAULT_PRESET, **changes) -> dict:
    v = {p.name: p.default for p in L.PARAMS}
    v.update(L.PRESETS[preset].values)
    v.update(changes)
    return v


class FakeClock:
    def __init__(self, now: float = 1_000.0):
        self.now = now

    def __call__(self) -> float:
        return self.now


# -- words ------------------------------------------------------------------------------------------------


def test_four_steps_with_their_time_boxes_in_about_45_minutes():
    assert [(s.lo, s.hi) for s in L.STEPS] == [(5, 10), (10, 15), (10, 25), (3, 5)]
    assert [s.name for s in L.STEPS] == [
        "Understand the problem and agree the scope",
        "High-level design",
        "Deep dive",
        "Wrap-up",
    ]
    assert L.TOTAL_MINUTES == 45 and all(s.lo <= s.budget <= s.hi for s in L.STEPS)
    assert L.step_heading(2) == "3 · Deep dive (10–25 min)"
    assert "7 + 13 + 20 + 5 = 45 minutes" in L.time_boxes()
    for s in L.STEPS:
        text = L.say_markdown(s)
        assert s.goal in text and text.count("\n- ") == len(s.say) and len(s.say) >= 3
    assert [p.name for p in L.WRAP_UP] == ["Bottlenecks", "Failure modes", "Monitoring", "Roll-out plan"]


def test_every_topic_is_a_page_with_the_page_id_its_script_uses():
    """The recap finds a page by the id its PageParams records: the registry must name the same id."""
    for t in L.TOPICS:
        source = (ROOT / t.path).read_text()
        ids = re.findall(r'PageParams\(\s*"(\w+)"', source)
        assert ids == [t.page_id], t.path
        assert t.question and t.title and t.url_path == Path(t.path).stem
        lesson = L._lesson(t.page_id)
        assert L.preset_names(t.page_id) and lesson.DEFAULT_PRESET in L.preset_names(t.page_id)
    assert set(L.RECAP_LINES) == set(L.TOPIC)
    assert re.findall(r"PageParams\(\s*L.PAGE_ID", (ROOT / L.PAGE_PATH).read_text())


def test_params_and_presets():
    for p in L.PARAMS:
        if p.widget:
            assert p.label and p.help
    for preset in L.PRESETS.values():
        assert preset.description
        for name, value in preset.values.items():
            p = L.PARAM[name]
            assert (value in p.options) if p.options else (p.lo <= value <= p.hi), (preset.name, name)
        L.estimates(values(preset.name))  # every preset is a valid estimate
    assert L.users_text(150_000_000) == "150 million" and L.users_text(100_000) == "100 thousand"


# -- estimates ----------------------------------------------------------------------------------------------


def test_estimates_are_sdcores_and_show_their_arithmetic():
    v = values()
    e = L.estimates(v)
    q = qps_from_dau(10_000_000, 20, 2.0)
    assert e.qps == q
    assert e.storage == storage_per_year(10_000_000, 2, 1_000, 3, 5)
    assert e.bandwidth == bandwidth_from_qps(q.peak_qps, 10_000)
    assert e.servers == servers_for(q.peak_qps, 1_000, 0.6)
    blocks = dict(L.estimate_blocks(e))
    assert blocks["Requests per second"] == q.arithmetic
    assert (
        blocks["Requests per second"][1]
        == "200,000,000 requests ÷ 86,400 s per day = 2,315 requests/s on average"
    )
    assert blocks["Storage"][-1] == "7.3 TB × 3 replicas × 5 years = 110 TB stored"
    assert blocks["Servers"][0].endswith("→ 8 servers")
    heads = {h.label: h for h in L.estimate_headlines(e)}
    assert heads["Peak requests/s"].value == "4,630" and heads["Peak requests/s"].delta == "average 2,315"
    assert heads["Stored"].value == format_bytes(e.storage.total_bytes) == "110 TB"
    assert heads["Web servers"].value == "8"


def test_design_notes_follow_the_numbers():
    big = L.design_notes(L.estimates(values()))  # 110 TB: more than one node
    assert big[0].startswith("**Web tier:** 8 stateless servers") and "4,630 requests/s" in big[0]
    assert "does not fit one machine" in big[1] and "at least 11 nodes" in big[1]
    small = L.design_notes(L.estimates(values(dau=100_000)))
    assert "fits one primary" in small[1]
    heavy = L.design_notes(L.estimates(values("Twitter-scale timeline")))
    assert "more than a 10 Gbit/s card" in heavy[2]
    with pytest.raises(ValueError, match="target_utilization"):
        L.estimates(values(target_utilization=0.0))


# -- the timer ----------------------------------------------------------------------------------------------


def test_timer_counts_down_each_step_on_a_fake_clock():
    clock = FakeClock()
    t = L.Timer()
    assert not t.running and t.status(clock).step == 0
    assert "(not started)" in L.timer_sentence(
        t.status(clock)
    ) and "7:00 left of its 7 min" in L.timer_sentence(t.status(clock))
    t = t.start(clock)
    clock.now += 60.5
    s = t.status(clock)
    assert s.running and s.step == 0 and L.clock_text(s.left_in_step) == "6:00"
    assert "45:00" not in L.timer_sentence(s) and "44:00 left of 45 min" in L.timer_sentence(s)
    clock.now += 7 * 60  # 8 min in: the high-level design
    s = t.status(clock)
    assert s.step == 1 and L.clock_text(s.left_in_step) == "12:00"
    assert L.timer_sentence(s).startswith("**Step 2 of 4 · High-level design**:")
    t = t.stop(clock)
    clock.now += 600  # stopped: the clock does not move
    s = t.status(clock)
    assert not s.running and s.elapsed == pytest.approx(8 * 60 + 0.5) and "(paused)" in L.timer_sentence(s)
    t = t.start(clock)
    assert t.start(clock) == t  # starting a running clock changes nothing
    clock.now += 40 * 60
    s = t.status(clock)
    assert s.done and s.left_total == 0 and s.step == 3 and L.timer_sentence(s).startswith("**Time is up")
    assert L.clock_text(125.2) == "2:06" and L.clock_text(0) == "0:00" and L.clock_text(-3) == "0:00"


# -- the recap ----------------------------------------------------------------------------------------------

# One figure per page, under the labels the pages record (their headlines).
FIGURES = {
    "hashing": (("Keys moved", "20.1%"), ("Busiest server / fair share", "1.05×")),
    "ratelimit": (("Requests in the trace", "16,902"), ("Token bucket: admitted", "56.1%")),
    "gateway": (("Requests", "5,452"), ("Served (200)", "2,782"), ("Limited (429)", "2,206"),
                ("Denied (403)", "464")),
    "distributed": (("Local: worst client", "38.3"), ("Worst case M × limit", "40"), ("Shared Redis", "10.0"),
                    ("Synced 0.5 s: worst client", "28.6")),
    "kv": (("Stale reads at commit, random quorums (closed form)", "0.0%"),
           ("Read latency, median · p99.9", "0.51 · 1.61 ms"), ("Write latency, median · p99.9", "0.51 · 1.62 ms")),
    "kvc": (("Requests failed", "0 of 6"), ("Stale gets", "0"), ("Most siblings in a get", "1"),
            ("Hints delivered", "0 of 0")),
    "kvh": (("Crash noticed after (mean)", "9.1 rounds"), ("Slowest live node", "11 rounds"),
            ("False suspicions", "0"), ("Hashes compared", "57"), ("Keys streamed", "128"),
            ("The deleted key", "stays deleted")),
    "kvs": (("Write amp., size-tiered", "4.6×"), ("Space amp., size-tiered", "2.07×"),
            ("Disk reads/get, size-tiered", "0.56"), ("Bloom false positives", "0.84%")),
    "sharding": (("Busiest shard (reads)", "1.39× mean"), ("Rows moved, 8 → 9 shards", "12.9%"),
                 ("Hottest key's share", "9.4%")),
    "feed": (("Writes per post", "15.8"), ("Lists per feed load", "1.0"), ("Last follower after", "333 ms"),
             ("Load time p99", "1.0 ms")),
    "res": (("No breaker: Answered", "74.9%"), ("Breaker + fallback: Answered", "100.0%"),
            ("No breaker: p99 latency", "708 ms"), ("Breaker + fallback: p99 latency", "142 ms")),
    "scale": (("Peak load", "1,736/s"), ("Bottleneck", "Web servers"), ("Availability", "99.949%"),
              ("Monthly cost", "$7,493"), ("Breaks at", "≈ 12.7 million users"),
              ("Requests failed in the drill", "0.21%")),
}  # fmt: skip


@dataclass(frozen=True)
class Record:  # what ui.ending.PageRecord holds, read by attribute
    page_id: str
    title: str
    preset: str
    custom: bool
    query: dict
    link: str
    headlines: tuple


def experiment(page_id: str, query: dict | None = None) -> L.Experiment:
    preset = L._lesson(page_id).DEFAULT_PRESET
    query = query or {"preset": preset}
    return L.Experiment(page_id, L.TOPIC[page_id].title, query.get("preset", preset), len(query) > 1, query,
                        f"http://h/{L.TOPIC[page_id].url_path}?x=1", FIGURES[page_id])  # fmt: skip


def test_every_page_gets_a_line_with_its_measured_figures():
    for page_id, figures in FIGURES.items():
        line = L.recap_line(experiment(page_id))
        assert line.choice and line.guarantees and line.costs and line.measured, page_id
        for _, value in figures:
            assert value in line.measured, (page_id, value)
        text = L.line_markdown(experiment(page_id))
        assert "Guarantees" in text and "costs" in text and "Measured:" in text
        unmeasured = L.line_markdown(L.Experiment(page_id, "t", "p", False, {}, "?"))
        assert "Not measured in this session yet" in unmeasured


def test_lines_say_what_the_choice_guarantees():
    strong = L.recap_line(experiment("kv", {"preset": "Dynamo default (3,2,2)"}))
    assert strong.choice == "N = 3, W = 2, R = 2" and strong.guarantees.startswith("W + R > N")
    weak = L.recap_line(experiment("kv", {"preset": "Dynamo default (3,2,2)", "r": "1"}))
    assert weak.choice == "N = 3, W = 2, R = 1" and "W + R ≤ N" in weak.guarantees
    assert "a read can miss the latest write" in weak.costs
    bad = L.recap_line(
        experiment("kv", {"preset": "no such preset", "r": "banana"})
    )  # as the page falls back
    assert bad.choice == "N = 3, W = 2, R = 2"
    pull = L.recap_line(experiment("feed", {"preset": "Ordinary user posts", "strategy": "pull"}))
    assert pull.choice == "Pull (fanout on read)" and pull.guarantees == "a post is a single write"
    rl = L.recap_line(experiment("ratelimit"))  # the flash sale: a token bucket against a bigger one
    assert rl.choice == (
        "Token bucket with a bucket of 100 refilled at 100/s, against Token bucket with a bucket of 500 "
        "refilled at 100/s"
    )
    assert rl.measured == "admitted 56.1% (Token bucket) of 16,902 requests"
    edge = L.recap_line(experiment("ratelimit", {"preset": "Burst across the window edge"}))
    assert edge.choice.startswith("Fixed window counter with 10 per 1 s") and "twice the limit" in edge.costs
    grown = L.recap_line(experiment("scale", {"preset": "A million users", "cdn": "true"}))
    assert "static assets on a CDN" in grown.choice


def test_session_experiments_come_from_the_records_and_leave_the_recap_out():
    records = {
        "kv": Record("kv", "Key-value store: quorums", "Dynamo default (3,2,2)", False,
                     {"preset": "Dynamo default (3,2,2)"}, "?preset=x", FIGURES["kv"]),
        "recap": Record("recap", L.TITLE, L.DEFAULT_PRESET, False, {}, "?", ()),
        "res": Record("res", "Resilience", "Dependency outage", True, {"preset": "Dependency outage", "wait": "9"},
                      "?preset=y", FIGURES["res"]),
    }  # fmt: skip
    got = L.session_experiments(records)
    assert [e.page_id for e in got] == ["kv", "res"]
    assert got[1].custom and got[1].figures == FIGURES["res"] and got[1].query["wait"] == "9"
    assert L.session_experiments({}) == ()


def test_markdown_export_holds_each_pages_figures_and_is_escaped():
    exps = [experiment(page_id) for page_id in FIGURES]
    hostile = L.Experiment("kv", "ignored", "[click](http://evil.example) <script>alert(1)</script> *x* | y",
                           True, {"preset": "Dynamo default (3,2,2)"}, "http://h/kv?a=1) [x](y",
                           (("<b>bold</b> | pipe", "*stars* `tick`"),))  # fmt: skip
    md = L.recap_markdown([*exps, hostile], "http://h/interview_recap?bundle=abc", L.estimates(values()))
    for e in exps:
        assert f"## {L.md_escape(e.topic.title)}" in md
        for label, value in e.figures:
            row = f"| {L.md_escape(label, 120)} | {L.md_escape(value, 120)} |"
            assert row in md, (e.page_id, row)
    assert "<script>" not in md and "<b>" not in md and "[click](" not in md and "http://evil" not in md
    assert r"\<script\>" in md and r"\*stars\* \`tick\`" in md and r"\<b\>bold\</b\> \| pipe" in md
    assert "[Open this experiment](http://h/kv?a=1%29%20%5Bx%5D%28y)" in md
    assert "<http://h/interview_recap?bundle=abc>" in md
    assert "200,000,000 requests ÷ 86,400 s per day = 2,315 requests/s on average" in md
    assert "No experiments in this session yet." in L.recap_markdown([], None)
    rows = L.recap_rows(exps)
    assert len(rows) == sum(len(f) for f in FIGURES.values()) and rows[0]["figure"] == "Keys moved"


def test_wrap_up_quotes_what_this_session_measured():
    scale = experiment("scale")
    text = L.wrap_up_markdown(L.WRAP_UP[0], [scale])
    assert "Bottleneck Web servers (Scale to millions)" in text and "You measured" in text
    assert "You measured" not in L.wrap_up_markdown(L.WRAP_UP[0], [])


# -- the bundle ---------------------------------------------------------------------------------------------


def test_bundle_round_trip_restores_every_page_link():
    exps = [experiment(p, {"preset": L._lesson(p).DEFAULT_PRESET, **({"r": "1"} if p == "kv" else {})})
            for p in FIGURES]  # fmt: skip
    token, left = L.encode_bundle(exps)
    assert not left and len(token) <= L.BUNDLE_MAX_CHARS and re.fullmatch(r"[A-Za-z0-9_-]+", token)
    bundle = L.decode_bundle(token)
    assert not bundle.notices and bundle.queries == {e.page_id: e.query for e in exps}
    url = L.bundle_url("http://127.0.0.1:8501/interview_recap", token)
    assert url == f"http://127.0.0.1:8501/interview_recap?bundle={token}"
    assert (
        L.bundle_url("https://x.org/sandbox/interview_recap", "t")
        == "https://x.org/sandbox/interview_recap?bundle=t"
    )
    restored = L.bundled_experiments(bundle, "http://127.0.0.1:8501/interview_recap")
    kv = next(e for e in restored if e.page_id == "kv")
    assert kv.link == "http://127.0.0.1:8501/kv_quorum?preset=Dynamo+default+%283%2C2%2C2%29&r=1"
    assert kv.custom and not kv.figures and kv.preset == "Dynamo default (3,2,2)"
    assert L.recap_line(kv).choice == "N = 3, W = 2, R = 1" and L.recap_line(kv).measured is None
    merged = L.merged([experiment("kv")], restored)
    assert [e.page_id for e in merged].count("kv") == 1 and merged[0].figures  # this session's run wins


def test_a_bundle_too_long_for_one_link_leaves_pages_out():
    long = experiment("kvc", {"preset": L._lesson("kvc").DEFAULT_PRESET, "timeline": "0 put k v\n" * 400})
    token, left = L.encode_bundle([experiment("kv"), long, experiment("res")])
    assert left == (L.TOPIC["kvc"].title,) and set(L.decode_bundle(token).queries) == {"kv", "res"}
    assert "Left out of the bundle" in L.left_out_sentence(left)


def b64(obj) -> str:
    raw = obj if isinstance(obj, bytes) else json.dumps(obj).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


@pytest.mark.parametrize(
    "token, notice",
    [
        ("not base64!", "damaged"),
        ("%%%", "damaged"),
        (b64(b"\xff\xfe not utf-8"), "damaged"),
        (b64(b"{not json"), "damaged"),
        (b64([1, 2, 3]), "damaged"),
        (b64(b"null"), "damaged"),
        (b64(b"[" * 1500 + b"]" * 1500), "damaged"),  # deeper than the parser goes
        (b64({}), "holds no experiment"),
        (b64({"nope": {"preset": "x"}}), "does not have"),
        (b64({"kv": "preset=x"}), "are damaged"),
        (b64({"kv": {"preset": 3}}), "are damaged"),
        (b64({"kv": {"x" * 60: "1"}}), "are damaged"),
        (b64({"kv": {f"p{i}": "1" for i in range(50)}}), "are damaged"),
        ("A" * (L.BUNDLE_MAX_CHARS + 1), "at most 4,096"),
    ],
)
def test_garbage_and_huge_bundles_give_a_notice_not_an_exception(token, notice):
    bundle = L.decode_bundle(token)
    assert not bundle.queries and bundle.notices
    if notice:
        assert any(notice in n for n in bundle.notices), bundle.notices


def test_a_bundle_naming_too_many_pages_keeps_the_first_twenty():
    data = {f"x{i}": {} for i in range(25)} | {"kv": {"preset": "Five replicas"}}
    bundle = L.decode_bundle(b64(data))
    assert not bundle.queries  # kv is the 26th entry: beyond the cap
    assert any("only the first 20" in n for n in bundle.notices)
    ok = L.decode_bundle(b64({"kv": {"preset": "Five replicas"}, "zz": {}}))
    assert ok.queries == {"kv": {"preset": "Five replicas"}} and any("does not have" in n for n in ok.notices)


def test_bundled_unknown_preset_is_shown_as_the_pages_default():
    exps = L.bundled_experiments(L.Bundle({"kv": {"preset": "[x](y)"}}), "")
    assert exps[0].preset == L._lesson("kv").DEFAULT_PRESET
    assert exps[0].link.startswith("/kv_quorum?preset=%5Bx%5D%28y%29")
