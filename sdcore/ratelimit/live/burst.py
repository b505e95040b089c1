"""Try the limiter for real: start the example API (``examples/example_api.py``) and send it a burst.

    with ExampleApiServer() as api:                     # uvicorn on a free port of 127.0.0.1
        rows = send_burst(f"{api.url}/search", 15)      # 10 x 200, then 429 (examples/rules.yaml)
        print(burst_summary(rows))                      # "200 × 10 → 429 × 5"

Real HTTP over real sockets, so it reads the wall clock (``clock``, injectable). The sandbox sends
traffic to this machine only: :func:`check_local_url` refuses any host that is not loopback
(127.0.0.0/8, ``::1``, ``localhost``), the client ignores proxy settings from the environment and never
follows a redirect, so nothing leaves the machine whatever the URL says.
"""

from __future__ import annotations

import ipaddress
import json
import os
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import httpx

from sdcore.ratelimit.distributed import DEFAULT_API_URL
from sdcore.ratelimit.live import children
from sdcore.ratelimit.live.redis_server import free_port
from sdcore.ratelimit.live.resilient import POLICIES

ROOT = Path(__file__).resolve().parents[3]  # the project folder (examples/ lives there)
EXAMPLE_APP = "examples.example_api:app"
LOOPBACK_NAMES = ("localhost",)
# --- where the burst may go ---------------------------------------------------------------------------


def check_local_url(text: object) -> str:
    """``http(s)://<loopback host>[:port]/path[?query]`` -> the URL to send to, or ``ValueError`` saying why
    it is refused. Only this machine: 127.0.0.0/8, ``::1`` or ``localhost``; no user or password (the
    URL goes into the page's share link)."""
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the API URL must look like {DEFAULT_API_URL} (got an empty value)")
    text = text.strip()
    shown = repr(text[:80])
    parts = urlsplit(text)
    if parts.scheme not in ("http", "https"):
        raise ValueError(
            f"the API URL must start with http:// or https:// as in {DEFAULT_API_URL} (got {shown})"
        )
    if "@" in parts.netloc:
        raise ValueError(
            f"the API URL {shown} holds a user or password; leave them out (it goes into the share link)"
        )
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"the API URL {shown} has a port that is not a number from 1 to 65535") from None
    if not host:
        raise ValueError(f"the API URL {shown} names no host; write e.g. {DEFAULT_API_URL}")
    if port == 0:
        raise ValueError(f"the API URL {shown} has port 0; a port is a number from 1 to 65535")
    if not _is_loopback(host):
        raise ValueError(
            f"refused: the API URL's host {host!r} is not this machine. The sandbox sends requests only to "
            "127.0.0.1, localhost or ::1, never elsewhere; run the example API locally and use its address."
        )
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", parts.query, ""))


def _is_loopback(host: str) -> bool:
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:  # a name other than localhost: it could resolve anywhere
        return False


# --- the burst ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class BurstRow:
    """One request of a burst: its answer (``status`` None if nothing answered) and the limiter's headers."""

    number: int
    at_ms: float  # when it was sent, since the burst started
    latency_ms: float
    status: int | None
    limit: str | None = None  # X-Ratelimit-Limit
    remaining: str | None = None  # X-Ratelimit-Remaining
    retry_after: str | None = None  # Retry-After
    decided_by: str | None = None  # which rule refused it (the middleware's JSON body)
    error: str | None = None

    def row(self) -> dict[str, object]:
        return {
            "request": self.number, "status": str(self.status) if self.status is not None else "no answer",
            "X-Ratelimit-Limit": self.limit or "", "X-Ratelimit-Remaining": self.remaining or "",
            "Retry-After": self.retry_after or "", "decided by": self.decided_by or self.error or "",
            "sent at (ms)": round(self.at_ms, 1), "latency (ms)": round(self.latency_ms, 1),
        }  # fmt: skip


def send_burst(
    url: str,
    n: int = 15,
    *,
    headers: Mapping[str, str] | None = None,
    timeout: float = 1.0,
    clock: Callable[[], float] = time.perf_counter,
) -> list[BurstRow]:
    """``n`` GET requests to ``url`` (a loopback URL, see :func:`check_local_url`), one after the other on
    one connection, each waiting at most ``timeout`` seconds. The first request nothing answers ends the
    burst (its row has the error): a server that is not there would otherwise cost ``n`` timeouts."""
    url = check_local_url(url)
    if isinstance(n, bool) or not isinstance(n, int) or not 1 <= n <= 200:
        raise ValueError(f"n must be a whole number of requests between 1 and 200 (got {n!r})")
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0.01 <= timeout <= 10:
        raise ValueError(f"timeout must be between 0.01 and 10 seconds (got {timeout!r})")
    rows: list[BurstRow] = []
    # trust_env=False: no proxy from the environment may carry the requests elsewhere.
    with httpx.Client(timeout=timeout, follow_redirects=False, trust_env=False, headers=headers) as client:
        t0 = clock()
        for i in range(1, n + 1):
            start = clock()
            try:
                with client.stream("GET", url) as r:
                    body = next(r.iter_bytes(4096), b"")
                    rows.append(_row(i, (start - t0) * 1000, (clock() - start) * 1000, r, body))
            except httpx.HTTPError as e:
                error = f"{type(e).__name__}: {e}" if str(e) else type(e).__name__
                rows.append(BurstRow(i, (start - t0) * 1000, (clock() - start) * 1000, None, error=error))
                break
    return rows


