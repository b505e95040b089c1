"""A real ``redis-server`` for the integration tests: started once per session on a free loopback port,
stopped by its PID at the end. Without ``redis-server`` on PATH the tests skip (a failure under CI=true).
No fake Redis anywhere here."""

from __future__ import annotations

import uuid

import pytest

from sdcore.ratelimit.live.redis_server import LocalRedisServer, redis_server_path
from sdcore.ratelimit.live.redis_store import delete_prefix, redis_client


@pytest.fixture(scope="session")
def redis_server():
    if redis_server_path() is None:
        pytest.skip(
            "redis-server is not on PATH (Debian: apt-get install redis-server); needed for tests/integration"
        )
    server = LocalRedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def client(redis_server):
    """One client for the whole session (thread-safe; each thread takes its own pooled connection)."""
    c = redis_client(redis_server.host, redis_server.port, timeout=5.0)
    yield c
    c.close()


@pytest.fixture(scope="session")
def client_factory(redis_server):
    """New clients, one per thread, as separate servers would have."""
    return lambda: redis_client(redis_server.host, redis_server.port, timeout=5.0)


@pytest.fixture
def prefix(client):
    """A fresh key prefix for one test, deleted afterwards."""
    p = f"sds:test:{uuid.uuid4().hex[:12]}:"
    yield p
    delete_prefix(client, p)
