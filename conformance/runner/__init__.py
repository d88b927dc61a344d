"""The server runner: drives a Federation Server through the scenario catalogue.

`run_server_suite` is the entry point; `EmbeddedMock` starts the mock as a target with every
hook; `conformance.bundle.BundleClusters` starts the fake clusters of a vendor bundle.
"""

from conformance.runner.api import EmbeddedMock, run_server_suite
from conformance.runner.target import Target

__all__ = ["EmbeddedMock", "Target", "run_server_suite"]
