"""The ServiceAccountIssuerDiscovery documents, byte for byte as kube-apiserver serves them.

Verifiers parse these documents, and some compare or cache them by bytes, so the member order,
the compact encoding and the alg list must match what a real cluster serves.
"""

from __future__ import annotations

from collections.abc import Iterable
from urllib.parse import urlsplit

from mockserver.keys import PrivateKey, PublicKey, SigningKey, alg_for, go_json, public_jwk

DISCOVERY_PATH = "/.well-known/openid-configuration"
JWKS_PATH = "/openid/v1/jwks"
DISCOVERY_CONTENT_TYPE = "application/json"
JWKS_CONTENT_TYPE = "application/jwk-set+json"
CACHE_CONTROL = "public, max-age=3600"

AnyKey = SigningKey | PublicKey | PrivateKey


def https_url_error(url: str, what: str = "issuer") -> str | None:
    """Why kube-apiserver would refuse `url` as an issuer or jwks_uri, or None if it is fine.

    An issuer that is not an https URL without query and fragment makes kube-apiserver skip the
    discovery endpoints altogether.
    """
    try:
        parts = urlsplit(url)
    except ValueError as exc:
        return f"{what} URL {url!r} does not parse: {exc}"
    if parts.scheme != "https":
        return f"{what} URL {url!r} must use the https scheme"
    if not parts.netloc:
        return f"{what} URL {url!r} has no host"
    if parts.query or "?" in url:
        return f"{what} URL {url!r} must not contain a query"
    if parts.fragment or "#" in url:
        return f"{what} URL {url!r} must not contain a fragment"
    return None


def discovery_document(issuer: str, jwks_uri: str, keys: Iterable[AnyKey]) -> bytes:
    """`/.well-known/openid-configuration`: five members in kube's order, algs sorted and unique.

    Raises ValueError where kube-apiserver would refuse to install the endpoints.
    """
    for url, what in ((issuer, "issuer"), (jwks_uri, "jwks_uri")):
        error = https_url_error(url, what)
        if error:
            raise ValueError(error)
    algs = sorted({alg_for(key) for key in keys})
    return go_json(
        {
            "issuer": issuer,
            "jwks_uri": jwks_uri,
            "response_types_supported": ["id_token"],
            "subject_types_supported": ["public"],
            "id_token_signing_alg_values_supported": algs,
        }
    )


def jwks_document(keys: Iterable[AnyKey]) -> bytes:
    """`/openid/v1/jwks`: every published key, public parts only, in the order given."""
    return go_json({"keys": [public_jwk(key) for key in keys]})
