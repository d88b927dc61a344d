"""Equivalent mutants: variants that are the real server's own behaviour, or that no request can
tell apart from it. They are not run and not counted; each names its reason in the real source
(external-secrets-inc/federation-server at ed0c3e9)."""

from __future__ import annotations

SOURCE = "external-secrets-inc/federation-server@ed0c3e9"

EQUIVALENT: dict[str, str] = {
    "body-member:case-fold": (
        "encoding/json matches a struct tag case-insensitively: readCaCrt unmarshals into "
        '`json:"ca.crt"` (pkg/enterprise/federation/server/auth/oidc.go:206-208), and R4\'s '
        'c.Bind into `json:"owner"` decodes the same way (server/server.go:397, 403)'
    ),
    "bearer-scheme:trim": (
        "identical by construction: the compared scheme is the text before the first space, "
        'which holds no space to trim; the real check is strings.TrimPrefix(token, "Bearer ") '
        "(server/auth/oidc.go:77)"
    ),
    "idp-bearer-scheme:trim": (
        "identical by construction: the compared scheme is the text before the first space, "
        'which holds no space to trim; the real check is strings.HasPrefix(authHeader, "Bearer ") '
        "(server/auth/okta.go:74, pingidentity.go:72)"
    ),
    "spiffe-id:suffix": (
        "unobservable: a valid SPIFFE ID holds spiffe:// only at its start, so one valid ID "
        "ends with another only when they are equal"
    ),
    "spiffe-id:trim": (
        "unobservable: the SPIFFE ID grammar (letters, digits, '.', '_', '-') admits no space, "
        "and an allow-list entry outside it is refused when applied"
    ),
    "spiffe-id:unicode-nfkc": (
        "unobservable: the SPIFFE ID grammar is ASCII, so NFKC changes no valid ID"
    ),
    "spiffe-id:percent-decode": (
        "unobservable: the SPIFFE ID grammar admits no %, so no valid ID decodes differently"
    ),
}

# The real server's own readings, kept as the zoo's correct behaviour (so not mutants at all).
REAL_BEHAVIOUR: dict[str, str] = {
    "a bare token without `Bearer ` is the token": "server/auth/oidc.go:77 strings.TrimPrefix",
    "ca.crt's base64 may hold CR and LF": "provider/kubernetes.go:63 base64.StdEncoding",
    "only the first PEM block of ca.crt counts; text before it is skipped": (
        "provider/kubernetes.go:68 pem.Decode"
    ),
    "JSON member names match case-insensitively": "server/auth/oidc.go:206, server/server.go:403",
}
