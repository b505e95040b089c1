"""Child processes that cannot outlive the server that started them.

Each child gets its own process group (so a signal to the server's group, a Ctrl-C in a terminal, does not
reach it halfway, and :func:`stop` ends the whole group) and, on Linux, a parent-death signal: the kernel
sends it SIGKILL when the thread that started it ends. That is why a long-lived server starts children from
one thread that lives as long as the server (``ui.processes`` does), never from a page's script thread,
which ends after every rerun. Elsewhere the parent-death signal is skipped; the group and the
registry's lifetimes still apply.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

# Run by the child before it becomes the real program: ask for SIGKILL on the parent's death, give up at
# once if the parent is already gone (it died between fork and prctl), then exec the program.
_WRAPPER = (
    "import ctypes, os, signal, sys\n"
    "ppid = int(sys.argv[1])\n"
    "ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG\n"
    "os.getppid() == ppid or os._exit(1)\n"
    "os.execvp(sys.argv[2], sys.argv[2:])\n"
)


def guarded_command(argv: list[str]) -> list[str]:
    """``argv`` wrapped so the child dies with its parent (Linux); unchanged elsewhere."""
    if not sys.platform.startswith("linux"):
        return list(argv)
    return [sys.executable, "-c", _WRAPPER, str(os.getpid()), *argv]


def popen(argv: list[str], **kwargs) -> subprocess.Popen:
    """``subprocess.Popen`` of ``argv`` in its own process group, dying with its parent (Linux)."""
    return subprocess.Popen(guarded_command(argv), start_new_session=True, **kwargs)


def stop(process: subprocess.Popen, timeout: float = 5.0) -> None:
    """End a child and its process group: SIGTERM, then SIGKILL after ``timeout`` seconds."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
    except (ProcessLookupError, PermissionError):
        process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        try:
            os.killpg(process.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            process.kill()
        process.wait()
