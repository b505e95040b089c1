"""A throwaway ``redis-server`` on a free loopback port, for tests, benchmarks and a local demo.

    with LocalRedisServer() as server:
        client = redis_client(server.host, server.port)

No persistence (``--save ''``, ``--appendonly no``), bound to 127.0.0.1 only, in its own process group,
dying with the thread that started it (:mod:`sdcore.ratelimit.live.children`), stopped by its PID.
"""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import redis

from sdcore.ratelimit.live import children


def redis_server_path(executable: str = "redis-server") -> str | None:
    """The full path of ``redis-server`` on PATH (or the given file), or ``None`` if there is none."""
    return shutil.which(executable)


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it; another process could take it after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class LocalRedisServer:
    """Start ``redis-server`` as a child process on a free port of 127.0.0.1 and wait until it answers
    PING; ``stop()`` (or leaving the ``with`` block) ends that process, by its PID."""

    host = "127.0.0.1"

    def __init__(
        self, executable: str = "redis-server", *, startup_timeout: float = 10.0, maxmemory_mb: int = 64
    ) -> None:
        path = redis_server_path(executable)
        if path is None:
            raise FileNotFoundError(f"{executable} is not on PATH (Debian: apt-get install redis-server)")
        self.executable = path
        self.startup_timeout = startup_timeout
        self.maxmemory_mb = maxmemory_mb  # a visitor's throwaway Redis cannot grow past this
        self.port: int | None = None
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://{self.host}:{self.port}"

    def start(self) -> LocalRedisServer:
        last_error = "no attempt"
        for _ in range(3):  # the free port may be taken between choosing it and binding it
            self.port = free_port(self.host)
            # The server's output goes to a temporary file (it keeps its own handle), read if it fails.
            # The working directory is irrelevant: nothing is ever written (no RDB, no AOF).
            with tempfile.TemporaryFile() as log:
                self.process = children.popen(
                    [self.executable, "--port", str(self.port), "--bind", self.host, "--save", "",
                     "--appendonly", "no", "--daemonize", "no", "--loglevel", "warning",
                     "--maxmemory", f"{self.maxmemory_mb}mb", "--maxmemory-policy", "allkeys-lru"],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )  # fmt: skip
                if self._answers_ping():
                    return self
                self.stop()
                log.seek(0)
                last_error = log.read().decode(errors="replace").strip()[-500:] or "no answer to PING"
        raise RuntimeError(f"redis-server did not start on {self.host}: {last_error}")

    def _answers_ping(self) -> bool:
        client = redis.Redis(self.host, self.port, socket_timeout=1, socket_connect_timeout=1)
        deadline = time.monotonic() + self.startup_timeout
        try:
            while time.monotonic() < deadline and self.process.poll() is None:
                try:
                    return bool(client.ping())
                except redis.ConnectionError:
                    time.sleep(0.02)
            return False
        finally:
            client.close()

    def stop(self) -> None:
        if self.process is None:
            return
        children.stop(self.process)
        self.process = None

    def __enter__(self) -> LocalRedisServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()
