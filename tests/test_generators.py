"""Generator kinds: outputs, the Password algorithm's constraints, SSH key formats, TOTP, errors."""

from __future__ import annotations

import base64
import re
import struct
from collections.abc import Callable

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from cryptography.hazmat.primitives.serialization import (
    load_ssh_private_key,
    load_ssh_public_key,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from mockserver.backends.generators import (
    GENERATOR_PLURALS,
    SUPPORTED_KINDS,
    GeneratorError,
    GeneratorKindPanics,
    UnknownGeneratorKind,
    generate,
    generator_not_found_message,
    resolve_cluster_generator,
)
from mockserver.backends.password import DEFAULT_SYMBOLS, generate_password
from mockserver.backends.totp import totp
from mockserver.clock import Clock


class FixedClock(Clock):
    """A clock standing still at `at`, so TOTP tests need no sleeping and no race."""

    def __init__(self, at: float) -> None:
        super().__init__()
        self.at = at

    def now(self) -> float:
        return self.at + self.offset


def _counts(password: str, symbols: str = DEFAULT_SYMBOLS) -> tuple[int, int, int]:
    letters = sum(c.isascii() and c.isalpha() for c in password)
    digits = sum(c.isdigit() for c in password)
    syms = sum(c in symbols for c in password)
    return letters, digits, syms


# --- Fake and UUID ---


def test_fake_returns_data_verbatim() -> None:
    assert generate("Fake", {"data": {"username": "u", "password": "p<&>"}}) == {
        "username": "u",
        "password": "p<&>",
    }
    assert generate("Fake", {}) == {}


def test_uuid_is_lowercase_v4() -> None:
    out = generate("UUID", {})
    assert list(out) == ["uuid"]
    assert re.fullmatch(
        r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}", out["uuid"]
    )
    assert generate("UUID", {}) != out


# --- Password ---


def test_password_defaults() -> None:
    out = generate("Password", {})
    assert list(out) == ["password"]
    password = out["password"]
    assert len(password) == 24
    assert _counts(password) == (12, 6, 6)
    assert len(set(password)) == 24


@pytest.mark.parametrize(
    ("length", "digits", "symbols"),
    [(10, 2, 2), (7, 1, 1), (3, 0, 0), (1, 0, 0), (40, 10, 5)],
)
def test_password_default_counts_scale_with_length(length: int, digits: int, symbols: int) -> None:
    spec = {"length": length}
    if length == 40:
        spec |= {"digits": 10, "symbols": 5}
    password = generate("Password", spec)["password"]
    assert len(password) == length
    assert _counts(password) == (length - digits - symbols, digits, symbols)


def test_password_non_positive_length_means_24() -> None:
    assert len(generate("Password", {"length": 0})["password"]) == 24
    assert len(generate("Password", {"length": -5})["password"]) == 24


@given(
    length=st.integers(1, 60),
    digits=st.integers(0, 10),
    symbols=st.integers(0, 30),
    no_upper=st.booleans(),
)
@settings(max_examples=60)
def test_password_constraints_hold(length: int, digits: int, symbols: int, no_upper: bool) -> None:
    letters = length - digits - symbols
    if letters < 0 or letters > (26 if no_upper else 52):
        return
    password = generate_password(length, digits, symbols, DEFAULT_SYMBOLS, no_upper, False)
    assert len(password) == length
    assert _counts(password) == (letters, digits, symbols)
    assert len(set(password)) == length
    if no_upper:
        assert not any(c.isupper() for c in password)


def test_password_allow_repeat_permits_long_passwords() -> None:
    password = generate("Password", {"length": 200, "allowRepeat": True, "noUpper": True})[
        "password"
    ]
    assert len(password) == 200
    assert _counts(password) == (100, 50, 50)


