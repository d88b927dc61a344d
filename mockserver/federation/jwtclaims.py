"""JWT claims decoded into the real server's Go structs, with encoding/json's and golang-jwt's texts.

golang-jwt unmarshals the claims segment into the struct the caller passes (`jwt:parser.go:169-
187`): `auth.KubernetesClaims` for bearer tokens, `auth.WorkloadTokenClaims` for
`x-workload-token`, `auth.OktaClaims` / `auth.PingIdentityClaims`. So the checks are Go's:

- `null` is no error (empty claims); any other non-object is `cannot unmarshal <kind> into Go
  value of type auth.<Struct>`;
- member names match fields case-insensitively; unknown members are ignored; `null` leaves a
  field unset;
- a wrong kind for a plain field is an `UnmarshalTypeError` that decoding remembers while it
  goes on (the first one is returned); its field path names the embedded `RegisteredClaims`
  (Go ≥ 1.24, the server builds with 1.25) and the innermost struct (`KubernetesIOInner`, or
  "" for an anonymous struct);
- `aud` (`ClaimStrings`) and the times (`*NumericDate`) decode through their own
  `UnmarshalJSON`, whose errors stop decoding at once: `invalid type for claim`,
  `could not parse NumericData: …`. A time may be a number or a numeric string; it keeps whole
  seconds (`jwt.TimePrecision`).

The result is a normalised dict (`iss`, `sub`, `aud` list, times as floats, `kubernetes.io`)
that the rest of the mock reads; claims the structs do not have are dropped, as Go drops them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from typing import Any

from mockserver.godecode import GoJSONError, GoTypeError, kind_of, parse, unmarshal

_NAME_AND_UID = 'struct { Name string "json:\\"name\\""; UID string "json:\\"uid\\"" }'
_GO_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?")


class ClaimsError(ValueError):
    """The claims segment does not decode; `str()` is Go's error text."""


@dataclass(frozen=True)
class Field:
    """One Go struct field: its JSON name, how it decodes, and (for structs) its fields."""

    name: str
    kind: str  # string | int | strings | claim_strings | numeric_date | struct
    go_type: str = "string"
    struct_name: str = ""
    """The Go name of a struct field's own type (error context of its members; "" if anonymous)."""
    fields: tuple[Field, ...] = ()
    embedded_in: str = ""
    """The embedded struct a promoted field comes from (named in Go ≥ 1.24 field paths)."""


@dataclass(frozen=True)
class ClaimsType:
    go_type: str
    struct_name: str
    fields: tuple[Field, ...] = field(default_factory=tuple)


def _registered() -> tuple[Field, ...]:
    def promoted(name: str, kind: str, go_type: str) -> Field:
        return Field(name, kind, go_type, embedded_in="RegisteredClaims")

    return (
        promoted("iss", "string", "string"),
        promoted("sub", "string", "string"),
        promoted("aud", "claim_strings", "jwt.ClaimStrings"),
        promoted("exp", "numeric_date", "jwt.NumericDate"),
        promoted("nbf", "numeric_date", "jwt.NumericDate"),
        promoted("iat", "numeric_date", "jwt.NumericDate"),
        promoted("jti", "string", "string"),
    )


def _kubernetes_io(go_type: str, struct_name: str) -> Field:
    return Field(
        "kubernetes.io",
        "struct",
        go_type,
        struct_name,
        (
            Field("namespace", "string"),
            Field(
                "serviceaccount",
                "struct",
                _NAME_AND_UID,
                "",
                (Field("name", "string"), Field("uid", "string")),
            ),
            Field(
                "pod",
                "struct",
                _NAME_AND_UID,
                "",
                (Field("name", "string"), Field("uid", "string")),
            ),
        ),
    )


_WORKLOAD_INNER = (
    'struct { Namespace string "json:\\"namespace\\""; ServiceAccount '
    + _NAME_AND_UID
    + ' "json:\\"serviceaccount\\""; Pod *'
    + _NAME_AND_UID
    + ' "json:\\"pod,omitempty\\"" }'
)

KUBERNETES_CLAIMS = ClaimsType(
    "auth.KubernetesClaims",
    "KubernetesClaims",
    (*_registered(), _kubernetes_io("auth.KubernetesIOInner", "KubernetesIOInner")),
)
WORKLOAD_TOKEN_CLAIMS = ClaimsType(
    "auth.WorkloadTokenClaims",
    "WorkloadTokenClaims",
    (*_registered(), _kubernetes_io(_WORKLOAD_INNER, "")),
)
OKTA_CLAIMS = ClaimsType(
    "auth.OktaClaims",
    "OktaClaims",
    (
        *_registered(),
        Field("ver", "int", "int"),
        Field("cid", "string"),
        Field("uid", "string"),
        Field("scp", "strings", "[]string"),
        Field("token_type", "string"),
    ),
)
PING_CLAIMS = ClaimsType(
    "auth.PingIdentityClaims",
    "PingIdentityClaims",
    (
        *_registered(),
        Field("client_id", "string"),
        Field("scope", "string"),
        Field("scopes", "strings", "[]string"),
    ),
)


