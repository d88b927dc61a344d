"""Wall time of `esi-conformance server` against the embedded mock, as a user runs it: the
full profile (goal ≤ 20 s) and the smoke profile (goal ≤ 3 s), process start included."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator

GOALS = {"full": 20.0, "smoke": 3.0}


def timed_run(profile: str) -> tuple[float, int]:
    """Seconds and exit status of one CLI run with reports written to a temporary folder."""
    with tempfile.TemporaryDirectory(prefix="esi-bench-") as reports:
        started = time.perf_counter()
        done = subprocess.run(
            [
                sys.executable,
                "-m",
                "conformance.cli",
                "server",
                "--profile",
                profile,
                "--report-dir",
                reports,
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
