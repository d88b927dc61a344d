"""echo-style routing through its public functions (docs/protocol.md §2.1, §2.2): Go's
path-escape safe set, RawPath selection, malformed escapes, absolute-form targets, empty
segments and the route table, each pinned to one exact answer."""

from __future__ import annotations

import pytest

from mockserver.federation.errors import MethodNotAllowed, RouteNotFound
from mockserver.federation.routing import (
    R1,
    R2,
    R3,
    R4,
    InvalidPath,
    Match,
    find_route,
    go_path_escape,
    go_path_unescape,
    route_target,
    routing_path,
    split_target,
)


def test_route_names_are_the_ones_faults_target():
    assert (R1, R2, R3, R4) == ("secretstore", "generate", "revoke-self", "revoke-of")


def test_go_leaves_unreserved_and_path_safe_bytes_alone():
    safe = "abcxyzABCXYZ0189-_.~$&+,/:;=@"
    assert go_path_escape(safe) == safe


@pytest.mark.parametrize(
    ("decoded", "escaped"),
    [
        ("a b", "a%20b"),
        ("?#%", "%3F%23%25"),
        ("é", "%C3%A9"),
        ("\udcff", "%FF"),  # a non-UTF-8 byte kept by surrogateescape
        ('!"', "%21%22"),
        ("", ""),
    ],
)
def test_go_escapes_everything_else_in_upper_case_hex(decoded, escaped):
    assert go_path_escape(decoded) == escaped


@pytest.mark.parametrize(
    ("raw", "decoded"),
    [("a%2Fb", "a/b"), ("%C3%A9", "é"), ("%c3%a9", "é"), ("%FF", "\udcff"), ("plain", "plain")],
)
def test_go_unescape_decodes_valid_escapes(raw, decoded):
    assert go_path_unescape(raw) == decoded


@pytest.mark.parametrize("raw", ["%", "/a%zz", "/a%4", "%%41", "/x%G1"])
def test_a_malformed_escape_is_a_400_naming_the_path(raw):
    with pytest.raises(InvalidPath) as caught:
        go_path_unescape(raw)
    assert caught.value.status == 400
    assert str(caught.value) == f"invalid URL escape in {raw!r}"
    with pytest.raises(InvalidPath):
        routing_path(raw)


@pytest.mark.parametrize(
    ("raw", "routed"),
    [
        ("/secretstore/s/secrets/plain", "/secretstore/s/secrets/plain"),
        ("/secretstore/s/secrets/a%20b", "/secretstore/s/secrets/a b"),  # Go's own escaping
        ("/secretstore/s/secrets/%C3%A9", "/secretstore/s/secrets/é"),
        ("/secretstore/s/secrets/%c3%a9", "/secretstore/s/secrets/%c3%a9"),  # not Go's: raw
        ("/secretstore/s/secrets/pl%61in", "/secretstore/s/secrets/pl%61in"),
        ("/secretstore/s/secrets/db%2Fpassword", "/secretstore/s/secrets/db%2Fpassword"),
        ("/secretstore/s/secrets/%FF", "/secretstore/s/secrets/\udcff"),
    ],
)
def test_the_raw_path_is_routed_whenever_go_would_escape_it_differently(raw, routed):
    assert routing_path(raw) == routed


@pytest.mark.parametrize(
    ("target", "split"),
    [
        ("/a/b?x=1", ("/a/b", "x=1")),
        ("/a?b?c", ("/a", "b?c")),
        ("", ("/", "")),
        ("?q", ("/", "q")),
        ("/p?next=http://h/x", ("/p", "next=http://h/x")),
        ("http://h:1/a/b?x=1", ("/a/b", "x=1")),
        ("http://h", ("/", "")),
        ("http:///a", ("/a", "")),
        ("http://h/a://b", ("/a://b", "")),
    ],
)
def test_a_request_target_splits_into_raw_path_and_query(target, split):
    assert split_target(target) == split


