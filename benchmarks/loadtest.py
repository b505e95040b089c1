"""Load test: a class of N students on the sandbox at once, against running servers or servers it starts.

Scenario: N students open the app within a ramp of a few seconds, each on a page of their own, and then,
with a human think time between moves (uniform, 5-15 s by default), move the widgets a student would
(sliders, select boxes, radio buttons, number inputs found in the page's own delta messages) or walk to
another page (one move in five). Most students are light clients that speak Streamlit's own websocket
protocol (``/_stcore/stream``, protobuf ``BackMsg``/``ForwardMsg`` from ``streamlit.proto``, exactly what
the browser sends: a ``rerun_script`` with the page, the query string and the widget states, and, for a
widget inside an ``st.fragment``, its fragment id); ``--browsers K`` of them are real Chromium contexts
(Playwright, Debian's /usr/bin/chromium) pressing keys on sliders and clicking the navigation. An
interaction's latency is from the message that asks for a rerun to the ``script_finished`` that ends it
(successfully or as a fragment run), seen on the websocket; the page's drawing in a browser is not counted.

Reported: per-interaction latency (median, p95, max; overall and per page), errors (a failed connection,
a rerun that did not finish within ``--timeout``, an exception shown on a page, a page not found, a
script that did not compile, an uncaught error in a browser page), the servers' CPU seconds per
interaction (from /proc/<pid>/stat of the server processes and their children, before and after), and
memory (summed RSS of the server processes at the start, the peak and the end; per session = the growth
over the start divided by the sessions). ``--profile K`` first measures, one student alone on a quiet
server, the server CPU of opening each page and of K widget moves on it (the per-page table).

The run stops by itself: no new interaction starts after ramp + duration, and everything is cancelled
(and counted as unfinished) at ramp + duration + timeout + 15 s. Servers it started are stopped by PID.

    python benchmarks/loadtest.py --url http://127.0.0.1:8080 --sessions 40     # a running class address
    python benchmarks/loadtest.py --serve direct --sessions 10                  # starts one replica itself
    python benchmarks/loadtest.py --serve classroom --replicas 2 --sessions 40 --browsers 2
    python benchmarks/loadtest.py --serve both --curve 1,10,20,40 --duration 120 --json curve.json
    python benchmarks/loadtest.py --serve direct --profile 3 --sessions 0       # per-page CPU table only

Against a ``--url`` on this machine without ``--pid``, the PIDs are read from a running ``classroom/run.py``'s
state file (same port), or found as the process listening on the port. The machine this runs on is shared:
latencies include other load, CPU seconds are the servers' own. Needs ``websockets`` (and ``playwright`` for
``--browsers``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import sys
import time
import urllib.parse
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import numpy as np
import websockets
from streamlit.proto.BackMsg_pb2 import BackMsg
from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
from streamlit.proto.Slider_pb2 import Slider
from streamlit.proto.WidgetStates_pb2 import WidgetState

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
MOVABLE = ("slider", "selectbox", "radio", "number_input")
TRACKED = (*MOVABLE, "text_area", "text_input")
FINISHED = (ForwardMsg.FINISHED_SUCCESSFULLY, ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY)
NAVIGATE_SHARE = 0.2  # of a student's moves, the share that walks to another page
TICK = os.sysconf("SC_CLK_TCK")


# ---------------------------------------------------------------------------------------------- numbers
def quantile(values: Sequence[float], q: float) -> float:
    """The q-quantile (0..1) with linear interpolation (numpy's default); NaN for no values."""
    return float(np.quantile(np.asarray(values, dtype=float), q)) if len(values) else math.nan


def summary(values: Sequence[float]) -> dict[str, float]:
    return {
        "n": len(values),
        "median": quantile(values, 0.5),
        "p95": quantile(values, 0.95),
        "max": max(values) if values else math.nan,
    }


# --------------------------------------------------------------------------------------- server meters
def _stat(pid: int) -> tuple[int, float, float] | None:
    """(parent pid, own CPU s, reaped children's CPU s) of a process, from /proc/<pid>/stat."""
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = text[text.rindex(")") + 2 :].split()  # after "pid (comm) "; comm may hold spaces
    ppid, utime, stime, cutime, cstime = int(fields[1]), *(int(x) for x in fields[11:15])
    return ppid, (utime + stime) / TICK, (cutime + cstime) / TICK


def _children_map() -> dict[int, list[int]]:
    out: dict[int, list[int]] = defaultdict(list)
    for entry in os.listdir("/proc"):
        if entry.isdigit() and (st := _stat(int(entry))) is not None:
            out[st[0]].append(int(entry))
    return out


def process_tree(pid: int, kids: dict[int, list[int]] | None = None) -> list[int]:
    """``pid`` and its live descendants (nginx's workers; a replica's children, if it had any)."""
    kids = _children_map() if kids is None else kids
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(kids.get(p, ()))
    return out


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Sample:
    cpu: dict[str, float]
    rss: dict[str, int]
    at: float


class Meter:
    """CPU seconds and RSS of labelled server processes (each with its descendants), read from /proc."""

    def __init__(self, pids: dict[str, int]):
        self.pids = dict(pids)
        self.peak_rss = 0
        self._task: asyncio.Task | None = None

    def sample(self) -> Sample:
        kids = _children_map()
        cpu, rss = {}, {}
        for label, pid in self.pids.items():
            tree = process_tree(pid, kids)
            total = 0.0
            for i, p in enumerate(tree):
                st = _stat(p)
                if st is not None:
                    total += st[1] + (st[2] if i == 0 else 0.0)  # reaped children count once, at the root
            cpu[label] = total
            rss[label] = sum(_rss(p) for p in tree)
        s = Sample(cpu, rss, time.monotonic())
        self.peak_rss = max(self.peak_rss, sum(rss.values()))
        return s

    async def _watch(self, every: float) -> None:
        while True:
            await asyncio.sleep(every)
            self.sample()

    def start_watching(self, every: float = 1.0) -> None:
        self.peak_rss = 0
        self._task = asyncio.get_running_loop().create_task(self._watch(every))

    async def stop_watching(self) -> None:
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None


def listening_pid(port: int) -> int | None:
    """The PID of the process listening on a TCP port of this machine (via /proc/net/tcp and fd links)."""
    inodes = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        try:
            lines = Path(table).read_text().splitlines()[1:]
        except OSError:
            continue
        for line in lines:
            parts = line.split()
            if parts[3] == "0A" and int(parts[1].rsplit(":", 1)[1], 16) == port:  # 0A = LISTEN
                inodes.add(parts[9])
    if not inodes:
        return None
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            for fd in os.listdir(f"/proc/{entry}/fd"):
                link = os.readlink(f"/proc/{entry}/fd/{fd}")
                if link.startswith("socket:[") and link[8:-1] in inodes:
                    return int(entry)
        except OSError:
            continue
    return None


def discover_pids(url: str) -> dict[str, int]:
    """Server PIDs behind a URL on this machine: a running classroom's state file, else the listener."""
    parsed = urllib.parse.urlsplit(url)
    if parsed.hostname not in ("127.0.0.1", "localhost", "::1") or parsed.port is None:
        return {}
    from classroom.run import state_path

    try:
        state = json.loads(state_path(parsed.port).read_text())
        pids = {k: int(v) for k, v in state["pids"].items()}
        if all(Path(f"/proc/{p}").exists() for p in pids.values()):
            return pids
    except (OSError, ValueError, KeyError):
        pass
    pid = listening_pid(parsed.port)
    return {f"server :{parsed.port}": pid} if pid else {}


# -------------------------------------------------------------------------------- the light client
@dataclass
class Interaction:
    session: int
    client: str  # "ws" or "browser"
    kind: str  # "open", "move", "navigate"
    page: str
    widget: str
    started: float
    latency: float | None  # None: did not finish
    error: str = ""
    received: int = 0  # bytes of ForwardMsgs
    fragment: bool = False
    replica: str = ""


class SessionError(Exception):
    pass


@dataclass
class Widget:
    kind: str
    proto: object
    fragment_id: str


def _widget_value(w: Widget) -> WidgetState | None:
    """The widget's value as the server last set it (``set_value``), as a WidgetState; else None."""
    p = w.proto
    if not getattr(p, "set_value", False):
        return None
    state = WidgetState(id=p.id)
    if w.kind == "slider":
        if p.type == Slider.SELECT_SLIDER:
            state.string_array_value.data.extend(p.raw_value)
        else:
            state.double_array_value.data.extend(p.value)
    elif w.kind in ("selectbox", "radio"):
        state.string_value = p.raw_value
    elif w.kind == "number_input":
        state.double_value = p.value
    elif w.kind in ("text_area", "text_input"):
        state.string_value = p.value
    return state


def _current(w: Widget, state: WidgetState | None):
    """The value the student sees: what they last sent, else what the server set, else the default."""
    p = w.proto
    if w.kind == "slider":
        if p.type == Slider.SELECT_SLIDER:
            if state is not None:
                return [list(p.options).index(s) for s in state.string_array_value.data if s in p.options]
            return [int(x) for x in (p.value if p.set_value else p.default)]
        return (
            list(state.double_array_value.data)
            if state is not None
            else list(p.value if p.set_value else p.default)
        )
    if w.kind in ("selectbox", "radio"):
        if state is not None:
            return state.string_value
        if p.set_value:
            return p.raw_value
        return p.options[p.default] if 0 <= p.default < len(p.options) else None
    if w.kind == "number_input":
        return state.double_value if state is not None else (p.value if p.set_value else p.default)
    return None


def propose_move(w: Widget, state: WidgetState | None, rng: random.Random) -> WidgetState | None:
    """A student's move of one widget (a nudge of a few steps, or a drag anywhere; another option), as the
    WidgetState the browser would send; None when the widget cannot move."""
    p = w.proto
    out = WidgetState(id=p.id)
    cur = _current(w, state)
    if w.kind == "slider" and p.type == Slider.SELECT_SLIDER:
        if not cur or len(p.options) < 2:
            return None
        i = rng.randrange(len(cur))
        nxt = min(max(cur[i] + rng.choice((-2, -1, 1, 2)), 0), len(p.options) - 1)
        if nxt == cur[i]:
            nxt = cur[i] - 1 if cur[i] > 0 else cur[i] + 1
        cur[i] = nxt
        out.string_array_value.data.extend(p.options[j] for j in sorted(cur))
        return out
    if w.kind == "slider":
        if p.data_type not in (Slider.INT, Slider.FLOAT) or not cur or p.max <= p.min or p.step <= 0:
            return None
        steps = int(round((p.max - p.min) / p.step))
        i = rng.randrange(len(cur))
        k = int(round((cur[i] - p.min) / p.step))
        new = rng.randrange(steps + 1) if rng.random() < 0.3 else k + rng.choice((-3, -2, -1, 1, 2, 3))
        new = min(max(new, 0), steps)
        if new == k:
            new = k - 1 if k > 0 else k + 1
        value = p.min + new * p.step
        cur[i] = float(round(value)) if p.data_type == Slider.INT else round(value, 10)
        out.double_array_value.data.extend(sorted(cur))
        return out
    if w.kind in ("selectbox", "radio"):
        others = [o for o in p.options if o != cur]
        if not others:
            return None
        out.string_value = rng.choice(others)
        return out
    if w.kind == "number_input":
        step = p.step or 1.0
        value = (cur or 0.0) + rng.choice((-1, 1)) * step
        if p.has_min and value < p.min or p.has_max and value > p.max:
            value = (cur or 0.0) - (value - (cur or 0.0))
        if p.has_min and value < p.min or p.has_max and value > p.max:
            return None
        out.double_value = float(round(value)) if p.data_type == p.INT else value
        return out
    return None


class StreamlitSession:
    """One browser tab, spoken in Streamlit's websocket protocol: an HTTP GET of the page (which also
    takes nginx's route cookie), a websocket to ``/_stcore/stream`` carrying that cookie, then reruns.

    ``widgets`` holds the widgets on screen (id -> Widget, from the last full run and the fragment runs
    after it); ``pages`` the navigation (url path -> page script hash); ``log`` every ForwardMsg's bytes
    when ``keep_log`` (for the isolation test)."""

    def __init__(self, base_url: str, *, timeout: float = 60.0, keep_log: bool = False, cookies=None):
        self.base = base_url.rstrip("/")
        self.timeout = timeout
        self.keep_log = keep_log
        self.log: list[bytes] = []
        self.http = httpx.AsyncClient(timeout=timeout, trust_env=False, cookies=cookies)
        self.ws = None
        self.session_id = ""
        self.replica = ""
        self.ws_replica = ""
        self.page = ""
        self.query = ""
        self.pages: dict[str, str] = {}
        self.widgets: dict[str, Widget] = {}
        self.states: dict[str, WidgetState] = {}
        self._cache: dict[str, bytes] = {}
        self._pending: dict[str, Widget] = {}
        self._waiter: asyncio.Future | None = None
        self._run_errors: list[str] = []
        self._received = 0
        self._reader: asyncio.Task | None = None

    async def connect(self, path: str = "") -> None:
        """GET the page as a browser would, then open the websocket with the cookies it set."""
        r = await self.http.get(f"{self.base}/{path.lstrip('/')}")
        if r.status_code != 200:
            raise SessionError(f"GET /{path} answered {r.status_code}")
        self.replica = r.headers.get("x-sds-replica", "")
        ws_url = "ws" + self.base[4:] + "/_stcore/stream"
        headers = {}
        if self.http.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.http.cookies.items())
        self.ws = await websockets.connect(
            ws_url,
            subprotocols=["streamlit"],
            additional_headers=headers,
            origin=self.base,
            max_size=None,
            proxy=None,
            open_timeout=self.timeout,
        )
        self.ws_replica = self.ws.response.headers.get("X-Sds-Replica", "")
        self._reader = asyncio.get_running_loop().create_task(self._read())

    async def close(self) -> None:
        if self.ws is not None:
            await self.ws.close()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
        await self.http.aclose()

    # -- receiving
    async def _read(self) -> None:
        try:
            async for data in self.ws:
                if isinstance(data, bytes):
                    self._handle(data)
            self._fail("the server closed the websocket")
        except websockets.ConnectionClosed as e:
            self._fail(f"the websocket closed: {e}")
        except Exception as e:  # a message the client cannot read must surface, not hang the session
            self._fail(f"{type(e).__name__}: {e}")

    def _fail(self, why: str) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_exception(SessionError(why))

    def _handle(self, data: bytes) -> None:
        self._received += len(data)
        if self.keep_log:
            self.log.append(data)
        msg = ForwardMsg()
        msg.ParseFromString(data)
        kind = msg.WhichOneof("type")
        if kind == "ref_hash":
            cached = self._cache.get(msg.ref_hash)
            if cached is None:
                self._run_errors.append(f"a ref_hash the client never received: {msg.ref_hash}")
                return
            metadata = msg.metadata
            msg = ForwardMsg()
            msg.ParseFromString(cached)
            msg.metadata.CopyFrom(metadata)
            kind = msg.WhichOneof("type")
        elif msg.metadata.cacheable and msg.hash:
            self._cache[msg.hash] = data
        if kind == "new_session":
            self.session_id = msg.new_session.initialize.session_id
        elif kind == "navigation":
            self.pages = {p.url_pathname: p.page_script_hash for p in msg.navigation.app_pages}
        elif kind == "page_info_changed":
            self.query = msg.page_info_changed.query_string
        elif kind == "page_not_found":
            self._run_errors.append(f"page not found: {msg.page_not_found.page_name!r}")
        elif kind == "delta" and msg.delta.WhichOneof("type") == "new_element":
            element = msg.delta.new_element
            etype = element.WhichOneof("type")
            if etype == "exception":
                self._run_errors.append(
                    f"exception on the page: {element.exception.type}: {element.exception.message}"
                )
            elif etype in TRACKED:
                proto = getattr(element, etype)
                if proto.id and not proto.form_id:
                    w = Widget(etype, proto, msg.delta.fragment_id)
                    self._pending[proto.id] = w
                    if (value := _widget_value(w)) is not None and proto.id in self.states:
                        self.states[proto.id] = value
        elif kind == "script_finished":
            status = msg.script_finished
            if status == ForwardMsg.FINISHED_EARLY_FOR_RERUN:
                return  # a rerun follows at once (st.rerun, or the page kit's first-run switch)
            if status == ForwardMsg.FINISHED_FRAGMENT_RUN_SUCCESSFULLY:
                self.widgets.update(self._pending)
            else:
                self.widgets = dict(self._pending)
                self.states = {k: v for k, v in self.states.items() if k in self.widgets}
            self._pending = {}
            if status not in FINISHED:
                self._run_errors.append("the script did not compile")
            if self._waiter is not None and not self._waiter.done():
                self._waiter.set_result(status)

    # -- sending
    async def rerun(
        self,
        *,
        page: str | None = None,
        query: str = "",
        widget: WidgetState | None = None,
        fragment_id: str = "",
    ) -> tuple[float, int]:
        """Ask for a rerun (opening ``page``, or this page with ``widget`` changed) and wait until it
        finishes; (seconds, bytes received). Raises SessionError on an error or a timeout."""
        msg = BackMsg()
        cs = msg.rerun_script
        if page is not None:  # open or walk to a page: its query string, no widget states
            self.page = page
            cs.page_name = page
            if page in self.pages:
                cs.page_script_hash = self.pages[page]
            cs.query_string = query
            self.widgets, self.states = {}, {}
        else:
            if self.page in self.pages:
                cs.page_script_hash = self.pages[self.page]
            cs.page_name = self.page
            cs.query_string = self.query
            if widget is not None:
                self.states[widget.id] = widget
            cs.widget_states.widgets.extend(self.states.values())
            cs.fragment_id = fragment_id
        cs.cached_message_hashes.extend(self._cache)
        url = f"{self.base}/{self.page}" + (f"?{cs.query_string}" if cs.query_string else "")
        cs.context_info.url = url
        cs.context_info.timezone = "UTC"
        cs.context_info.locale = "en-US"
        loop = asyncio.get_running_loop()
        self._waiter = loop.create_future()
        self._run_errors, self._received, self._pending = [], 0, {}
        t0 = time.perf_counter()
        await self.ws.send(msg.SerializeToString())
        try:
            await asyncio.wait_for(self._waiter, self.timeout)
        except TimeoutError:
            raise SessionError(f"no script_finished within {self.timeout:.0f} s") from None
        finally:
            self._waiter = None
        latency = time.perf_counter() - t0
        if self._run_errors:
            raise SessionError("; ".join(self._run_errors)[:500])
        return latency, self._received

    async def open(self, page: str, query: str = "") -> tuple[float, int]:
        if self.ws is None:
            await self.connect(page + (f"?{query}" if query else ""))
        return await self.rerun(page=page, query=query)

    def movable(self) -> list[Widget]:
        return [w for w in self.widgets.values() if w.kind in MOVABLE and not w.proto.disabled]

    def widget_by_key(self, key: str) -> Widget | None:
        """The widget whose id ends with ``-<key>`` (Streamlit ids carry the user key at their end)."""
        return next((w for i, w in self.widgets.items() if i.endswith(f"-{key}")), None)


