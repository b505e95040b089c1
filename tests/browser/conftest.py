"""A real app server and a real headless Chromium (Debian's package), shared by the browser journeys."""

import os
import shutil
import socket
import subprocess
import sys
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


def start_app(
    env: dict[str, str] | None = None, stdout=subprocess.DEVNULL, cli_address: bool = True
) -> tuple[subprocess.Popen, str]:
    """`streamlit run app.py` on a free loopback port (``env``: the whole environment), once it answers.
    ``cli_address=False`` leaves the listening address to .streamlit/config.toml (what `make run` does)."""
    port = _free_port()
    address = ["--server.address", "127.0.0.1"] if cli_address else []
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true",
         "--server.port", str(port), *address],
        cwd=ROOT, env=env, stdout=stdout, stderr=subprocess.PIPE if stdout is subprocess.DEVNULL else subprocess.STDOUT,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                return proc, url
        except OSError:
            time.sleep(0.2)
    proc.kill()
    out = proc.communicate(timeout=10)[1 if stdout is subprocess.DEVNULL else 0] or b""
    pytest.fail(f"the app did not start: {out.decode(errors='replace')[-2000:]}")


@pytest.fixture(scope="session")
def app_url():
    """The app on a free loopback port for the whole session; stopped by its PID afterwards."""
    proc, url = start_app()
    yield url
    proc.terminate()
    proc.wait(timeout=10)


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
    report.sections.append(("what the page showed", f"URL: {pg.url}\n{text[-6000:]}"))


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
