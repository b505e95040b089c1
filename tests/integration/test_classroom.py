"""The classroom for real: two ``streamlit run app.py`` replicas behind Debian's nginx on free loopback ports.

- nginx sets a route cookie once and hashes it (not the client address: every test client here is
  127.0.0.1, as a class behind one NAT is one address), so one cookie pins the page, the websocket and an
  upload to one replica, while different cookies spread over both;
- the pinning matters: an upload for a session sent to the other replica is refused (Streamlit answers 400
  "Invalid session_id"), the same upload with the session's cookie is accepted;
- two sessions on one replica, and a third on the other, see nothing of each other's state: each sets its
  own scenario timeline on the cluster page, and no session ever receives another's;
- stopping the classroom ends nginx and both replicas and removes its files.

Skips (a failure under CI=true) when nginx or websockets is missing.
"""

from __future__ import annotations

import asyncio
import random
import re
import secrets
import socket
from pathlib import Path

import httpx
import pytest

pytest.importorskip("websockets", reason="websockets is needed by the load test's client (test extra)")

from streamlit.proto.WidgetStates_pb2 import WidgetState  # noqa: E402

from benchmarks.loadtest import StreamlitSession, propose_move  # noqa: E402
from classroom.run import Classroom, free_port, nginx_path, state_path  # noqa: E402

ROUTE = re.compile(r"sds_route=([0-9a-f]{32}); Path=/; HttpOnly; SameSite=Lax")


@pytest.fixture(scope="module")
def room():
    if nginx_path() is None:
        pytest.skip("nginx is not installed (Debian: apt-get install nginx-light); needed for the classroom")
    c = Classroom(2, free_port()).start()
    try:
        yield c
    finally:
        c.stop()


def _replica_of(room: Classroom, route: str) -> str:
    r = httpx.get(f"{room.url}/_stcore/health", cookies={"sds_route": route}, trust_env=False, timeout=30)
    assert r.status_code == 200 and "sds_route" not in r.headers.get("set-cookie", "")
    return r.headers["x-sds-replica"]


def _routes_by_replica(room: Classroom, n: int = 32) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for _ in range(n):
        route = secrets.token_hex(16)
        out.setdefault(_replica_of(room, route), []).append(route)
    return out


def test_nginx_sets_a_route_cookie_and_one_cookie_pins_one_replica(room):
    replicas = {f"{r.host}:{r.port}" for r in room.replicas}
    first = httpx.get(f"{room.url}/", trust_env=False, timeout=30)
    assert first.status_code == 200
    route = ROUTE.fullmatch(first.headers["set-cookie"]).group(1)
    assert first.headers["x-sds-replica"] in replicas
    seen = set()
    with httpx.Client(base_url=room.url, cookies={"sds_route": route}, trust_env=False, timeout=30) as http:
        for path in ("/", "/consistent_hashing", "/_stcore/health", "/kv_cluster", "/_stcore/host-config"):
            r = http.get(path)
            assert r.status_code == 200, path
            assert "sds_route" not in r.headers.get("set-cookie", ""), "a valid cookie is not replaced"
            seen.add(r.headers["x-sds-replica"])
    assert seen == {first.headers["x-sds-replica"]}, "the request that set the cookie was routed by its value"
    spread = _routes_by_replica(room)
    assert set(spread) == replicas, "32 random cookies all hashed to one replica"
    bad = httpx.get(f"{room.url}/", cookies={"sds_route": "../../etc"}, trust_env=False, timeout=30)
    assert ROUTE.fullmatch(bad.headers["set-cookie"]), "a malformed cookie is replaced by a fresh one"


def test_the_websocket_and_an_upload_reach_the_sessions_replica(room):
    spread = _routes_by_replica(room)
    (home_addr, home_routes), (other_addr, other_routes) = sorted(spread.items())

    async def go():
        s = StreamlitSession(room.url, cookies={"sds_route": home_routes[0]}, timeout=60)
        try:
            await s.open("")
            assert s.replica == home_addr and s.ws_replica == home_addr
            assert s.session_id
            results = {}
            async with httpx.AsyncClient(base_url=room.url, trust_env=False, timeout=30) as http:
                health = await http.get("/_stcore/health", headers={"Cookie": f"sds_route={home_routes[0]}"})
                xsrf = health.cookies["_streamlit_xsrf"]
                for name, route in (("home", home_routes[0]), ("other", other_routes[0])):
                    r = await http.put(
                        f"/_stcore/upload_file/{s.session_id}/file-{name}",
                        headers={"Cookie": f"sds_route={route}; _streamlit_xsrf={xsrf}", "X-Xsrftoken": xsrf},
                        files={"file": ("nodes.csv", b"node,weight\nA,1\n", "text/csv")},
                    )
                    results[name] = (r.status_code, r.headers.get("x-sds-replica"), r.text)
            return results
        finally:
            await s.close()

    results = asyncio.run(go())
    assert results["home"][0] in (200, 204) and results["home"][1] == home_addr, results
    assert results["other"][:2] == (400, other_addr), results
    assert "Invalid session_id" in results["other"][2]


def test_sessions_through_nginx_see_nothing_of_each_other(room):
    spread = _routes_by_replica(room)
    (addr_a, routes_a), (addr_c, routes_c) = sorted(spread.items())
    if len(routes_a) < 2:
        (addr_c, routes_c), (addr_a, routes_a) = (addr_a, routes_a), (addr_c, routes_c)
    cookies = {"A": routes_a[0], "B": routes_a[1], "C": routes_c[0]}  # A and B share a replica, C does not
    markers = {name: f"{name.lower()}{secrets.token_hex(6)}" for name in cookies}

    async def go():
        sessions = {
            n: StreamlitSession(room.url, cookies={"sds_route": c}, keep_log=True) for n, c in cookies.items()
        }
        try:
            for s in sessions.values():
                await s.open("kv_cluster")
            for name, s in sessions.items():
                w = s.widget_by_key("kvc.timeline")
                assert w is not None and w.kind == "text_area", sorted(s.widgets)
                state = WidgetState(
                    id=w.proto.id, string_value=f"0 put cart {{{markers[name]}}}\n+10 get cart\n"
                )
                await s.rerun(widget=state)
            for s in sessions.values():  # and once more, after every session has set its own
                slider = next(w for w in s.movable() if w.kind == "slider")
                await s.rerun(widget=propose_move(slider, s.states.get(slider.proto.id), random.Random(1)))
            return {n: (s.ws_replica, b"".join(s.log)) for n, s in sessions.items()}
        finally:
            for s in sessions.values():
                await s.close()

    seen = asyncio.run(go())
    assert seen["A"][0] == seen["B"][0] == addr_a and seen["C"][0] == addr_c
    for name, (_, log) in seen.items():
        assert markers[name].encode() in log, f"session {name} sees its own timeline"
        for other in set(markers) - {name}:
            assert markers[other].encode() not in log, f"session {name} received session {other}'s timeline"


def test_stopping_the_classroom_ends_every_process(room):
    pids = list(room.pids().values())
    prefix, port = Path(room.prefix), room.port
    assert len(pids) == 3 and state_path(port).exists() and (prefix / "nginx.conf").exists()
    room.stop()
    for pid in pids:
        assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]
    assert not prefix.exists() and not state_path(port).exists()
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", port)) != 0, "nothing listens on the class port any more"