def test_password_symbol_characters() -> None:
    password = generate(
        "Password", {"length": 8, "digits": 0, "symbols": 2, "symbolCharacters": "+-"}
    )["password"]
    assert sorted(c for c in password if not c.isalpha()) == ["+", "-"]
    # empty means go-password's default set
    password = generate("Password", {"symbolCharacters": ""})["password"]
    assert _counts(password) == (12, 6, 6)


def test_password_non_ascii_symbols_are_drawn_per_byte() -> None:
    # "é" is C3 A9; Go's string(byte) turns those into U+00C3 and U+00A9
    password = generate(
        "Password", {"length": 4, "digits": 0, "symbols": 2, "symbolCharacters": "é"}
    )["password"]
    assert sorted(c for c in password if not c.isascii()) == ["©", "Ã"]


_NO_REPEAT = "exceeds available {0} and repeats are not allowed"


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        (
            {"length": 4, "digits": 3, "symbols": 2},
            "number of digits and symbols must be less than total length",
        ),
        (
            {"length": 60, "digits": 2, "symbols": 2},
            "number of letters " + _NO_REPEAT.format("letters"),
        ),
        (
            {"length": 40, "symbols": 1, "noUpper": True},
            "number of letters " + _NO_REPEAT.format("letters"),
        ),
        ({"length": 30, "digits": 11}, "number of digits " + _NO_REPEAT.format("digits")),
        (
            {"length": 10, "symbols": 3, "symbolCharacters": "+-"},
            "number of symbols " + _NO_REPEAT.format("symbols"),
        ),
        ({"secretKeys": ["a", "a"]}, "secretKeys must be non-empty and unique"),
        ({"secretKeys": ["a", ""]}, "secretKeys must be non-empty and unique"),
    ],
)
def test_password_errors(spec: dict, message: str) -> None:
    with pytest.raises(GeneratorError) as info:
        generate("Password", spec)
    assert str(info.value) == message


def test_password_repeats_allowed_bypass_the_availability_checks() -> None:
    out = generate("Password", {"length": 30, "digits": 11, "symbols": 0, "allowRepeat": True})
    assert _counts(out["password"])[1] == 11


def test_password_secret_keys() -> None:
    out = generate("Password", {"secretKeys": ["a", "b", "c"], "length": 12})
    assert sorted(out) == ["a", "b", "c"]
    assert all(len(v) == 12 for v in out.values())
    assert len(set(out.values())) == 3
    assert list(generate("Password", {"secretKeys": []})) == ["password"]


def test_password_secret_keys_ignored_like_the_pinned_eso() -> None:
    out = generate("Password", {"secretKeys": ["a", "a"]}, password_secret_keys=False)
    assert list(out) == ["password"]


@pytest.mark.parametrize(
    ("encoding", "decode"),
    [
        ("base64", base64.b64decode),
        ("base64url", base64.urlsafe_b64decode),
        ("base32", base64.b32decode),
        ("hex", bytes.fromhex),
        ("raw", str.encode),
        ("rot13", str.encode),  # unknown falls back to raw
    ],
)
def test_password_encoding(encoding: str, decode: Callable) -> None:
    value = generate("Password", {"encoding": encoding})["password"]
    raw = decode(value).decode()
    assert len(raw) == 24
    assert _counts(raw) == (12, 6, 6)


def test_password_url_encoding_is_padded() -> None:
    value = generate("Password", {"length": 5, "digits": 0, "symbols": 0, "encoding": "base64url"})
    assert value["password"].endswith("=")


# --- SSHKey ---

EC = ec.EllipticCurvePrivateKey


