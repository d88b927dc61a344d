"""The modules `make mutate` mutates and the test files that may kill their mutants.

One table, keyed by dotted module name rather than file path: when a module moves, update its
row here (the runner names the row it cannot resolve). The runner traces these test files once
and runs, for each mutant, only the tests that executed the mutated lines.
"""

from __future__ import annotations

FEDERATION_TESTS = (
    "tests/test_federation_routes.py",
    "tests/test_federation_properties.py",
    "tests/test_federation_modes.py",
    "tests/test_federation_transport.py",
    "tests/test_federation_keys.py",
    "tests/test_authz_units.py",
    "tests/test_routing_units.py",
    "tests/test_jwtparse_units.py",
    "tests/test_tokens.py",
)

TARGETS: dict[str, tuple[str, ...]] = {
    "mockserver.federation.routing": FEDERATION_TESTS,
    "mockserver.federation.authz": FEDERATION_TESTS,
    "mockserver.federation.jwtparse": FEDERATION_TESTS,
    "mockserver.federation.handlers": FEDERATION_TESTS,
    "mockserver.federation.authn": FEDERATION_TESTS,
    "mockserver.gojson": (*FEDERATION_TESTS, "tests/test_gojson.py"),
}
