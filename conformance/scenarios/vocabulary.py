"""The words a scenario may use: operations, token, body and transport variants, outcomes.

Kept apart from the parser so runners, adapters and reports can name the same choices without
loading the schema checker.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

OPERATIONS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    # operation: (required params, optional params)
    "store.get": (("store", "key"), ()),
    "generator.generate": (("namespace", "kind", "name"), ()),
    "generator.revoke_self": (("namespace", "kind", "name"), ()),
    "generator.revoke_of": (("namespace",), ("body",)),
    "raw": (("method", "path"), ()),
}
TOKEN_VARIANTS = ("valid", "legacy")
BROKEN_KINDS_FALLBACK = (
    "expired",
    "expired-seconds-ago",
    "not-yet-valid",
    "foreign-key",
    "unknown-kid",
    "no-kid",
    "non-string-kid",
    "alg-none",
    "hs256-public-key",
    "wrong-issuer",
    "wrong-audience",
    "tampered-payload",
    # minted from the cluster's other keys (mockserver.cluster.KEY_SELECTION_KINDS)
    "other-key-kid",
    "other-type-kid",
    "retired-key",
)
CA_VARIANTS = (
    "cluster",
    "raw-pem",
    "der-base64",
    "urlsafe-base64",
    "non-certificate-pem",
    "garbage",
    "missing",
    # valid as Go reads them (base64.StdEncoding skips line breaks, pem.Decode takes the first
    # block and skips text before it): each must authenticate
    "leading-text",
    "bundle",
    "crlf",
    "wrapped-base64",
    # two certificates, another cluster's CA first: Go's pool holds only that one, so it fails
    "bundle-wrong-first",
)
BODY_VARIANTS = ("json", "empty", "non-json", "json-array", "json-null")
# near-miss schemes (each must be refused) and padded JWT segments (refused too)
SCHEME_NEAR_MISSES = {
    "scheme-prefix": "Bear ",
    "scheme-extension": "BearerX ",
    "scheme-suffix": "earer ",
    "scheme-tab": "Bearer\t",
    "scheme-compat": "Be\u00aarer ",
    "scheme-encoded": "Be%61rer ",
    "double-space": "Bearer  ",
}
AUTH_FORMS = ("bearer", "none", "bare", "lowercase", *SCHEME_NEAR_MISSES, "padded-segments")
TRANSPORTS = ("http", "https", "mtls")
SVID_VARIANTS = ("valid", "untrusted")
MALFORMED_WLT = (
    "two-segments",
    "bad-base64",
    "bad-json",
    "missing-alg",
    "missing-namespace",
    "missing-sa-name",
    "missing-sa-uid",
)
OUTCOMES = ("response", "no-response", "handshake-refused")
STATE_KINDS = ("GeneratorState", "AuthorizedIdentity", "LeakedCredential")
CLIENT_OUTCOMES = ("success", "failure")
MUST_NOT = ("write-output", "repeat-request", "exec", "leak-secret", "hang")
REPORT_ITEMS = ("status", "message")
# Client-direction inputs the harness hands a client (see ClientInputs).
TOKEN_FILE_FORMS = ("plain", "trailing-newline")
SERVER_URL_FORMS = ("plain", "trailing-slash", "double-trailing-slash")
DELIVERY_SOURCES = ("files", "stdout", "env")
RESPOND_TLS = ("untrusted-ca", "expired", "wrong-name")
DIRECTIONS = ("server", "client", "both")
CLUSTER_ENDPOINTS = ("discovery", "jwks", "all")
CLUSTER_FAULTS = ("unreachable", "status-500", "non-json", "non-string-member", "slow")
BACKEND_FAULTS = ("unavailable", "error", "state-write-fails")
SCENARIO_ID = re.compile(r"^[a-z0-9][a-z0-9-]*[a-z0-9]$")


def broken_kinds() -> tuple[str, ...]:
    """The broken-token kinds the fake clusters can mint (the mock's list when installed)."""
    try:
        from mockserver.cluster.minting import KEY_SELECTION_KINDS
        from mockserver.tokens import BROKEN_KINDS
    except ImportError:
        return BROKEN_KINDS_FALLBACK
    return (*BROKEN_KINDS, *KEY_SELECTION_KINDS)


class ScenarioError(ValueError):
    """Every problem found in a catalogue, one line each, so a whole folder is fixed in one pass."""

    def __init__(self, errors: Sequence[str]) -> None:
        self.errors = list(errors)
        super().__init__("\n".join(self.errors))
