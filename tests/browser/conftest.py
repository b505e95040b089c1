"""A real app server and a real headless Chromium (Debian's package), shared by the browser journeys."""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SHOTS = Path(os.environ.get("SANDBOX_SHOTS", ROOT / "shots"))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict[str, str] | None = None, cli_address: bool = True) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free loopback port (``env``: the whole environment), once it answers.

    Its output goes to a file (``server_log(proc)`` reads it), never to a pipe nobody drains: a full pipe
    blocks the server at its next log line, mid-run. No file watcher: a source file saved while a journey
    runs would stop its page at "File change. Rerun". ``cli_address=False`` leaves the listening address to
    .streamlit/config.toml (what `make run` does)."""
    port = _free_port()
    address = ["--server.address", "127.0.0.1"] if cli_address else []
    log = tempfile.NamedTemporaryFile(prefix="sandbox-app-", suffix=".log", delete=False)  # noqa: SIM115
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), "--server.fileWatcherType", "none", *address],
        cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT,
    )  # fmt: skip
    log.close()
    proc.log_path = Path(log.name)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                _servers.append(proc)
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    proc.wait(timeout=10)
    pytest.fail(f"the app did not start: {server_log(proc)[-2000:]}")


def server_log(proc: subprocess.Popen) -> str:
    """Everything the server printed so far."""
    return proc.log_path.read_text(errors="replace")


_servers: list[subprocess.Popen] = []  # started by this test session, newest last


@pytest.fixture(scope="session")
def app_url():
    """The app on a free loopback port for the whole session; stopped by its PID afterwards."""
    proc, url = start_app()
    yield url
    proc.terminate()
    proc.wait(timeout=10)
    proc.log_path.unlink(missing_ok=True)


@pytest.fixture(scope="package")
def browser():
    """Package scope, not session: Playwright's sync API keeps an event loop running in the main thread
    while it is open, and tests after this package (the ASGI middleware's) call asyncio.run."""
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed journey says what the page showed: its URL and visible text in the report, and a
    screenshot (``failed-<test>.png``), so a failure seen once in CI can be read afterwards."""
    outcome = yield
    report = outcome.get_result()
    pg = item.funcargs.get("page") if hasattr(item, "funcargs") else None
    if report.when != "call" or not report.failed or pg is None:
        return
    try:
        text = pg.locator('[data-testid="stMain"]').inner_text(timeout=5_000)
        shot(pg, f"failed-{item.name}")
    except Exception as e:  # the page may be gone; the failure itself is what matters
        text = f"(could not read the page: {e})"
    shown = text if len(text) <= 8000 else f"{text[:5000]}\n[...]\n{text[-3000:]}"
    report.sections.append(("what the page showed", f"URL: {pg.url}\n{shown}"))
    for proc in _servers:
        if proc.poll() is None:
            report.sections.append(
                (f"what the app server printed (pid {proc.pid})", server_log(proc)[-4000:])
            )


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    pg = context.new_page()
    yield pg
    context.close()


def shot(page, name: str) -> Path:
    SHOTS.mkdir(parents=True, exist_ok=True)
    path = SHOTS / f"{name}.png"
    page.screenshot(path=str(path))
    return path
