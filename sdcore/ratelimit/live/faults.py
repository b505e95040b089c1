"""Break the network between a limiter and Redis on purpose, without touching the Redis: an in-process TCP
proxy on a free 127.0.0.1 port, switchable at runtime.

    with FaultProxy("127.0.0.1", 6379) as proxy:
        client = redis_client(proxy.host, proxy.port, timeout=0.2)
        proxy.set_mode("delay", 0.5)    # every reply arrives 0.5 s late: the client times out
        proxy.set_mode("pass")          # healthy again

Modes (:data:`FAULT_MODES`):

- ``pass``: bytes flow both ways untouched.
- ``drop``: every open connection is closed, and new ones are accepted and closed at once (a crashed
  server behind a load balancer): the client sees "connection closed".
- ``delay``: every chunk Redis sends back is held for ``delay`` seconds, measured from when it arrived
  (chunks keep their order; requests are not held), so each round trip gains ``delay``.
- ``refuse``: the proxy stops listening and closes open connections (Redis is down): connecting fails at
  once with "connection refused". Back to ``pass`` or ``delay``, it listens again on the same port.

A live network adapter: threads, real sockets and real sleeps (``clock``/``sleep`` are injectable).
"""

from __future__ import annotations

import collections
import contextlib
import select
import socket
import threading
import time
from collections.abc import Callable
from numbers import Real

from sdcore.checks import number_text
from sdcore.ratelimit.distributed import FAULT_MODES

_POLL = 0.02  # seconds: how often the accept loop looks at the listening socket and the stop flag
_CHUNK = 65536