def _private_comment(pem: str) -> bytes:
    body = "".join(line for line in pem.splitlines() if not line.startswith("-----"))
    blob = base64.b64decode(body)
    offset = len(b"openssh-key-v1\x00")

    def read(data: bytes, at: int) -> tuple[bytes, int]:
        (n,) = struct.unpack(">I", data[at : at + 4])
        return data[at + 4 : at + 4 + n], at + 4 + n

    for _ in range(3):
        _, offset = read(blob, offset)
    offset += 4
    _, offset = read(blob, offset)
    private, _ = read(blob, offset)
    assert private[:4] == private[4:8]  # check integers agree
    p = 8
    key_type, p = read(private, p)
    fields = {b"ssh-rsa": 6, b"ssh-ed25519": 2}.get(key_type, 3)
    for _ in range(fields):
        _, p = read(private, p)
    comment, p = read(private, p)
    assert private[p:] == bytes(range(1, 1 + len(private) - p))
    assert len(private) % 8 == 0
    return comment


@pytest.mark.parametrize(
    ("spec", "key_class", "prefix", "size"),
    [
        ({}, rsa.RSAPrivateKey, "ssh-rsa ", 2048),
        ({"keyType": "rsa", "keySize": 3072}, rsa.RSAPrivateKey, "ssh-rsa ", 3072),
        ({"keyType": "ecdsa"}, EC, "ecdsa-sha2-nistp256 ", 256),
        ({"keyType": "ecdsa", "keySize": 384}, EC, "ecdsa-sha2-nistp384 ", 384),
        ({"keyType": "ecdsa", "keySize": 521}, EC, "ecdsa-sha2-nistp521 ", 521),
        ({"keyType": "ecdsa", "keySize": 1000}, EC, "ecdsa-sha2-nistp256 ", 256),
        ({"keyType": "ed25519"}, ed25519.Ed25519PrivateKey, "ssh-ed25519 ", None),
    ],
)  # fmt: skip
def test_sshkey_outputs_load(spec: dict, key_class: type, prefix: str, size: int | None) -> None:
    out = generate("SSHKey", spec)
    assert sorted(out) == ["privateKey", "publicKey"]
    pem = out["privateKey"]
    assert pem.startswith("-----BEGIN OPENSSH PRIVATE KEY-----\n")
    assert pem.endswith("\n-----END OPENSSH PRIVATE KEY-----\n")
    lines = pem.splitlines()[1:-1]
    assert all(len(line) == 64 for line in lines[:-1]) and 0 < len(lines[-1]) <= 64
    key = load_ssh_private_key(pem.encode(), password=None)
    assert isinstance(key, key_class)
    if size is not None:
        assert key.key_size == size
    public = out["publicKey"]
    assert public.startswith(prefix) and public.endswith("\n") and public.count(" ") == 1
    loaded = load_ssh_public_key(public.encode())
    assert loaded == key.public_key()
    assert _private_comment(pem) == b""


def test_sshkey_comment_in_both_outputs() -> None:
    out = generate("SSHKey", {"keyType": "ed25519", "comment": "me@host"})
    assert out["publicKey"].endswith(" me@host\n")
    assert out["publicKey"].count(" ") == 2
    assert _private_comment(out["privateKey"]) == b"me@host"
    load_ssh_private_key(out["privateKey"].encode(), password=None)


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ({"keyType": "dsa"}, "unable to generate SSH key: unsupported key type: dsa"),
        (
            {"keyType": "rsa", "keySize": 512},
            "unable to generate SSH key: crypto/rsa: 512-bit keys are insecure "
            "(see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)",
        ),
    ],
)
def test_sshkey_errors(spec: dict, message: str) -> None:
    with pytest.raises(GeneratorError) as info:
        generate("SSHKey", spec)
    assert str(info.value) == message


# --- MFA / TOTP ---

RFC_SHA1 = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # "12345678901234567890"
RFC_SHA256 = base64.b32encode(b"12345678901234567890123456789012").decode().rstrip("=")
RFC_SHA512 = base64.b32encode(b"1234567890" * 6 + b"1234").decode().rstrip("=")


