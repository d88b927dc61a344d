"""echo-style routing on the raw request path (docs/protocol.md §2.1, §2.2).

The real server routes on Go's `URL.RawPath` whenever the client's escaping differs from Go's own
re-escaping of the decoded path (e.g. `%2F`), and then hands parameters over still encoded; a
parameter that ends a route takes the rest of the path, slashes included, but only when some path
is left: echo enters a parameter node only with a non-empty remainder, so an empty last parameter
(`/secretstore/s/secrets/`) matches no route at all, for every method. Flask's router decodes
first, so the mock matches routes here instead.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import unquote_to_bytes

from mockserver.federation.errors import BadRequest, MethodNotAllowed, RouteNotFound

R1 = "secretstore"
R2 = "generate"
R3 = "revoke-self"
R4 = "revoke-of"


@dataclass(frozen=True)
class Route:
    pattern: re.Pattern[str]
    methods: dict[str, str]  # HTTP method -> route name
    params: tuple[str, ...]

    @property
    def allow(self) -> tuple[str, ...]:
        return ("OPTIONS", *sorted(self.methods))


ROUTES: tuple[Route, ...] = (
    Route(
        re.compile(r"/secretstore/([^/]*)/secrets/(.+)", re.S),
        {"POST": R1},
        ("secretStoreName", "secretName"),
    ),
    Route(re.compile(r"/generators/([^/]*)/revoke", re.S), {"POST": R4}, ("generatorNamespace",)),
    Route(
        re.compile(r"/generators/([^/]*)/([^/]*)/(.+)", re.S),
        {"POST": R2, "DELETE": R3},
        ("generatorNamespace", "generatorKind", "generatorName"),
    ),
)


@dataclass(frozen=True)
class Match:
    name: str
    params: dict[str, str] = field(default_factory=dict)


class InvalidPath(BadRequest):
    """Go's net/http refuses a request target whose escapes do not decode (plain-text 400)."""


_UNRESERVED = frozenset(b"abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")
_PATH_SAFE = _UNRESERVED | frozenset(b"$&+,/:;=@")


def go_path_escape(path: str) -> str:
    """Go's `url.escape(path, encodePath)`: what Go would send for a decoded path."""
    out = []
    for byte in path.encode("utf-8", "surrogateescape"):
        out.append(chr(byte) if byte in _PATH_SAFE else f"%{byte:02X}")
    return "".join(out)


def go_path_unescape(raw: str) -> str:
    """Go's `url.unescape(raw, encodePath)`; malformed escapes are refused as Go refuses them."""
    if re.search(r"%(?![0-9A-Fa-f]{2})", raw):
        raise InvalidPath(f"invalid URL escape in {raw!r}")
    return unquote_to_bytes(raw).decode("utf-8", "surrogateescape")


def routing_path(raw_path: str) -> str:
    """The path echo matches on: the raw path when Go keeps a RawPath, else the decoded one."""
    decoded = go_path_unescape(raw_path)
    return decoded if go_path_escape(decoded) == raw_path else raw_path


def split_target(request_uri: str) -> tuple[str, str]:
    """Split a raw request target into (raw path, raw query)."""
    target = request_uri
    if "://" in target.split("?", 1)[0]:
        after_scheme = target.split("://", 1)[1]
        slash = after_scheme.find("/")
        target = after_scheme[slash:] if slash >= 0 else "/"
    path, _, query = target.partition("?")
    return path or "/", query


@dataclass(frozen=True)
class RouteResult:
    """A request target routed once: its raw parts and the route found, or echo's refusal."""

    method: str
    raw_path: str
    query: str
    match: Match | None = None
    refusal: BadRequest | RouteNotFound | MethodNotAllowed | None = None

    @property
    def name(self) -> str | None:
        return self.match.name if self.match is not None else None


def route_target(method: str, request_target: str) -> RouteResult:
    """Route a raw request target; a bad escape is an `InvalidPath` refusal, as Go's is."""
    raw_path, query = split_target(request_target)
    try:
        return RouteResult(method, raw_path, query, find_route(method, routing_path(raw_path)))
    except (BadRequest, RouteNotFound, MethodNotAllowed) as refusal:
        return RouteResult(method, raw_path, query, refusal=refusal)


def find_route(method: str, path: str) -> Match:
    """Resolve a routing path and method to a route, or raise echo's 404/405."""
    for route in ROUTES:
        found = route.pattern.fullmatch(path)
        if found is None:
            continue
        params = dict(zip(route.params, found.groups(), strict=True))
        if method == "OPTIONS":
            return Match("options", {"allow": ", ".join(route.allow)})
        if method not in route.methods:
            raise MethodNotAllowed(route.allow)
        return Match(route.methods[method], params)
    raise RouteNotFound()


ENCODED_SLASH = re.compile("%2F", re.IGNORECASE)


def encoded_slash_refusal(route: RouteResult) -> BadRequest | None:
    """Strict mode's refusal of a parameter that still holds `%2F` because echo routed on the raw
    path (docs/protocol.md §2.1, D26): a 400 instead of the literal text `%2F` reaching the
    backend. A `%252F` is routed decoded and stays the name `%2F` its sender meant."""
    if route.match is None or routing_path(route.raw_path) != route.raw_path:
        return None
    for name, value in route.match.params.items():
        if ENCODED_SLASH.search(value):
            return BadRequest(
                f"{name} must not contain %2F (an encoded /); send the / unencoded",
                detail=f"strict: encoded slash in {name}",
            )
    return None
