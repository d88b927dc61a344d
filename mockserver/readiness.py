"""`esi-mock wait`: block until a `esi-mock serve` writing to a state folder answers, so scripts
need no sleep loops of their own."""

from __future__ import annotations

import json
import socket
import time
from collections.abc import Callable
from pathlib import Path
from urllib.parse import urlsplit

from mockserver.state import CONNECTION_FILE

POLL_SECONDS = 0.05


def not_ready(state_dir: Path) -> str | None:
    """Why the mock of `state_dir` is not ready yet, or None when its listeners accept."""
    connection = state_dir / CONNECTION_FILE
    try:
        info = json.loads(connection.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{connection} does not exist yet"
    except ValueError:
        return f"{connection} is being written"
    for key in ("federation_url", "admin_url"):
        url = info.get(key)
        if not isinstance(url, str):
            return f"{connection} has no {key}"
        parts = urlsplit(url)
        try:
            socket.create_connection((parts.hostname or "", parts.port or 80), timeout=1).close()
        except OSError as exc:
            return f"{url} does not accept connections ({exc.strerror or exc})"
    return None


def wait_ready(
    state_dir: Path,
    timeout: float,
    clock: Callable[[], float] = time.monotonic,
    sleep: Callable[[float], None] = time.sleep,
) -> str | None:
    """Poll until ready (None) or `timeout` seconds passed (the last reason)."""
    deadline = clock() + timeout
    while True:
        reason = not_ready(state_dir)
        if reason is None or clock() >= deadline:
            return reason
        sleep(POLL_SECONDS)