# ---------------------------------------------------------------------------------------- students
@dataclass
class Plan:
    duration: float
    think: tuple[float, float]
    ramp: float
    timeout: float
    pages: tuple[str, ...]  # url paths a student may visit; empty: every page in the navigation
    start: str  # the page (and query) every student opens first; empty: a random page each
    seed: int


async def light_student(index: int, base_url: str, plan: Plan, t0: float, out: list[Interaction]) -> None:
    rng = random.Random(plan.seed * 1000 + index)
    deadline = t0 + plan.ramp + plan.duration
    s = StreamlitSession(base_url, timeout=plan.timeout)

    def record(
        kind: str, page: str, widget: str, started: float, result=None, error: str = "", fragment=False
    ):
        latency, received = result if result else (None, 0)
        out.append(Interaction(index, "ws", kind, page, widget, started - t0, latency, error, received, fragment,
                               s.ws_replica or s.replica))  # fmt: skip

    page, _, query = plan.start.partition("?")
    if not plan.start:
        page = rng.choice(plan.pages) if plan.pages else ""
    started = time.monotonic()
    try:
        record("open", page, "", started, await s.open(page, query))
        if not plan.pages and s.pages:
            choices = [p for p in s.pages if p]
        else:
            choices = [p for p in plan.pages if p in s.pages] or list(plan.pages)
        while True:
            think = rng.uniform(*plan.think)
            if time.monotonic() + think >= deadline:
                break
            await asyncio.sleep(think)
            movable = s.movable()
            others = [p for p in choices if p != s.page]
            started = time.monotonic()
            if others and (not movable or rng.random() < NAVIGATE_SHARE):
                target = rng.choice(others)
                try:
                    record("navigate", target, "", started, await s.rerun(page=target))
                except SessionError as e:
                    record("navigate", target, "", started, error=str(e))
                continue
            w = rng.choice(movable) if movable else None
            state = propose_move(w, s.states.get(w.proto.id), rng) if w else None
            if state is None:
                continue
            name = w.proto.id.rsplit("-", 1)[-1]
            try:
                result = await s.rerun(widget=state, fragment_id=w.fragment_id)
                record("move", s.page, name, started, result, fragment=bool(w.fragment_id))
            except SessionError as e:
                record("move", s.page, name, started, error=str(e), fragment=bool(w.fragment_id))
    except (SessionError, OSError, websockets.WebSocketException, httpx.HTTPError) as e:
        record(
            "open" if s.ws is None else "move", s.page or page, "", started, error=f"{type(e).__name__}: {e}"
        )
    finally:
        await s.close()


