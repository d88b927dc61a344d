"""Property-based checks: authorization matching (docs/protocol.md §4.1), malformed input
with and without valid credentials (one exact status, body and Allow header per case, every case
reached), and concurrent generator calls losing nothing."""

from __future__ import annotations

import http.client
import json
import re
import threading
from collections import Counter

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from mockserver.federation.authn import Identity
from mockserver.federation.authz import StoreResource, authorize
from mockserver.federation.bookkeeping import LABEL_OWNER
from mockserver.federation.errors import Denied
from mockserver.manifests import Authorization, FederationRef, OidcSubject
from tests.wire import ca_body, send

names = st.text(alphabet="abcABC-:/.", min_size=1, max_size=6)
lettered = st.text(alphabet="abcABC-:", min_size=1, max_size=6).filter(lambda s: s != s.swapcase())


@st.composite
def authorizations(draw, names=names):
    count = draw(st.integers(1, 4))
    return [
        Authorization(
            name=f"a{i}",
            federation_ref=FederationRef("KubernetesFederation", "x"),
            oidc=OidcSubject(draw(names), draw(names)),
            spiffe_id=None,
            allowed_cluster_secret_stores=tuple(draw(st.lists(names, max_size=3))),
        )
        for i in range(count)
    ]


@st.composite
def requests(draw):
    """Authorizations and requests drawn from them: the exact principal with one of its stores,
    a store listed elsewhere and an unlisted one, and the principal with its issuer or subject
    one character off ("x" is outside the alphabet of names, so never a match). Every example
    takes every branch, so grants, denials and near misses all occur."""
    auths = draw(authorizations())
    chosen = draw(st.sampled_from(auths))
    issuer, subject = chosen.oidc.issuer, chosen.oidc.subject
    listed = [s for a in auths for s in a.allowed_cluster_secret_stores]
    stores = [*chosen.allowed_cluster_secret_stores[:1], *listed[-1:], "x" + draw(names)]
    identities = [
        Identity("oidc", issuer, subject, None),
        Identity("oidc", draw(st.sampled_from([issuer + "x", "x" + issuer])), subject, None),
        Identity("oidc", issuer, draw(st.sampled_from([subject + "x", "x" + subject])), None),
        Identity("oidc", issuer.swapcase(), subject.swapcase(), None),
    ]
    return auths, [(identity, store) for identity in identities for store in stores]


def _outcome(auths, identity, store) -> str:
    """Which branch of §4.1 this request takes, computed from the Authorizations alone."""
    same_issuer = [a for a in auths if a.oidc.issuer == identity.provider]
    if not same_issuer:
        return "denied: issuer"
    mine = [a for a in same_issuer if a.oidc.subject == identity.subject]
    if not mine:
        return "denied: subject"
    if any(store in a.allowed_cluster_secret_stores for a in mine):
        return "granted"
    return "denied: store"


def test_store_access_is_the_exact_union_of_matching_authorizations():
    seen: Counter[str] = Counter()

    @given(requests())
    def check(request):
        auths, cases = request
        for identity, store in cases:
            check_one(auths, identity, store)

    def check_one(auths, identity, store):
        expected = _outcome(auths, identity, store)
        seen[expected] += 1
        event(expected)
        try:
            granted = authorize(auths, identity, StoreResource(store))
        except Denied as denial:
            assert expected.startswith("denied")
            assert denial.body == "Not Found"
            reason = expected.removeprefix("denied: ")
            prefix = {
                "issuer": f"no Authorization names issuer {identity.provider!r}",
                "subject": f"no Authorization for issuer {identity.provider!r} names subject",
                "store": "Authorization ",
            }[reason]
            assert denial.near_miss.startswith(prefix) or (
                reason == "store" and denial.near_miss.startswith("ClusterSecretStore ")
            )
        else:
            assert expected == "granted"
            assert granted.oidc == OidcSubject(identity.provider, identity.subject)
            assert store in granted.allowed_cluster_secret_stores
            newest = [
                a
                for a in auths
                if a.oidc == granted.oidc and store in a.allowed_cluster_secret_stores
            ][-1]
            assert granted is newest

    check()
    assert set(seen) == {"granted", "denied: issuer", "denied: subject", "denied: store"}
    assert min(seen.values()) >= 5, seen


