"""Authentication: bearer + `ca.crt` → identity (server-protocol.md §3), and `x-workload-token`.

Default: a fixed order (OIDC, then SPIFFE) and the OIDC error text in a 401, except that a
caller presenting a client certificate gets the SPIFFE error; the quirk `random-authenticator`
restores the real server's random order and random text.
"""

from __future__ import annotations

import random
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import rsa

from mockserver.clock import CLOCK, Clock
from mockserver.federation.errors import BadRequest, Unauthenticated
from mockserver.federation.jwtparse import (
    JWTError,
    KeyFuncError,
    ParsedToken,
    parse_and_verify,
    parse_unverified,
    rsa_key_from_jwk,
)
from mockserver.federation.modes import Behaviour
from mockserver.federation.upstream import KeyResolver
from mockserver.godecode import GoJSONError, string_fields
from mockserver.serving import DropConnection

SPIFFE_PATH = re.compile(r"/([^/]+)/ns/([^/]+)/sa/([^/]+)/([^/]+)/pod/([^/]+)/([^/]+)")
SPIFFE_PATH_ERROR = (
    "invalid spiffe path; should follow the pattern "
    "/{app-name}/ns/{namespace}/sa/{saID}/{saName}/pod/{podID}/{podName}"
)
RSA_JWK_ALGS = frozenset({"RS256", "RS384", "RS512"})


@dataclass(frozen=True)
class KubeAttributes:
    """The workload a request acts for: namespace, service account, optional pod."""

    namespace: str = ""
    sa_name: str = ""
    sa_uid: str = ""
    pod_name: str = ""
    pod_uid: str = ""

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> KubeAttributes:
        kube = claims.get("kubernetes.io")
        kube = kube if isinstance(kube, dict) else {}
        sa = kube.get("serviceaccount") if isinstance(kube.get("serviceaccount"), dict) else {}
        pod = kube.get("pod") if isinstance(kube.get("pod"), dict) else {}

        def text(mapping: dict[str, Any], key: str) -> str:
            value = mapping.get(key)
            return value if isinstance(value, str) else ""

        return cls(
            namespace=text(kube, "namespace"),
            sa_name=text(sa, "name"),
            sa_uid=text(sa, "uid"),
            pod_name=text(pod, "name"),
            pod_uid=text(pod, "uid"),
        )


@dataclass(frozen=True)
class Identity:
    """Who is calling: method, provider (issuer or trust domain), subject, workload."""

    method: str
    provider: str
    subject: str
    kube: KubeAttributes | None
    token: ParsedToken | None = None


@dataclass(frozen=True)
class Credentials:
    """What a request carries for authentication."""

    authorization: str | None
    body: bytes
    peer_cert_pem: str | None = None


class AuthFailure(Exception):
    """One authenticator refused; `detail` is for the journal, `str()` for the 401 body."""

    def __init__(self, message: str, detail: str = "") -> None:
        super().__init__(message)
        self.detail = detail or message


CA_CRT_TYPE = 'struct { CaCert string "json:\\"ca.crt\\"" }'
"""The anonymous struct the real server unmarshals the body into (its name in Go's errors)."""


def read_ca_crt(body: bytes, strict: bool) -> str:
    """Decode the body as Go's `json.Unmarshal` into `{"ca.crt": string}` (keys fold case)."""
    if strict and not body.strip(b" \t\r\n"):
        return ""
    try:
        return string_fields(body, ("ca.crt",), CA_CRT_TYPE)["ca.crt"]
    except GoJSONError as exc:
        raise AuthFailure(str(exc)) from exc


def bearer_token(header: str | None) -> str:
    """The OIDC authenticator strips `Bearer ` only if present; a bare JWT also works."""
    value = header or ""
    return value[len("Bearer ") :] if value.startswith("Bearer ") else value


