"""The process registry with real redis-server children.

Invariants: no more than the cap run at once whatever the number of sessions; a session gets one per kind;
a process ends when its lifetime is over or its session is gone; with processes switched off nothing
starts; children die with the server process, even one killed with SIGKILL (parent-death signal).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from sdcore.ratelimit.live.redis_server import LocalRedisServer, redis_server_path
from ui.operator import Switchboard
from ui.processes import ProcessRegistry

ROOT = Path(__file__).resolve().parents[2]
pytestmark = pytest.mark.skipif(redis_server_path() is None, reason="redis-server is not installed")


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie is dead for our purposes
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except FileNotFoundError:
        return False


class Clock:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def test_the_cap_holds_across_many_sessions_and_each_session_gets_one_per_kind():
    reg = ProcessRegistry(True, 2, 600.0)
    try:
        a = reg.start("s1", "redis", lambda: LocalRedisServer().start())
        assert reg.start("s1", "redis", lambda: pytest.fail("started twice")) is a
        reg.start("s2", "redis", lambda: LocalRedisServer().start())
        for s in range(3, 12):
            with pytest.raises(ValueError, match="2 of the 2 processes"):
                reg.start(f"s{s}", "redis", lambda: LocalRedisServer().start())
        assert reg.count() == 2
        pid = a.handle.process.pid
        reg.stop("s1", "redis")
        assert not _alive(pid)
        reg.start("s3", "redis", lambda: LocalRedisServer().start())  # the freed slot
        assert reg.count() == 2
    finally:
        for s in ("s1", "s2", "s3"):
            reg.stop(s, "redis")


def test_lifetime_and_a_gone_session_end_the_process():
    clock, alive = Clock(), {"s1": True, "s2": True}
    reg = ProcessRegistry(True, 4, 60.0, clock=clock, session_alive=lambda s: alive[s])
    one = reg.start("s1", "redis", lambda: LocalRedisServer().start()).handle.process.pid
    two = reg.start("s2", "redis", lambda: LocalRedisServer().start()).handle.process.pid
    try:
        clock.t = 30.0
        assert reg.reap() == 0 and _alive(one) and _alive(two)
        alive["s2"] = False  # the tab was closed: its session is gone
        assert reg.reap() == 1 and _alive(one) and not _alive(two)
        clock.t = 61.0  # past the stated lifetime
        assert reg.reap() == 1 and not _alive(one) and reg.count() == 0
    finally:
        reg.stop("s1", "redis")
        reg.stop("s2", "redis")


def test_switched_off_nothing_starts():
    reg = ProcessRegistry(False, 4, 60.0)
    with pytest.raises(ValueError, match="switched off"):
        reg.start("s1", "redis", lambda: pytest.fail("must not start"))
    assert reg.count() == 0


def test_the_switchboard_reads_the_environment_once_with_safe_defaults():
    s = Switchboard.from_env({})
    assert (s.allow_processes, s.max_processes, s.process_lifetime) == (False, 4, 900.0)
    assert set(s.redis_allowed) == {"127.0.0.1", "localhost", "::1"}
    s = Switchboard.from_env(
        {"SDS_ALLOW_PROCESSES": "1", "SDS_MAX_PROCESSES": "9", "SDS_REDIS_ALLOWED": "10.0.0.5:6379"}
    )
    assert (s.allow_processes, s.max_processes, s.redis_allowed) == (True, 9, ("10.0.0.5:6379",))
    with pytest.raises(ValueError, match="SDS_MAX_PROCESSES must be between 0 and 64"):
        Switchboard.from_env({"SDS_MAX_PROCESSES": "1000"})


def test_children_die_with_a_killed_server():
    """A server process that started a redis-server through the registry is killed with SIGKILL (no
    cleanup runs); the kernel's parent-death signal ends the child too."""
    script = textwrap.dedent(
        """
        import sys, time
        from sdcore.ratelimit.live.redis_server import LocalRedisServer
        from ui.processes import ProcessRegistry
        reg = ProcessRegistry(True, 2, 600.0)
        e = reg.start("s1", "redis", lambda: LocalRedisServer().start())
        print(e.handle.process.pid, flush=True)
        time.sleep(60)
        """
    )
    server = subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    child = int(server.stdout.readline())
    assert _alive(child)
    os.kill(server.pid, signal.SIGKILL)
    server.wait(timeout=10)
    deadline = time.monotonic() + 10
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
