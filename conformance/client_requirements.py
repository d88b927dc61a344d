"""Client requirements (`CLI-…`): what a command-line Federation client must do, as registry data.

They merge the client checks (CC-01…CC-30) and the client items (C1–C15) of docs/protocol.md §7
where the two describe one check. Where the lists give one check different levels, the stricter level wins
when getting it wrong hangs, crashes or loses data (e.g. CC-17 SHOULD vs C9 MUST: MUST). Items a
harness cannot check on a command-line client are listed in `NOT_COVERED` with the reason.
Importing this module registers everything (`requirements.all_requirements()` does that).
"""

from __future__ import annotations

from conformance.requirements import NOT_COVERED, Requirement, register


def _c(id: str, level: str, text: str, reference: str, smoke: bool = False) -> Requirement:
    return Requirement(
        id=id, level=level, area=id.split("-")[1], text=text, reference=reference, smoke=smoke
    )


CLIENT_REQUIREMENTS = (
    # Request line: methods, paths, escaping.
    _c(
        "CLI-HTTP-001",
        "MUST",
        "A store fetch is POST /secretstore/{store}/secrets/{key}, a generator fetch POST "
        "/generators/{ns}/{kind}/{name}, revoke-self DELETE on that generator path and revoke-of "
        "POST /generators/{ns}/revoke; no other method (never GET).",
        "CC-01, C2",
        smoke=True,
    ),
    _c(
        "CLI-HTTP-002",
        "MUST",
        "Keys with /, space, ?, #, % and non-ASCII characters reach the server so that its decoded "
        "secret name equals the key: / stays raw, the others are percent-encoded.",
        "CC-03, C10",
    ),
    _c(
        "CLI-HTTP-003",
        "MUST",
        "A server URL ending in / (or several) never yields a double slash: the server sees "
        "exactly one / between the base and the route.",
        "C11, CC-02",
    ),
    _c(
        "CLI-HTTP-004",
        "MUST",
        "Generator namespace, kind and name are sent exactly as configured, case kept.",
        "CC-04",
    ),
    _c(
        "CLI-HTTP-005",
        "SHOULD",
        "A request with a body carries Content-Length (not chunked transfer encoding).",
        "CC-10",
    ),
    # Credentials and the body.
    _c(
        "CLI-AUTH-001",
        "MUST",
        "Authorization is exactly 'Bearer ' plus the token: that capitalisation, one space, the "
        "token byte for byte.",
        "C1, CC-05",
        smoke=True,
    ),
    _c(
        "CLI-AUTH-002",
        "MUST",
        "A token file ending in a newline still gives 'Bearer ' plus the bare token (no CR, LF or "
        "other whitespace), and the fetch succeeds.",
        "CC-05",
    ),
    _c(
        "CLI-AUTH-003",
        "MUST",
        "Every request carries a JSON object body with Content-Type application/json whose "
        "ca.crt is the padded standard base64 of the configured client-cluster CA PEM (never raw "
        "PEM, never URL-safe base64).",
        "CC-06, C3",
    ),
    _c(
        "CLI-AUTH-004",
        "MUST",
        "DELETE (revoke-self) and POST …/revoke carry that same JSON body with ca.crt.",
        "CC-07, C3",
    ),
    _c(
        "CLI-AUTH-005",
        "MUST",
        "After a 401 the client retries the same request once (the real server refuses the first "
        "request per new ca.crt) and never more than once.",
        "C8",
    ),
    _c(
        "CLI-WLT-001",
        "MUST",
        "Without a configured workload token no x-workload-token header is sent, not even empty.",
        "CC-08, C12",
    ),
    # Transport.
    _c(
        "CLI-TLS-001",
        "MUST-SEC",
        "Against an https server whose certificate does not chain to the configured trust, has "
        "expired or names another host, the client refuses: it fails, sends no request and "
        "delivers nothing (no silent skip-verify, no skipped host-name check).",
        "CC-18",
    ),
    _c(
        "CLI-TLS-002",
        "MUST",
        "A server that accepts the connection and never answers makes the client fail within its "
        "own time limit: non-zero exit, nothing delivered, no hang.",
        "CC-20, C15",
    ),
    _c(
        "CLI-TLS-003",
        "SHOULD",
        "Over https, the server's CA is configured separately from the client-cluster CA: the "
        "client trusts the server with the first and still sends the second as ca.crt.",
        "CC-19, C13",
    ),
    # Answers.
    _c(
        "CLI-STORE-001",
        "MUST",
        "A store 200 body is decoded as one JSON string and delivered byte for byte: no quotes, "
        "no escapes, no added or removed newline or whitespace, never decoded twice (plain, "
        "quotes, HTML characters, unicode with U+2028, a JSON document, an empty value, trailing "
        "and inner newlines, values that are themselves JSON literals: a quoted string, numbers, "
        "null, true; leading and trailing whitespace).",
        "CC-11, CC-26, C6",
        smoke=True,
    ),
    _c(
        "CLI-GEN-001",
        "MUST",
        "A generator 200 body is decoded as an object of strings and every key is delivered with "
        "its exact value (JSON literals and surrounding whitespace kept), no extra keys; a "
        "non-string or null member or an array is an error, never a coerced value.",
        "CC-12, C7",
        smoke=True,
    ),
    _c(
        "CLI-GEN-002",
        "MUST",
        "After a 500 or a timeout on POST /generators/…, the client does not send that POST again "
        "within the same run (each call mints a new credential).",
        "CC-21",
    ),
    _c(
        "CLI-REVOKE-001",
        "MUST",
        "Revoke-of sends both owner and namespace in the JSON body (never omits namespace).",
        "C5, CC-07",
    ),
    _c(
        "CLI-REVOKE-002",
        "MUST",
        "Revocation success is accepted: 200 null for DELETE, 200 with a JSON string for "
        "revoke-of.",
        "C7, CC-15",
        smoke=True,
    ),
    _c(
        "CLI-REVOKE-003",
        "SHOULD",
        "A DELETE answered 204 with no body is accepted as success too.",
        "CC-15, C7",
    ),
    # Failures.
    _c(
        "CLI-ERR-001",
        "MUST",
        'For 400, 401, 404 "Not Found", 404 {"message":…}, 405 and 500 the client fails '
        "(non-zero exit), names the status and the decoded message, and delivers nothing (no "
        "file, no program run).",
        "CC-13, C8",
        smoke=True,
    ),
    _c(
        "CLI-ERR-002",
        "MUST",
        "A 200 whose body is not JSON, is truncated, or is the wrong JSON type (null included) is "
        "an error, never delivered as a value.",
        "CC-14",
    ),
    _c(
        "CLI-ERR-003",
        "MUST",
        "A connection closed without a response becomes a clean failure: non-zero exit, no crash "
        "trace, nothing delivered, not retried endlessly.",
        "C9, CC-17",
    ),
    _c(
        "CLI-ERR-004",
        "SHOULD",
        "An answer body larger than 1 MiB is refused rather than delivered.",
        "CC-16",
    ),
    _c(
        "CLI-ERR-005",
        "SHOULD",
        "A store fetch answered 503 every time ends in a failure after a bounded number of "
        "attempts (at most 3).",
        "CC-22",
    ),
    # Delivery.
    _c(
        "CLI-OUT-001",
        "MUST",
        "Init mode: the wrapped program runs with the fetched values in its environment under "
        "esi-cli's names and with its own arguments unchanged; when a fetch fails it is not run.",
        "CC-25",
    ),
    _c(
        "CLI-OUT-002",
        "MUST-SEC",
        "Secret values and tokens never appear in the client's stdout, stderr or error messages "
        "(the harness plants them and searches every encoding).",
        "CC-29",
    ),
    _c(
        "CLI-OUT-003",
        "SHOULD",
        "Delivered files are readable by their owner only (mode 0600 or 0400).",
        "CC-27",
    ),
)

register(*CLIENT_REQUIREMENTS)

NOT_COVERED.update(
    {
        "CC-09": "The bearer token's audience and algorithm: the harness mints the token the client "
        "is given, so a command-line client has no say in them.",
        "CC-13 (daemon part), CC-27 (daemon part)": "Daemon-mode refresh and keeping the last good "
        "file: not driven by the client runner yet.",
        "CC-23": "Proxy settings from the environment: the harness runs no proxy.",
        "CC-24": "Cancelling an in-flight request with SIGTERM: the adapter format has no signal "
        "step yet.",
        "CC-28": "Default token and CA paths under /var/run/secrets: the harness always passes its "
        "own files and does not run clients in a container.",
        "CC-30": "Managed Kubernetes Secrets are ESO controller behaviour, not a command-line "
        "client's.",
        "C4": "Okta/Ping callers: the client runner drives Kubernetes identities only.",
        "C14": "SPIFFE callers: the adapter format has no SVID placeholders yet.",
    }
)
