"""The one piece of state shared by every session: the registry of processes visitors started.

A visitor may start a throwaway redis-server or the example API, if the operator allows it
(``ui.operator``). The registry caps how many run at once for all sessions together (it counts sessions'
processes, never IP addresses: a class behind one NAT is one address), ends each one when its stated
lifetime is over or as soon as its session is gone (Streamlit's ``Runtime.is_active_session``, checked
every few seconds), and starts every child from one long-lived thread of its own, because a child's
parent-death signal (``sdcore.ratelimit.live.children``) fires when the thread that started it ends: a
page's script thread ends after every rerun, the registry's thread only with the server.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future
from dataclasses import dataclass, field
from typing import Any

import streamlit as st

from ui.operator import switchboard

LOG = logging.getLogger("sds.processes")
REAP_EVERY_S = 2.0


@dataclass
class Entry:
    session: str
    kind: str
    handle: Any  # an object with .stop() (LocalRedisServer, ExampleApiServer)
    started: float
    lifetime: float

    @property
    def ends_at(self) -> float:
        return self.started + self.lifetime


@dataclass
class ProcessRegistry:
    allow: bool
    cap: int
    lifetime: float
    clock: Callable[[], float] = time.monotonic
    session_alive: Callable[[str], bool] = lambda _s: True
    entries: dict[tuple[str, str], Entry] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lock = threading.Lock()
        self._jobs: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._spawner, name="sds-spawner", daemon=True).start()
        threading.Thread(target=self._reaper, name="sds-reaper", daemon=True).start()

    # -- starting and stopping ---------------------------------------------------------------------------
    def start(self, session: str, kind: str, factory: Callable[[], Any]) -> Entry:
        """Start ``factory()`` for ``session`` (one per kind and session) on the spawner thread; a
        ValueError with the reason when the operator does not allow it or the cap is reached."""
        if not self.allow:
            raise ValueError(
                "starting processes is switched off on this server (its operator sets SDS_ALLOW_PROCESSES); "
                "use a Redis the operator allows instead"
            )
        with self._lock:
            if (session, kind) in self.entries:
                return self.entries[(session, kind)]
            if len(self.entries) >= self.cap:
                soonest = min((e.ends_at for e in self.entries.values()), default=self.clock())
                raise ValueError(
                    f"{len(self.entries)} of the {self.cap} processes this server allows are running for other "
                    f"sessions; one ends within {max(0, round(soonest - self.clock()))} s. Try again then."
                )
            placeholder = Entry(session, kind, None, self.clock(), self.lifetime)
            self.entries[(session, kind)] = placeholder  # holds the slot while it starts
        future: Future = Future()
        self._jobs.put((factory, future))
        try:
            handle = future.result(timeout=60)
        except BaseException:
            with self._lock:
                self.entries.pop((session, kind), None)
            raise
        with self._lock:
            placeholder.handle = handle
        return placeholder

    def get(self, session: str, kind: str) -> Entry | None:
        with self._lock:
            e = self.entries.get((session, kind))
        return e if e is not None and e.handle is not None else None

    def stop(self, session: str, kind: str) -> None:
        with self._lock:
            e = self.entries.pop((session, kind), None)
        if e is not None and e.handle is not None:
            self._stop(e)

    def count(self) -> int:
        with self._lock:
            return len(self.entries)

    def reap(self) -> int:
        """Stop what outlived its lifetime or its session; returns how many were stopped."""
        now = self.clock()
        with self._lock:
            gone = [
                k for k, e in self.entries.items()
                if e.handle is not None and (now >= e.ends_at or not self.session_alive(e.session))
            ]  # fmt: skip
            victims = [self.entries.pop(k) for k in gone]
        for e in victims:
            self._stop(e)
        return len(victims)

    # -- threads -----------------------------------------------------------------------------------------
    def _spawner(self) -> None:
        while True:
            factory, future = self._jobs.get()
            try:
                future.set_result(factory())
            except BaseException as e:  # noqa: BLE001 - handed to the caller
                future.set_exception(e)

    def _reaper(self) -> None:
        while True:
            time.sleep(REAP_EVERY_S)
            try:
                self.reap()
            except Exception:  # noqa: BLE001 - the reaper must keep running
                LOG.exception("reaping processes failed")

    @staticmethod
    def _stop(e: Entry) -> None:
        try:
            e.handle.stop()
        except Exception:  # noqa: BLE001 - a process that is already gone
            LOG.exception("stopping %s for a session failed", e.kind)


def _session_alive(session: str) -> bool:
    from streamlit import runtime

    return not runtime.exists() or runtime.get_instance().is_active_session(session)


@st.cache_resource
def registry() -> ProcessRegistry:
    """The server's one registry (``st.cache_resource``: shared by every session, by design)."""
    s = switchboard()
    return ProcessRegistry(
        s.allow_processes, s.max_processes, s.process_lifetime, session_alive=_session_alive
    )


def session_id() -> str:
    """This browser session's id (AppTest has one too)."""
    from streamlit.runtime.scriptrunner import get_script_run_ctx

    ctx = get_script_run_ctx()
    return ctx.session_id if ctx is not None else "no-session"


def process_button(
    col,
    kind: str,
    starter: Callable[[], Any],
    labels: tuple[str, str, str],
    errors: tuple[type[BaseException], ...],
    *,
    state_key: str,
    on_started: Callable[[Any], None] | None = None,
    show: bool = True,
) -> Any:
    """A button that starts ``starter()`` for this session through the registry (or stops it), as one of
    the operator's capped processes; ``labels`` = (stop, start, help). The handle is kept in
    ``st.session_state[state_key]`` and returned (None when nothing runs). A process the registry ended
    (its lifetime) is noticed and forgotten; a refusal (switched off, cap reached) is shown as a sentence."""
    reg, me, ss = registry(), session_id(), st.session_state
    if state_key in ss and reg.get(me, kind) is None:
        ss.pop(state_key, None)
        col.info(
            "The process this session started was stopped (its lifetime is over).",
            icon=":material/timer_off:",
        )
    stop_label, start_label, tip = labels
    life = f" It runs at most {round(reg.lifetime / 60)} minutes and stops when you close this tab."

    def start() -> None:
        try:
            ss[state_key] = handle = reg.start(me, kind, starter).handle
        except (ValueError, *errors) as e:
            ss[f"{state_key}_error"] = str(e)
            return
        if on_started is not None:
            on_started(handle)

    def stop() -> None:
        reg.stop(me, kind)
        ss.pop(state_key, None)

    with col:
        if state_key in ss:
            st.button(stop_label, on_click=stop, icon=":material/stop_circle:")
        elif show and reg.allow:
            st.button(start_label, on_click=start, icon=":material/play_circle:", help=tip + life)
        elif show:
            st.caption("Starting processes is switched off on this server.")
        if err := ss.pop(f"{state_key}_error", None):
            st.error(err)
    return ss.get(state_key)