@pytest.mark.parametrize(
    ("unix", "sha1", "sha256", "sha512"),
    [
        (59, "94287082", "46119246", "90693936"),
        (1111111109, "07081804", "68084774", "25091201"),
        (1111111111, "14050471", "67062674", "99943326"),
        (1234567890, "89005924", "91819424", "93441116"),
        (2000000000, "69279037", "90698825", "38618901"),
        (20000000000, "65353130", "77737706", "47863826"),
    ],
)
def test_totp_rfc6238_vectors(unix: int, sha1: str, sha256: str, sha512: str) -> None:
    assert totp(RFC_SHA1, unix, length=8)[0] == sha1
    assert totp(RFC_SHA256, unix, length=8, algorithm="sha256")[0] == sha256
    assert totp(RFC_SHA512, unix, length=8, algorithm="sha512")[0] == sha512


def _lookup(secrets: dict[tuple[str, str], dict[str, bytes]]) -> Callable[[str, str, str], bytes]:
    """A secret_lookup: LookupError for a missing Secret, KeyError for a missing key."""

    def lookup(namespace: str, name: str, key: str) -> bytes:
        if (namespace, name) not in secrets:
            raise LookupError(name)
        return secrets[(namespace, name)][key]

    return lookup


def test_mfa_uses_the_clock_and_the_referenced_secret() -> None:
    lookup = _lookup({("team", "otp"): {"seed": b"gezd gnbv gy3t qojq gezd gnbv gy3t qojq"}})
    spec = {"secret": {"name": "otp", "key": "seed"}, "length": 8}
    clock = FixedClock(59)
    assert generate("MFA", spec, secret_lookup=lookup, namespace="team", clock=clock) == {
        "token": "94287082",
        "timeLeft": "1",
    }
    clock.shift(1111111109 - 59)
    assert generate("MFA", spec, secret_lookup=lookup, namespace="team", clock=clock) == {
        "token": "07081804",
        "timeLeft": "1",
    }


def test_mfa_defaults_and_time_left() -> None:
    lookup = _lookup({("ns", "s"): {"k": RFC_SHA1.encode()}})
    spec = {"secret": {"name": "s", "key": "k"}}
    out = generate("MFA", spec, secret_lookup=lookup, namespace="ns", clock=FixedClock(1111111110))
    assert out == {"token": "050471", "timeLeft": "30"}
    out = generate(
        "MFA", spec | {"timePeriod": 60}, secret_lookup=lookup, namespace="ns", clock=FixedClock(61)
    )
    assert out["timeLeft"] == "59"


def test_mfa_algorithm_is_ignored_like_the_real_generator() -> None:
    lookup = _lookup({("ns", "s"): {"k": RFC_SHA1.encode()}})
    spec = {"secret": {"name": "s", "key": "k"}, "length": 8, "algorithm": "sha512"}
    out = generate("MFA", spec, secret_lookup=lookup, namespace="ns", clock=FixedClock(59))
    assert out["token"] == "94287082"


@pytest.mark.parametrize(
    ("secrets", "message"),
    [
        ({}, 'failed to find secret for token key: Secret "s" not found'),
        ({("ns", "s"): {}}, "secret key k does not exist in secret data map"),
        (
            {("ns", "s"): {"k": b"GEZDGNBV===="}},
            "failed to generate code for token key: failed to generate OTP code: "
            "illegal base32 data at input byte 8",
        ),
        (
            {("ns", "s"): {"k": b"AB1C"}},
            "failed to generate code for token key: failed to generate OTP code: "
            "illegal base32 data at input byte 2",
        ),
    ],
)
def test_mfa_errors(secrets: dict, message: str) -> None:
    spec = {"secret": {"name": "s", "key": "k"}}
    with pytest.raises(GeneratorError) as info:
        generate("MFA", spec, secret_lookup=_lookup(secrets), namespace="ns", clock=FixedClock(0))
    assert str(info.value) == message


# --- resolver errors and ClusterGenerator ---


def test_unknown_kind_text() -> None:
    with pytest.raises(UnknownGeneratorKind) as info:
        generate("Nope", {})
    assert str(info.value) == (
        "unable to get generator: terminal error: generatorRef references unknown GVK "
        "generators.external-secrets.io/v1alpha1, Kind=Nope"
    )
    with pytest.raises(UnknownGeneratorKind):
        generate("password", {})  # kinds are case-sensitive


