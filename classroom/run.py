"""A classroom: R app replicas on loopback ports behind Debian's nginx, with sticky sessions by a cookie.

    python classroom/run.py                          # 2 replicas, the class address http://127.0.0.1:8080/
    python classroom/run.py --replicas 3 --address 0.0.0.0 --port 8080      # open to the room's network
    python classroom/run.py --redis 10.0.0.5:6379    # the operator's Redis, shared by every replica
    python classroom/run.py --upstream 10.0.0.11:8501 --upstream 10.0.0.12:8501   # nginx only, in front
                                                      # of replicas that run on other machines

Each replica is ``streamlit run app.py`` in its own process group, dying with this script (Linux), with
``SDS_ALLOW_PROCESSES=0`` (visitors may not start processes in a classroom), the same ``SDS_REDIS_ALLOWED``
and the same cookie secret (``STREAMLIT_SERVER_COOKIE_SECRET``, so any replica accepts a session's XSRF
cookie). nginx runs in the foreground as a child, from ``classroom/nginx.conf.template`` rendered into a
temporary prefix that holds its pid file, logs and temporary files; it hashes a route cookie it sets itself
onto the replicas (``hash $sds_route consistent``), never the client address: a class behind one NAT is one
address. Ctrl-C (or SIGTERM) stops nginx, then the replicas, by their PIDs.

While it runs, ``<tmp>/sds-classroom-<port>.json`` names the PIDs, so ``benchmarks/loadtest.py --url`` on the
same machine can read the servers' CPU and memory.
"""

from __future__ import annotations

import argparse
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Sequence
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script from anywhere
    sys.path.insert(0, str(ROOT))

from sdcore.ratelimit.live import children  # noqa: E402

TEMPLATE = Path(__file__).with_name("nginx.conf.template")
NGINX = "/usr/sbin/nginx"


