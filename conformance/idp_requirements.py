"""Server requirements for Okta and PingOne callers (S20–S25, S37), registered on import.

They need the bundle's fake identity providers reachable from the target: `okta` for the fake
Okta org, `pingone` for the fake PingOne at its fixed public host names.
"""

from __future__ import annotations

from conformance.requirements import Requirement, register


def _r(id: str, level: str, text: str, reference: str, needs: tuple[str, ...]) -> Requirement:
    return Requirement(id, level, id.split("-")[1], text, reference, needs)


register(
    _r(
        "SRV-IDP-001",
        "MUST",
        "An Okta token is accepted with the exact `Bearer ` prefix only: a bare token, "
        "`bearer <token>` or `Bearer ` with no token gets 401.",
        "S20",
        ("okta",),
    ),
    _r(
        "SRV-IDP-002",
        "MUST",
        "An Okta or PingOne token without `exp`, or whose `exp` is not after now (zero leeway), "
        "or whose `nbf` is in the future, gets 401.",
        "S21",
        ("okta",),
    ),
    _r(
        "SRV-IDP-003",
        "MUST",
        "Okta and PingOne tokens verify with RS256/384/512 only: PS256, `alg: none`, a token "
        "without a string `kid`, a `kid` the JWKS lacks, another key's signature or a changed "
        "payload get 401.",
        "S22",
        ("okta",),
    ),
    _r(
        "SRV-IDP-004",
        "MUST",
        "A PingOne client-credentials token (`client_id`, no `sub`) authenticates as its client "
        "id; one with neither `sub` nor `client_id` gets 401.",
        "S23",
        ("pingone",),
    ),
    _r(
        "SRV-IDP-005",
        "SHOULD",
        "After the Okta signing key is rotated and the old key retired, a token signed by the "
        "new key is accepted on the next request (keys are refreshed, not kept for an hour).",
        "S24",
        ("okta",),
    ),
    _r(
        "SRV-IDP-006",
        "SHOULD",
        "An Okta caller is identified with method `okta` and a PingOne caller with "
        "`pingidentity`, every time: their AuthorizedIdentities are `okta-<sub>` and "
        "`pingidentity-<sub>`.",
        "S25",
        ("okta", "pingone", "state-hooks"),
    ),
    _r(
        "SRV-IDP-007",
        "MUST",
        "R3 from an Okta caller without `x-workload-token` gets 400 `missing workload context`; "
        "its R2 succeeds with the token subject as the owner.",
        "S37",
        ("okta",),
    ),
    _r(
        "SRV-IDP-008",
        "MUST",
        "An Okta or PingOne caller's R2 records its AuthorizedIdentity under its own method "
        "(`okta-<sub>` or `pingidentity-<sub>`), never as `oidc-<sub>` or `spiffe-<sub>`.",
        "S41",
        ("okta", "pingone", "state-hooks"),
    ),
    _r(
        "SRV-IDP-009",
        "MUST",
        "An Okta or PingOne token signed by its issuer's own key whose `iss` is a near miss of "
        "the configured issuer (a prefix, an extension, a suffix, another case, a trailing "
        "space, a compatibility character, percent-encoding) gets 401.",
        "S13",
        ("okta", "pingone"),
    ),
    _r(
        "SRV-IDP-010",
        "MUST",
        "An Okta caller whose subject is a near miss of an Authorization's subject (a prefix, "
        "an extension, a suffix, a part, another case, spaces, a compatibility character, "
        'percent-encoding) is not granted: 404 `"Not Found"`.',
        "S32",
        ("okta",),
    ),
)
