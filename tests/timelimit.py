"""A test that takes longer than `test_time_limit` seconds fails, unless it says why.

Most tests take well under a second; the limit (60 s, pyproject.toml) catches a test that
has quietly grown slow, so the suite cannot drift back past its time budget. Setup and call
are counted together: a fixture that takes a minute costs as much as a test that does. A
test that really needs longer carries `@pytest.mark.slow(reason="...")`.
"""

from __future__ import annotations

import pytest

_SETUP = pytest.StashKey[float]()


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(
        "test_time_limit",
        "seconds a test (setup and call) may take without @pytest.mark.slow(reason=...)",
        default="60",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "slow(reason): may take longer than test_time_limit; the reason says why"
    )


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):
    report = yield
    if report.when == "setup":
        item.stash[_SETUP] = call.duration
    elif report.when == "call" and report.passed:
        took = item.stash.get(_SETUP, 0.0) + call.duration
        limit = float(item.config.getini("test_time_limit"))
        slow = item.get_closest_marker("slow")
        excused = slow is not None and bool(slow.kwargs.get("reason"))
        if took > limit and not excused:
            report.outcome = "failed"
            report.longrepr = (
                f"{item.nodeid} took {took:.1f} s, more than the {limit:g} s a test may take: "
                'make it faster, or mark it @pytest.mark.slow(reason="...") saying why'
            )
    return report
