"""The suite's guard: a test slower than the limit fails unless a marker says why."""

from __future__ import annotations

import pytest

SLOW_TESTS = """
import time

import pytest


def test_quick():
    pass


def test_slow_without_reason():
    time.sleep(0.3)


@pytest.mark.slow(reason="waits for a timer on purpose")
def test_slow_with_reason():
    time.sleep(0.3)


@pytest.mark.slow
def test_slow_marker_without_reason():
    time.sleep(0.3)


@pytest.fixture
def slow_fixture():
    time.sleep(0.3)


def test_slow_setup(slow_fixture):
    pass
"""


@pytest.fixture
def slow_suite(pytester):
    pytester.makeconftest('pytest_plugins = ("tests.timelimit",)')
    pytester.makeini("[pytest]\ntest_time_limit = 0.2\n")
    pytester.makepyfile(test_slow=SLOW_TESTS)
    return pytester


def test_a_test_over_the_limit_fails_with_advice_unless_a_reason_is_given(slow_suite):
    result = slow_suite.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2, failed=3)
    result.stdout.fnmatch_lines(
        [
            "*test_slow.py::test_slow_without_reason took 0.3 s, more than the 0.2 s*",
            '*mark it @pytest.mark.slow(reason="...") saying why*',
        ]
    )
    failed = {line.split()[1] for line in result.outlines if line.startswith("FAILED")}
    assert failed == {
        "test_slow.py::test_slow_without_reason",
        "test_slow.py::test_slow_marker_without_reason",
        "test_slow.py::test_slow_setup",
    }
