"""The operator's switchboard: what the server may connect to and start, read once at start from the
environment. A link or a visitor can choose only within it.

- ``SDS_REDIS_ALLOWED``: the Redis addresses the pages may use, comma-separated, each ``host`` (any port) or
  ``host:port`` (IPv6 in brackets: ``[::1]:6379``). Default: loopback only (``127.0.0.1,localhost,::1``).
  A share link can pick among these, never point the server elsewhere, and nothing connects before a click.
- ``SDS_ALLOW_PROCESSES``: whether visitors may start processes (a throwaway redis-server, the example
  API). ``make run`` on one's own machine sets it to 1; unset (and in the classroom setup) it is off.
- ``SDS_MAX_PROCESSES``: how many such processes may run at once for all sessions together (default 4).
- ``SDS_PROCESS_LIFETIME``: seconds a started process may live (default 900); it also ends as soon as its
  session is gone, and with the server.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass

import streamlit as st

from sdcore import checks

DEFAULT_REDIS_ALLOWED = "127.0.0.1,localhost,::1"


@dataclass(frozen=True)
class Switchboard:
    redis_allowed: tuple[str, ...]
    allow_processes: bool
    max_processes: int
    process_lifetime: float

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Switchboard:
        env = os.environ if env is None else env
        allowed = tuple(
            a.strip() for a in env.get("SDS_REDIS_ALLOWED", DEFAULT_REDIS_ALLOWED).split(",") if a.strip()
        )
        processes = env.get("SDS_ALLOW_PROCESSES", "0").strip().lower() in ("1", "true", "yes", "on")
        try:
            cap = checks.int_between("SDS_MAX_PROCESSES", int(env.get("SDS_MAX_PROCESSES", "4")), 0, 64)
            life = checks.number_between(
                "SDS_PROCESS_LIFETIME", float(env.get("SDS_PROCESS_LIFETIME", "900")), 10, 86_400
            )
        except ValueError as e:
            raise ValueError(f"the operator's settings are wrong: {e}") from None
        return cls(allowed, processes, cap, life)


@st.cache_resource
def switchboard() -> Switchboard:
    """The settings of this server process, read once (shared by every session, immutable)."""
    return Switchboard.from_env()