def test_matching_is_case_sensitive():
    """The exact principal is granted; the same principal in swapped case never is."""
    seen: Counter[str] = Counter()

    @given(authorizations(names=lettered), st.data())
    def check(auths, data):
        chosen = data.draw(st.sampled_from(auths))
        issuer, subject = chosen.oidc.issuer, chosen.oidc.subject
        exact_only = [a for a in auths if (a.oidc.issuer, a.oidc.subject) == (issuer, subject)]
        for store in chosen.allowed_cluster_secret_stores:
            exact = Identity("oidc", issuer, subject, None)
            assert authorize(exact_only, exact, StoreResource(store)).oidc == chosen.oidc
            for which, swapped in (
                ("issuer", Identity("oidc", issuer.swapcase(), subject, None)),
                ("subject", Identity("oidc", issuer, subject.swapcase(), None)),
                ("both", Identity("oidc", issuer.swapcase(), subject.swapcase(), None)),
            ):
                seen[which] += 1
                event(f"swapped {which}")
                with pytest.raises(Denied):
                    authorize(exact_only, swapped, StoreResource(store))

    check()
    assert set(seen) == {"issuer", "subject", "both"} and min(seen.values()) >= 5, seen


PATH_CHARS = st.text(alphabet="abz019/-_.~%2Fé?#&=+:@ ", max_size=40)
METHODS = st.sampled_from(["GET", "POST", "DELETE", "PUT", "PATCH", "OPTIONS", "HEAD", "BREW"])
HEADER_VALUES = st.text(alphabet=st.characters(min_codepoint=32, max_codepoint=126), max_size=60)


def _safe_path(text: str) -> str:
    from urllib.parse import quote

    return "/" + quote(text, safe="/%?=&+:@~")


_SEGMENTS = "token is malformed: token contains an invalid number of segments"
_AS_STRUCT = r'struct { CaCert string "json:\"ca.crt\"" }'
UNPARSABLE_BODIES = st.sampled_from(
    [
        (None, "unexpected end of JSON input"),
        (b"", "unexpected end of JSON input"),
        (b"{", "unexpected end of JSON input"),
        (b"[]", f"json: cannot unmarshal array into Go value of type {_AS_STRUCT}"),
        (b"1", f"json: cannot unmarshal number into Go value of type {_AS_STRUCT}"),
        (b'"s"', f"json: cannot unmarshal string into Go value of type {_AS_STRUCT}"),
        (
            b'{"ca.crt": 7}',
            "json: cannot unmarshal number into Go struct field .ca.crt of type string",
        ),
    ]
) | st.builds(
    lambda first, rest: (
        first.encode() + rest,
        f"invalid character {first!r} looking for beginning of value",
    ),
    st.sampled_from("ABCDEFGHIJKLMNOPQRSUVWXYZ@=#&"),
    st.binary(max_size=100),
)
"""A body the OIDC authenticator cannot parse, with the 401 text that failure gives whatever
the Authorization header says."""
PARSABLE_BODIES = st.sampled_from([b"{}", b"null", b'{"ca.crt": "x"}'])
PARSED_AUTHORIZATION = st.sampled_from(
    [
        (None, _SEGMENTS),
        ("Basic x", _SEGMENTS),
        (
            "Bearer a.b.c",
            "token is malformed: could not base64 decode header: illegal base64 data at input byte 0",
        ),
    ]
)


def _unauthenticated_answer(method: str, path: str, text: str) -> tuple[int, bytes]:
    """A malformed escape in the path is net/http's plain 400 before anything else; otherwise
    authentication runs before routing and fails with its 401 text (HEAD: no body)."""
    raw_path = path.split("?", 1)[0]
    if re.search(r"%(?![0-9A-Fa-f]{2})", raw_path):
        status, body = 400, b"400 Bad Request"
    else:
        status, body = 401, _go_json_string(text) + b"\n"
    return status, b"" if method == "HEAD" else body


