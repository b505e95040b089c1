"""key_slot against a real Redis Cluster node's CLUSTER KEYSLOT, on 1,000 random keys (unicode, hash tags,
empty tags, braces everywhere). A node started with ``--cluster-enabled yes`` answers CLUSTER KEYSLOT with
no slots assigned, so one process on a free loopback port in a temporary directory is enough. Skips
without redis-server (a failure under CI=true)."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
import time

import numpy as np
import pytest
import redis

from sdcore.sharding import key_slot, key_slots

pytestmark = pytest.mark.redis


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_node(path: str, d: str, log) -> tuple[subprocess.Popen, redis.Redis] | None:
    """One cluster-mode redis-server on a free port; None if it did not answer PING within 30 s."""
    port = free_port()
    proc = subprocess.Popen(
        [path, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
         "--cluster-config-file", f"{d}/nodes-{port}.conf", "--dir", d, "--save", "", "--appendonly", "no",
         "--daemonize", "no", "--loglevel", "warning"],
        stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    client = redis.Redis("127.0.0.1", port, socket_timeout=5, socket_connect_timeout=1)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            client.ping()
            return proc, client
        except redis.RedisError:
            time.sleep(0.05)
    client.close()
    if proc.poll() is None:
        proc.kill()
    proc.wait()
    return None


@pytest.fixture(scope="module")
def cluster_node():
    path = shutil.which("redis-server")
    if path is None:
        pytest.skip(
            "redis-server is not on PATH (Debian: apt-get install redis-server); needed for tests/integration"
        )
    with tempfile.TemporaryDirectory() as d, tempfile.TemporaryFile() as log:
        for _ in range(3):  # the free port may be taken between choosing and binding it
            started = start_node(path, d, log)
            if started:
                break
        else:
            log.seek(0)
            pytest.fail(f"redis-server --cluster-enabled yes did not start: {log.read().decode()[-500:]}")
        proc, client = started
        yield client
        client.close()
        proc.terminate()
        proc.wait(timeout=5)


def random_keys(n: int, seed: int = 0) -> list[str]:
    rng = np.random.default_rng(seed)
    alphabet = list("abcxyz019_:.-{}{}") + ["é", "ü", "€", "漢", "😀", " "]
    keys = []
    for _ in range(n):
        length = int(rng.integers(0, 24))
        keys.append("".join(alphabet[i] for i in rng.integers(0, len(alphabet), length)))
    keys += [
        "{user1000}.following",
        "{user1000}.followers",
        "foo{}{bar}",
        "foo{{bar}}zap",
        "foo{bar}{zap}",
        "",
    ]
    return keys


def test_key_slot_equals_cluster_keyslot(cluster_node):
    keys = random_keys(1_000)
    pipe = cluster_node.pipeline(transaction=False)
    for k in keys:
        pipe.execute_command("CLUSTER", "KEYSLOT", k)
    theirs = pipe.execute()
    assert [key_slot(k) for k in keys] == theirs
    assert key_slots(keys).tolist() == theirs