async def browser_student(
    index: int, browser, base_url: str, plan: Plan, t0: float, delay: float, out: list[Interaction]
) -> None:
    """A real Chromium context: opens a page, presses arrow keys on sliders, clicks the navigation."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg as FM

    rng = random.Random(plan.seed * 1000 + index)
    await asyncio.sleep(delay)
    deadline = t0 + plan.ramp + plan.duration
    context = await browser.new_context(viewport={"width": 1280, "height": 900})
    page = await context.new_page()
    finished = asyncio.Event()
    errors: list[str] = []
    count = {"received": 0}

    def on_frame(payload) -> None:
        if isinstance(payload, str):
            return
        count["received"] += len(payload)
        msg = FM()
        try:
            msg.ParseFromString(payload)
        except Exception:  # noqa: BLE001 (a frame we cannot read is not the page's error)
            return
        if msg.WhichOneof("type") == "delta" and msg.delta.new_element.WhichOneof("type") == "exception":
            errors.append(f"exception on the page: {msg.delta.new_element.exception.message}")
        if msg.WhichOneof("type") == "script_finished" and msg.script_finished in FINISHED:
            finished.set()

    def on_ws(ws) -> None:
        if ws.url.endswith("/_stcore/stream"):
            ws.on("framereceived", on_frame)

    page.on("websocket", on_ws)
    page.on("pageerror", lambda e: errors.append(f"browser page error: {e}"))

    replica = {"addr": ""}

    async def act(kind: str, name: str, where: str, action, moved=None) -> None:
        """Do ``action`` and time it to the next script_finished. ``moved()`` (for a key press) says whether
        the widget took the press; one it ignored (no frame, value unchanged after 3 s) is no interaction."""
        finished.clear()
        errors.clear()
        count["received"] = 0
        started = time.monotonic()
        latency, error = None, ""
        try:
            response = await action()
            if kind == "open" and response is not None:
                replica["addr"] = response.headers.get("x-sds-replica", "")
            if moved is not None:
                try:
                    await asyncio.wait_for(finished.wait(), 3.0)
                except TimeoutError:
                    if not count["received"] and not await moved():
                        return
            await asyncio.wait_for(finished.wait(), max(0.0, plan.timeout - (time.monotonic() - started)))
            latency = time.monotonic() - started
        except TimeoutError:
            error = f"no script_finished within {plan.timeout:.0f} s"
        except Exception as e:  # noqa: BLE001 (Playwright's errors are many; each is this student's error)
            error = f"{type(e).__name__}: {str(e)[:200]}"
        if errors and not error:
            error, latency = "; ".join(errors)[:500], None
        out.append(Interaction(index, "browser", kind, where, name, started - t0, latency, error, count["received"],
                               False, replica["addr"]))  # fmt: skip

    start_page, _, query = plan.start.partition("?")
    if not plan.start:
        start_page = rng.choice(plan.pages) if plan.pages else ""
    url = f"{base_url.rstrip('/')}/{start_page}" + (f"?{query}" if query else "")
    current = start_page
    try:
        await act("open", "", current, lambda: page.goto(url))
        while True:
            think = rng.uniform(*plan.think)
            if time.monotonic() + think >= deadline:
                break
            await asyncio.sleep(think)
            sliders = page.locator(
                '[data-testid="stSlider"]:not([data-testid="stForm"] *) input[type="range"]:not([disabled])'
            )
            n = await sliders.count()
            links = page.locator('[data-testid="stSidebarNav"] a')
            hrefs = [
                h for h in [await links.nth(i).get_attribute("href") for i in range(await links.count())] if h
            ]
            names = [urllib.parse.urlsplit(h).path.strip("/") for h in hrefs]
            targets = [i for i, p in enumerate(names) if p != current and (not plan.pages or p in plan.pages)]
            if targets and (n == 0 or rng.random() < NAVIGATE_SHARE):
                i = rng.choice(targets)
                current = names[i]
                await act("navigate", "", current, lambda i=i, links=links: links.nth(i).click())
                continue
            if n == 0:
                continue
            s = sliders.nth(rng.randrange(n))
            value, top = await s.get_attribute("value"), await s.get_attribute("max")
            key = "ArrowLeft" if value is not None and value == top else "ArrowRight"
            await s.focus()  # before the clock starts: the latency is from the key press

            async def moved(s=s, before=value) -> bool:
                try:
                    return await s.get_attribute("value", timeout=2000) != before
                except Exception:  # noqa: BLE001 (the slider is gone: the page changed, so it did rerun)
                    return True

            await act("move", "slider", current, lambda s=s, key=key: s.press(key), moved)
    finally:
        await context.close()


@dataclass
class LoadResult:
    label: str
    sessions: int
    browsers: int
    think: tuple[float, float]
    duration: float
    wall: float
    interactions: list[Interaction]
    cpu: dict[str, float]  # label -> CPU s during the run
    rss_start: dict[str, int]
    rss_end: dict[str, int]
    rss_peak: int
    replicas_seen: list[str] = field(default_factory=list)
    generator_cpu: float = math.nan  # this script's own CPU s (and its Chromium's), not the servers'
    loadavg: tuple[float, float] = (math.nan, math.nan)  # the machine's 1-min load, at the start and end

    @property
    def finished(self) -> list[Interaction]:
        return [i for i in self.interactions if i.latency is not None and not i.error]

    @property
    def errors(self) -> list[Interaction]:
        return [i for i in self.interactions if i.error or i.latency is None]

    def report(self) -> dict:
        done = self.finished
        lat = [i.latency for i in done]
        cpu_total = sum(self.cpu.values())
        by_page: dict[str, list[Interaction]] = defaultdict(list)
        for i in done:
            by_page[i.page or "(home)"].append(i)
        start, peak = sum(self.rss_start.values()), self.rss_peak
        return {
            "label": self.label,
            "sessions": self.sessions,
            "browsers": self.browsers,
            "think_s": list(self.think),
            "duration_s": self.duration,
            "wall_s": round(self.wall, 1),
            "interactions": len(self.interactions),
            "finished": len(done),
            "errors": len(self.errors),
            "error_kinds": dict(Counter(i.error.split(":")[0][:80] for i in self.errors)),
            "error_samples": sorted(
                {f"{i.kind} {i.page or '(home)'} {i.widget}: {i.error[:300]}" for i in self.errors}
            )[:8],
            "latency_s": summary(lat),
            "latency_by_kind_s": {
                k: summary([i.latency for i in done if i.kind == k]) for k in ("open", "move", "navigate")
            },
            "fragment_moves": sum(1 for i in done if i.fragment),
            "latency_by_page_s": {p: summary([i.latency for i in v]) for p, v in sorted(by_page.items())},
            "cpu_s": {k: round(v, 2) for k, v in self.cpu.items()},
            "cpu_per_interaction_s": cpu_total / len(done) if done and self.cpu else math.nan,
            "cpu_cores_busy": cpu_total / self.wall if self.wall and self.cpu else math.nan,
            "rss_mib": {
                "start": start / 2**20,
                "peak": peak / 2**20,
                "end": sum(self.rss_end.values()) / 2**20,
                "per_session": (peak - start) / 2**20 / self.sessions
                if self.sessions and self.cpu
                else math.nan,
                "by_process_end": {k: v / 2**20 for k, v in self.rss_end.items()},
            },
            "replicas_seen": sorted(set(self.replicas_seen)),
            "generator_cpu_s": round(self.generator_cpu, 1),
            "loadavg_1min": list(self.loadavg),
        }


async def run_load(
    urls: Sequence[str], sessions: int, browsers: int, plan: Plan, meter: Meter | None, label: str = ""
) -> LoadResult:
    """``sessions`` students (``browsers`` of them in Chromium) spread round-robin over ``urls``."""
    if not 0 <= browsers <= sessions:
        raise ValueError(
            f"browsers must be between 0 and sessions (got browsers={browsers}, sessions={sessions})"
        )
    out: list[Interaction] = []
    own0, load0 = _own_cpu(), _loadavg()
    before = meter.sample() if meter else None
    if meter:
        meter.start_watching()
    t0 = time.monotonic()
    hard = plan.ramp + plan.duration + plan.timeout + 15
    gap = plan.ramp / max(sessions, 1)
    tasks = []
    browser_ids = set(range(0, sessions, max(1, sessions // browsers))[:browsers]) if browsers else set()
    pw = browser = None
    try:
        if browser_ids:
            from playwright.async_api import async_playwright

            pw = await async_playwright().start()
            browser = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for i in range(sessions):
            url = urls[i % len(urls)]
            if i in browser_ids:
                tasks.append(browser_student(i, browser, url, plan, t0, i * gap, out))
            else:
                tasks.append(_delayed(i * gap, light_student(i, url, plan, t0, out)))
        pending = [asyncio.ensure_future(t) for t in tasks]
        done, not_done = await asyncio.wait(pending, timeout=hard)
        for t in not_done:
            t.cancel()
        await asyncio.gather(*not_done, return_exceptions=True)
        for t in done:
            if t.exception() is not None:
                out.append(
                    Interaction(
                        -1,
                        "?",
                        "session",
                        "",
                        "",
                        0.0,
                        None,
                        f"{type(t.exception()).__name__}: {t.exception()}",
                    )
                )
        if not_done:
            out.append(
                Interaction(
                    -1, "?", "session", "", "", hard, None, f"unfinished: {len(not_done)} sessions cancelled"
                )
            )
    finally:
        if browser is not None:
            await browser.close()
        if pw is not None:
            await pw.stop()
        wall = time.monotonic() - t0
        if meter:
            await meter.stop_watching()
    after = meter.sample() if meter else None
    cpu = {k: after.cpu[k] - before.cpu[k] for k in before.cpu} if meter else {}
    return LoadResult(
        label, sessions, browsers, plan.think, plan.duration, wall, out, cpu,
        before.rss if before else {}, after.rss if after else {}, max(meter.peak_rss, sum(after.rss.values())) if meter else 0,
        [i.replica for i in out if i.replica], _own_cpu() - own0, (load0, _loadavg()),
    )  # fmt: skip


def _own_cpu() -> float:
    """CPU seconds of this process and its reaped children (Chromium, after it closed), plus live ones."""
    import resource

    total = 0.0
    for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN):
        r = resource.getrusage(who)
        total += r.ru_utime + r.ru_stime
    kids = _children_map()
    for p in process_tree(os.getpid(), kids)[1:]:
        if (st := _stat(p)) is not None:
            total += st[1]
    return total


def _loadavg() -> float:
    try:
        return float(Path("/proc/loadavg").read_text().split()[0])
    except (OSError, ValueError):
        return math.nan


async def _delayed(delay: float, coro):
    await asyncio.sleep(delay)
    return await coro


# ---------------------------------------------------------------------------- one student, page by page
async def profile_pages(url: str, meter: Meter, moves: int, pages: Sequence[str] = (), seed: int = 1) -> dict:
    """Alone on the server: the server CPU of opening each page and of ``moves`` widget moves on it.
    Each reading is the CPU the servers spent between the request and 0.3 s after its script_finished."""
    rng = random.Random(seed)
    out: dict[str, dict] = {}
    probe = StreamlitSession(url)
    await probe.open("")
    names = [p for p in probe.pages if p and (not pages or p in pages)]
    await probe.close()
    for name in names:
        s = StreamlitSession(url)
        opens, cpus, lats, frags, errors = [], [], [], 0, []
        try:
            for attempt in range(2):  # the first open of a page imports it and fills its caches
                before = meter.sample()
                if attempt == 0:
                    lat, _ = await s.open(name)
                else:
                    lat, _ = await s.rerun(page=name)
                await asyncio.sleep(0.3)
                opens.append((sum(meter.sample().cpu.values()) - sum(before.cpu.values()), lat))
            for _ in range(moves * 3):
                if len(cpus) >= moves:
                    break
                movable = s.movable()
                if not movable:
                    break
                w = rng.choice(movable)
                state = propose_move(w, s.states.get(w.proto.id), rng)
                if state is None:
                    continue
                before = meter.sample()
                lat, _ = await s.rerun(widget=state, fragment_id=w.fragment_id)
                await asyncio.sleep(0.3)
                cpus.append(sum(meter.sample().cpu.values()) - sum(before.cpu.values()))
                lats.append(lat)
                frags += bool(w.fragment_id)
        except SessionError as e:
            errors.append(str(e))
        finally:
            await s.close()
        out[name] = {
            "first_open_cpu_s": opens[0][0] if opens else math.nan,
            "open_cpu_s": opens[1][0] if len(opens) > 1 else math.nan,
            "move_cpu_s": summary(cpus),
            "move_latency_s": summary(lats),
            "fragment_moves": frags,
            "errors": errors,
        }
    return out


# ------------------------------------------------------------------------------------------ servers
class Servers:
    """Servers this script starts: ``direct`` (one replica, no nginx) or ``classroom`` (R + nginx)."""

    def __init__(self, how: str, replicas: int = 2, redis_server: bool = False, log: Path | None = None):
        self.how, self.replicas, self.redis_server, self.log = how, replicas, redis_server, log
        self.room = None
        self.replica = None

    def __enter__(self) -> Servers:
        from classroom.run import Classroom, Replica, free_port

        if self.how == "classroom":
            self.room = Classroom(self.replicas, free_port(), redis_server=self.redis_server).start()
        else:
            env = dict(os.environ, SDS_ALLOW_PROCESSES="0")
            self.replica = Replica(free_port(), env=env, log=self.log).start()
            try:
                self.replica.wait_ready()
            except BaseException:
                self.replica.stop()
                raise
        return self

    @property
    def url(self) -> str:
        return self.room.url if self.room else self.replica.url

    @property
    def replica_urls(self) -> list[str]:
        return [r.url for r in self.room.replicas] if self.room else [self.replica.url]

    def pids(self) -> dict[str, int]:
        return self.room.pids() if self.room else {"replica": self.replica.pid}

    def __exit__(self, *exc) -> None:
        if self.room:
            self.room.stop()
        if self.replica:
            self.replica.stop()


async def warm(urls: Sequence[str], pages: Sequence[str] = ()) -> None:
    """Open every page once on each replica (imports, caches), as the teacher's own first visit does."""
    for url in urls:
        s = StreamlitSession(url)
        try:
            await s.open("")
            for name in [p for p in s.pages if p and (not pages or p in pages)]:
                await s.rerun(page=name)
        finally:
            await s.close()


