"""pytest plugin (loaded by pyproject's addopts): in this project a skipped test is a failed test.

Nothing here may skip: a Blender or data test that skipped for a missing module would let a broken setup pass.
"""

import pytest


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    report = outcome.get_result()
    if report.skipped and not hasattr(report, "wasxfail"):
        report.outcome = "failed"
        report.longrepr = f"skipped tests count as failures in this project: {report.longrepr}"
