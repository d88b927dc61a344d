"""Shared test configuration: the fixed-seed Hypothesis profile selected by HYPOTHESIS_PROFILE."""

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))


import pytest  # noqa: E402


@pytest.fixture(scope="session")
def mock(tmp_path_factory):
    """The mock with the default fixtures, shared by the session; reset what you change."""
    from mockserver.runtime import MockServer

    server = MockServer(state_dir=tmp_path_factory.mktemp("mock-state"), refresh_volumes=False)
    server.start()
    yield server
    server.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    """Print the random order's seed even under -q, so a failing order can be replayed, and the
    mutation score recorded by tests/test_mutation_score.py (also under xdist)."""
    seed = getattr(config.option, "randomly_seed", None)
    if seed is not None:
        terminalreporter.write_line(f"test order: rerun with -p randomly --randomly-seed={seed}")
    for report in terminalreporter.stats.get("passed", []) + terminalreporter.stats.get(
        "failed", []
    ):
        for name, value in getattr(report, "user_properties", ()):
            if name == "mutation_score" and report.when == "call":
                terminalreporter.write_line(str(value))