# ------------------------------------------------------------------------------------------- output
def _f(x: float, digits: int = 2) -> str:
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.{digits}f}"


def format_report(r: dict) -> str:
    lat = r["latency_s"]
    lines = [
        f"== {r['label'] or 'load test'}: {r['sessions']} sessions ({r['browsers']} in Chromium), think "
        f"{r['think_s'][0]:g}-{r['think_s'][1]:g} s, {r['duration_s']:g} s (+ramp), wall {r['wall_s']:g} s",
        f"interactions {r['finished']}/{r['interactions']} finished, errors {r['errors']}"
        + (f" {r['error_kinds']}" if r["errors"] else ""),
        *(f"  error: {e}" for e in r["error_samples"]),
        f"latency s: median {_f(lat['median'])}  p95 {_f(lat['p95'])}  max {_f(lat['max'])}"
        + "".join(
            f" | {k} {_f(v['median'])}/{_f(v['p95'])} (n={v['n']})"
            for k, v in r["latency_by_kind_s"].items()
            if v["n"]
        ),
        f"server CPU: {_f(r['cpu_per_interaction_s'], 3)} s per interaction, {_f(r['cpu_cores_busy'])} cores busy "
        f"{r['cpu_s']}",
        f"load generator CPU {_f(r['generator_cpu_s'], 1)} s; machine load (1 min) {_f(r['loadavg_1min'][0], 1)} -> "
        f"{_f(r['loadavg_1min'][1], 1)} on {os.cpu_count()} cores",
        f"memory MiB: start {_f(r['rss_mib']['start'], 0)}  peak {_f(r['rss_mib']['peak'], 0)}  end "
        f"{_f(r['rss_mib']['end'], 0)}  per session {_f(r['rss_mib']['per_session'], 1)}",
    ]
    if r["replicas_seen"]:
        lines.append(f"replicas seen: {len(r['replicas_seen'])} {r['replicas_seen']}")
    lines.append("per page (median / p95 s, n): " + ", ".join(
        f"{p} {_f(v['median'])}/{_f(v['p95'])} ({v['n']})" for p, v in r["latency_by_page_s"].items()))  # fmt: skip
    return "\n".join(lines)


