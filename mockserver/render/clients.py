"""The two ESE clients of the protocol as HTTP clients, each correct or as released.

As released (docs/protocol.md §2.7, the stock clients):
- provider (`externalsecrets`): URL by string formatting then `url.Parse` (no trailing-slash
  handling; `?`, `#`, `%` in keys break), chunked body `{"ca.crt": base64(PEM)}`, 10 s timeout,
  only the first PEM block of `server.caRef` trusted, the 200 body returned raw (quotes, escapes
  and trailing LF kept: M1), `property` and `version` ignored (M11);
- generator (`Federation`): URL by string formatting, the token taken verbatim, `ca.crt` sent as
  stored (M3), no timeout (M6), DELETE without a body (M2), the first JSON value decoded.

Correct: one `/` between base and path, keys escaped so the server decodes them back, `ca.crt`
always padded base64 of the PEM, every request with a JSON body and a Content-Length, the token
trimmed, 200 bodies decoded strictly (a JSON string for a store, an object of strings for a
generator), `property` applied client-side and `version` refused (the protocol cannot carry it).
"""

from __future__ import annotations

import base64
import binascii
import json
import ssl
import time
from collections.abc import Callable

from mockserver import __version__
from mockserver.backends import gjson
from mockserver.backends.goscan import go_syntax_error
from mockserver.gojson import go_json

from .gocompat import GoURLError, escape_path, parse_url
from .transport import Exchange, TransportError, send, status_text

__all__ = ["ClientError", "Exchange", "GeneratorClient", "NoSecretError", "ProviderClient"]

PROVIDER_TIMEOUT = 10.0
CORRECT_TIMEOUT = 10.0
GO_USER_AGENT = "Go-http-client/1.1"
USER_AGENT = f"esi-mock-render/{__version__}"
NO_SECRET = "Secret does not exist"
BODY_LIMIT = 1 << 20
"""Correct clients refuse larger answers (CC-16); the released ones read without a limit."""


class ClientError(Exception):
    """A failed client call; `str()` is the error text the controller would record."""


class NoSecretError(ClientError):
    """ESO's `NoSecretErr`: the property does not exist in the fetched value."""

    def __init__(self) -> None:
        super().__init__(NO_SECRET)


def _context(server_ca: bytes | None, *, first_block_only: bool) -> ssl.SSLContext:
    if server_ca is None:
        return ssl.create_default_context()
    text = server_ca.decode("ascii", "replace")
    blocks = _pem_blocks(text)
    if not blocks:
        raise ClientError("failed to decode certificate")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    context.load_verify_locations(cadata="".join(blocks[:1] if first_block_only else blocks))
    return context


def _pem_blocks(text: str) -> list[str]:
    blocks, current = [], []
    for line in text.splitlines(keepends=True):
        if line.startswith("-----BEGIN CERTIFICATE-----"):
            current = [line]
        elif current:
            current.append(line)
            if line.startswith("-----END CERTIFICATE-----"):
                blocks.append("".join(current))
                current = []
    return blocks


RETRY_DELAY = 0.2
"""Seconds before the one repeat after a 401 (the real server refuses the first request per new
ca.crt, docs/protocol.md §6 D9; nothing was generated, so repeating is safe)."""


def retry_once_after_401(send: Callable[[], tuple[int, bytes]]) -> tuple[int, bytes]:
    """Send, and send once more after a 401 only (never after a 5xx or a transport error)."""
    status, data = send()
    if status == 401:
        time.sleep(RETRY_DELAY)
        status, data = send()
    return status, data


def _text(body: bytes) -> str:
    return body.decode("utf-8", "replace")


def _valid_header_value(value: str) -> bool:
    return all(ch == "\t" or (0x20 <= ord(ch) != 0x7F) for ch in value)


# -- the externalsecrets provider ---------------------------------------------------------------


