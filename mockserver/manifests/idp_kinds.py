"""OktaFederation and PingIdentityFederation as the real CRDs define them.

The management API members are accepted (the real server only uses them to ask whether an
identity still exists) and otherwise ignored by the mock.
"""

from __future__ import annotations

from typing import Any

from .checks import Checker, describe, https_url_problem
from .model import OktaFederation, PingIdentityFederation
from .substitution import has_reference

PING_REGIONS = ("com", "eu", "asia", "ca")
"""The CRD's enum for `spec.region`."""


def build_okta_federation(
    c: Checker, name: str, spec: dict[str, Any], *, resolved: bool
) -> OktaFederation | None:
    """``spec.domain`` (with scheme) and ``spec.authorizationServerId`` (CRD default ``default``)."""
    c.fields(spec, "spec", ("domain", "authorizationServerId", "managementAPI"))
    domain = c.string(spec, "domain", "spec", required=True, non_empty=True)
    server_id = c.string(spec, "authorizationServerId", "spec")
    c.mapping(spec, "managementAPI", "spec", required=False)
    if domain is None:
        return None
    if resolved or not has_reference(domain):
        problem = https_url_problem(domain, allow_http=True)
        if problem is None and domain.endswith("/"):
            problem = "must not end with '/' (the server appends /oauth2/...)"
        if problem:
            c.fail(
                "spec.domain",
                f"expected the Okta org URL with its scheme, e.g. https://dev-123.okta.com; "
                f"it {problem}",
            )
            return None
    if server_id is not None and "/" in server_id:
        c.fail(
            "spec.authorizationServerId",
            f"expected an authorization server id such as default, got {describe(server_id)}",
        )
        return None
    return OktaFederation(name, domain, "default" if server_id is None else server_id)


def build_pingidentity_federation(
    c: Checker, name: str, spec: dict[str, Any]
) -> PingIdentityFederation | None:
    """``spec.region`` (com, eu, asia or ca) and ``spec.environmentId``."""
    c.fields(spec, "spec", ("region", "environmentId", "managementAPI"))
    region = c.string(spec, "region", "spec", required=True)
    environment = c.string(spec, "environmentId", "spec", required=True, non_empty=True)
    c.mapping(spec, "managementAPI", "spec", required=False)
    if region is not None and region not in PING_REGIONS:
        c.fail("spec.region", f"expected one of {', '.join(PING_REGIONS)}, got {describe(region)}")
        return None
    if environment is not None and ("/" in environment or "?" in environment):
        c.fail(
            "spec.environmentId",
            f"expected a PingOne environment id (a UUID), got {describe(environment)}",
        )
        return None
    if region is None or environment is None:
        return None
    return PingIdentityFederation(name, region, environment)