def _go_json_string(text: str) -> bytes:
    """Go's `encoding/json` string as echo writes it: HTML-safe (`&`, `<`, `>` escaped) and
    U+2028/U+2029 escaped, the rest as UTF-8."""
    encoded = json.dumps(text, ensure_ascii=False)
    for char, escape in (("&", "\\u0026"), ("<", "\\u003c"), (">", "\\u003e")):
        encoded = encoded.replace(char, escape)
    encoded = encoded.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")
    return encoded.encode()


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    method=METHODS,
    path=PATH_CHARS,
    request=st.one_of(
        st.tuples(st.one_of(st.none(), HEADER_VALUES, st.just("Bearer a.b.c")), UNPARSABLE_BODIES),
        st.tuples(PARSED_AUTHORIZATION, PARSABLE_BODIES).map(
            lambda pair: (pair[0][0], (pair[1], pair[0][1]))
        ),
    ),
    workload=st.one_of(st.none(), HEADER_VALUES),
)
def test_unauthenticated_requests_get_exactly_the_authentication_failure(
    mock, method, path, request, workload
):
    authorization, (body, text) = request
    headers = {}
    if authorization is not None:
        headers["Authorization"] = authorization
    if workload is not None:
        headers["x-workload-token"] = workload
    target = _safe_path(path)
    reply = send(mock.federation_url, method, target, body=body, headers=headers)
    assert (reply.status, reply.body) == _unauthenticated_answer(method, target, text)


WORKLOAD_FAILURES = {
    "e30.e30.": "token is unverifiable: signing method (alg) is unspecified",
    "abc": "token is malformed: token contains an invalid number of segments",
    "a.b.c": "token is malformed: could not base64 decode header: illegal base64 data at input byte 0",
}
"""x-workload-token values and golang-jwt's text for each: parsed before routing, so every
path and method gets the same 400."""
AUTHENTICATED_ROUTES = {
    "/secretstore/app-store/secrets/plain": ("OPTIONS, POST", {"POST": (200, b'"hello"\n')}),
    "/generators/team-a/UUID/uuid": ("OPTIONS, DELETE, POST", {"DELETE": (200, b"null\n")}),
    "/generators/team-a/revoke": ("OPTIONS, POST", {}),
}
UUID_BODY = re.compile(
    rb'\{"uuid":"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"\}\n'
)


def _json_string(text: str) -> bytes:
    return json.dumps(text, ensure_ascii=False).encode() + b"\n"


def _revoke_answer(body: bytes, extra: dict[str, object]) -> tuple[int, bytes]:
    """R4 binds the body before authorization: the first non-string member (in body order) is
    echo's Unmarshal type error, its offset just past the value; then team-a/web, which holds
    no allowedGeneratorStates, is denied."""
    for name, value in extra.items():
        if isinstance(value, int):
            member = json.dumps({name: value})[1:-1].encode()
            offset = body.index(member) + len(member)
            return 400, _json_string(
                f"code=400, message=Unmarshal type error: expected=string, got=number, "
                f"field={name}, offset={offset}, internal=json: cannot unmarshal number into "
                f"Go struct field deleteRequest.{name} of type string"
            )
    return 404, b'"Not Found"\n'


def _authenticated_answer(
    method: str, path: str, workload: str | None, body: bytes, extra: dict[str, object]
) -> tuple[int, bytes | re.Pattern[bytes], str | None]:
    """(status, body or body pattern, Allow header) for a request with a valid bearer token."""
    if workload is not None:
        text = f"invalid x-workload-token: failed to parse x-workload-token: {WORKLOAD_FAILURES[workload]}"
        return 400, _json_string(text), None
    if path not in AUTHENTICATED_ROUTES:
        return 404, b'{"message":"Not Found"}\n', None
    allow, answers = AUTHENTICATED_ROUTES[path]
    if method == "OPTIONS":
        return 204, b"", allow
    if method in answers:
        return (*answers[method], None)
    if method != "POST":
        return 405, b'{"message":"Method Not Allowed"}\n', allow
    if path.endswith("/uuid"):
        return 200, UUID_BODY, None
    return (*_revoke_answer(body, extra), None)


