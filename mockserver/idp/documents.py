"""Discovery documents and JWKS shaped like Okta's and PingOne's (member order included)."""

from __future__ import annotations

from typing import Any

from mockserver.keys import SigningKey, go_json

from .servers import AuthorizationServer

SIGNING_ALGS = ["RS256"]


def _jwk(kind: str, key: SigningKey) -> dict[str, str]:
    public = key.public_jwk()
    if kind == "okta":
        return {
            "kty": "RSA",
            "alg": "RS256",
            "kid": key.kid,
            "use": "sig",
            "e": public["e"],
            "n": public["n"],
        }
    return {
        "kty": "RSA",
        "e": public["e"],
        "use": "sig",
        "kid": key.kid,
        "alg": "RS256",
        "n": public["n"],
    }


def jwks_document(kind: str, server: AuthorizationServer) -> bytes:
    return go_json({"keys": [_jwk(kind, k) for k in server.keys.keys]})


def discovery_document(kind: str, server: AuthorizationServer) -> bytes:
    base = f"https://{server.host}{server.base_path}"
    document: dict[str, Any] = {"issuer": server.issuer}
    if kind == "okta":
        prefix = base if server.base_path else f"{base}/oauth2"
        document.update(
            {
                "authorization_endpoint": f"{prefix}/v1/authorize",
                "token_endpoint": f"{prefix}/v1/token",
                "userinfo_endpoint": f"{prefix}/v1/userinfo",
                "jwks_uri": server.jwks_uri,
                "response_types_supported": ["code", "token", "id_token"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": SIGNING_ALGS,
                "scopes_supported": ["openid", "profile", "email"],
            }
        )
    else:
        document.update(
            {
                "authorization_endpoint": f"{base}/authorize",
                "token_endpoint": f"{base}/token",
                "userinfo_endpoint": f"{base}/userinfo",
                "jwks_uri": server.jwks_uri,
                "response_types_supported": ["code", "id_token", "token id_token"],
                "grant_types_supported": ["authorization_code", "client_credentials"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": SIGNING_ALGS,
                "scopes_supported": ["openid", "profile", "email"],
            }
        )
    return go_json(document)
