"""Where the shared Redis is: parse a URL, probe it, or start a throwaway local ``redis-server``."""

from __future__ import annotations

import weakref
from collections.abc import Sequence
from dataclasses import dataclass
from urllib.parse import unquote, urlsplit

import redis

from sdcore.ratelimit.distributed import DEFAULT_REDIS_URL
from sdcore.ratelimit.live import children
from sdcore.ratelimit.live.redis_server import LocalRedisServer
from sdcore.ratelimit.live.redis_store import delete_prefix, redis_client

START_REDIS_HINT = (
    "Start one on this machine with `redis-server --port 6379` (Debian/Ubuntu: `sudo apt-get install "
    "redis-server`, which also starts a system service on port 6379; macOS: `brew install redis`), or "
    "point the URL at a Redis you can reach."
)

STORE_ERRORS = (redis.exceptions.ConnectionError, redis.exceptions.TimeoutError)


class RedisUnavailable(ValueError):
    """Redis could not be reached, or stopped answering, during an experiment that needs it (a
    ``ValueError``, so a page shows the sentence instead of a traceback)."""

    def __init__(self, address: RedisAddress, error: BaseException | str, during: str) -> None:
        text = error if isinstance(error, str) else f"{type(error).__name__}: {error}"
        super().__init__(f"Redis at {address.url} did not answer {during} ({text}). {START_REDIS_HINT}")


# --- where the Redis is ----------------------------------------------------------------------------


@dataclass(frozen=True)
class RedisAddress:
    """A Redis server and database number, from :func:`parse_redis_url`."""

    host: str
    port: int
    db: int = 0

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"redis://{host}:{self.port}/{self.db}"

    def client(self, timeout: float = 1.0, connect_timeout: float | None = None) -> redis.Redis:
        """A client with explicit timeouts and no automatic retries (see ``redis_client``)."""
        return redis_client(
            self.host, self.port, timeout=timeout, connect_timeout=connect_timeout, db=self.db
        )


def parse_redis_url(text: str) -> RedisAddress:
    """``redis://host[:port][/db]`` -> :class:`RedisAddress` (port 6379 and db 0 by default).

    Stricter than redis-py's ``from_url``, which accepts a typo such as ``redis://localhost:63790000``
    until the first command fails: every part is checked here, with a sentence saying what is wrong.
    Credentials are refused on purpose: the URL is mirrored into the page's share link.
    """
    if not isinstance(text, str) or not text.strip():
        raise ValueError(f"the Redis URL must look like {DEFAULT_REDIS_URL} (got an empty value)")
    text = text.strip()
    shown = repr(text[:80])
    parts = urlsplit(text)
    if parts.scheme == "rediss":
        raise ValueError(
            f"the Redis URL {shown} asks for TLS (rediss://); the sandbox connects with redis:// only"
        )
    if parts.scheme != "redis":
        raise ValueError(f"the Redis URL must start with redis:// as in {DEFAULT_REDIS_URL} (got {shown})")
    if "@" in parts.netloc:
        raise ValueError(
            f"the Redis URL {shown} holds a user or password; leave them out: the URL is copied into the "
            "page's share link. Use a Redis without a password for the sandbox (e.g. a local one)."
        )
    if parts.query or parts.fragment:
        raise ValueError(f"the Redis URL {shown} has options after '?' or '#'; the sandbox takes none")
    try:
        host, port = parts.hostname, parts.port
    except ValueError:
        raise ValueError(f"the Redis URL {shown} has a port that is not a number from 1 to 65535") from None
    if not host:
        raise ValueError(f"the Redis URL {shown} names no host; write e.g. {DEFAULT_REDIS_URL}")
    if port == 0:
        raise ValueError(f"the Redis URL {shown} has port 0; a port is a number from 1 to 65535")
    path = unquote(parts.path).strip("/")
    if path and not (path.isdigit() and int(path) <= 15):
        raise ValueError(
            f"the Redis URL {shown} names database {path!r}; a database is a number from 0 to 15"
        )
    return RedisAddress(host, port or 6379, int(path) if path else 0)


def _allowed_entry(entry: str) -> tuple[str, int | None]:
    """``host``, ``host:port`` or ``[v6]:port`` -> (host lowercased, port or None for any)."""
    entry = entry.strip().lower()
    if entry.startswith("["):
        host, _, rest = entry[1:].partition("]")
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if entry.count(":") == 1:
        host, port = entry.split(":")
        return host, int(port) if port.isdigit() else None
    return entry, None  # a bare host, or a bare IPv6 address


def check_allowed(address: RedisAddress, allowed: Sequence[str]) -> RedisAddress:
    """``address`` if the operator's allow-list names its host (and port, when the entry has one), else a
    ValueError that says so without touching the network: a link can choose among allowed Redis servers,
    never point this server at another machine."""
    host = address.host.lower().strip("[]")
    for entry in allowed:
        h, port = _allowed_entry(entry)
        if h == host and (port is None or port == address.port):
            return address
    names = ", ".join(allowed) or "none"
    raise ValueError(
        f"this sandbox's operator does not allow connecting to Redis at {address.host}:{address.port} "
        f"(allowed: {names}); nothing was contacted. The operator can add it to SDS_REDIS_ALLOWED."
    )


@dataclass(frozen=True)
class Reachability:
    """Whether a Redis answered PING, and if not, why."""

    address: RedisAddress
    ok: bool
    version: str | None = None
    error: str | None = None


NOT_REACHED = "no Redis answered there"


def probe_redis(address: RedisAddress, timeout: float = 0.5) -> Reachability:
    """PING ``address`` once with a short timeout; never raises. Every failure (refused, timed out, not
    Redis at all, an error reply) reads the same, so the answer cannot tell an open port from a closed one."""
    client = address.client(timeout=timeout)
    try:
        client.ping()
        version = str(client.info("server").get("redis_version", "?"))
        return Reachability(address, True, version=version)
    except (redis.exceptions.RedisError, OSError, ValueError):
        return Reachability(address, False, error=NOT_REACHED)
    finally:
        client.close()


def start_local_redis() -> LocalRedisServer:
    """Start a throwaway ``redis-server`` on a free loopback port (``FileNotFoundError`` if it is not on
    PATH). The process is also stopped when the returned object is garbage collected (a page session
    that ended) or when this Python process exits, not only by ``stop()``."""
    server = LocalRedisServer().start()
    weakref.finalize(server, _terminate, server.process)
    return server


def _terminate(process) -> None:
    children.stop(process)


def _cleanup(address: RedisAddress, prefix: str) -> None:
    client = address.client(timeout=2.0)
    try:
        delete_prefix(client, prefix)
    except STORE_ERRORS:
        pass  # the keys expire by themselves (every key has a TTL)
    finally:
        client.close()
