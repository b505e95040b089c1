"""Suite-wide rules.

Under CI (``CI=true``) a skipped test is a failure: a browser or Redis test that cannot find its tool must
make CI red, never pass silently.
"""

import os

import pytest
import streamlit  # noqa: F401  (first, as in the app: its import sets plotly's default template)

# The pages' error boundary turns an unexpected exception into a sentence for visitors; under the tests it
# is raised instead, so AppTest reports it.
os.environ.setdefault("SDS_STRICT_ERRORS", "1")
# The pages' "start a local Redis" and "start the example API" buttons are tested for real (as `make run`
# allows them); the registry's cap and the switched-off case have tests of their own.
os.environ.setdefault("SDS_ALLOW_PROCESSES", "1")
from hypothesis import HealthCheck, settings

settings.register_profile("ci", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") == "true" else "dev")


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if os.environ.get("CI") == "true" and report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.longrepr = f"skipped under CI=true, which counts as a failure: {reason}"


# The suite runs on two workers (pytest-xdist): the tests that drive real servers (a browser, Redis, nginx, an
# ASGI server) are one unit on one worker, in order, sharing one app server as before, and the pure tests are
# spread over both. (xdist's own --dist loadgroup marks did not group them under pytest 9: both workers started
# an app server.)
_LIVE = ("tests/browser/", "tests/integration/", "tests/ratelimit/live/")


def pytest_xdist_make_scheduler(config, log):
    from xdist.scheduler import LoadScopeScheduling

    class LiveTogether(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            return "live" if nodeid.startswith(_LIVE) else nodeid

    return LiveTogether(config, log)
