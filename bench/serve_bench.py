"""Time from `esi-mock serve` starting to `connection.json` existing (goal ≤ 1 s)."""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

GOAL_SECONDS = 1.0
RUNS = 3


def time_to_ready(state_dir: Path) -> float:
    """Seconds from spawning the process until connection.json appears."""
    connection = state_dir / "connection.json"
    connection.unlink(missing_ok=True)
    command = [
        str(Path(sys.executable).parent / "esi-mock"),
        "serve",
        "--state-dir",
        str(state_dir),
    ]
    started = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        while not connection.exists():
            if process.poll() is not None:
                raise RuntimeError(process.stderr.read().decode() if process.stderr else "exited")
            if time.perf_counter() - started > 30:
                raise RuntimeError("not ready after 30 s")
            time.sleep(0.005)
        return time.perf_counter() - started
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def run() -> Iterator[tuple[str, bool]]:
    with tempfile.TemporaryDirectory(prefix="esi-bench-") as tmp:
        fresh = []
        for index in range(RUNS):
            fresh.append(time_to_ready(Path(tmp, f"fresh-{index}")))
        reused = [time_to_ready(Path(tmp, "fresh-0")) for _ in range(RUNS)]
    best_fresh, best_reused = min(fresh), min(reused)
    yield (
        f"serve time to ready, new state folder: {best_fresh:.2f} s (best of {RUNS}; goal ≤ "
        f"{GOAL_SECONDS:.0f} s)",
        best_fresh <= GOAL_SECONDS,
    )
    yield (
        f"serve time to ready, kept keys: {best_reused:.2f} s (best of {RUNS}; goal ≤ "
        f"{GOAL_SECONDS:.0f} s)",
        best_reused <= GOAL_SECONDS,
    )