def format_profile(prof: dict) -> str:
    lines = ["== server CPU per interaction, one student alone (s): page | first open | open | move median "
             "(min-max, n, in a fragment) | move latency median"]  # fmt: skip
    for page, v in prof.items():
        m = v["move_cpu_s"]
        lines.append(
            f"{page:28s} {_f(v['first_open_cpu_s'], 3):>7} {_f(v['open_cpu_s'], 3):>7}   {_f(m['median'], 3)} "
            f"(max {_f(m['max'], 3)}, n={m['n']}, {v['fragment_moves']} frag)  {_f(v['move_latency_s']['median'], 3)}"
            + (f"  ERRORS {v['errors']}" if v["errors"] else "")
        )
    return "\n".join(lines)


def capacity(r: dict, replicas: int, mean_think: float, utilisation: float = 0.5) -> tuple[float, str]:
    """Students one class address can hold at ``mean_think`` s between moves, stated as an estimate:
    each replica is one Python process, so it serves about one core of reruns at most (the GIL); keep it
    ``utilisation`` busy (at 0.5 a rerun waits about as long as it runs). Uses the measured server CPU per
    interaction when the PIDs were known, else the median latency of this (lightly loaded) run."""
    cores = os.cpu_count() or 1
    usable = min(replicas, cores) if r["cpu_s"] else replicas
    per = r["cpu_per_interaction_s"] if r["cpu_s"] else r["latency_s"]["median"]
    basis = "server CPU per interaction" if r["cpu_s"] else "median latency (no PIDs: CPU unknown)"
    if not per or math.isnan(per):
        return math.nan, "no finished interaction"
    students = utilisation * usable * (mean_think + per) / per
    why = (f"{utilisation:g} x min(replicas={replicas}, cores={cores}) x ({mean_think:g} s think + {per:.3f} s) / "
           f"{per:.3f} s {basis}")  # fmt: skip
    return students, why