def nginx_path() -> str | None:
    """Debian's nginx (``/usr/sbin/nginx``), or whichever is on PATH, or ``None``."""
    if os.access(NGINX, os.X_OK):
        return NGINX
    return shutil.which("nginx")


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now (the OS picks it; another process could take it after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def state_path(port: int) -> Path:
    """Where a running classroom on ``port`` names its PIDs, for a load test on the same machine."""
    return Path(tempfile.gettempdir()) / f"sds-classroom-{port}.json"


def render_nginx_conf(
    prefix: Path, listen: str, upstreams: Sequence[str], *, max_body: str = "64m", user: str | None = None
) -> str:
    """The nginx configuration: ``classroom/nginx.conf.template`` with its @NAME@ fields filled.

    >>> conf = render_nginx_conf(Path("/tmp/x"), "127.0.0.1:8080", ["127.0.0.1:8601", "127.0.0.1:8602"])
    >>> "hash $sds_route consistent;" in conf and "server 127.0.0.1:8602 max_fails=1 fail_timeout=5s;" in conf
    True
    >>> "ip_hash" in conf.replace("Not `ip_hash`", "")
    False
    """
    if not upstreams:
        raise ValueError("upstreams must name at least one replica (got none)")
    for address in (listen, *upstreams):
        host, sep, port = address.rpartition(":")
        if (
            not sep
            or not host
            or not port.isdigit()
            or not 0 < int(port) < 65536
            or any(c in host for c in " ;{}")
        ):
            raise ValueError(f"an address must be host:port with a port from 1 to 65535 (got {address!r})")
    servers = "\n".join(f"        server {u} max_fails=1 fail_timeout=5s;" for u in upstreams)
    fields = {
        "@USER@": f"user {user};" if user else "# user: this process's own",
        "@PREFIX@": str(prefix),
        "@LISTEN@": listen,
        "@UPSTREAMS@": servers,
        "@MAX_BODY@": max_body,
    }
    text = TEMPLATE.read_text()
    for name, value in fields.items():
        text = text.replace(name, value)
    return text


def _answers(url: str, timeout: float = 2.0) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/_stcore/health", timeout=timeout) as r:
            return r.read() == b"ok"
    except OSError:
        return False


class Replica:
    """One ``streamlit run app.py`` on ``host:port``, in its own process group, dying with its parent."""

    def __init__(
        self, port: int, host: str = "127.0.0.1", env: dict[str, str] | None = None, log: Path | None = None
    ):
        self.host, self.port = host, port
        self.env = dict(os.environ if env is None else env)
        self.log = log
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None

    def start(self) -> Replica:
        """Start the server (returns at once; :meth:`wait_ready` waits for its health check)."""
        argv = [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
                "--server.port", str(self.port), "--server.address", self.host,
                "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"]  # fmt: skip
        out = open(self.log, "ab") if self.log else subprocess.DEVNULL  # noqa: SIM115 (the child keeps it)
        try:
            self.process = children.popen(argv, cwd=ROOT, env=self.env, stdout=out, stderr=subprocess.STDOUT)
        finally:
            if self.log:
                out.close()
        return self

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise RuntimeError(f"the replica on port {self.port} exited: {self._log_tail()}")
            if _answers(self.url):
                return
            time.sleep(0.2)
        raise RuntimeError(
            f"the replica on port {self.port} did not answer in {timeout:.0f} s: {self._log_tail()}"
        )

    def _log_tail(self) -> str:
        if self.log and self.log.exists():
            return self.log.read_text(errors="replace")[-1500:]
        return "(no log)"

    def stop(self) -> None:
        if self.process is not None:
            children.stop(self.process, timeout=10.0)
            self.process = None


class Classroom:
    """R replicas and nginx in front of them; ``with Classroom(2, port) as c:`` gives ``c.url``.

    ``upstreams`` (host:port of replicas started elsewhere, e.g. on other machines) replaces the local
    replicas: only nginx is started. ``redis_allowed`` becomes every replica's ``SDS_REDIS_ALLOWED``
    (comma-separated host:port); ``redis_server=True`` starts a throwaway loopback redis-server for the
    class instead of an operator's.
    """

    def __init__(
        self,
        replicas: int = 2,
        port: int = 8080,
        address: str = "127.0.0.1",
        *,
        upstreams: Sequence[str] = (),
        redis_allowed: Sequence[str] = (),
        redis_server: bool = False,
        max_body: str = "64m",
        startup_timeout: float = 120.0,
    ) -> None:
        if not upstreams and not 1 <= replicas <= 32:
            raise ValueError(f"replicas must be between 1 and 32 (got replicas={replicas})")
        if not 0 < port < 65536:
            raise ValueError(f"port must be between 1 and 65535 (got port={port})")
        self.replica_count = 0 if upstreams else replicas
        self.port, self.address = port, address
        self.upstreams = tuple(upstreams)
        self.redis_allowed = tuple(redis_allowed)
        self.redis_server = redis_server
        self.max_body = max_body
        self.startup_timeout = startup_timeout
        self.prefix: Path | None = None
        self.replicas: list[Replica] = []
        self.nginx: subprocess.Popen | None = None
        self.redis = None

    @property
    def url(self) -> str:
        host = "127.0.0.1" if self.address in ("0.0.0.0", "") else self.address
        return f"http://{host}:{self.port}"

    def pids(self) -> dict[str, int]:
        """Label -> PID of every server process this classroom started (replicas, nginx, redis)."""
        out = {f"replica {r.port}": r.pid for r in self.replicas if r.pid}
        if self.nginx is not None:
            out["nginx"] = self.nginx.pid
        if self.redis is not None and self.redis.process is not None:
            out["redis"] = self.redis.process.pid
        return out

    def start(self) -> Classroom:
        nginx = nginx_path()
        if nginx is None:
            raise FileNotFoundError("nginx is not installed (Debian: apt-get install nginx-light or nginx)")
        self.prefix = Path(tempfile.mkdtemp(prefix="sds-classroom-"))
        try:
            self._start(nginx)
        except BaseException:
            self.stop()
            raise
        return self

    def _start(self, nginx: str) -> None:
        assert self.prefix is not None
        env = dict(os.environ)
        env["SDS_ALLOW_PROCESSES"] = "0"
        env.setdefault("STREAMLIT_SERVER_COOKIE_SECRET", secrets.token_hex(32))
        allowed = list(self.redis_allowed)
        if self.redis_server:
            from sdcore.ratelimit.live.redis_server import LocalRedisServer

            self.redis = LocalRedisServer().start()
            allowed.append(f"{self.redis.host}:{self.redis.port}")
        if allowed:
            env["SDS_REDIS_ALLOWED"] = ",".join(allowed)
        for i in range(self.replica_count):
            replica = Replica(free_port(), env=env, log=self.prefix / f"replica-{i + 1}.log")
            self.replicas.append(replica.start())
        for replica in self.replicas:
            replica.wait_ready(self.startup_timeout)
        upstreams = self.upstreams or tuple(f"{r.host}:{r.port}" for r in self.replicas)
        user = None
        tmp = self.prefix / "tmp"
        tmp.mkdir()
        if os.geteuid() == 0:  # nginx's workers drop to an unprivileged user; let them write their temp files
            user = "nobody nogroup"
            os.chown(tmp, 65534, 65534)
        conf = self.prefix / "nginx.conf"
        listen = f"{self.address}:{self.port}"
        conf.write_text(render_nginx_conf(self.prefix, listen, upstreams, max_body=self.max_body, user=user))
        argv = [nginx, "-p", f"{self.prefix}/", "-c", str(conf), "-e", str(self.prefix / "error.log")]
        test = subprocess.run([*argv, "-t", "-q"], capture_output=True, text=True, timeout=30)
        if test.returncode != 0:
            raise RuntimeError(f"nginx rejected the configuration: {test.stderr.strip()[-1500:]}")
        self.nginx = children.popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while not _answers(self.url):
            if self.nginx.poll() is not None or time.monotonic() > deadline:
                log = (self.prefix / "error.log").read_text(errors="replace")[-1500:]
                raise RuntimeError(f"nginx did not serve {self.url}: {log}")
            time.sleep(0.1)
        self.write_state()

    def state(self) -> dict:
        return {
            "url": self.url,
            "address": self.address,
            "port": self.port,
            "prefix": str(self.prefix),
            "replicas": [{"url": r.url, "pid": r.pid} for r in self.replicas],
            "upstreams": list(self.upstreams),
            "pids": self.pids(),
        }

    def write_state(self) -> None:
        text = json.dumps(self.state(), indent=2)
        if self.prefix is not None:
            (self.prefix / "classroom.json").write_text(text)
        state_path(self.port).write_text(text)

    def stop(self) -> None:
        """Stop nginx, then the replicas and the class Redis, by their PIDs; remove the prefix."""
        if self.nginx is not None:
            children.stop(self.nginx, timeout=10.0)
            self.nginx = None
        for replica in self.replicas:
            replica.stop()
        self.replicas = []
        if self.redis is not None:
            self.redis.stop()
            self.redis = None
        pointer = state_path(self.port)
        try:
            if self.prefix is not None and json.loads(pointer.read_text()).get("prefix") == str(self.prefix):
                pointer.unlink()
        except (OSError, ValueError):
            pass
        if self.prefix is not None:
            shutil.rmtree(self.prefix, ignore_errors=True)
            self.prefix = None

    def __enter__(self) -> Classroom:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--replicas", type=int, default=2, help="app replicas on this machine (default 2)")
    ap.add_argument("--port", type=int, default=8080, help="the class address's port (default 8080)")
    ap.add_argument("--address", default="127.0.0.1", help="where nginx listens (default 127.0.0.1; "
                    "0.0.0.0 or this machine's LAN address opens it to the room)")  # fmt: skip
    ap.add_argument("--upstream", action="append", default=[], metavar="HOST:PORT",
                    help="a replica started elsewhere (repeat); with it no local replica is started")  # fmt: skip
    ap.add_argument("--redis", action="append", default=[], metavar="HOST:PORT",
                    help="an operator's Redis the distributed pages may use (repeat)")  # fmt: skip
    ap.add_argument("--redis-server", action="store_true", help="start a throwaway loopback redis-server")
    args = ap.parse_args(argv)
    room = Classroom(args.replicas, args.port, args.address, upstreams=args.upstream, redis_allowed=args.redis,
                     redis_server=args.redis_server)  # fmt: skip
    stopping = False

    def _stop(signum, frame):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, _stop)
    signal.signal(signal.SIGINT, _stop)
    print(f"starting {room.replica_count or len(args.upstream)} replica(s) and nginx ...", flush=True)
    room.start()
    try:
        where = (
            room.url
            if args.address not in ("0.0.0.0", "")
            else f"http://<this machine's address>:{args.port}"
        )
        print(f"class address: {where}/   (give this to the students)")
        for label, pid in room.pids().items():
            print(f"  {label}: pid {pid}")
        print(f"check it: make classroom-check URL={room.url}    stop: Ctrl-C", flush=True)
        while not stopping:
            time.sleep(0.5)
            if room.nginx is not None and room.nginx.poll() is not None:
                print("nginx exited; stopping the class", file=sys.stderr)
                return 1
            for replica in room.replicas:
                if replica.process is not None and replica.process.poll() is not None:
                    print(
                        f"replica {replica.port} exited; nginx routes its students to the others",
                        file=sys.stderr,
                    )
                    replica.process = None
    finally:
        room.stop()
        print("stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
