"""Wall time of the suites as a user runs them, process start included: `esi-conformance server`
against the embedded mock, full profile (goal ≤ 20 s) and smoke profile (goal ≤ 3 s), and
`esi-conformance client --adapter reference` (goal ≤ 12 s on 2 cores; its floor is the
scenario that waits out the client's own 10 s timeout)."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

GOALS = {"full": 20.0, "smoke": 3.0}
CLIENT_GOAL = 12.0


def timed_run(profile: str, suite: str = "server", *extra: str) -> tuple[float, int]:
    """Seconds and exit status of one CLI run with reports written to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="esi-bench-") as reports:
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                suite,
                "--profile",
                profile,
                "--report-dir",
                reports,
                *extra,
            ],
            capture_output=True,
            check=False,
        )
        return time.perf_counter() - started, done.returncode


def run() -> Iterator[tuple[str, bool]]:
    for profile, goal in GOALS.items():
        seconds, status = timed_run(profile)
        yield (
            f"conformance {profile} run against the embedded mock: {seconds:.1f} s "
            f"(goal <= {goal:.0f} s; exit status {status})",
            seconds <= goal,
        )
    seconds, status = timed_run("full", "client", "--adapter", "reference")
    yield (
        f"client suite, reference client, full profile: {seconds:.1f} s "
        f"(goal <= {CLIENT_GOAL:.0f} s; exit status {status})",
        seconds <= CLIENT_GOAL,
    )
