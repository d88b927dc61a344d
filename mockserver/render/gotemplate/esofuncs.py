"""ESO's own template functions as the enterprise fork registers them (`pkg/template/v2/
template.go` and `esi_custom.go`): `filterPEM`, `jwkPublicKeyPem`, `jwkPrivateKeyPem`, `toYaml`,
`fromYaml`, `isJson`, with their error texts. PEM blocks are decoded and re-encoded as Go's
`encoding/pem` does (64-column base64)."""

from __future__ import annotations

import base64
import binascii
import json
import re
from typing import Any

import yaml
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
    "jwkPublicKeyPem": Func(jwk_public_key_pem, ("string",)),
    "jwkPrivateKeyPem": Func(jwk_private_key_pem, ("string",)),
    "toYaml": Func(to_yaml, ("any",)),
    "fromYaml": Func(from_yaml, ("string",)),
}
