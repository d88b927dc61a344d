"""Unit tests of the authentication pieces through their public functions: the workload token
step (authn.py), the shared types (authenticators/base.py) and the OIDC body and header reads."""

from __future__ import annotations

import base64
import datetime
import json

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from mockserver.clock import CLOCK, Clock
from mockserver.federation.authenticators.base import (
    Credentials,
    Identity,
    KubeAttributes,
    Refusal,
    Setup,
)
from mockserver.federation.authenticators.oidc import KubernetesOIDC, bearer_token, read_ca_crt
from mockserver.federation.authenticators.registry import Authenticators, Registration
from mockserver.federation.authenticators.spiffe import Spiffe, spiffe_id_of
from mockserver.federation.authn import workload_context
from mockserver.federation.errors import BadRequest, Unauthenticated
from mockserver.federation.modes import Behaviour
from mockserver.serving import DropConnection

WORKLOAD = {
    "kubernetes.io": {
        "namespace": "team-a",
        "serviceaccount": {"name": "web", "uid": "sa-uid"},
        "pod": {"name": "web-0", "uid": "pod-uid"},
    }
}
OWN = KubeAttributes("own", "own-sa", "own-uid")
CALLER = Identity("oidc", "https://issuer", "system:serviceaccount:own:own-sa", OWN)


def _segment(value: object) -> str:
    return base64.urlsafe_b64encode(json.dumps(value).encode()).rstrip(b"=").decode()


def unsigned_jwt(claims: dict[str, object]) -> str:
    return f"{_segment({'alg': 'RS256', 'typ': 'JWT'})}.{_segment(claims)}.c2ln"


def _verified(_parsed: object) -> None:
    return None


def test_kube_attributes_default_to_empty_strings():
    assert KubeAttributes() == KubeAttributes("", "", "", "", "")
    assert (KubeAttributes().namespace, KubeAttributes().pod_uid) == ("", "")
    assert KubeAttributes.from_claims({}) == KubeAttributes()


def test_kube_attributes_read_every_claim_and_ignore_wrong_types():
    assert KubeAttributes.from_claims(WORKLOAD) == KubeAttributes(
        "team-a", "web", "sa-uid", "web-0", "pod-uid"
    )
    odd = {"kubernetes.io": {"namespace": 7, "serviceaccount": "web", "pod": {"name": ["x"]}}}
    assert KubeAttributes.from_claims(odd) == KubeAttributes()


def test_a_refusal_is_its_message_and_its_detail_defaults_to_it():
    refusal = Refusal("token has invalid claims")
    assert (str(refusal), refusal.args, refusal.detail) == (
        "token has invalid claims",
        ("token has invalid claims",),
        "token has invalid claims",
    )
    assert Refusal("short", detail="longer").detail == "longer"


def test_no_workload_header_keeps_the_identity_s_own_workload():
    assert workload_context(None, CALLER, Behaviour(), _verified) is OWN
    assert workload_context("", CALLER, Behaviour(), _verified) is OWN


def test_a_complete_workload_token_replaces_the_identity_s_workload():
    attributes = workload_context(unsigned_jwt(WORKLOAD), CALLER, Behaviour(), _verified)
    assert attributes == KubeAttributes("team-a", "web", "sa-uid", "web-0", "pod-uid")


@pytest.mark.parametrize(
    ("drop", "claim"),
    [
        ("namespace", "kubernetes.io.namespace"),
        ("name", "kubernetes.io.serviceaccount.name"),
        ("uid", "kubernetes.io.serviceaccount.uid"),
    ],
)
def test_a_workload_token_missing_a_claim_names_it(drop, claim):
    kube = json.loads(json.dumps(WORKLOAD["kubernetes.io"]))
    if drop == "namespace":
        del kube["namespace"]
    else:
        del kube["serviceaccount"][drop]
    with pytest.raises(BadRequest) as refused:
        workload_context(unsigned_jwt({"kubernetes.io": kube}), CALLER, Behaviour(), _verified)
    assert refused.value.body == f"invalid x-workload-token: x-workload-token missing {claim}"


def test_an_unverifiable_workload_token_is_400_unless_the_quirk_accepts_it():
    token = unsigned_jwt(WORKLOAD)
    with pytest.raises(BadRequest) as refused:
        workload_context(token, CALLER, Behaviour(), lambda _p: "signed by no known cluster")
    assert refused.value.body == "invalid x-workload-token: signed by no known cluster"
    quirk = Behaviour(["unverified-workload-token"])
    assert workload_context(token, CALLER, quirk, lambda _p: "no").pod_name == "web-0"


