"""What the server connects to, watched from inside: a real `streamlit run app.py` with an audit hook
(tests/netguard/sitecustomize.py) that records every socket connect and name lookup, driven by Chromium.

Invariants: from start to a first page, and through every page, the server connects only to loopback
addresses and looks up no name but loopback ones (no external-IP lookup, no telemetry); it listens on
127.0.0.1 only; a link that names a Redis outside the operator's allow-list makes no connection at all.
"""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from tests.browser.conftest import ROOT, server_log, start_app

pytestmark = pytest.mark.browser
LOOPBACK = ("127.", "'127.", "::1", "'::1'", "localhost", "'localhost'")
PAGES = (
    "",
    "consistent_hashing",
    "rate_limiter",
    "api_gateway",
    "distributed_rate_limiting",
    "kv_quorum",
    "kv_cluster",
)


@pytest.fixture(scope="module")
def watched_server(tmp_path_factory):
    log = tmp_path_factory.mktemp("net") / "net.jsonl"
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(ROOT / "tests" / "netguard"), str(ROOT)]),
        "SDS_NET_LOG": str(log),
    }
    env.pop("SDS_REDIS_ALLOWED", None)
    proc, url = start_app(env, cli_address=False)
    port = int(url.rsplit(":", 1)[1])
    yield url, log, port
    proc.terminate()
    proc.wait(timeout=10)
    out = server_log(proc)
    assert "URL:" in out  # what it prints at start, so the check below reads the real output
    assert "External URL" not in out and "Network URL" not in out, out


def _records(log: Path) -> list[dict]:
    return [json.loads(line) for line in log.read_text().splitlines()] if log.exists() else []


def _outside(records: list[dict]) -> list[dict]:
    return [
        r for r in records if not any(r["target"].lstrip("('\"").startswith(p.strip("'")) for p in LOOPBACK)
    ]


def test_the_server_listens_on_loopback_only(watched_server):
    _, _, port = watched_server
    addresses = {a[4][0] for a in socket.getaddrinfo(socket.gethostname(), None) if a[0] == socket.AF_INET}
    others = [a for a in addresses if not a.startswith("127.")]
    for address in others:  # every non-loopback address of this machine refuses the port
        with pytest.raises(OSError), socket.create_connection((address, port), timeout=1):
            pass


def test_no_connection_leaves_the_machine_on_any_page(watched_server, page):
    url, log, _ = watched_server
    for name in PAGES:
        page.goto(f"{url}/{name}")
        page.locator('[data-testid="stMainBlockContainer"]').first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
    records = _records(log)
    assert _outside(records) == []


def test_a_link_to_a_redis_outside_the_allow_list_connects_nowhere(watched_server, page):
    url, log, _ = watched_server
    before = len(_records(log))
    for host in ("10.255.255.1", "192.0.2.77", "redis.example.com"):
        page.goto(f"{url}/distributed_rate_limiting?redis_url=redis://{host}:6379/0")
        page.locator('[data-testid="stMainBlockContainer"]').first.wait_for(timeout=30_000)
        page.wait_for_timeout(1500)
    new = _records(log)[before:]
    assert not [
        r for r in new if any(h in r["target"] for h in ("10.255.255.1", "192.0.2.77", "example.com"))
    ]
