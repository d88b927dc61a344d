"""ESO's own template functions as the enterprise fork registers them (`pkg/template/v2/
template.go` and `esi_custom.go`): `filterPEM`, `filterCertChain`, `jwkPublicKeyPem`,
`jwkPrivateKeyPem`, `toYaml`, `fromYaml`, `isJson`, with their error texts. PEM blocks are decoded and re-encoded as Go's
`encoding/pem` does (64-column base64)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import yaml
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from mockserver.gojson import go_marshal

from .execute import Func, FuncError

_BEGIN = re.compile(r"-----BEGIN ([^\n-]*)-----[ \t]*\r?\n")
ERR_JUNK = "error filtering pem: found junk"


def pem_decode(data: str) -> tuple[tuple[str, dict[str, str], bytes] | None, str]:
    """`pem.Decode`: the first block (type, headers, bytes) and the rest after it; a block that
    fails to parse is skipped from its BEGIN line on, as Go does."""
    rest = data
    while True:
        match = _BEGIN.search(rest)
        if match is None or (match.start() and rest[match.start() - 1] != "\n"):
            if match is None:
                return None, data
            rest = rest[match.end() :]
            continue
        kind = match.group(1)
        body_start = match.end()
        end_marker = f"-----END {kind}-----"
        end = rest.find("\n" + end_marker, body_start - 1)
        if end < 0:
            rest = rest[body_start:]
            continue
        body = rest[body_start : end + 1]
        headers: dict[str, str] = {}
        lines = body.split("\n")
        if lines and ":" in lines[0]:
            while lines and ":" in lines[0]:
                name, _, value = lines.pop(0).partition(":")
                headers[name.strip()] = value.strip()
            if lines and lines[0].strip() == "":
                lines.pop(0)
        try:
            raw = base64.b64decode("".join(line.strip() for line in lines), validate=True)
        except (binascii.Error, ValueError):
            rest = rest[body_start:]
            continue
        after = end + 1 + len(end_marker)
        tail = rest[after:]
        newline = re.match(r"[ \t]*\r?\n", tail)
        if newline:
            after += newline.end()
        elif tail.strip(" \t"):
            rest = rest[body_start:]
            continue
        return (kind, headers, raw), rest[after:]


def pem_encode(kind: str, raw: bytes, headers: dict[str, str] | None = None) -> str:
    """`pem.Encode`: headers sorted (Proc-Type first), base64 in 64-character lines."""
    out = [f"-----BEGIN {kind}-----\n"]
    if headers:
        names = sorted(headers, key=lambda h: (h != "Proc-Type", h))
        out += [f"{name}: {headers[name]}\n" for name in names]
        out.append("\n")
    text = base64.b64encode(raw).decode()
    out += [text[i : i + 64] + "\n" for i in range(0, len(text), 64)]
    out.append(f"-----END {kind}-----\n")
    return "".join(out)


def _trim_junk(text: str) -> str:
    index = text.find("-----BEGIN")
    return text if index < 0 else text[index:]


def filter_pem(pem_type: str, text: str) -> str:
    data = _trim_junk(text)
    blocks: list[str] = []
    while True:
        block, data = pem_decode(data)
        if block is None:
            break
        kind, headers, raw = block
        if kind.lower() == pem_type.lower():
            blocks.append(pem_encode(kind, raw, headers))
    if not blocks and data:
        raise FuncError(ERR_JUNK)
    return "".join(blocks)


def _key_ids(cert: x509.Certificate) -> tuple[bytes | None, bytes]:
    """(AuthorityKeyId or None, SubjectKeyId or b"") as Go's `x509.Certificate` holds them."""
    try:
        aki = cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier).value
        authority = aki.key_identifier
    except x509.ExtensionNotFound:
        authority = None
    try:
        subject = cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier).value.digest
    except x509.ExtensionNotFound:
        subject = b""
    return authority, subject


def ordered_chain(text: str) -> list[x509.Certificate]:
    """ESO's `fetchX509CertChains`: parent links by AuthorityKeyId = SubjectKeyId, one leaf,
    then leaf → root."""
    certs: list[x509.Certificate] = []
    data = text
    while True:
        block, data = pem_decode(data)
        if block is None:
            break
        try:
            certs.append(x509.load_der_x509_certificate(block[2]))
        except ValueError:
            raise FuncError("x509: malformed certificate") from None
    ids = [_key_ids(c) for c in certs]
    parent: dict[int, int] = {}
    is_parent: set[int] = set()
    for i in range(len(certs)):
        for j in range(len(certs)):
            if i != j and (ids[i][0] or b"") == ids[j][1]:
                is_parent.add(j)
                parent[i] = j
                break
    leaves = [i for i in range(len(certs)) if i not in is_parent]
    if len(leaves) > 1:
        raise FuncError("found multiple leaf or disjunct certificates")
    if not leaves:
        raise FuncError("no leaf certificate found")
    chain: list[x509.Certificate] = []
    node: int | None = leaves[0]
    while node is not None:
        if len(chain) >= len(certs):
            raise FuncError("constructing chain resulted in cycle")
        chain.append(certs[node])
        node = parent.get(node)
    return chain