def test_the_body_s_ca_crt_is_read_with_go_s_unmarshal():
    assert read_ca_crt(b'{"CA.CRT": "pem"}', strict=False) == "pem"
    assert read_ca_crt(b" \t\r\n", strict=True) == ""
    with pytest.raises(Refusal) as refused:
        read_ca_crt(b" ", strict=False)
    assert str(refused.value) == "unexpected end of JSON input"
    big = json.dumps({"ca.crt": "x" * 9000}).encode()
    assert read_ca_crt(big, strict=False) == "x" * 9000


def test_bearer_is_stripped_only_when_present():
    assert [bearer_token(v) for v in (None, "", "Bearer a.b.c", "a.b.c", "bearer a")] == [
        "",
        "",
        "a.b.c",
        "a.b.c",
        "bearer a",
    ]


def test_oidc_is_presented_every_credential():
    oidc = KubernetesOIDC.__new__(KubernetesOIDC)
    assert oidc.presented(Credentials(None, b"")) is True
    assert oidc.presented(Credentials("Basic x", b"{}", peer_cert_pem="pem")) is True


# -- the OIDC key function and the SPIFFE ID, with keys and certificates made here ----------


def _b64_int(number: int) -> str:
    raw = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


SIGNER = rsa.generate_private_key(public_exponent=65537, key_size=2048)
_NUMBERS = SIGNER.public_key().public_numbers()
JWK = {"kty": "RSA", "alg": "RS256", "n": _b64_int(_NUMBERS.n), "e": _b64_int(_NUMBERS.e)}
KEYFUNC = "token is unverifiable: error while executing keyfunc: "


class FixedKeys:
    """A key resolver that knows one issuer's keys whatever the ca.crt."""

    def __init__(self, keys: dict[str, dict[str, str]]) -> None:
        self.keys, self.seen_ca = keys, set()

    def keys_for(self, issuer, ca_crt, token, exp, kid) -> dict[str, dict[str, str]]:
        return self.keys


def _oidc_token(clock: Clock, kid: str | None = "k", audience: str = "https://issuer") -> str:
    claims = {
        "iss": "https://issuer",
        "sub": "system:serviceaccount:team-a:web",
        "aud": [audience],
        "exp": clock.now() + 600,
        "kubernetes.io": WORKLOAD["kubernetes.io"],
    }
    headers = {} if kid is None else {"kid": kid}
    return jwt.encode(claims, SIGNER, algorithm="RS256", headers=headers)


def _authenticate(token: str, keys=None, behaviour=None, clock: Clock = CLOCK, audiences=()):
    setup = Setup(
        resolver=FixedKeys({"k": JWK} if keys is None else keys),  # type: ignore[arg-type]
        behaviour=behaviour or Behaviour(),
        clock=clock,
        extra_audiences=audiences,
    )
    return KubernetesOIDC(setup).authenticate(Credentials(f"Bearer {token}", b'{"ca.crt": "x"}'))


def test_oidc_accepts_a_token_signed_by_a_listed_key():
    identity = _authenticate(_oidc_token(CLOCK))
    assert (identity.method, identity.provider, identity.subject) == (
        "oidc",
        "https://issuer",
        "system:serviceaccount:team-a:web",
    )
    assert identity.kube == KubeAttributes("team-a", "web", "sa-uid", "web-0", "pod-uid")


@pytest.mark.parametrize(
    ("kid", "keys", "reason"),
    [
        (None, None, "token header has no string kid"),
        ("other", None, "found right store, but kid not found in jwks"),
        ("k", {"k": {**JWK, "alg": "ES256"}}, "algorithm ES256 not supported"),
    ],
)
def test_oidc_key_function_refusals_keep_the_real_texts(kid, keys, reason):
    with pytest.raises(Refusal) as refused:
        _authenticate(_oidc_token(CLOCK, kid=kid), keys=keys)
    assert str(refused.value) == KEYFUNC + reason
    assert refused.value.detail == f"{KEYFUNC}{reason}: {reason}"


def test_kidless_panic_drops_the_connection():
    with pytest.raises(DropConnection) as dropped:
        _authenticate(_oidc_token(CLOCK, kid=None), behaviour=Behaviour(["kidless-panic"]))
    assert str(dropped.value) == "token without a string kid (quirk kidless-panic)"


def test_oidc_reads_the_time_from_its_clock():
    later = Clock(offset=3600.0)
    with pytest.raises(Refusal) as refused:
        _authenticate(_oidc_token(CLOCK), clock=later)
    assert str(refused.value) == "token has invalid claims: token is expired"
    assert _authenticate(_oidc_token(later), clock=later).provider == "https://issuer"


def test_strict_audiences_are_the_issuer_and_the_extra_ones():
    strict = Behaviour(strict=True)
    token = _oidc_token(CLOCK, audience="https://other")
    with pytest.raises(Refusal) as refused:
        _authenticate(token, behaviour=strict)
    assert str(refused.value) == "token has invalid claims: token has invalid audience"
    assert _authenticate(token, behaviour=strict, audiences=("https://other",)).subject


