"""The controller's requeue after a failed reconcile: controller-runtime's default per-item
limiter (client-go `DefaultTypedControllerRateLimiter`: 5 ms doubled per failure, at most
1000 s), waited on a shiftable clock instead of in real time."""

from __future__ import annotations

from typing import Protocol

from mockserver.admin.client import AdminClient, AdminClientError
from mockserver.clock import CLOCK

BACKOFF_BASE = 0.005
BACKOFF_MAX = 1000.0


def backoff(failures: int) -> float:
    """Seconds before the requeue that follows failure number `failures` (1-based)."""
    return min(BACKOFF_BASE * 2 ** (failures - 1), BACKOFF_MAX)


class Shifter(Protocol):
    """What render waits on: a clock it can move forward."""

    def shift(self, seconds: float) -> float: ...


class MockClock:
    """The clock of a mock in another process (`esi-mock serve --state-dir`), moved through its
    admin API. (Tokens minted here by the rebuilt fake clusters keep this process's clock: a
    backoff of milliseconds does not change what the server accepts.)"""

    def __init__(self, admin: AdminClient) -> None:
        self.admin = admin

    def shift(self, seconds: float) -> float:
        try:
            return float(self.admin.shift_clock(seconds)["offset"])
        except (AdminClientError, OSError, KeyError, TypeError, ValueError) as exc:
            raise RequeueError(
                f"cannot move the mock's clock through its admin API ({exc}); is the mock "
                "still running?"
            ) from exc


class RequeueError(RuntimeError):
    """The clock of the mock could not be moved for a requeue."""


def mock_clock(state_dir: str) -> Shifter:
    """The clock of the mock whose state folder is `state_dir`, else this process's clock (a
    state folder without an admin URL: the mock is not running)."""
    try:
        return MockClock(AdminClient.from_state_dir(state_dir))
    except AdminClientError:
        return CLOCK