@pytest.mark.parametrize(
    ("method", "path", "match"),
    [
        (
            "POST",
            "/secretstore/app-store/secrets/db/password",
            Match(R1, {"secretStoreName": "app-store", "secretName": "db/password"}),
        ),
        ("POST", "/secretstore//secrets/k", Match(R1, {"secretStoreName": "", "secretName": "k"})),
        ("POST", "/generators/team-a/revoke", Match(R4, {"generatorNamespace": "team-a"})),
        ("POST", "/generators//revoke", Match(R4, {"generatorNamespace": ""})),
        (
            "POST",
            "/generators/a/b/revoke",  # a slash in the revoke namespace: R2, kind b
            Match(R2, {"generatorNamespace": "a", "generatorKind": "b", "generatorName": "revoke"}),
        ),
        (
            "POST",
            "/generators/team-a/revoke/x",
            Match(
                R2,
                {"generatorNamespace": "team-a", "generatorKind": "revoke", "generatorName": "x"},
            ),
        ),
        (
            "POST",
            "/generators/ns/UUID/a/b",  # the last parameter takes the rest, slashes included
            Match(
                R2, {"generatorNamespace": "ns", "generatorKind": "UUID", "generatorName": "a/b"}
            ),
        ),
        (
            "DELETE",
            "/generators/ns//u",  # an empty middle parameter matches, as in echo
            Match(R3, {"generatorNamespace": "ns", "generatorKind": "", "generatorName": "u"}),
        ),
        ("OPTIONS", "/generators/ns/UUID/u", Match("options", {"allow": "OPTIONS, DELETE, POST"})),
        ("OPTIONS", "/generators/ns/revoke", Match("options", {"allow": "OPTIONS, POST"})),
        ("OPTIONS", "/secretstore/s/secrets/k", Match("options", {"allow": "OPTIONS, POST"})),
    ],
)
def test_routes_match_echo(method, path, match):
    assert find_route(method, path) == match


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/secretstore/s/secrets/"),
        ("POST", "/secretstore//secrets/"),
        ("POST", "/generators/ns/UUID/"),
        ("DELETE", "/generators/ns/UUID/"),
        ("POST", "/generators/ns/revoke/"),
        ("OPTIONS", "/generators/ns/UUID/"),
    ],
)
def test_an_empty_last_parameter_is_no_match(method, path):
    # echo's router enters a parameter node only with path left (router.go).
    with pytest.raises(RouteNotFound):
        find_route(method, path)


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/secretstore/s/secrets/k", ("OPTIONS", "POST")),
        ("DELETE", "/generators/ns/revoke", ("OPTIONS", "POST")),
        ("PUT", "/generators/ns/UUID/u", ("OPTIONS", "DELETE", "POST")),
    ],
)
def test_a_known_path_with_another_method_is_405_with_allow(method, path, allow):
    with pytest.raises(MethodNotAllowed) as caught:
        find_route(method, path)
    assert (caught.value.status, caught.value.allow) == (405, allow)
    assert caught.value.body == {"message": "Method Not Allowed"}
    assert caught.value.headers == {"Allow": ", ".join(allow)}


@pytest.mark.parametrize(
    "path",
    [
        "/secretstore/a/b/secrets/x",  # a slash in the store name
        "/secretstore/s/secret/x",
        "/generators/a/b",
        "/generators/ns",
        "/x/secretstore/s/secrets/k",
        "/",
    ],
)
def test_anything_else_is_echos_404(path):
    with pytest.raises(RouteNotFound) as caught:
        find_route("POST", path)
    assert (caught.value.status, caught.value.body) == (404, {"message": "Not Found"})


@pytest.mark.parametrize(
    ("method", "target", "name"),
    [
        ("POST", "/secretstore/app-store/secrets/plain", "secretstore"),
        ("POST", "/generators/team-a/UUID/uuid?x=1", "generate"),
        ("DELETE", "/generators/team-a/UUID/uuid", "revoke-self"),
        ("POST", "/generators/team-a/revoke", "revoke-of"),
        ("OPTIONS", "/generators/team-a/revoke", "options"),
        ("GET", "/generators/team-a/revoke", None),
        ("POST", "/nope", None),
        ("POST", "/secretstore/a%zz/secrets/b", None),
    ],
)
def test_route_target_names_the_route_faults_can_target(method, target, name):
    assert route_target(method, target).name == name
