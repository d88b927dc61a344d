"""The client runner: judges a command-line Federation client, driven through its adapter,
against the embedded mock (`esi-conformance client`, `run_client_suite()`)."""

from conformance.client_runner.mock import ClientMock
from conformance.client_runner.suite import ClientPlan, plan, run_client_suite

__all__ = ["ClientMock", "ClientPlan", "plan", "run_client_suite"]
