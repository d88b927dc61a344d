"""The modules `make mutate` mutates and the test files that may kill their mutants.

One table, keyed by dotted module name rather than file path: when a module moves, update its
row here (the runner names the row it cannot resolve). The first file of a row is the module's
own test file, run whole for every mutant of a line it reaches; the runner traces all the files
once and runs, for each mutant, the other tests that executed the mutated lines, fastest first.
"""

from __future__ import annotations

FEDERATION_TESTS = (
    "tests/test_federation_routes.py",
    "tests/test_federation_properties.py",
    "tests/test_federation_modes.py",
    "tests/test_federation_transport.py",
    "tests/test_federation_keys.py",
    "tests/test_federation_json_wire.py",
    "tests/test_tokens.py",
)
AUTHENTICATION_TESTS = (
    "tests/test_authenticators.py",
    "tests/test_authenticators_units.py",
    *FEDERATION_TESTS,
)

TARGETS: dict[str, tuple[str, ...]] = {
    "mockserver.federation.routing": ("tests/test_routing_units.py", *FEDERATION_TESTS),
    "mockserver.federation.authz": ("tests/test_authz_units.py", *FEDERATION_TESTS),
    "mockserver.federation.jwtparse": ("tests/test_jwtparse_units.py", *FEDERATION_TESTS),
    "mockserver.federation.handlers": (
        "tests/test_handlers_units.py",
        *FEDERATION_TESTS,
        "tests/test_backend_faults.py",
        "tests/test_generators.py",
    ),
    "mockserver.federation.warm": ("tests/test_warm_answers.py", *FEDERATION_TESTS),
    "mockserver.federation.authn": ("tests/test_authenticators_units.py", *AUTHENTICATION_TESTS),
    "mockserver.federation.authenticators.base": (
        "tests/test_base_authenticator_units.py",
        *AUTHENTICATION_TESTS,
    ),
    "mockserver.federation.authenticators.oidc": (
        "tests/test_authenticators_units.py",
        *AUTHENTICATION_TESTS,
    ),
    "mockserver.federation.authenticators.spiffe": (
        "tests/test_authenticators_units.py",
        *AUTHENTICATION_TESTS,
    ),
    "mockserver.federation.authenticators.registry": (
        "tests/test_authenticators.py",
        *AUTHENTICATION_TESTS,
    ),
    "mockserver.gojson": ("tests/test_gojson.py", *FEDERATION_TESTS),
    "mockserver.godecode": ("tests/test_godecode.py", *FEDERATION_TESTS),
}