class Authenticator:
    """Runs the authenticators a request may pass and returns the first identity."""

    def __init__(
        self,
        resolver: KeyResolver,
        behaviour: Behaviour,
        clock: Clock = CLOCK,
        extra_audiences: tuple[str, ...] = (),
        rng: random.Random | None = None,
    ) -> None:
        self.resolver = resolver
        self.behaviour = behaviour
        self.clock = clock
        self.extra_audiences = extra_audiences
        self._rng = rng or random.Random()

    def authenticate(self, creds: Credentials) -> Identity:
        """Return an identity or raise Unauthenticated (401) with the chosen error text."""
        if self.behaviour.enabled("random-authenticator"):
            order = ["oidc", "okta", "pingidentity", "spiffe"]
            self._rng.shuffle(order)
        else:
            order = ["oidc", "spiffe"]
        errors: dict[str, AuthFailure] = {}
        last = ""
        for name in order:
            try:
                return getattr(self, f"_{name}")(creds)
            except AuthFailure as failure:
                errors[name] = failure
                last = name
        if not self.behaviour.enabled("random-authenticator"):
            last = "spiffe" if creds.peer_cert_pem else "oidc"
        raise Unauthenticated(
            str(errors[last]), detail="; ".join(f"{n}: {e.detail}" for n, e in errors.items())
        )

    # -- OIDC / Kubernetes service-account tokens (§3.2) ---------------------------------------

    def _oidc(self, creds: Credentials) -> Identity:
        token = bearer_token(creds.authorization)
        ca_crt = read_ca_crt(creds.body, self.behaviour.strict)

        def keyfunc(parsed: ParsedToken) -> rsa.RSAPublicKey:
            exp = parsed.claims.get("exp")
            kid = parsed.header.get("kid")
            keys = self.resolver.keys_for(parsed.issuer, ca_crt, token, exp, kid)
            if ca_crt not in self.resolver.seen_ca:
                self.resolver.seen_ca.add(ca_crt)
                if self.behaviour.enabled("first-request-401"):
                    raise KeyFuncError("no jwks found", detail="first request for this ca.crt")
            if not isinstance(kid, str):
                if self.behaviour.enabled("kidless-panic"):
                    raise DropConnection("token without a string kid (quirk kidless-panic)")
                raise KeyFuncError("token header has no string kid")
            jwk = keys.get(kid)
            if jwk is None:
                raise KeyFuncError("found right store, but kid not found in jwks")
            alg = jwk.get("alg", "")
            if alg not in RSA_JWK_ALGS:
                raise KeyFuncError(f"algorithm {alg} not supported")
            return rsa_key_from_jwk(jwk)

        try:
            parsed = parse_and_verify(token, keyfunc, self.clock.now(), self.behaviour.strict)
        except KeyFuncError as exc:
            raise AuthFailure(str(exc), detail=f"{exc}: {exc.detail}") from exc
        except JWTError as exc:
            raise AuthFailure(str(exc)) from exc
        if self.behaviour.strict:
            accepted = {parsed.issuer, *self.extra_audiences}
            if not accepted.intersection(parsed.audiences):
                raise AuthFailure("token has invalid claims: token has invalid audience")
        return Identity(
            method="oidc",
            provider=parsed.issuer,
            subject=parsed.subject,
            kube=KubeAttributes.from_claims(parsed.claims),
            token=parsed,
        )

    # -- SPIFFE mTLS (§3.5) ---------------------------------------------------------------------

    def _spiffe(self, creds: Credentials) -> Identity:
        if not creds.peer_cert_pem:
            raise AuthFailure("no certificates in request")
        spiffe_id = spiffe_id_of(creds.peer_cert_pem)
        trust_domain, _, path = spiffe_id[len("spiffe://") :].partition("/")
        found = SPIFFE_PATH.fullmatch("/" + path)
        if found is None:
            raise AuthFailure(SPIFFE_PATH_ERROR)
        _app, namespace, sa_uid, sa_name, pod_uid, pod_name = found.groups()
        return Identity(
            method="spiffe",
            provider=trust_domain,
            subject=spiffe_id,
            kube=KubeAttributes(namespace, sa_name, sa_uid, pod_name, pod_uid),
        )

    # -- Okta and PingIdentity: only reached under `random-authenticator` ----------------------

    def _okta(self, creds: Credentials) -> Identity:
        header = creds.authorization
        if header is None or header == "":
            raise AuthFailure("missing Authorization header")
        if not header.startswith("Bearer "):
            raise AuthFailure("invalid Authorization header format, expected 'Bearer <token>'")
        token = header[len("Bearer ") :]
        if not token:
            raise AuthFailure("empty token in Authorization header")
        try:
            parsed = parse_unverified(token)
        except JWTError as exc:
            raise AuthFailure(f"failed to parse token: {exc}") from exc
        if not parsed.issuer:
            raise AuthFailure("token missing issuer claim")
        if not self.resolver.issuer_configured(parsed.issuer):
            raise AuthFailure(f"no authorization configured for issuer: {parsed.issuer}")
        raise AuthFailure("failed to get JWKS: no jwks found")

    _pingidentity = _okta


def spiffe_id_of(cert_pem: str) -> str:
    """The one `spiffe://` URI SAN of a leaf certificate, as go-spiffe extracts it."""
    try:
        cert = x509.load_pem_x509_certificate(cert_pem.encode())
        sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
    except (ValueError, x509.ExtensionNotFound) as exc:
        raise AuthFailure("error extracting spiffe id: certificate contains no URI SAN") from exc
    if len(uris) != 1:
        many = "no URI SAN" if not uris else "more than one URI SAN"
        raise AuthFailure(f"error extracting spiffe id: certificate contains {many}")
    if not uris[0].startswith("spiffe://"):
        raise AuthFailure("error extracting spiffe id: scheme is missing or invalid")
    return uris[0]


WorkloadVerifier = Callable[[ParsedToken], str | None]
"""Returns None when a workload token is signed by a known cluster, else the reason it is not."""

WORKLOAD_CLAIMS = (
    ("namespace", "kubernetes.io.namespace"),
    ("sa_name", "kubernetes.io.serviceaccount.name"),
    ("sa_uid", "kubernetes.io.serviceaccount.uid"),
)


def workload_context(
    header: str | None, identity: Identity, behaviour: Behaviour, verify: WorkloadVerifier
) -> KubeAttributes | None:
    """The workload a request acts for: a valid `x-workload-token`, else the identity's own."""
    if not header:
        return identity.kube
    try:
        parsed = parse_unverified(header)
    except JWTError as exc:
        raise BadRequest(
            f"invalid x-workload-token: failed to parse x-workload-token: {exc}"
        ) from exc
    attributes = KubeAttributes.from_claims(parsed.claims)
    for field_name, claim in WORKLOAD_CLAIMS:
        if not getattr(attributes, field_name):
            raise BadRequest(f"invalid x-workload-token: x-workload-token missing {claim}")
    if not behaviour.enabled("unverified-workload-token"):
        reason = verify(parsed)
        if reason is not None:
            raise BadRequest(f"invalid x-workload-token: {reason}")
    return attributes
