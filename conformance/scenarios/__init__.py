"""The scenario catalogue shared by the server and client runners (schema: docs/scenarios.md).

One module per job: `vocabulary` (the words a scenario may use), `model` (the typed scenario a
runner reads), `variants` (the wire bytes of each request variant), `actions` (the set-up action
registry), `checker`, `parse_request`, `parse_expect` and `parse` (the schema), `load` (the
catalogue). Judging lives with the runners (`conformance.runner.judge`). The names below are the
public surface; modules inside this package import each other directly, never this package.
"""

from conformance.scenarios.actions import ACTIONS, SETUP_ACTIONS, ActionKind
from conformance.scenarios.load import (
    default_scenarios_dir,
    load_catalogue,
    scenarios_by_requirement,
)
from conformance.scenarios.model import (
    Body,
    BodyMatcher,
    ClientExpectation,
    ClientInputs,
    Delivery,
    Expectation,
    HeaderMatcher,
    Identity,
    KubeIdentity,
    Request,
    Retry,
    Scenario,
    SentRequest,
    SetupAction,
    SpiffeIdentity,
    StateExpectation,
    Step,
    UpstreamExpectation,
    UpstreamRequest,
    WorkloadToken,
)
from conformance.scenarios.parse import parse_file
from conformance.scenarios.variants import ca_crt_text, malformed_workload_token
from conformance.scenarios.vocabulary import (
    BACKEND_FAULTS,
    CLUSTER_FAULTS,
    OPERATIONS,
    ScenarioError,
    broken_kinds,
)

__all__ = [
    "ACTIONS",
    "BACKEND_FAULTS",
    "CLUSTER_FAULTS",
    "OPERATIONS",
    "SETUP_ACTIONS",
    "ActionKind",
    "Body",
    "BodyMatcher",
    "ClientExpectation",
    "ClientInputs",
    "Delivery",
    "Expectation",
    "HeaderMatcher",
    "Identity",
    "KubeIdentity",
    "Request",
    "Retry",
    "Scenario",
    "ScenarioError",
    "SentRequest",
    "SetupAction",
    "SpiffeIdentity",
    "StateExpectation",
    "Step",
    "UpstreamExpectation",
    "UpstreamRequest",
    "WorkloadToken",
    "broken_kinds",
    "ca_crt_text",
    "default_scenarios_dir",
    "load_catalogue",
    "malformed_workload_token",
    "parse_file",
    "scenarios_by_requirement",
]