class ProviderClient:
    """`GetSecret` of the `externalsecrets` SecretStore provider."""

    def __init__(
        self,
        server_url: str,
        target_store: str,
        token: str,
        client_ca: bytes,
        server_ca: bytes | None = None,
        *,
        released: bool = False,
    ) -> None:
        self.server_url = server_url
        self.target_store = target_store
        self.token = token
        self.client_ca = client_ca
        self.released = released
        self.context = _context(server_ca, first_block_only=released) if server_ca else None
        self.log: list[Exchange] = []

    def url_for(self, key: str) -> str:
        """The URL the client builds for `key`."""
        if self.released:
            return f"{self.server_url}/secretstore/{self.target_store}/secrets/{key}"
        base = self.server_url.rstrip("/")
        store = escape_path(self.target_store).replace("/", "%2F")
        return f"{base}/secretstore/{store}/secrets/{escape_path(key)}"

    def get_secret(self, key: str, prop: str = "", version: str = "") -> bytes:
        """The value of `key` as the client hands it to the controller."""
        if not self.released and version:
            raise ClientError(
                f'version "{version}" cannot be requested: the Federation protocol fetches '
                "the unversioned value only"
            )
        url = self.url_for(key)
        try:
            parse_url(url)
        except GoURLError as exc:
            raise ClientError(str(exc)) from exc
        body = f'{{"ca.crt": "{base64.b64encode(self.client_ca).decode()}"}}'.encode()
        headers = [
            ("User-Agent", GO_USER_AGENT if self.released else USER_AGENT),
            ("Authorization", f"Bearer {self.token}"),
            ("Content-Type", "application/json"),
        ]

        def attempt() -> tuple[int, bytes]:
            try:
                return send(
                    "POST",
                    url,
                    headers,
                    body,
                    chunked=self.released,
                    timeout=PROVIDER_TIMEOUT,
                    context=self.context,
                    log=self.log,
                    limit=None if self.released else BODY_LIMIT,
                    rewindable=not self.released,
                    use_proxy=self.context is None,
                )
            except TransportError as exc:
                raise ClientError(str(exc)) from exc

        status, data = attempt() if self.released else retry_once_after_401(attempt)
        if status != 200:
            shown = _text(data) if self.released else _text(data).rstrip("\r\n")
            raise ClientError(f"failed to get secret: status {status_text(status)}, body: {shown}")
        if self.released:
            return data
        value = _decode_store_body(data)
        if not prop:
            return value
        result = gjson.get(value.decode("utf-8", "surrogateescape"), prop)
        if not result.exists:
            raise NoSecretError()
        return result.string().encode("utf-8", "surrogateescape")

    def get_secret_map(self, key: str, prop: str = "", version: str = "") -> dict[str, bytes]:
        """`GetSecretMap` (dataFrom.extract): not implemented as released; correct: the value
        (after `property`) read as a JSON object, as ESO providers do."""
        if self.released:
            raise ClientError("not implemented")
        return secret_map(self.get_secret(key, prop, version))


def secret_map(value: bytes) -> dict[str, bytes]:
    """`GetSecretMap` done client-side: the value must be a JSON object; strings unquoted,
    `null` empty, anything else its raw JSON text."""
    problem = go_syntax_error(value)
    text = value.decode("utf-8", "surrogateescape").strip(" \t\r\n")
    if problem is not None or not text.startswith("{"):
        if text == "null":
            return {}
        detail = problem or "json: cannot unmarshal non-object into Go value of type map"
        raise ClientError(f"unable to unmarshal secret: {detail}")
    out: dict[str, bytes] = {}
    for name, member in gjson.object_members(text):
        if member.type is gjson.ResultType.STRING:
            out[name] = member.str_value.encode("utf-8", "surrogateescape")
        elif member.type is gjson.ResultType.NULL:
            out[name] = b""
        else:
            out[name] = member.raw.encode("utf-8", "surrogateescape")
    return out


def _decode_store_body(data: bytes) -> bytes:
    problem = go_syntax_error(data)
    if problem is not None:
        raise ClientError(f"invalid response from federation server: {problem}")
    try:
        value = json.loads(data.decode("utf-8", "replace"))
    except ValueError as exc:
        raise ClientError(f"invalid response from federation server: {exc}") from exc
    if not isinstance(value, str):
        kind = type(value).__name__.replace("dict", "object").replace("list", "array")
        raise ClientError(
            f"invalid response from federation server: expected a JSON string, got {kind}"
        )
    return _utf8(value)


def _utf8(text: str) -> bytes:
    """A decoded JSON string as bytes; lone surrogates become U+FFFD as Go decodes them."""
    return "".join("\ufffd" if 0xD800 <= ord(c) <= 0xDFFF else c for c in text).encode()


# -- the Federation generator -------------------------------------------------------------------


def encode_client_ca(value: bytes) -> str:
    """The correct `ca.crt`: padded base64 of PEM; a value already holding base64 of a PEM
    (the released generator's required form) is kept as it is."""
    stripped = value.strip()
    if not stripped.startswith(b"-----BEGIN"):
        try:
            decoded = base64.b64decode(stripped, validate=True)
        except (binascii.Error, ValueError):
            decoded = b""
        if decoded.lstrip().startswith(b"-----BEGIN"):
            return stripped.decode("ascii")
    return base64.b64encode(value).decode("ascii")