# --------------------------------------------------------------------------------------------- main
def _pages(arg: str) -> tuple[str, ...]:
    return tuple(p.strip().strip("/") for p in arg.split(",") if p.strip()) if arg else ()


async def _main(args) -> int:
    plan = Plan(args.duration, (args.think[0], args.think[1]), args.ramp, args.timeout, _pages(args.pages),
                args.start, args.seed)  # fmt: skip
    reports, profiles = [], {}
    counts = [int(c) for c in args.curve.split(",")] if args.curve else [args.sessions]
    modes = ["direct", "classroom"] if args.serve == "both" else [args.serve]
    for mode in modes:
        for n in counts:
            browsers = min(args.browsers, n // 5 if args.curve else n)  # a lone user is a light client
            if mode == "none":
                pids = {f"pid {p}": p for p in args.pid} if args.pid else discover_pids(args.url[0])
                meter = Meter(pids) if pids else None
                if args.profile and meter:
                    profiles[args.url[0]] = prof = await profile_pages(
                        args.url[0], meter, args.profile, plan.pages
                    )
                    print(format_profile(prof), flush=True)
                if n:
                    r = (await run_load(args.url, n, browsers, plan, meter, label=args.url[0])).report()
                    reports.append(r)
                    print(format_report(r), flush=True)
                    _print_capacity(r, args, len(r["replicas_seen"]) or len(args.url))
                continue
            log = Path(args.server_log) if args.server_log else None
            with Servers(mode, args.replicas, args.redis_server, log) as servers:
                label = "1 replica, direct" if mode == "direct" else f"{args.replicas} replicas via nginx"
                meter = Meter(servers.pids())
                if args.profile:
                    profiles[label] = prof = await profile_pages(servers.url, meter, args.profile, plan.pages)
                    print(f"[{label}]\n" + format_profile(prof), flush=True)
                elif not args.cold:
                    await warm(servers.replica_urls, plan.pages)
                if n:
                    r = (await run_load([servers.url], n, browsers, plan, meter, label=label)).report()
                    reports.append(r)
                    print(format_report(r), flush=True)
                    _print_capacity(r, args, args.replicas if mode == "classroom" else 1)
    if args.curve and len(reports) > 1:
        print("\n== curve (latency s median / p95, errors, CPU s per interaction, peak RSS MiB)")
        for r in reports:
            print(f"{r['label']:22s} {r['sessions']:3d} sessions: {_f(r['latency_s']['median'])} / "
                  f"{_f(r['latency_s']['p95'])}  errors {r['errors']}  n={r['finished']}  "
                  f"cpu {_f(r['cpu_per_interaction_s'], 3)}  rss {_f(r['rss_mib']['peak'], 0)}")  # fmt: skip
    if args.json:
        Path(args.json).write_text(json.dumps({"runs": reports, "profiles": profiles}, indent=1, default=str))
    return 1 if any(r["errors"] for r in reports) else 0


def _print_capacity(r: dict, args, replicas: int) -> None:
    if not args.capacity:
        return
    mean = sum(args.capacity_think) / 2
    students, why = capacity(r, replicas, mean)
    print(f"capacity: about {_f(students, 0)} students at {args.capacity_think[0]:g}-{args.capacity_think[1]:g} s "
          f"think (an estimate: {why}); measured here: {r['sessions']} sessions, {r['errors']} errors, "
          f"p95 {_f(r['latency_s']['p95'])} s", flush=True)  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", action="append", default=[], help="a running server or class address (repeat)")
    ap.add_argument("--pid", action="append", type=int, default=[], help="a server PID to meter (repeat)")
    ap.add_argument("--serve", choices=("none", "direct", "classroom", "both"), default=None,
                    help="start the servers here: one replica, R replicas behind nginx, or both in turn")  # fmt: skip
    ap.add_argument("--replicas", type=int, default=2)
    ap.add_argument("--redis-server", action="store_true", help="the classroom gets a throwaway redis-server")
    ap.add_argument("--sessions", type=int, default=10)
    ap.add_argument("--browsers", type=int, default=0, help="of the sessions, how many in real Chromium")
    ap.add_argument("--curve", default="", help="session counts to run in turn, e.g. 1,10,20,40")
    ap.add_argument("--duration", type=float, default=90.0, help="seconds in which interactions start")
    ap.add_argument("--think", type=float, nargs=2, default=(5.0, 15.0), metavar=("LO", "HI"))
    ap.add_argument("--ramp", type=float, default=10.0, help="students arrive over this many seconds")
    ap.add_argument("--timeout", type=float, default=60.0, help="an interaction slower than this is an error")
    ap.add_argument("--pages", default="", help="comma-separated url paths to visit (default: every page)")
    ap.add_argument("--start", default="", help="the page[?query] every student opens first (a shared link)")
    ap.add_argument("--profile", type=int, default=0, help="first, per page: CPU of K moves by one student")
    ap.add_argument("--cold", action="store_true", help="do not open every page once before the load")
    ap.add_argument("--capacity", action="store_true", help="print the estimated capacity of the address")
    ap.add_argument("--capacity-think", type=float, nargs=2, default=(5.0, 15.0), metavar=("LO", "HI"))
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--json", default="", help="write every number to this file")
    ap.add_argument("--server-log", default="", help="append the started replica's output here (direct)")
    args = ap.parse_args(argv)
    if args.serve is None:
        args.serve = "none" if args.url else "direct"
    if args.serve == "none" and not args.url:
        ap.error("--url is required unless --serve starts the servers")
    if args.think[0] < 0 or args.think[1] < args.think[0]:
        ap.error(f"--think LO HI must have 0 <= LO <= HI (got {args.think})")
    return asyncio.run(_main(args))


if __name__ == "__main__":
    sys.exit(main())
