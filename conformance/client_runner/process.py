"""Run one client process under a time limit and reap everything it started.

The client runs in its own session so that a shell adapter's children (curl, jq) die with it
when the limit passes; a client still running at the limit counts as a hang.
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from conformance.adapters import Invocation

# Variables a client inherits from the harness; everything else comes from the adapter.
INHERITED = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "SYSTEMROOT")
PROXY_VARIABLES = (
    "http_proxy",
    "https_proxy",
    "all_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "ALL_PROXY",
)


@dataclass(frozen=True)
class ProcessResult:
    """How a client run ended: exit status (None when killed at the limit), output, time."""

    argv: tuple[str, ...]
    returncode: int | None
    stdout: bytes
    stderr: bytes
    duration: float
    timed_out: bool

    @property
    def killed_by_signal(self) -> bool:
        return self.returncode is not None and self.returncode < 0


def client_environment(extra: Mapping[str, str]) -> dict[str, str]:
    """A small, predictable environment: PATH and friends, no proxies, plus the adapter's env."""
    env = {k: os.environ[k] for k in INHERITED if k in os.environ}
    env.update(extra)
    for name in PROXY_VARIABLES:
        env.pop(name, None)
    return env


def run(invocation: Invocation, cwd: Path, env: Mapping[str, str]) -> ProcessResult:
    """Start the invocation, wait up to its timeout, kill its whole session on expiry."""
    started = time.monotonic()
    proc = subprocess.Popen(
        list(invocation.argv),
        cwd=cwd,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    timed_out = False
    try:
        stdout, stderr = proc.communicate(timeout=invocation.timeout)
    except subprocess.TimeoutExpired:
        timed_out = True
        _kill_session(proc)
        stdout, stderr = proc.communicate()
    finally:
        if proc.poll() is None:
            _kill_session(proc)
            proc.wait()
    _kill_session(proc)  # children the client left behind in its session
    return ProcessResult(
        tuple(invocation.argv),
        None if timed_out else proc.returncode,
        stdout,
        stderr,
        time.monotonic() - started,
        timed_out,
    )


def _kill_session(proc: subprocess.Popen[bytes]) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