def _row(i: int, at_ms: float, latency_ms: float, r: httpx.Response, body: bytes) -> BurstRow:
    decided_by = None
    if r.status_code >= 400:
        try:
            decided_by = str(json.loads(body).get("decided_by") or "") or None
        except (ValueError, AttributeError):  # not the middleware's JSON: say nothing
            decided_by = None
    h = r.headers
    return BurstRow(i, at_ms, latency_ms, r.status_code, h.get("x-ratelimit-limit"), h.get("x-ratelimit-remaining"),
                    h.get("retry-after"), decided_by)  # fmt: skip


# --- the example API as a child process -----------------------------------------------------------------


class ExampleApiServer:
    """``python -m uvicorn examples.example_api:app`` as a child process on 127.0.0.1 (a free port unless
    ``port`` is given), run from the project's folder; ``stop()`` ends it by its PID. ``redis_url`` shares
    its counters through Redis (else they live in the process); ``policy`` is what it does when Redis fails."""

    host = "127.0.0.1"

    def __init__(
        self,
        port: int | None = None,
        *,
        redis_url: str | None = None,
        policy: str = "open",
        startup_timeout: float = 20.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if port is not None and (
            isinstance(port, bool) or not isinstance(port, int) or not 1 <= port <= 65535
        ):
            raise ValueError(
                f"port must be a whole number from 1 to 65535, or None for a free one (got {port!r})"
            )
        if policy not in POLICIES:
            raise ValueError(f"policy must be one of {', '.join(POLICIES)} (got {policy!r})")
        if redis_url is not None:
            from sdcore.ratelimit.live.connection import parse_redis_url

            redis_url = parse_redis_url(redis_url).url
        if not (ROOT / "examples" / "example_api.py").is_file():
            raise FileNotFoundError(f"the example API is not there: {ROOT / 'examples' / 'example_api.py'}")
        self.port, self.redis_url, self.policy = port, redis_url, policy
        self.startup_timeout = startup_timeout
        self.clock, self.sleep = clock, sleep  # real time: this adapter waits for a real process
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> ExampleApiServer:
        fixed, last_error = self.port, "no attempt"
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("REDIS_URL", "POLICY", "IDENTITY", "RULES", "PORT")
        }
        env["POLICY"] = self.policy
        if self.redis_url:
            env["REDIS_URL"] = self.redis_url
        for _ in range(1 if fixed else 3):  # a free port may be taken between choosing and binding it
            self.port = fixed or free_port(self.host)
            if not _port_free(self.host, self.port):  # else the other listener would look like ours
                last_error = f"port {self.port} is already in use"
                continue
            with tempfile.TemporaryFile() as log:
                self.process = children.popen(
                    [sys.executable, "-m", "uvicorn", EXAMPLE_APP, "--host", self.host, "--port", str(self.port),
                     "--log-level", "warning", "--no-proxy-headers"],
                    cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                )  # fmt: skip
                if self._accepts():
                    return self
                self.stop()
                log.seek(0)
                last_error = log.read().decode(errors="replace").strip()[-500:] or "it did not listen"
        raise RuntimeError(f"the example API did not start on {self.host}:{self.port}: {last_error}")

    def _accepts(self) -> bool:
        """Wait until the port accepts a connection. uvicorn listens only once the app has started, and a
        bare connection is not a request: the API's counters stay untouched."""
        deadline = self.clock() + self.startup_timeout
        while self.clock() < deadline and self.process.poll() is None:
            try:
                with socket.create_connection((self.host, self.port), timeout=0.5):
                    return True
            except OSError:
                self.sleep(0.05)
        return False

    def stop(self) -> None:
        if self.process is None:
            return
        _terminate(self.process)
        self.process = None

    @property
    def running(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def __enter__(self) -> ExampleApiServer:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def _port_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        try:
            s.bind((host, port))
        except OSError:
            return False
    return True


def start_example_api(
    port: int | None = None, redis_url: str | None = None, policy: str = "open"
) -> ExampleApiServer:
    """Start the example API (see :class:`ExampleApiServer`). The process is also stopped when the returned
    object is garbage collected (a page session that ended) or when this Python process exits."""
    server = ExampleApiServer(port, redis_url=redis_url, policy=policy).start()
    weakref.finalize(server, _terminate, server.process)
    return server


def _terminate(process: subprocess.Popen) -> None:
    children.stop(process)
