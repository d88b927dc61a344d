"""The SSHKey generator: ESO `generators/v1/sshkey` (x/crypto/ssh output formats).

Settled from ESO at 5fe21b5c55ca `generators/v1/sshkey/sshkey.go`:
- keyType "" means rsa; rsa uses keySize or 2048; ecdsa 256/384/521, any other size P-256;
  other key types: `unable to generate SSH key: unsupported key type: <t>`;
- `privateKey` is `pem.EncodeToMemory(ssh.MarshalPrivateKey(key, comment))`: an unencrypted
  `openssh-key-v1` blob **with the comment inside**, base64 in 64-column lines;
- `publicKey` is `ssh.MarshalAuthorizedKey` (`<type> <base64>\\n`), with ` <comment>` inserted
  before the newline when a comment is set;
- RSA below 1024 bits fails in Go 1.24+ `crypto/rsa` (the server builds with Go 1.25):
  `crypto/rsa: <n>-bit keys are insecure (see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)`.
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

__all__ = ["SSHKeyError", "generate_ssh_key", "sshkey_outputs"]

_CURVES: dict[int, type[ec.EllipticCurve]] = {
    256: ec.SECP256R1,
    384: ec.SECP384R1,
    521: ec.SECP521R1,
}
_MAGIC = b"openssh-key-v1\x00"


class SSHKeyError(Exception):
    """An SSHKey generator failure; the message is the real server's 400 body."""


def _read_string(data: bytes, offset: int) -> tuple[bytes, int]:
    (size,) = struct.unpack(">I", data[offset : offset + 4])
    start = offset + 4
    return data[start : start + size], start + size


def _ssh_string(value: bytes) -> bytes:
    return struct.pack(">I", len(value)) + value


def _with_comment(blob: bytes, comment: str) -> bytes:
    """Rewrite an unencrypted openssh-key-v1 blob so its private section carries `comment`."""
    if not blob.startswith(_MAGIC):
        raise ValueError("not an openssh-key-v1 blob")
    offset = len(_MAGIC)
    header_fields = []
    for _ in range(3):  # cipher, kdf name, kdf options
        value, offset = _read_string(blob, offset)
        header_fields.append(value)
    (count,) = struct.unpack(">I", blob[offset : offset + 4])
    offset += 4
    public, offset = _read_string(blob, offset)
    private, _ = _read_string(blob, offset)
    # private: checkint, checkint, key type + key fields, comment, padding
    p = 8
    key_type, p = _read_string(private, p)
    field_count = {b"ssh-rsa": 6, b"ssh-ed25519": 2}.get(key_type, 3)  # ecdsa: curve, Q, d
    for _ in range(field_count):
        _, p = _read_string(private, p)
    body = private[:p] + _ssh_string(comment.encode())
    body += bytes(range(1, 1 + (-len(body) % 8)))
    out = _MAGIC + b"".join(_ssh_string(f) for f in header_fields)
    return out + struct.pack(">I", count) + _ssh_string(public) + _ssh_string(body)


def _pem(blob: bytes) -> bytes:
    text = base64.b64encode(blob).decode()
    lines = [text[i : i + 64] for i in range(0, len(text), 64)]
    return (
        "-----BEGIN OPENSSH PRIVATE KEY-----\n"
        + "".join(line + "\n" for line in lines)
        + "-----END OPENSSH PRIVATE KEY-----\n"
    ).encode()


def generate_ssh_key(key_type: str, key_size: int | None, comment: str) -> tuple[str, str]:
    """(privateKey, publicKey) as ESO writes them."""
    if key_type == "rsa":
        bits = 2048 if key_size is None else key_size
        if bits < 1024:
            raise SSHKeyError(
                f"unable to generate SSH key: crypto/rsa: {bits}-bit keys are insecure "
                "(see https://go.dev/pkg/crypto/rsa#hdr-Minimum_key_size)"
            )
        key: Any = rsa.generate_private_key(public_exponent=65537, key_size=bits)
    elif key_type == "ecdsa":
        curve = _CURVES.get(256 if key_size is None else key_size, ec.SECP256R1)
        key = ec.generate_private_key(curve())
    elif key_type == "ed25519":
        key = ed25519.Ed25519PrivateKey.generate()
    else:
        raise SSHKeyError(f"unable to generate SSH key: unsupported key type: {key_type}")
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.OpenSSH,
        serialization.NoEncryption(),
    )
    body = b"".join(line for line in pem.splitlines() if not line.startswith(b"-----"))
    blob = _with_comment(base64.b64decode(body), comment)
    public = key.public_key().public_bytes(
        serialization.Encoding.OpenSSH, serialization.PublicFormat.OpenSSH
    )
    public_line = public.decode() + (f" {comment}" if comment else "") + "\n"
    return _pem(blob).decode(), public_line


def sshkey_outputs(spec: dict[str, Any]) -> dict[str, str]:
    """`privateKey` and `publicKey` for one SSHKey spec."""
    key_size = spec.get("keySize")
    if key_size is not None and (isinstance(key_size, bool) or not isinstance(key_size, int)):
        raise SSHKeyError(
            f"unable to parse spec: json: cannot unmarshal {type(key_size).__name__} "
            "into Go struct field SSHKeySpec.spec.keySize of type int"
        )
    private, public = generate_ssh_key(
        spec.get("keyType") or "rsa", key_size, str(spec.get("comment") or "")
    )
    return {"privateKey": private, "publicKey": public}
