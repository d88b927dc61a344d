"""render's pure parts: Go behaviours, ESO processing and error texts, the client-side loader."""

from __future__ import annotations

import re

import pytest

from mockserver.manifests import ManifestError, parse_documents
from mockserver.render.clients import ProviderClient, encode_client_ca
from mockserver.render.externalsecret import (
    SyncError,
    decode,
    rewrite,
    sync,
    validate_keys,
)
from mockserver.render.gocompat import GoBase64Error, b64decode, parse_url, replace_all
from mockserver.render.kinds import build_client_manifests
from mockserver.render.model import (
    DataEntry,
    DataFromEntry,
    ExternalSecret,
    RemoteRef,
    Rewrite,
    StoreRef,
    Target,
)
from mockserver.render.secret import data_hash, object_hash


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (b"aGVsbG8=", b"hello"),
        (b"aGVs\nbG8=", b"hello"),
        (b"", b""),
    ],
)
def test_go_base64(data, expected) -> None:
    assert b64decode(data) == expected


@pytest.mark.parametrize(
    ("data", "offset"),
    [(b"hello", 4), (b"aGVsbG8", 4), (b"aGVsbG8=x", 8), (b"a===", 1), (b"aGVsbG-_", 6)],
)
def test_go_base64_error_offsets(data, offset) -> None:
    with pytest.raises(GoBase64Error) as caught:
        b64decode(data)
    assert str(caught.value) == f"illegal base64 data at input byte {offset}"


def test_decoding_strategies() -> None:
    assert decode("None", b"aGk=") == b"aGk="
    assert decode("Base64", b"aGk=") == b"hi"
    assert decode("Base64URL", b"-_8=") == b"\xfb\xff"
    assert decode("Auto", b"-_8=") == b"\xfb\xff"
    assert decode("Auto", b"hello") == b"hello"
    # Auto decodes anything that happens to be base64, as ESO does.
    assert decode("Auto", b"5432") == b"\xe7\x8d\xf6"


def test_go_url_parse_as_the_released_provider_uses_it() -> None:
    base = "http://h:1/secretstore/s/secrets/"
    assert parse_url(base + "a b").request_uri == "/secretstore/s/secrets/a%20b"
    assert parse_url(base + "a/b").request_uri == "/secretstore/s/secrets/a/b"
    assert parse_url(base + "a?b").request_uri == "/secretstore/s/secrets/a?b"
    assert parse_url(base + "a#b").request_uri == "/secretstore/s/secrets/a"
    assert parse_url(base + "a%2Fb").request_uri == "/secretstore/s/secrets/a%2Fb"
    assert parse_url(base + "ä").request_uri == "/secretstore/s/secrets/%C3%A4"
    with pytest.raises(ValueError, match=re.escape('invalid URL escape "%zz"')):
        parse_url(base + "a%zzb")


def test_correct_provider_escapes_keys_and_trims_the_slash() -> None:
    correct = ProviderClient("http://h:1/", "app-store", "t", b"")
    released = ProviderClient("http://h:1/", "app-store", "t", b"", released=True)
    assert correct.url_for("a?b#c%d ä/e") == (
        "http://h:1/secretstore/app-store/secrets/a%3Fb%23c%25d%20%C3%A4/e"
    )
    assert released.url_for("k") == "http://h:1//secretstore/app-store/secrets/k"


def test_encode_client_ca_accepts_pem_or_base64_of_pem() -> None:
    pem = b"-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"
    encoded = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCkFBQUEKLS0tLS1FTkQgQ0VSVElGSUNBVEUtLS0tLQo="
    assert encode_client_ca(pem) == encoded
    assert encode_client_ca(encoded.encode() + b"\n") == encoded


def test_go_replace_all_expansion() -> None:
    pattern = re.compile(r"^db-(\w+)$")
    assert replace_all(pattern, "${1}_x", "db-user") == "user_x"
    assert replace_all(pattern, "$1x", "db-user") == ""
    assert replace_all(pattern, "$$1", "db-user") == "$1"


def test_key_validation_and_rewrite_errors() -> None:
    assert validate_keys({"": b"x", "ok": b"y"}) == {"ok": b"y"}
    with pytest.raises(SyncError) as caught:
        validate_keys({"a/b": b""})
    assert str(caught.value) == (
        "invalid secret keys (TIP: use rewrite or conversionStrategy to change keys): key has "
        "invalid character /, only alphanumeric, '-', '.' and '_' are allowed: a/b"
    )
    with pytest.raises(SyncError, match=r"failed rewrite operation\[0\]: rewrite.merge"):
        rewrite((Rewrite("merge"),), {"a": b""})