def _certificate(*uris: str, dns: bool = False) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.ORGANIZATION_NAME, "SPIFFE")])
    now = datetime.datetime.now(datetime.UTC)
    builder = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + datetime.timedelta(days=1))
    )
    sans: list[x509.GeneralName] = [x509.UniformResourceIdentifier(u) for u in uris]
    if dns:
        sans.append(x509.DNSName("example.org"))
    if sans:
        builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
    cert = builder.sign(key, hashes.SHA256())
    return cert.public_bytes(serialization.Encoding.PEM).decode()


SVID = "spiffe://example.org/frontend/ns/web/sa/sa-uid/frontend/pod/pod-uid/frontend-5c7d9"


@pytest.mark.parametrize(
    ("certificate", "text"),
    [
        (lambda: _certificate(), "certificate contains no URI SAN"),
        (lambda: _certificate(dns=True), "certificate contains no URI SAN"),
        (lambda: _certificate(SVID, SVID + "2"), "certificate contains more than one URI SAN"),
        (lambda: _certificate("https://example.org/x"), "scheme is missing or invalid"),
    ],
)
def test_spiffe_id_extraction_refusals_keep_go_spiffe_s_texts(certificate, text):
    with pytest.raises(Refusal) as refused:
        spiffe_id_of(certificate())
    assert str(refused.value) == f"error extracting spiffe id: {text}"


def test_spiffe_identity_comes_from_the_svid_path():
    spiffe = Spiffe(Setup(resolver=None, behaviour=Behaviour()))  # type: ignore[arg-type]
    pem = _certificate(SVID)
    assert spiffe_id_of(pem) == SVID
    assert spiffe.presented(Credentials(None, b"", peer_cert_pem=pem)) is True
    assert spiffe.presented(Credentials(None, b"")) is False
    identity = spiffe.authenticate(Credentials(None, b"", peer_cert_pem=pem))
    assert identity == Identity(
        "spiffe",
        "example.org",
        SVID,
        KubeAttributes("web", "frontend", "sa-uid", "frontend-5c7d9", "pod-uid"),
    )
    with pytest.raises(Refusal) as refused:
        spiffe.authenticate(Credentials(None, b""))
    assert str(refused.value) == "no certificates in request"


class Refuses:
    """An authenticator that refuses everything, presented only to one Authorization value."""

    def __init__(self, name: str, presented_to: str | None) -> None:
        self.name, self.presented_to = name, presented_to

    def presented(self, creds: Credentials) -> bool:
        return creds.authorization == self.presented_to

    def authenticate(self, creds: Credentials) -> Identity:
        raise Refusal(f"{self.name} refused")


def _run(creds: Credentials, *authenticators: Refuses) -> str:
    setup = Setup(resolver=None, behaviour=Behaviour())  # type: ignore[arg-type]
    registry = tuple(Registration(lambda _s, a=a: a) for a in authenticators)
    with pytest.raises(Unauthenticated) as refused:
        Authenticators(setup, registry).authenticate(creds)
    return refused.value.message


def test_the_last_presented_refusal_wins_and_the_first_when_none_was_presented():
    chain = (Refuses("a", "x"), Refuses("b", "x"), Refuses("c", None))
    assert _run(Credentials("x", b""), *chain) == "b refused"
    assert _run(Credentials("other", b""), *chain) == "a refused"


def test_a_refusal_with_a_positional_detail_is_still_its_message():
    assert (str(Refusal("a", "b")), Refusal("a", "b").args) == ("a", ("a",))


@pytest.mark.parametrize("alg", ["RS256", "RS384", "RS512"])
def test_every_rsa_jwk_algorithm_is_accepted(alg):
    claims = {
        "iss": "https://issuer",
        "sub": "s",
        "aud": ["https://issuer"],
        "exp": CLOCK.now() + 60,
    }
    token = jwt.encode(claims, SIGNER, algorithm=alg, headers={"kid": "k"})
    assert _authenticate(token, keys={"k": {**JWK, "alg": alg}}).subject == "s"


def test_a_jwk_without_alg_names_an_empty_algorithm():
    jwk = {k: v for k, v in JWK.items() if k != "alg"}
    with pytest.raises(Refusal) as refused:
        _authenticate(_oidc_token(CLOCK), keys={"k": jwk})
    assert str(refused.value) == KEYFUNC + "algorithm  not supported"


def test_strict_mode_treats_only_json_whitespace_as_an_empty_body():
    with pytest.raises(Refusal) as refused:
        read_ca_crt(b"X", strict=True)
    assert str(refused.value) == "invalid character 'X' looking for beginning of value"