def test_list_kinds_make_the_real_resolver_panic() -> None:
    with pytest.raises(GeneratorKindPanics):
        generate("PasswordList", {})


def test_generator_state_kind_is_not_a_generator() -> None:
    with pytest.raises(GeneratorError) as info:
        generate("GeneratorState", {})
    assert str(info.value) == (
        "unable to get generator: terminal error: generatorRef has unknown kind GeneratorState"
    )


def test_not_found_messages() -> None:
    assert generator_not_found_message("Password", "x") == (
        'unable to get generator: Password.generators.external-secrets.io "x" not found'
    )
    assert generator_not_found_message("Password", "x", cached=False) == (
        'unable to get generator: passwords.generators.external-secrets.io "x" not found'
    )
    plurals = {
        kind: generator_not_found_message(kind, "n", cached=False) for kind in GENERATOR_PLURALS
    }
    assert plurals["SSHKey"].endswith('sshkeys.generators.external-secrets.io "n" not found')
    assert plurals["MFA"].endswith('mfas.generators.external-secrets.io "n" not found')
    assert plurals["UUID"].endswith('uuids.generators.external-secrets.io "n" not found')
    assert plurals["Fake"].endswith('fakes.generators.external-secrets.io "n" not found')
    assert plurals["ClusterGenerator"].endswith(
        'clustergenerators.generators.external-secrets.io "n" not found'
    )


def test_cluster_generator_resolution() -> None:
    kind, spec = resolve_cluster_generator("Password", {"passwordSpec": {"length": 8}})
    assert (kind, spec) == ("Password", {"length": 8})
    assert len(generate(kind, spec)["password"]) == 8
    assert resolve_cluster_generator("SSHKey", {"sshKeySpec": {}}) == ("SSHKey", {})
    assert resolve_cluster_generator("UUID", {"uuidSpec": {}}) == ("UUID", {})
    assert resolve_cluster_generator("MFA", {"mfaSpec": {"length": 6}}) == ("MFA", {"length": 6})


@pytest.mark.parametrize(
    ("kind", "generator", "message"),
    [
        ("Password", {"fakeSpec": {}}, "when kind is Password, PasswordSpec must be set"),
        ("SSHKey", {}, "when kind is SSHKey, SSHKeySpec must be set"),
        ("UUID", {"uuidSpec": None}, "when kind is UUID, UUIDSpec must be set"),
        ("MFA", {}, "when kind is MFA, MFASpec must be set"),
        ("Fake", {"passwordSpec": {}}, "when kind is Fake, FakeSpec must be set"),
        ("GitlabDeployToken", {}, "unknown kind GitlabDeployToken"),
    ],
)
def test_cluster_generator_errors(kind: str, generator: dict, message: str) -> None:
    with pytest.raises(GeneratorError) as info:
        resolve_cluster_generator(kind, generator)
    assert str(info.value) == (
        f"unable to get generator: terminal error: invalid ClusterGenerator: {message}"
    )


def test_manifests_and_backend_read_one_generator_kind_table() -> None:
    from mockserver.backends import kinds
    from mockserver.manifests import generator_kinds

    assert generator_kinds.CLUSTER_SPEC_KEYS == {
        kind: member for kind, (member, _go) in kinds.CLUSTER_SPEC_FIELDS.items()
    }
    assert generator_kinds.SUPPORTED_KINDS == kinds.SUPPORTED_KINDS == SUPPORTED_KINDS
    assert "BeyondtrustWorkloadCredentialsDynamicSecret" not in kinds.GENERATOR_PLURALS
    assert set(kinds.CLUSTER_SPEC_FIELDS) == set(GENERATOR_PLURALS) - {
        "ClusterGenerator",
        "GeneratorState",
    }