def test_eso_hashes() -> None:
    assert object_hash("team-a/tricky") == (
        "b080558dbe8d82ecdec68a6c4c7e78d2972ef826dc394c4d47fb1e76"
    )
    assert data_hash({}) == object_hash("map[]")
    assert data_hash({"b": b"\x01", "a": b""}) == object_hash("map[a:[] b:[1]]")


class _Store:
    def __init__(self, values: dict[str, bytes]) -> None:
        self.values = values

    def get_secret(self, key: str, prop: str = "", version: str = "") -> bytes:
        return self.values[key]

    def get_secret_map(self, key: str, prop: str = "", version: str = "") -> dict[str, bytes]:
        return {"x/y": self.values[key], "dup": b"from-map"}


class _Resolver:
    def __init__(self, values: dict[str, bytes]) -> None:
        self.client = _Store(values)

    def store(self, ref: StoreRef, namespace: str) -> _Store:
        return self.client

    def generate(self, ref, namespace):  # pragma: no cover - not used here
        raise AssertionError


def _es(data=(), data_from=()) -> ExternalSecret:
    return ExternalSecret("ns", "es", StoreRef("s"), Target("t"), tuple(data), tuple(data_from))


def test_merge_order_conversion_and_decoding_errors() -> None:
    resolver = _Resolver({"k": b"aGk=", "plain": b"hello"})
    es = _es(
        data=[DataEntry("dup", RemoteRef("k", decoding="Base64"))],
        data_from=[DataFromEntry(extract=RemoteRef("k", conversion="Unicode"))],
    )
    assert sync(es, resolver).data == {"x_U002f_y": b"aGk=", "dup": b"hi"}
    bad = _es(data=[DataEntry("v", RemoteRef("plain", decoding="Base64"))])
    assert sync(bad, resolver).error == (
        "error processing spec.data[0] (key: plain), err: error applying decoding strategy "
        "Base64 to data: illegal base64 data at input byte 4"
    )
    # The enterprise fork has no nullBytePolicy: a NUL byte is stored like any other byte.
    nulls = _es(data=[DataEntry("v", RemoteRef("plain"))])
    assert sync(nulls, _Resolver({"plain": b"a\x00"})).data == {"v": b"a\x00"}
    find = _es(data_from=[DataFromEntry(find=object())])  # type: ignore[arg-type]
    assert sync(find, resolver).error == (
        "error processing spec.dataFrom[0].find, err: error getting all secrets: not implemented"
    )


def _load(text: str):
    return build_client_manifests(parse_documents(text, "client.yaml"))


def test_loader_reports_every_problem_with_its_place() -> None:
    text = """
apiVersion: external-secrets.io/v1
kind: SecretStore
metadata: {name: s, namespace: team-a}
spec:
  provider:
    fake: {data: []}
---
apiVersion: external-secrets.io/v1
kind: ExternalSecret
metadata: {name: e, namespace: team-a}
spec:
  secretStoreRef: {name: s}
  data:
    - {secretKey: a, remoteRef: {key: k, decodingStrategy: Hex}}
    - {secretKey: a, remoteRef: {key: k}}
---
apiVersion: identity.federation.external-secrets.io/v1alpha1
kind: Authorization
metadata: {name: x}
"""
    with pytest.raises(ManifestError) as caught:
        _load(text)
    assert [str(e) for e in caught.value.errors] == [
        'client.yaml: document 1 (SecretStore "team-a/s"), line 6: spec.provider: expected exactly one '
        "provider, externalsecrets (the External Secrets Enterprise provider render emulates), "
        "got fake",
        'client.yaml: document 2 (ExternalSecret "team-a/e"), line 15: '
        "spec.data[0].remoteRef."
        'decodingStrategy: expected one of None, Base64, Base64URL, Auto, got "Hex"',
        'client.yaml: document 2 (ExternalSecret "team-a/e"), line 14: spec.data: duplicate secretKey '
        "found: a",
        'client.yaml: document 3 (Authorization "x"), line 19: kind: expected a client-side kind; '
        "Authorization belongs to the server's manifests (esi-mock serve --fixtures)",
    ]


def test_federation_store_is_read_as_a_secret_store() -> None:
    manifests = _load(
        """
apiVersion: federation.external-secrets.io/v1alpha1
kind: FederationStore
metadata: {name: central, namespace: team-a}
spec:
  server: {url: "http://127.0.0.1:1"}
  auth: {kubernetes: {serviceAccountRef: {name: web}, caCertRef: {bundle: "QUJD"}}}
  target: {clusterSecretStoreName: app-store}
"""
    )
    store = manifests.store(StoreRef("central", "SecretStore"), "team-a")
    assert store is not None
    assert (store.kind, store.target_store, store.client_ca.bundle) == (
        "SecretStore",
        "app-store",
        b"ABC",
    )
