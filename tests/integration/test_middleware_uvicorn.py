"""The middleware behind a real uvicorn server on a free loopback port, over real HTTP.

Invariants: the example API answers 200 until a rule's limit, then 429 with Retry-After and the
X-Ratelimit headers; 403 for the deny-list and no limit for the allow-list; two servers (two instances
behind a balancer) on one Redis share the limit, while with counters in memory each server admits the
full limit (the synchronization issue, on real servers); with Redis unreachable a fail-closed server
answers 503 and a fail-open one serves; and the README's command (`uvicorn examples.example_api:app`)
starts the example as it says.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest
import uvicorn

from examples.example_api import build_app
from sdcore.ratelimit.live.middleware import RateLimitMiddleware
from sdcore.ratelimit.live.redis_server import free_port
from tests.integration.test_middleware_asgi import NOW, RULES, echo_app

ROOT = Path(__file__).resolve().parents[2]


@contextlib.contextmanager
def serve(app):
    """Run ``app`` on uvicorn in a thread on a free 127.0.0.1 port; yields the base URL."""
    server = uvicorn.Server(
        uvicorn.Config(app, host="127.0.0.1", port=free_port(), log_level="warning", lifespan="on")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def statuses(base: str, path: str, n: int, **kwargs) -> list[httpx.Response]:
    with httpx.Client(base_url=base, timeout=5.0) as c:
        return [c.get(path, **kwargs) for _ in range(n)]


def test_example_api_limits_search_and_reports_headers():
    with serve(build_app({})) as base:
        got = statuses(base, "/search", 12)
        feed = statuses(base, "/feed", 1)[0]
        missing = statuses(base, "/nowhere", 1)[0]
    codes = [r.status_code for r in got]
    # 10 a minute on /search (a sliding window counter: one more at most if a minute boundary passes)
    assert codes[:10] == [200] * 10 and codes[-1] == 429
    first, last = got[0], got[-1]
    assert first.headers["x-ratelimit-limit"] == "10" and first.headers["x-ratelimit-remaining"] == "9"
    assert first.json() == {"results": []}
    assert last.headers["x-ratelimit-remaining"] == "0"
    assert (
        1 <= int(last.headers["retry-after"]) <= 60
        and last.headers["x-ratelimit-retry-after"] == last.headers["retry-after"]
    )
    assert last.json()["decided_by"] == "endpoint=/search > remote_address"
    # /feed is only under the per-address rule (30 a minute): 12 or 13 used by the searches
    assert feed.status_code == 200 and feed.headers["x-ratelimit-limit"] == "30"
    assert missing.status_code == 404 and "x-ratelimit-remaining" in missing.headers


def test_example_api_deny_and_allow_lists_and_users():
    with serve(build_app({})) as base:
        revoked = statuses(base, "/feed", 1, headers={"X-Api-Key": "revoked-key"})[0]
        partner = statuses(base, "/search", 15, params={"api_key": "partner-key"})
        ann = statuses(base, "/login", 6, headers={"X-User-Id": "ann"})
        bob = statuses(base, "/login", 1, headers={"X-User-Id": "bob"})[0]
    assert revoked.status_code == 403 and revoked.json()["error"] == "forbidden"
    assert [r.status_code for r in partner] == [200] * 15
    assert [r.status_code for r in ann][:5] == [200] * 5 and ann[-1].status_code == 429
    assert bob.status_code == 200


def test_example_api_trusts_a_forwarded_header_only_when_told():
    with serve(build_app({"IDENTITY": "X-Forwarded-For"})) as base:
        denied = statuses(base, "/feed", 1, headers={"X-Forwarded-For": "198.18.0.7"})[0]
        a = statuses(base, "/search", 11, headers={"X-Forwarded-For": "203.0.113.1"})
        b = statuses(base, "/search", 1, headers={"X-Forwarded-For": "203.0.113.2"})[0]
    assert denied.status_code == 403
    assert a[-1].status_code == 429 and b.status_code == 200


@pytest.mark.redis
@pytest.mark.parametrize("shared", [True, False])
def test_two_servers_share_the_limit_only_through_redis(redis_server, prefix, shared):
    store = f"redis://{redis_server.host}:{redis_server.port}/0" if shared else "memory"
    apps = [
        RateLimitMiddleware(echo_app, RULES, store=store, prefix=prefix, clock=lambda: NOW) for _ in range(2)
    ]
    with serve(apps[0]) as a, serve(apps[1]) as b, httpx.Client(timeout=5.0) as c:
        codes = [c.get(f"{(a, b)[i % 2]}/feed").status_code for i in range(12)]  # round robin
    assert codes.count(200) == (5 if shared else 10)  # the limit is 5 a minute per address


@pytest.mark.redis
@pytest.mark.parametrize(("policy", "status"), [("closed", 503), ("open", 200)])
def test_redis_unreachable_through_uvicorn(policy, status):
    app = build_app({"REDIS_URL": f"redis://127.0.0.1:{free_port()}/0", "POLICY": policy})
    with serve(app) as base:
        start = time.perf_counter()
        got = statuses(base, "/feed", 3)
        seconds = time.perf_counter() - start
        denied = statuses(base, "/feed", 1, headers={"X-Api-Key": "revoked-key"})[0]
    assert [r.status_code for r in got] == [status] * 3
    if policy == "closed":
        assert got[0].headers["retry-after"] == "1"
    assert denied.status_code == 403
    assert seconds < 3.0
    assert app.report().degraded == 3


def test_the_readme_command_starts_the_example():
    port = free_port()
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in ("PYTHONPATH", "REDIS_URL", "POLICY", "IDENTITY", "RULES")
    }
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "examples.example_api:app",
            "--port",
            str(port),
            "--host",
            "127.0.0.1",
            "--log-level",
            "warning",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/feed", timeout=1.0)
                break
            except httpx.TransportError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        assert r.status_code == 200 and r.headers["x-ratelimit-limit"] == "30"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
