"""The zoo's registry of protocol decision points, and the mutation operators applied to them.

Every comparison the protocol makes goes through `Points.compare(point, allowed, given)` and every
parse step that has a lenient or an over-strict reading asks `Points.variant(step)`. A mutant is
one (point, operator) pair: the comparison operators apply to every registered comparison
point alike, the parse variants to their own step, so a new comparison or step gets its mutants
by being listed here. The points hit while a scenario runs are recorded, so a mutant runs only
the scenarios that reach its point.
"""

from __future__ import annotations

import threading
import unicodedata
import urllib.parse
from collections.abc import Callable
from typing import NamedTuple

# Where each comparison is made (the real server's own comparison is exact `==` on strings).
COMPARISONS: dict[str, str] = {
    "store-name": "the store of R1's path against an Authorization's allowedClusterSecretStores",
    "secret-key": "the key of R1's path against the store's keys",
    "generator-namespace": "R2/R3's namespace against an allowedGenerators entry",
    "generator-kind": "R2/R3's kind against an allowedGenerators entry",
    "generator-name": "R2/R3's name against an allowedGenerators entry",
    "subject": "the token's sub (or the SPIFFE ID) against an Authorization's subject",
    "issuer": "the token's iss against an Authorization's issuer",
    "spiffe-id": "the client certificate's SPIFFE ID against the mTLS allow-list",
    "bearer-scheme": "the Authorization header's scheme against `Bearer `",
    "body-member": "a member name of the authentication body against `ca.crt`",
    "r4-owner": "R4's owner against a GeneratorState's owner label",
    "r4-namespace": "R4's body namespace against the URL namespace",
    "path-segment": "a literal path segment (secretstore, secrets, generators, revoke)",
    "idp-bearer-scheme": "an Okta/Ping Authorization header's scheme against `Bearer` (required)",
    "idp-issuer": "an Okta/Ping token's iss against an Authorization's issuer (the store key)",
    "idp-subject": "an Okta/Ping caller's subject against an Authorization's subject",
}


def _unquote(text: str) -> str:
    return urllib.parse.unquote(text, errors="surrogateescape")


Compare = Callable[[str, str], bool]
# operator: (allowed, given) -> equal?  The identity operator is `==`.
OPERATORS: dict[str, Compare] = {
    "prefix": lambda allowed, given: allowed.startswith(given),
    "extension": lambda allowed, given: given.startswith(allowed),
    "suffix": lambda allowed, given: allowed.endswith(given),
    "substring": lambda allowed, given: given in allowed,
    "case-fold": lambda allowed, given: allowed.casefold() == given.casefold(),
    "trim": lambda allowed, given: allowed.strip() == given.strip(),
    "unicode-nfkc": lambda allowed, given: (
        unicodedata.normalize("NFKC", allowed) == unicodedata.normalize("NFKC", given)
    ),
    "percent-decode": lambda allowed, given: _unquote(allowed) == _unquote(given),
}

# Parse steps and their lenient / over-strict readings (the correct reading is the zoo's own).
PARSE_STEPS: dict[str, dict[str, str]] = {
    "bearer-header": {
        "lenient-trim": "spaces around the token are trimmed",
    },
    "body-json": {
        "lenient-non-object": "a body that is not a JSON object counts as no ca.crt, and TLS "
        "is then not verified",
    },
    "ca-base64": {
        "lenient-urlsafe": "URL-safe and unpadded base64 is accepted",
        "lenient-raw-pem": "a raw PEM (not base64) is accepted",
        "strict-no-newlines": "line breaks inside the base64 are refused",
    },
    "ca-pem": {
        "lenient-der": "base64 of DER (no PEM block) is accepted",
        "lenient-any-block": "a first block that is not a CERTIFICATE turns verification off",
        "strict-leading-text": "text before the first PEM block is refused",
        "strict-single-block": "more than one PEM block is refused",
        "strict-lf-only": "CRLF line ends are refused",
    },
    "jwt-segments": {
        "lenient-padding": "base64url segments with `=` padding are accepted",
        "strict-typ": "a header without typ JWT is refused",
    },
    "times": {
        "lenient-leeway": "60 s of leeway on exp",
        "lenient-ignore-nbf": "nbf is not checked",
    },
    "kid": {
        "lenient-first-key": "the kid is ignored: the first RSA key verifies",
    },
    "idp-bearer-header": {
        "lenient-trim": "Okta/Ping: spaces around the token are trimmed",
        "lenient-bare": "Okta/Ping: a token without `Bearer ` is taken as it is",
    },
    "idp-alg": {
        "lenient-pss": "Okta/Ping: PS256/384/512 verify too",
        "lenient-none": "Okta/Ping: an unsigned alg-none token is accepted",
    },
    "idp-kid": {
        "lenient-first-key": "Okta/Ping: a token without a string kid is verified by the first key",
    },
    "idp-signature": {
        "lenient-unchecked": "Okta/Ping: the signature is not checked",
    },
    "idp-times": {
        "lenient-optional-exp": "Okta/Ping: a token without exp is accepted",
        "lenient-leeway": "Okta/Ping: 60 s of leeway on exp",
        "lenient-ignore-nbf": "Okta/Ping: nbf is not checked",
    },
    "idp-subject-claim": {
        "lenient-empty": "Okta/Ping: a token with neither sub nor client_id has the empty subject",
        "strict-sub-only": "PingOne: a client-credentials token (client_id, no sub) is refused",
    },
    "idp-context": {
        "empty-workload": "Okta/Ping callers get an empty workload context instead of none",
        "oidc-method": "Okta/Ping callers are recorded with method oidc",
    },
}


class Mutant(NamedTuple):
    """One point and the operator (comparison) or variant (parse step) applied to it."""

    point: str
    operator: str

    @property
    def name(self) -> str:
        return f"{self.point}:{self.operator}"

    @classmethod
    def parse(cls, text: str) -> Mutant:
        point, _, operator = text.partition(":")
        mutant = cls(point, operator)
        if mutant not in all_mutants():
            raise ValueError(f"unknown mutant {text!r}: see tests/zoo/points.py")
        return mutant


def all_mutants() -> list[Mutant]:
    """Every comparison point under every operator, then every parse step's variants."""
    found = [Mutant(point, op) for point in COMPARISONS for op in OPERATORS]
    found += [Mutant(step, v) for step, variants in PARSE_STEPS.items() for v in variants]
    return found


class Points:
    """The decision points of one zoo: at most one mutant switched on; the points hit recorded."""

    def __init__(self, mutant: Mutant | None = None) -> None:
        self.mutant = mutant
        self._hits: set[str] = set()
        self._lock = threading.Lock()

    def _hit(self, point: str) -> None:
        with self._lock:
            self._hits.add(point)

    def take_hits(self) -> set[str]:
        """The points reached since the last call (and forget them)."""
        with self._lock:
            hits, self._hits = self._hits, set()
        return hits

    def compare(self, point: str, allowed: str, given: str) -> bool:
        """Whether `given` matches `allowed` at `point` (exact, unless mutated there)."""
        assert point in COMPARISONS, point
        self._hit(point)
        if self.mutant is not None and self.mutant.point == point:
            return OPERATORS[self.mutant.operator](allowed, given)
        return allowed == given

    def variant(self, step: str) -> str | None:
        """The variant of `step` switched on, or None for the zoo's correct reading."""
        assert step in PARSE_STEPS, step
        self._hit(step)
        if self.mutant is not None and self.mutant.point == step:
            return self.mutant.operator
        return None