def _is_root(cert: x509.Certificate) -> bool:
    authority, subject = _key_ids(cert)
    return authority is None or authority == subject


def _cert_pem(cert: x509.Certificate) -> str:
    return pem_encode("CERTIFICATE", cert.public_bytes(serialization.Encoding.DER))


def filter_cert_chain(cert_type: str, text: str) -> str:
    """ESO's `filterCertChain`: the `leaf`, the `intermediate` certificates or the `root` of
    the chain the input holds."""
    ordered = ordered_chain(text)
    if cert_type == "leaf":
        authority, subject = _key_ids(ordered[0])
        if authority is not None and authority != subject:
            return _cert_pem(ordered[0])
    elif cert_type == "intermediate":
        out = []
        for cert in ordered[1:]:
            if _is_root(cert):
                break
            out.append(_cert_pem(cert))
        return "".join(out)
    elif cert_type == "root" and _is_root(ordered[-1]):
        return _cert_pem(ordered[-1])
    return ""


def is_json(text: str) -> bool:
    """The enterprise fork's `isJson`: whether the text unmarshals into a JSON object."""
    try:
        return isinstance(json.loads(text), dict)
    except ValueError:
        return False


def _jwk(text: str) -> Any:
    try:
        data = json.loads(text)
    except ValueError as exc:
        raise FuncError(f"failed to unmarshal JSON into key hint: {exc}") from None
    kty = data.get("kty") if isinstance(data, dict) else None
    algorithms: dict[str, Any] = {"RSA": RSAAlgorithm, "EC": ECAlgorithm, "OKP": OKPAlgorithm}
    algorithm = algorithms.get(str(kty))
    if algorithm is None:
        raise FuncError(f"failed to parse key: invalid key type from JSON ({kty})")
    try:
        return algorithm.from_jwk(text)
    except Exception as exc:
        raise FuncError(f"failed to parse key: {exc}") from None


def _is_private(key: Any) -> bool:
    return hasattr(key, "private_bytes") and not hasattr(key, "verify")


def jwk_public_key_pem(text: str) -> str:
    key = _jwk(text)
    if _is_private(key):
        raise FuncError(f"x509: unsupported public key type: *{_go_key_type(key, True)}")
    raw = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem_encode("PUBLIC KEY", raw)


def jwk_private_key_pem(text: str) -> str:
    key = _jwk(text)
    if not _is_private(key):
        raise FuncError(
            f"x509: unknown key type while marshaling PKCS#8: *{_go_key_type(key, False)}"
        )
    raw = key.private_bytes(
        serialization.Encoding.DER,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem_encode("PRIVATE KEY", raw)


def _go_key_type(key: Any, private: bool) -> str:
    if isinstance(key, rsa.RSAPrivateKey | rsa.RSAPublicKey):
        family = "rsa"
    elif isinstance(key, ec.EllipticCurvePrivateKey | ec.EllipticCurvePublicKey):
        family = "ecdsa"
    else:
        family = "ed25519"
    return f"{family}.{'PrivateKey' if private else 'PublicKey'}"


def to_yaml(value: Any) -> str:
    """`sigs.k8s.io/yaml.Marshal` (JSON first, then YAML with sorted keys), newline trimmed."""
    try:
        plain = json.loads(go_marshal(value))
    except (TypeError, ValueError):
        return ""
    text = yaml.safe_dump(
        plain, default_flow_style=False, sort_keys=True, width=1 << 30, allow_unicode=True
    )
    return text.removesuffix("\n")


def from_yaml(text: str) -> dict[str, Any]:
    """`fromYaml`: a map; a problem goes into the `Error` key, as ESO does."""
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        return {"Error": f"error converting YAML to JSON: yaml: {exc}"}
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = (
            "array" if isinstance(value, list) else "string" if isinstance(value, str) else "number"
        )
        return {
            "Error": "error unmarshaling JSON: while decoding JSON: json: cannot unmarshal "
            f"{kind} into Go value of type map[string]interface {{}}"
        }
    return json.loads(json.dumps(value, default=str), parse_int=float)


ESO_FUNCS: dict[str, Func] = {
    "filterPEM": Func(filter_pem, ("string", "string")),
    "isJson": Func(is_json, ("string",)),
    "filterCertChain": Func(filter_cert_chain, ("string", "string")),
    "jwkPublicKeyPem": Func(jwk_public_key_pem, ("string",)),
    "jwkPrivateKeyPem": Func(jwk_private_key_pem, ("string",)),
    "toYaml": Func(to_yaml, ("any",)),
    "fromYaml": Func(from_yaml, ("string",)),
}