def _value_text(value: Any, go_type: str) -> str:
    """`UnmarshalTypeError.Value`: the kind, or `number <literal>` for a number an int refuses."""
    if go_type == "int" and isinstance(value, float):
        return f"number {value!r}"
    return kind_of(value)


class _Decoder:
    """One decode: the first remembered type error, as Go's `decodeState.savedError`."""

    def __init__(self, overflow: str | None) -> None:
        self.overflow = overflow
        """The literal of a number past float64's range (its float reads as infinity)."""
        self.saved: str | None = None

    def save(self, value: Any, go_type: str, struct: str, path: list[str]) -> None:
        if self.saved is None:
            self.saved = (
                f"json: cannot unmarshal {_value_text(value, go_type)} into Go struct field "
                f"{struct}.{'.'.join(path)} of type {go_type}"
            )

    def members(
        self, value: dict[str, Any], fields: tuple[Field, ...], struct: str, path: list[str]
    ) -> dict[str, Any]:
        exact = {f.name: f for f in fields}
        folded = {f.name.casefold(): f for f in fields}
        out: dict[str, Any] = {}
        for key, item in value.items():
            spec = exact.get(key) or folded.get(key.casefold())
            if spec is None or item is None:
                continue
            where = [*path, *([spec.embedded_in] if spec.embedded_in else []), spec.name]
            decoded = self.field(item, spec, struct, where)
            if decoded is not None:
                out[spec.name] = decoded
        return out

    def field(self, item: Any, spec: Field, struct: str, path: list[str]) -> Any:
        if spec.kind == "string":
            if isinstance(item, str):
                return item
            self.save(item, "string", struct, path)
            return None
        if spec.kind == "int":
            if isinstance(item, int) and not isinstance(item, bool):
                return item
            self.save(item, "int", struct, path)
            return None
        if spec.kind == "strings":
            if not isinstance(item, list):
                self.save(item, spec.go_type, struct, path)
                return None
            for element in item:
                if element is not None and not isinstance(element, str):
                    self.save(element, "string", struct, path)
            return [e if isinstance(e, str) else "" for e in item]
        if spec.kind == "claim_strings":
            return _claim_strings(item)
        if spec.kind == "numeric_date":
            return _numeric_date(item, self.overflow)
        if not isinstance(item, dict):
            self.save(item, spec.go_type, struct, path)
            return None
        return self.members(item, spec.fields, spec.struct_name, path)


def _claim_strings(item: Any) -> list[str]:
    """`ClaimStrings.UnmarshalJSON`: a string or an array of strings, else ErrInvalidType."""
    if isinstance(item, str):
        return [item]
    if isinstance(item, list) and all(isinstance(a, str) for a in item):
        return list(item)
    raise ClaimsError("invalid type for claim")


def _numeric_date(item: Any, overflow: str | None) -> float:
    """`NumericDate.UnmarshalJSON`: into a `json.Number` (a number or a numeric string), then
    `Float64`, then whole seconds."""
    if isinstance(item, str):
        if not _GO_NUMBER.fullmatch(item):
            quoted = '"\\"' + item.replace("\\", "\\\\").replace('"', '\\"') + '\\""'
            raise ClaimsError(
                "could not parse NumericData: json: invalid number literal, trying to "
                f"unmarshal {quoted} into Number"
            )
        number = float(item)
        text = item
    elif isinstance(item, bool) or not isinstance(item, int | float):
        raise ClaimsError(
            "could not parse NumericData: json: cannot unmarshal "
            f"{kind_of(item)} into Go value of type json.Number"
        )
    else:
        text = overflow if overflow is not None and isinstance(item, float) else repr(item)
        try:
            number = float(item)
        except OverflowError:
            number = math.inf
    if math.isinf(number):
        raise ClaimsError(
            "could not convert json number value to float: strconv.ParseFloat: parsing "
            f'"{text}": value out of range'
        )
    return float(math.floor(number))


def decode_claims(raw: bytes, claims_type: ClaimsType) -> dict[str, Any]:
    """The normalised claims of one segment, or `ClaimsError` with Go's text."""
    overflow = None
    try:
        value = unmarshal(raw)
    except GoTypeError:
        document = parse(raw)  # numbers past float64 fail only where the target is one
        value, overflow = document.value, document.overflow
    except GoJSONError as exc:
        raise ClaimsError(str(exc)) from exc
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ClaimsError(
            f"json: cannot unmarshal {kind_of(value)} into Go value of type {claims_type.go_type}"
        )
    decoder = _Decoder(overflow)
    claims = decoder.members(value, claims_type.fields, claims_type.struct_name, [])
    if decoder.saved is not None:
        raise ClaimsError(decoder.saved)
    return claims
