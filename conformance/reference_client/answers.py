"""Judge an answer exactly: a store value is one JSON string, a generator answer one object of
strings, anything else (including a 200 that does not decode) is a failure with a clear reason.

Failure messages carry the status and the server's decoded message, never the body of a 200
(it may be a secret).
"""

from __future__ import annotations

import json
from typing import Any

from conformance.reference_client.transport import Answer, RequestFailed

_HINTS = {
    400: "the server could not serve the request",
    401: "authentication failed (check the token file and the client-cluster CA sent as ca.crt)",
    405: "the server does not allow this method on this path",
}


def _no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, value in pairs:
        if key in result:
            raise ValueError(f"duplicate member {key!r}")
        result[key] = value
    return result


def _no_constants(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def decode_json(body: bytes) -> Any:
    """One JSON value, strict UTF-8, no duplicate members, nothing after it but whitespace."""
    text = body.decode("utf-8")
    return json.loads(text, object_pairs_hook=_no_duplicates, parse_constant=_no_constants)


def server_message(body: bytes) -> str:
    """The server's message: a JSON string, an echo `{"message": …}`, or the raw start of it."""
    try:
        value = decode_json(body)
    except (UnicodeDecodeError, ValueError):
        return json.dumps(body[:200].decode("utf-8", "replace"))
    if isinstance(value, dict) and isinstance(value.get("message"), str):
        return json.dumps({"message": value["message"]}, ensure_ascii=False)
    return json.dumps(value, ensure_ascii=False)[:300]


def failure(answer: Answer) -> RequestFailed:
    """The error for a non-success status: request, status, decoded message and a hint."""
    message = server_message(answer.body)
    hint = _HINTS.get(answer.status)
    if answer.status == 404:
        try:
            routed = isinstance(decode_json(answer.body), str)
        except (UnicodeDecodeError, ValueError):
            routed = False
        hint = (
            "not authorised: no Authorization on the server grants this identity this resource"
            if routed
            else "no such route on the server (check the server URL)"
        )
    elif answer.status >= 500:
        hint = "server error; not retried"
    text = f"{answer.method} {answer.path}: the server answered {answer.status} {message}"
    return RequestFailed(f"{text} ({hint})" if hint else text)


def _decoded_200(answer: Answer, expected: str) -> Any:
    if answer.status != 200:
        raise failure(answer)
    try:
        return decode_json(answer.body)
    except (UnicodeDecodeError, ValueError) as error:
        reason = "not UTF-8" if isinstance(error, UnicodeDecodeError) else "not valid JSON"
        raise RequestFailed(
            f"{answer.method} {answer.path}: 200 but the body is {reason}; expected {expected}"
        ) from None


def _kind(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean"}.get(
        type(value), "null" if value is None else "a number"
    )


def store_value(answer: Answer) -> str:
    """R1: the 200 body must be one JSON string; its decoded text is the value."""
    value = _decoded_200(answer, "a JSON string")
    if not isinstance(value, str):
        raise RequestFailed(
            f"{answer.method} {answer.path}: 200 but the body is {_kind(value)}, "
            "expected a JSON string"
        )
    return value


def generator_values(answer: Answer) -> dict[str, str]:
    """R2: the 200 body must be one JSON object whose every value is a string."""
    value = _decoded_200(answer, "a JSON object of strings")
    if not isinstance(value, dict):
        raise RequestFailed(
            f"{answer.method} {answer.path}: 200 but the body is {_kind(value)}, "
            "expected a JSON object of strings"
        )
    wrong = sorted(k for k, v in value.items() if not isinstance(v, str))
    if wrong:
        raise RequestFailed(
            f"{answer.method} {answer.path}: 200 but member(s) {', '.join(wrong)} are not strings"
        )
    return value


def revoke_self_done(answer: Answer) -> None:
    """R3: 200 with `null`, or 204 with no body."""
    if answer.status == 204 and not answer.body.strip():
        return
    if _decoded_200(answer, "null") is not None:
        raise RequestFailed(f"{answer.method} {answer.path}: 200 but the body is not null")


def revoke_of_done(answer: Answer) -> str:
    """R4: 200 with a JSON string (the server says `"GeneratorState deleted"`)."""
    value = _decoded_200(answer, "a JSON string")
    if not isinstance(value, str):
        raise RequestFailed(f"{answer.method} {answer.path}: 200 but the body is {_kind(value)}")
    return value