def _case(status: int, path: str, workload: str | None) -> str:
    if workload is not None:
        return "400 workload"
    return f"{status} {path}"


EVERY_AUTHENTICATED_CASE = {
    "400 workload",
    "404 /x",
    "204 /secretstore/app-store/secrets/plain",
    "200 /secretstore/app-store/secrets/plain",
    "405 /secretstore/app-store/secrets/plain",
    "200 /generators/team-a/UUID/uuid",
    "405 /generators/team-a/UUID/uuid",
    "400 /generators/team-a/revoke",
    "404 /generators/team-a/revoke",
}


def test_authenticated_malformed_requests_get_exactly_one_answer(mock):
    """One expected status, body and Allow header per case, and every case occurs. The revoke
    owners ("xyz" letters) match no GeneratorState and team-a/web may revoke none, so the
    property deletes nothing."""
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web")
    seen: Counter[str] = Counter()

    @settings(max_examples=30, deadline=None)
    @given(
        other_method=METHODS,
        workload=st.sampled_from([None, None, *sorted(WORKLOAD_FAILURES)]),
        extra=st.dictionaries(
            st.sampled_from(["owner", "namespace"]),
            st.integers() | st.text(alphabet="xyz", max_size=5),
        ),
    )
    def check(other_method, workload, extra):
        body = ca_body(alpha.ca.cert_pem, **extra)
        headers = {"x-workload-token": workload} if workload else {}
        for path in [*AUTHENTICATED_ROUTES, "/x"]:
            for method in {"POST", "OPTIONS", other_method}:
                reply = send(mock.federation_url, method, path, token, body, headers=headers)
                status, expected, allow = _authenticated_answer(method, path, workload, body, extra)
                seen[_case(status, path, workload)] += 1
                event(_case(status, path, workload))
                assert (reply.status, reply.headers.get("allow")) == (status, allow), (method, path)
                if method == "HEAD":
                    assert reply.body == b""
                elif isinstance(expected, re.Pattern):
                    assert expected.fullmatch(reply.body), reply.body
                else:
                    assert reply.body == expected

    check()
    assert EVERY_AUTHENTICATED_CASE <= set(seen), EVERY_AUTHENTICATED_CASE - set(seen)


def test_eight_threads_of_five_hundred_generator_calls_lose_nothing(mock):
    """8 threads × 500 R2 calls on keep-alive connections: 4000 distinct GeneratorStates."""
    books = mock.context.bookkeeping
    books.reset()
    alpha = mock.clusters["alpha"]
    token = alpha.mint("team-a/web", pod="web-7d9f8b6c5-x2x4q")
    body = ca_body(alpha.ca.cert_pem)
    port = mock.listeners["http"].port
    statuses: list[int] = []
    lock = threading.Lock()

    def worker() -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        seen = []
        for _ in range(500):
            conn.request(
                "POST",
                "/generators/team-a/UUID/uuid",
                body=body,
                headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            )
            response = conn.getresponse()
            response.read()
            seen.append(response.status)
        conn.close()
        with lock:
            statuses.extend(seen)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert statuses == [200] * 4000
    states = books.generator_states("team-a")
    assert len(states) == 4000
    assert len({s["metadata"]["name"] for s in states}) == 4000
    assert {s["metadata"]["labels"][LABEL_OWNER] for s in states} == {"web-7d9f8b6c5-x2x4q"}
    (identity,) = [
        i
        for i in books.authorized_identities()
        if i["metadata"]["name"] == "oidc-system-serviceaccount-team-a-web"
    ]
    assert len(identity["spec"]["issuedCredentials"]) == 4000
    revoke = send(mock.federation_url, "DELETE", "/generators/team-a/UUID/uuid", token, body)
    assert (revoke.status, revoke.body) == (200, b"null\n")
    assert books.generator_states("team-a") == []
    books.reset()