class GeneratorClient:
    """`Generate` and `Cleanup` of the enterprise `Federation` generator."""

    def __init__(
        self,
        server_url: str,
        namespace: str,
        kind: str,
        name: str,
        token: str,
        ca_value: bytes | None,
        *,
        released: bool = False,
    ) -> None:
        self.server_url = server_url
        self.namespace, self.kind, self.name = namespace, kind, name
        self.token = token
        self.ca_value = ca_value
        self.released = released
        self.log: list[Exchange] = []

    @property
    def url(self) -> str:
        """The generator URL the client builds."""
        if self.released:
            return f"{self.server_url}/generators/{self.namespace}/{self.kind}/{self.name}"
        parts = [escape_path(p).replace("/", "%2F") for p in (self.namespace, self.kind, self.name)]
        return f"{self.server_url.rstrip('/')}/generators/{'/'.join(parts)}"

    def _payload(self) -> bytes:
        payload: dict[str, str] = {}
        if self.ca_value:
            if self.released:
                payload["ca.crt"] = self.ca_value.decode("utf-8", "surrogateescape")
            else:
                payload["ca.crt"] = encode_client_ca(self.ca_value)
        return go_json(payload).rstrip(b"\n")

    def _call(self, method: str, body: bytes | None) -> tuple[int, bytes]:
        url = self.url
        token = self.token if self.released else self.token.strip()
        try:
            parse_url(url)
        except GoURLError as exc:
            raise ClientError(f"failed to create request: {exc}") from exc
        headers = [("User-Agent", GO_USER_AGENT if self.released else USER_AGENT)]
        if body is not None:
            headers.append(("Content-Type", "application/json"))
        authorization = f"Bearer {token}"
        if not _valid_header_value(authorization):
            raise ClientError(
                f'failed to call federation server: {method.capitalize()} "{url}": '
                'net/http: invalid header field value for "Authorization"'
            )
        headers.append(("Authorization", authorization))

        def attempt() -> tuple[int, bytes]:
            try:
                return send(
                    method,
                    url,
                    headers,
                    body,
                    chunked=False,
                    timeout=None if self.released else CORRECT_TIMEOUT,
                    context=None,
                    log=self.log,
                    limit=None if self.released else BODY_LIMIT,
                )
            except TransportError as exc:
                raise ClientError(f"failed to call federation server: {exc}") from exc

        return attempt() if self.released else retry_once_after_401(attempt)

    def generate(self) -> dict[str, bytes]:
        """POST: the generated keys and values."""
        status, data = self._call("POST", self._payload())
        if status != 200:
            raise ClientError(
                f"federation server returned non-OK status: {status}, body: {_text(data)}"
            )
        values = _first_json_map(data) if self.released else _strict_json_map(data)
        return {k: v.encode("utf-8", "surrogateescape") for k, v in values.items()}

    def cleanup(self) -> None:
        """DELETE: revoke what this caller generated (200 or 204 is success)."""
        status, data = self._call("DELETE", None if self.released else self._payload())
        if status not in (200, 204):
            raise ClientError(
                f"federation server returned non-OK status: {status}, body: {_text(data)}"
            )


_GO_KINDS = {'"': "string", "[": "array", "t": "bool", "f": "bool", "{": "object"}


def _first_json_map(data: bytes) -> dict[str, str]:
    """`json.NewDecoder(body).Decode(&map[string]string)`: the first value only."""
    text = data.decode("utf-8", "surrogateescape")
    stripped = text.lstrip(" \t\r\n")
    if not stripped:
        raise ClientError("invalid response from federation server: EOF")
    try:
        value, _ = json.JSONDecoder().raw_decode(stripped)
    except ValueError:
        problem = go_syntax_error(stripped.encode("utf-8", "surrogateescape"))
        raise ClientError(
            f"invalid response from federation server: {problem or 'unexpected EOF'}"
        ) from None
    return _string_map(value, "map[string]string")


def _strict_json_map(data: bytes) -> dict[str, str]:
    problem = go_syntax_error(data)
    if problem is not None:
        raise ClientError(f"invalid response from federation server: {problem}")
    value = json.loads(data.decode("utf-8", "replace"))
    if value is None:
        raise ClientError("invalid response from federation server: expected an object, got null")
    return _string_map(value, "map[string]string")


def _string_map(value: object, go_type: str) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        kind = _go_kind(value)
        raise ClientError(
            f"invalid response from federation server: json: cannot unmarshal {kind} into Go "
            f"value of type {go_type}"
        )
    for item in value.values():
        if not isinstance(item, str):
            raise ClientError(
                "invalid response from federation server: json: cannot unmarshal "
                f"{_go_kind(item)} into Go value of type string"
            )
    return value


def _go_kind(value: object) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    if isinstance(value, dict):
        return "object"
    return "null"
