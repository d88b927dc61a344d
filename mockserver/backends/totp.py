"""TOTP codes as ESO's MFA generator computes them (`generators/v1/mfa/otp.go`).

Settled from ESO at 5fe21b5c55ca:
- the seed has spaces removed and is upper-cased, then decoded as unpadded standard base32
  (`=` is therefore an illegal character); a bad seed gives
  `failed to generate OTP code: illegal base32 data at input byte <n>`;
- counter = floor(unix / period); dynamic truncation per RFC 4226; code = value mod 10^length,
  zero-padded to `length` digits;
- `timeLeft` = period - unix % period, as a decimal string (e.g. "30" at a period boundary);
- algorithms sha1, sha256, sha512, sha384, sha512_256 exist in `getAlgorithmFunction`, but the
  generator never passes `spec.algorithm` to it, so every MFA generator computes SHA-1 codes.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

__all__ = ["TOTPError", "decode_seed", "totp"]

_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_HASHES = {
    "sha1": hashlib.sha1,
    "sha256": hashlib.sha256,
    "sha384": hashlib.sha384,
    "sha512": hashlib.sha512,
    "sha512_256": lambda: hashlib.new("sha512_256"),
}


class TOTPError(Exception):
    """A seed or algorithm problem, worded as the Go code words it."""


def decode_seed(seed: str) -> bytes:
    """Go `base32.StdEncoding.WithPadding(NoPadding).DecodeString` of the cleaned seed."""
    cleaned = seed.replace(" ", "").upper()
    data = cleaned.replace("\r", "").replace("\n", "")
    bits = 0
    nbits = 0
    out = bytearray()
    for index, ch in enumerate(data):
        value = _ALPHABET.find(ch)
        if value < 0:
            raise TOTPError(
                f"failed to generate OTP code: illegal base32 data at input byte {index}"
            )
        bits = (bits << 5) | value
        nbits += 5
        if nbits >= 8:
            nbits -= 8
            out.append((bits >> nbits) & 0xFF)
    return bytes(out)


def totp(
    seed: str,
    unix_time: int,
    *,
    length: int = 6,
    period: int = 30,
    algorithm: str = "sha1",
) -> tuple[str, str]:
    """(token, timeLeft) for `unix_time`."""
    key = decode_seed(seed)
    if algorithm not in _HASHES:
        raise TOTPError(f"{algorithm} for hash function is invalid")
    counter = unix_time // period
    remaining = period - unix_time % period
    digest = hmac.new(key, struct.pack(">Q", counter), _HASHES[algorithm]).digest()
    offset = digest[-1] & 0x0F
    value = struct.unpack(">I", digest[offset : offset + 4])[0] & 0x7FFFFFFF
    code = value % (10**length)
    return str(code).zfill(length), str(remaining)