class FaultProxy:
    """A TCP proxy from ``host:port`` (``port=0``: a free one) to ``target_host:target_port``."""

    def __init__(
        self,
        target_host: str,
        target_port: int,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        connect_timeout: float = 1.0,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.target = (target_host, int(target_port))
        self.host = host
        self.port = port
        self.connect_timeout = connect_timeout
        self.clock, self.sleep = clock, sleep
        self._mode, self._delay = "pass", 0.0
        self._listener: socket.socket | None = None
        self._listener_lock = threading.Lock()  # held by the accept loop while it polls the listener
        self._links: set[_Link] = set()
        self._links_lock = threading.Lock()
        self._stopped = threading.Event()
        self._acceptor: threading.Thread | None = None
        self.accepted = 0  # connections accepted and forwarded
        self.dropped = 0  # connections closed by ``drop`` or ``refuse``

    @property
    def mode(self) -> str:
        return self._mode

    @property
    def delay(self) -> float:
        return self._delay

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    def start(self) -> FaultProxy:
        if self._acceptor is not None:
            raise RuntimeError("the proxy is already running")
        self._listen()
        self._acceptor = threading.Thread(target=self._accept_loop, name="fault-proxy-accept", daemon=True)
        self._acceptor.start()
        return self

    def set_mode(self, mode: str, delay: float | None = None) -> None:
        """Switch to ``mode`` now; ``delay`` (seconds, 0 to 60) is for ``delay`` mode and required there."""
        if mode not in FAULT_MODES:
            raise ValueError(f"mode must be one of {', '.join(FAULT_MODES)} (got {mode!r})")
        if mode == "delay":
            if isinstance(delay, bool) or not isinstance(delay, Real) or not 0 <= delay <= 60:
                raise ValueError(f"delay must be between 0 and 60 seconds in delay mode (got {delay!r})")
            self._delay = float(delay)
        elif delay is not None:
            raise ValueError(f"delay applies to delay mode only (got delay={delay!r} with mode {mode!r})")
        self._mode = mode
        if mode in ("drop", "refuse"):
            if mode == "refuse":
                with self._listener_lock:
                    if self._listener is not None:
                        self._listener.close()
                        self._listener = None
            self._close_links()
        else:
            self._listen()

    def close(self) -> None:
        """Stop accepting, close every connection and wait for the accept thread."""
        self._stopped.set()
        if self._acceptor is not None:
            self._acceptor.join()
            self._acceptor = None
        with self._listener_lock:
            if self._listener is not None:
                self._listener.close()
                self._listener = None
        self._close_links()

    def __enter__(self) -> FaultProxy:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        extra = f", delay={number_text(self._delay)}" if self._mode == "delay" else ""
        return (
            f"FaultProxy({self.host}:{self.port} -> {self.target[0]}:{self.target[1]}, {self._mode}{extra})"
        )

    # --- internals ----------------------------------------------------------------------------------

    def _listen(self) -> None:
        with self._listener_lock:
            if self._listener is not None:
                return
            lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            lst.bind((self.host, self.port))
            lst.listen(128)
            self.port = lst.getsockname()[1]  # the same port again after ``refuse``
            self._listener = lst

    def _accept_loop(self) -> None:
        while not self._stopped.is_set():
            conn = None
            with self._listener_lock:
                lst = self._listener
                if lst is not None and select.select([lst], [], [], _POLL)[0]:
                    with contextlib.suppress(OSError):
                        conn, _ = lst.accept()
            if lst is None:
                self._stopped.wait(_POLL)
            if conn is not None:
                self._serve(conn)

    def _serve(self, conn: socket.socket) -> None:
        if self._mode == "drop":
            conn.close()
            with self._links_lock:
                self.dropped += 1
            return
        try:
            upstream = socket.create_connection(self.target, timeout=self.connect_timeout)
            upstream.settimeout(None)
        except OSError:
            conn.close()
            return
        for s in (conn, upstream):
            s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        link = _Link(self, conn, upstream)
        with self._links_lock:
            self._links.add(link)
            self.accepted += 1
        link.start()

    def _close_links(self) -> None:
        with self._links_lock:
            links, self._links = list(self._links), set()
            self.dropped += len(links)
        for link in links:
            link.close()

    def _forget(self, link: _Link) -> None:
        with self._links_lock:
            self._links.discard(link)


class _Link:
    """One proxied connection: requests flow straight up; replies go through a queue so that each one is
    held until ``arrival + delay``."""

    def __init__(self, proxy: FaultProxy, downstream: socket.socket, upstream: socket.socket) -> None:
        self.proxy = proxy
        self.down, self.up = downstream, upstream
        self._replies: collections.deque = collections.deque()
        self._ready = threading.Condition()
        self._closed = False

    def start(self) -> None:
        for target in (self._requests, self._read_replies, self._write_replies):
            threading.Thread(target=target, daemon=True).start()

    def close(self) -> None:
        with self._ready:
            if self._closed:
                return
            self._closed = True
            self._ready.notify_all()
        for s in (self.down, self.up):
            with contextlib.suppress(OSError):
                s.shutdown(socket.SHUT_RDWR)  # wakes the threads blocked in recv
        self.proxy._forget(self)

    def _requests(self) -> None:
        try:
            while data := self.down.recv(_CHUNK):
                self.up.sendall(data)
        except OSError:
            pass
        self.close()

    def _read_replies(self) -> None:
        try:
            while data := self.up.recv(_CHUNK):
                hold = self.proxy.delay if self.proxy.mode == "delay" else 0.0
                with self._ready:
                    self._replies.append((self.proxy.clock() + hold, data))
                    self._ready.notify()
        except OSError:
            pass
        self.close()

    def _write_replies(self) -> None:
        try:
            while True:
                with self._ready:
                    while not self._replies and not self._closed:
                        self._ready.wait()
                    if self._closed:
                        break
                    due, data = self._replies.popleft()
                wait = due - self.proxy.clock()
                if wait > 0:
                    self.proxy.sleep(wait)
                if self._closed:
                    break
                self.down.sendall(data)
        except OSError:
            pass
        self.close()
        for s in (self.down, self.up):  # the last thread out closes the sockets
            s.close()
