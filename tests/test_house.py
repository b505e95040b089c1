"""The house rules that keep the engine light and pure, checked on every module.

- Importing any module of ``sdcore`` outside ``live/`` and ``charts/``, or of ``lessons``, loads none of
  redis, httpx, uvicorn, streamlit, plotly: a notebook (or a page) pays only for what it uses.
- ``sdcore/charts/`` loads plotly but not redis or httpx (result types are imported for typing only).
- Nothing outside ``live/`` imports ``live/``; nothing in ``sdcore`` or ``lessons`` imports streamlit.
- Every doctest in ``sdcore`` and ``lessons`` passes.
"""

from __future__ import annotations

import doctest
import importlib
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("redis", "httpx", "uvicorn", "streamlit", "plotly")


def _modules(package: str) -> list[str]:
    pkg = importlib.import_module(package)
    names = [package]
    for info in pkgutil.walk_packages(pkg.__path__, prefix=package + "."):
        names.append(info.name)
    return sorted(names)


# Each module is imported in a forked child of an interpreter that has imported nothing of the project,
# so what it loads is what that module alone pulls in (one fork per module: fast, and exact).
_PROBE = r"""
import json, os, sys
heavy = %r
out = {}
for name in json.loads(sys.stdin.read()):
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        try:
            __import__(name)
            loaded = sorted({m.split(".")[0] for m in sys.modules} & set(heavy))
            os.write(w, json.dumps(loaded).encode())
        except BaseException as e:
            os.write(w, json.dumps("error: %%s: %%s" %% (type(e).__name__, e)).encode())
        os._exit(0)
    os.close(w)
    data = b""
    while chunk := os.read(r, 65536):
        data += chunk
    os.close(r)
    os.waitpid(pid, 0)
    out[name] = json.loads(data or b'"error: no answer"')
print(json.dumps(out))
"""


@pytest.fixture(scope="module")
def loaded() -> dict[str, list[str] | str]:
    names = _modules("sdcore") + _modules("lessons")
    proc = subprocess.run(
        [sys.executable, "-c", _PROBE % (HEAVY,)],
        input=json.dumps(names),
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=300,
        check=True,
    )
    return json.loads(proc.stdout)


def _kind(name: str) -> str:
    parts = name.split(".")
    if "live" in parts:
        return "live"
    if len(parts) > 1 and parts[1] == "charts":
        return "charts"
    return "pure"


def test_every_module_imports(loaded):
    errors = {n: v for n, v in loaded.items() if isinstance(v, str)}
    assert not errors


def test_pure_modules_load_nothing_heavy(loaded):
    """No module outside live/ and charts/ loads redis, httpx, uvicorn, streamlit or plotly."""
    offenders = {n: v for n, v in loaded.items() if _kind(n) == "pure" and v}
    assert not offenders
    assert "sdcore.ratelimit" in loaded and "sdcore.kvstore" in loaded


def test_charts_load_plotly_but_no_network_code(loaded):
    charts = {
        n: v for n, v in loaded.items() if _kind(n) == "charts" and not n.endswith((".charts", ".style"))
    }
    assert charts, "no chart modules found"
    for name, mods in charts.items():
        assert "plotly" in mods, name
        assert not {"redis", "httpx", "uvicorn", "streamlit"} & set(mods), (name, mods)


def test_the_live_modules_do_need_their_tools(loaded):
    """The split is real: the Redis store loads redis, the burst driver httpx."""
    assert "redis" in loaded["sdcore.ratelimit.live.redis_store"]
    assert "httpx" in loaded["sdcore.ratelimit.live.burst"]


def test_nothing_outside_live_imports_live():
    offenders = []
    for path in [*(ROOT / "sdcore").rglob("*.py"), *(ROOT / "lessons").rglob("*.py")]:
        if "live" in path.parts:
            continue
        for number, line in enumerate(path.read_text().splitlines(), start=1):
            stripped = line.strip()
            # allowed only indented: under TYPE_CHECKING or inside a function (loaded on demand)
            live = stripped.startswith(("from sdcore.ratelimit.live", "import sdcore.ratelimit.live"))
            if live and not line.startswith((" ", "\t")):
                offenders.append(f"{path.relative_to(ROOT)}:{number}")
    assert not offenders


@pytest.mark.parametrize("name", _modules("sdcore") + _modules("lessons"))
def test_doctests(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_no_builtin_hash_in_the_engine():
    """Python's hash() is salted per process: nothing in sdcore may call it (placement, cache keys and
    __hash__ methods use mmh3 or a content hash instead), so the same inputs give the same numbers anywhere."""
    import ast

    calls = []
    for path in (ROOT / "sdcore").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id == "hash":
                calls.append(f"{path.relative_to(ROOT)}:{node.lineno}")
    assert not calls
