"""Counts in the pages' sentences agree with their nouns at one ("1 points", "1 messages were lost")."""

from __future__ import annotations

from lessons import kv_cluster
from lessons.consistent_hashing import ring_caption
from lessons.rate_limiter import zoom_label
from sdcore.kvstore.scenario import run_scenario


def test_one_point_and_one_window():
    assert ring_caption(1, False).startswith("1 point on the ring;")
    assert ring_caption(300, False).startswith("300 points on the ring;")
    assert (zoom_label(1), zoom_label(3), zoom_label(0)) == ("1 window", "3 windows", "whole trace")


def test_one_lost_message_was_lost_and_one_request_timed_out(monkeypatch):
    run = run_scenario(kv_cluster.PRESETS["Dynamo default, healthy"])
    counts = {**run.summary(), "lost_messages": 1, "timeouts": 1, "hints_stored": 1, "repaired": 1}
    monkeypatch.setattr(type(run), "summary", lambda self: counts)
    text = kv_cluster.explanation(run)
    assert "1 message was lost" in text and "1 request timed out" in text
    assert "1 hinted write," in text and "updated 1 stale replica." in text
    counts.update(lost_messages=2, timeouts=0)
    text = kv_cluster.explanation(run)
    assert "2 messages were lost" in text and "0 requests timed out" in text
