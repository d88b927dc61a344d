"""One request in, one answer out: routing, authentication, authorization, the four handlers."""

from __future__ import annotations

import json
import re
import time
import urllib.parse
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from cryptography import x509

from tests.zoo import gojson
from tests.zoo.auth import (
    AuthError,
    DropConnection,
    KeyCache,
    Token,
    TrustAnchor,
    parse_ca,
    parse_token,
    verify,
)
from tests.zoo.idp import IdPAuthenticator, IdPNetwork
from tests.zoo.points import Points
from tests.zoo.world import (
    GENERATOR_API,
    LABEL_PREFIX,
    Authorization,
    BackendError,
    World,
    owner_attributes_json,
    state_name,
)

__all__ = ["Answer", "Request", "Zoo"]

SPIFFE_PATH = re.compile(r"/([^/]+)/ns/([^/]+)/sa/([^/]+)/([^/]+)/pod/([^/]+)/([^/]+)")
PATH_SAFE = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~$&+,/:;=@")
BINDABLE = (
    "application/json",
    "application/xml",
    "text/xml",
    "application/x-www-form-urlencoded",
    "multipart/form-data",
)


@dataclass
class Request:
    """What the listener read: method, raw request target, headers, body, peer certificate."""

    method: str
    target: str
    headers: Mapping[str, str]
    body: bytes
    peer_cert_der: bytes | None = None

    def header(self, name: str) -> str | None:
        for key, value in self.headers.items():
            if key.lower() == name.lower():
                return value
        return None


@dataclass
class Answer:
    """Status, headers and body; `drop` closes the connection without an answer."""

    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False


@dataclass(frozen=True)
class Workload:
    namespace: str = ""
    sa_name: str = ""
    sa_uid: str = ""
    pod_name: str = ""
    pod_uid: str = ""

    @classmethod
    def from_claims(cls, claims: dict[str, Any]) -> Workload:
        kube = claims.get("kubernetes.io")
        kube = kube if isinstance(kube, dict) else {}

        def part(name: str) -> dict[str, Any]:
            value = kube.get(name)
            return value if isinstance(value, dict) else {}

        def text(mapping: dict[str, Any], key: str) -> str:
            value = mapping.get(key)
            return value if isinstance(value, str) else ""

        sa, pod = part("serviceaccount"), part("pod")
        return cls(
            text(kube, "namespace"),
            text(sa, "name"),
            text(sa, "uid"),
            text(pod, "name"),
            text(pod, "uid"),
        )


@dataclass(frozen=True)
class Identity:
    method: str
    provider: str
    subject: str
    workload: Workload | None
    anchor: TrustAnchor | None = None
    token: str = ""
    idp: bool = False


class HandlerError(Exception):
    """A handler failure: `status` with the JSON string `message`."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status


def go_escape_path(path: str) -> str:
    """What Go's url.URL would write for a decoded path (EscapedPath without RawPath)."""
    return "".join(
        ch if ch in PATH_SAFE else "".join(f"%{b:02X}" for b in ch.encode()) for ch in path
    )


def routing_path(raw: str) -> str:
    """echo routes on RawPath when the client's escaping differs from Go's own, else on Path."""
    decoded = urllib.parse.unquote(raw, errors="surrogateescape")
    return decoded if go_escape_path(decoded) == raw else raw


class Zoo:
    """The protocol over a `World`, with a set of defects switched on."""

    def __init__(
        self,
        world: World,
        defects: Collection[str] = (),
        forward_bearer: bool = True,
        points: Points | None = None,
        idp_network: IdPNetwork | None = None,
    ) -> None:
        self.world = world
        self.defects = frozenset(defects)
        self.points = points or Points()
        self.keys = KeyCache(forward_bearer, self.defects)
        self.idp = IdPAuthenticator(world, idp_network, self.points)
        self._tombstones: list[Authorization] = []

    def has(self, defect: str) -> bool:
        return defect in self.defects

    # -- encoding --------------------------------------------------------------------------------

    def json(self, status: int, value: Any, pretty: bool = False, **headers: str) -> Answer:
        body = gojson.encode(value, pretty)
        if self.has("no-trailing-newline"):
            body = body.rstrip(b"\n")
        media = "text/plain; charset=utf-8" if self.has("text-content-type") else "application/json"
        return Answer(status, body, {"Content-Type": media, **headers})

    def error(self, status: int, message: str) -> Answer:
        if self.has("error-objects") and status in (400, 500):
            return self.json(status, {"message": message})
        return self.json(status, message)

    # -- the request ------------------------------------------------------------------------------

    def handle(self, request: Request) -> Answer:
        """Answer one request (see docs/protocol.md §2)."""
        try:
            return self._handle(request)
        except DropConnection:
            return Answer(0, drop=True)

    def _handle(self, request: Request) -> Answer:
        raw_path, _, query = request.target.partition("?")
        pretty = "pretty" in urllib.parse.parse_qs(query, keep_blank_values=True)
        route, params = self._route(routing_path(raw_path))
        if self.has("routes-before-auth") and (route is None or request.method not in route[1]):
            return self._router_answer(route, request.method)
        try:
            identity = self._authenticate(request)
        except AuthError as exc:
            return self.json(401, str(exc))
        except ValueError as exc:
            return self.error(500, str(exc))
        try:
            workload = self._workload(request, identity)
        except HandlerError as exc:
            return self.error(exc.status, str(exc))
        if route is None or request.method not in route[1]:
            return self._router_answer(route, request.method)
        try:
            value = getattr(self, route[0])(request, identity, workload, *params)
        except HandlerError as exc:
            return self.error(exc.status, str(exc))
        if isinstance(value, Answer):
            return value
        return self.json(200, value, pretty)

    def _route(self, path: str) -> tuple[tuple[str, tuple[str, ...]] | None, tuple[str, ...]]:
        parts = path[1:].split("/") if path.startswith("/") else [""]

        def literal(index: int, word: str) -> bool:
            return self.points.compare("path-segment", word, parts[index])

        if len(parts) >= 4 and literal(0, "secretstore") and literal(2, "secrets"):
            key = parts[3] if self.has("slash-truncates-key") else "/".join(parts[3:])
            if self.has("slash-truncates-key") and len(parts) > 4:
                return None, ()
            return ("store_get", ("POST",)), (parts[1], key)
        if len(parts) == 3 and literal(0, "generators") and literal(2, "revoke"):
            return ("revoke_of", ("POST",)), (parts[1],)
        if len(parts) >= 4 and literal(0, "generators"):
            methods = ("POST",) if self.has("revoke-self-unrouted") else ("DELETE", "POST")
            return ("generator", methods), (parts[1], parts[2], "/".join(parts[3:]))
        return None, ()

    def _router_answer(self, route: tuple[str, tuple[str, ...]] | None, method: str) -> Answer:
        strings = self.has("router-errors-as-strings")
        if route is None:
            return self.json(404, "Not Found" if strings else {"message": "Not Found"})
        allow = {} if self.has("no-allow-header") else {"Allow": ", ".join(("OPTIONS", *route[1]))}
        if method == "OPTIONS":
            return Answer(204, b"", dict(allow))
        if method == "HEAD":
            return Answer(405, b"", dict(allow))
        body = "Method Not Allowed" if strings else {"message": "Method Not Allowed"}
        answer = self.json(405, body)
        answer.headers.update(allow)
        return answer

    # -- authentication ---------------------------------------------------------------------------

    def _authenticate(self, request: Request) -> Identity:
        if request.peer_cert_der is not None and not self.has("mtls-spiffe-ignored"):
            return self._spiffe(request.peer_cert_der)
        forwarded = request.header("X-Forwarded-Client-Cert")
        if forwarded and self.has("plain-http-spiffe"):
            found = re.search(r"URI=(spiffe://[^;,\s]+)", forwarded)
            if found:
                return self._spiffe_id(found.group(1))
        header = request.header("Authorization") or ""
        method = self.idp.method_for(header)
        if method is not None:
            return self._idp_identity(header, method)
        raw = self._bearer(header)
        ca_value = self._ca_crt(request.body)
        try:
            token = parse_token(raw, self.points)
        except ValueError as exc:
            raise AuthError(f"token is malformed: {exc}") from None
        issuer = token.claims.get("iss", "")
        specs = [
            a
            for a in self.world.authorizations()
            if not a.spiffe and self.points.compare("issuer", a.issuer, issuer)
        ]
        if not specs:
            if self.has("unknown-issuer-404") and issuer:
                return Identity("oidc", issuer, token.claims.get("sub", ""), None)
            raise AuthError("token is unverifiable: error while executing keyfunc: no jwks found")
        anchor = parse_ca(ca_value, self.defects, self.points)
        urls = []
        for spec in specs:
            url = self.world.federation_url(spec.federation_kind, spec.federation_name)
            if url is None:
                raise AuthError("token is unverifiable: no jwks found: no provider found")
            if url not in urls:
                urls.append(url)
        self._verify(token, urls, anchor, raw)
        return Identity(
            "oidc",
            issuer,
            token.claims.get("sub", ""),
            Workload.from_claims(token.claims),
            anchor,
            raw,
        )

    def _idp_identity(self, header: str, method: str) -> Identity:
        """An Okta or PingOne caller: no workload context, the token's own method."""
        caller = self.idp.authenticate(header, method)
        variant = self.points.variant("idp-context")
        return Identity(
            "oidc" if variant == "oidc-method" else caller.method,
            caller.issuer,
            caller.subject,
            Workload() if variant == "empty-workload" else None,
            idp=True,
        )

    def _verify(self, token: Token, urls: list[str], anchor: TrustAnchor, bearer: str) -> None:
        def keys_for(refresh: bool) -> dict[str, dict[str, Any]]:
            keys: dict[str, dict[str, Any]] = {}
            for url in urls:
                keys.update(self.keys.keys(url, anchor, bearer, refresh))
            return keys

        verify(token, keys_for, self.defects, self.points)

    def _bearer(self, header: str) -> str:
        """The token: the header without a leading `Bearer ` (a bare token counts as given,
        as the real OIDC authenticator's strings.TrimPrefix has it)."""
        scheme, space, rest = header.partition(" ")
        if space and self.points.compare("bearer-scheme", "Bearer", scheme):
            token = rest
        else:
            token = header
        if self.points.variant("bearer-header") == "lenient-trim":
            token = token.strip()
        return token

    def _ca_crt(self, body: bytes) -> str:
        """The body's `ca.crt`: the body must be a JSON object (or null). Member names match
        as Go's json.Unmarshal matches a struct tag: case-insensitively, the last one wins."""
        lenient = self.points.variant("body-json") == "lenient-non-object"
        if not body.strip():
            if self.has("optional-body") or lenient:
                return ""
            raise AuthError("unexpected end of JSON input")
        try:
            value = json.loads(body)
        except ValueError as exc:
            if self.has("malformed-body-500"):
                raise ValueError(f"cannot parse the body: {exc}") from None
            if self.has("optional-body") or lenient:
                return ""
            raise AuthError(f"invalid JSON body: {exc}") from None
        if value is None:
            return ""
        if not isinstance(value, dict):
            if self.has("optional-body") or lenient:
                return ""
            raise AuthError("json: cannot unmarshal the body into an object")
        ca = None
        for member, member_value in value.items():
            if self.points.compare("body-member", "ca.crt", member.casefold()):
                ca = member_value
        if ca is None:
            return ""
        if not isinstance(ca, str):
            raise AuthError("json: ca.crt is not a string")
        return ca

    def _spiffe(self, der: bytes) -> Identity:
        try:
            cert = x509.load_der_x509_certificate(der)
            sans = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
            uris = sans.get_values_for_type(x509.UniformResourceIdentifier)
        except (ValueError, x509.ExtensionNotFound):
            uris = []
        if len(uris) != 1 or not uris[0].startswith("spiffe://"):
            raise AuthError("error extracting spiffe id")
        return self._spiffe_id(uris[0])

    def _spiffe_id(self, spiffe_id: str) -> Identity:
        domain, _, path = spiffe_id.removeprefix("spiffe://").partition("/")
        found = SPIFFE_PATH.fullmatch("/" + path)
        if found is None and self.has("spiffe-any-path"):
            return Identity("spiffe", domain, spiffe_id, Workload())
        if found is None:
            raise AuthError(
                "invalid spiffe path; should follow the pattern "
                "/{app-name}/ns/{namespace}/sa/{saID}/{saName}/pod/{podID}/{podName}"
            )
        _app, ns, sa_uid, sa_name, pod_uid, pod_name = found.groups()
        return Identity(
            "spiffe", domain, spiffe_id, Workload(ns, sa_name, sa_uid, pod_name, pod_uid)
        )

    # -- x-workload-token -------------------------------------------------------------------------

    def _workload(self, request: Request, identity: Identity) -> Workload | None:
        header = request.header("x-workload-token")
        if not header or self.has("wlt-ignored"):
            return identity.workload
        try:
            token = parse_token(header, self.points)
        except ValueError as exc:
            raise HandlerError(
                400, f"invalid x-workload-token: failed to parse x-workload-token: {exc}"
            ) from None
        workload = Workload.from_claims(token.claims)
        for attr, claim in (
            ("namespace", "kubernetes.io.namespace"),
            ("sa_name", "kubernetes.io.serviceaccount.name"),
            ("sa_uid", "kubernetes.io.serviceaccount.uid"),
        ):
            if not getattr(workload, attr):
                if self.has("wlt-claims-unchecked"):
                    return identity.workload
                raise HandlerError(
                    400, f"invalid x-workload-token: x-workload-token missing {claim}"
                )
        if not self.has("wlt-trusted"):
            self._verify_workload_token(token, identity)
        return workload

    def _verify_workload_token(self, token: Token, identity: Identity) -> None:
        """The header must be signed by a configured issuer's key (no defect weakens this)."""
        issuer = token.claims.get("iss", "")
        urls: list[str] = []
        for spec in self.world.authorizations():
            if not spec.spiffe and self.points.compare("issuer", spec.issuer, issuer):
                url = self.world.federation_url(spec.federation_kind, spec.federation_name)
                if url and url not in urls:
                    urls.append(url)
        anchor = identity.anchor

        def keys_for(refresh: bool) -> dict[str, dict[str, Any]]:
            keys: dict[str, dict[str, Any]] = {}
            for url in urls:
                keys.update(self.keys.keys(url, anchor, token.raw, refresh))  # type: ignore[arg-type]
            return keys

        try:
            if not urls or anchor is None:
                raise AuthError("not signed by a known issuer")
            verify(token, keys_for, frozenset())
        except AuthError as exc:
            raise HandlerError(400, f"invalid x-workload-token: {exc}") from None

    # -- authorization -----------------------------------------------------------------------------

    def _specs(self, identity: Identity) -> list[Authorization]:
        specs = self.world.authorizations()
        if self.has("sticky-authorizations"):
            specs = specs + [t for t in self._tombstones if t not in specs]
            self._tombstones = specs
        issuer_point, subject_point = (
            ("idp-issuer", "idp-subject") if identity.idp else ("issuer", "subject")
        )
        specs = [s for s in specs if self.points.compare(issuer_point, s.issuer, identity.provider)]
        if self.has("ignore-subject"):
            return specs
        if self.has("subject-prefix"):
            specs = [s for s in specs if identity.subject.startswith(s.subject)]
        elif self.has("subject-case-insensitive"):
            specs = [s for s in specs if s.subject.lower() == identity.subject.lower()]
        else:
            specs = [
                s for s in specs if self.points.compare(subject_point, s.subject, identity.subject)
            ]
        return specs[:1] if self.has("no-union") else specs

    def _granting(self, identity: Identity, allowed: Any) -> Authorization:
        for spec in self._specs(identity):
            if allowed(spec):
                return spec
        raise HandlerError(404, "Not Found")

    def _same_store(self, allowed: str, store: str) -> bool:
        if self.has("store-case-insensitive"):
            return allowed.lower() == store.lower()
        return self.points.compare("store-name", allowed, store)

    def _same(self, a: str, b: str, defect: str) -> bool:
        return a.lower() == b.lower() if self.has(defect) else a == b

    def _generator_spec(self, identity: Identity, ns: str, kind: str, name: str) -> Authorization:
        def allowed(spec: Authorization) -> bool:
            for entry in spec.generators:
                if (
                    self.has("api-version-compared")
                    and entry.get("apiVersion", GENERATOR_API) != GENERATOR_API
                ):
                    continue
                compare = self.points.compare
                if (
                    compare("generator-name", entry.get("name", ""), name)
                    and compare("generator-namespace", entry.get("namespace", ""), ns)
                    and (
                        self._same(entry.get("kind", ""), kind, "kind-case-insensitive")
                        if self.has("kind-case-insensitive")
                        else compare("generator-kind", entry.get("kind", ""), kind)
                    )
                ):
                    return True
            return False

        return self._granting(identity, allowed)

    # -- handlers ---------------------------------------------------------------------------------

    def store_get(
        self, request: Request, identity: Identity, workload: Workload | None, store: str, key: str
    ) -> Any:
        try:
            spec = self._granting(
                identity,
                lambda s: any(self._same_store(x, store) for x in s.stores),
            )
        except HandlerError:
            if self.has("secret-in-denial"):
                try:
                    value = self.world.secret_value(store, key)
                except BackendError:
                    value = ""
                raise HandlerError(404, f"Not Found: {value}") from None
            raise
        try:
            value = self.world.secret_value(store, key, self.points)
        except BackendError as exc:
            if self.has("missing-key-404") and str(exc) == "Secret does not exist":
                raise HandlerError(404, "Not Found") from None
            raise HandlerError(400, str(exc)) from None
        self._record(
            identity,
            workload,
            spec,
            {
                "sourceRef": {
                    "kind": "ClusterSecretStore",
                    "apiVersion": "external-secrets.io/v1",
                    "name": store,
                },
                "remoteRef": {"remoteKey": key, "property": ""},
            },
        )
        if self.has("raw-text-secret"):
            return Answer(200, value.encode(), {"Content-Type": "text/plain; charset=utf-8"})
        if self.has("json-value-decoded"):
            try:
                return json.loads(value)
            except ValueError:
                return value
        return value

    def generator(
        self,
        request: Request,
        identity: Identity,
        workload: Workload | None,
        ns: str,
        kind: str,
        name: str,
    ) -> Any:
        if request.method == "DELETE":
            return self._revoke_self(identity, workload, ns, kind, name)
        if workload is not None:
            owner = workload.pod_name or workload.sa_name
            attributes = {
                "namespace": workload.namespace,
                "issuer": identity.provider,
                "serviceaccount-uid": workload.sa_uid,
                "service-account-name": workload.sa_name,
            }
            if workload.pod_uid:
                attributes["pod-uid"] = workload.pod_uid
        else:
            owner = identity.subject
            attributes = {
                "issuer": identity.provider,
                "subject": identity.subject,
                "method": identity.method,
            }
        spec = self._generator_spec(identity, ns, kind, name)
        try:
            generator, values = self.world.generate(ns, kind, name)
        except BackendError as exc:
            raise HandlerError(500 if self.has("generator-error-500") else 400, str(exc)) from None
        state_ref = None
        if not self.has("r2-no-state"):
            state: dict[str, Any] = {
                "apiVersion": GENERATOR_API,
                "kind": "GeneratorState",
                "metadata": {
                    "name": state_name(kind, name, owner),
                    "namespace": ns,
                    "labels": {
                        LABEL_PREFIX + "owner": owner,
                        LABEL_PREFIX + "generator": name,
                        LABEL_PREFIX + "generator-kind": kind,
                    },
                    "annotations": {
                        LABEL_PREFIX + "owner-attributes": owner_attributes_json(attributes)
                    },
                    "creationTimestamp": _now(),
                },
                "spec": {"resource": generator, "state": {}},
            }
            with self.world.lock:
                self.world.states[(ns, state["metadata"]["name"])] = state
            state_ref = {
                "kind": "GeneratorState",
                "apiVersion": GENERATOR_API,
                "name": state["metadata"]["name"],
                "namespace": ns,
            }
        credential: dict[str, Any] = {
            "sourceRef": {"kind": kind, "apiVersion": GENERATOR_API, "name": name, "namespace": ns}
        }
        if state_ref:
            credential["stateRef"] = state_ref
        self._record(identity, workload, spec, credential)
        if self.has("r2-nested-values"):
            return {**values, "metadata": {"kind": kind, "name": name}}
        return values

    def _revoke_self(
        self, identity: Identity, workload: Workload | None, ns: str, kind: str, name: str
    ) -> Any:
        if workload is None:
            raise HandlerError(400, "missing workload context")
        if not workload.sa_name and not self.has("r3-ignores-generator"):
            raise HandlerError(400, "missing kubernetes service account")
        self._generator_spec(identity, ns, kind, name)
        wanted = {LABEL_PREFIX + "owner": workload.pod_name or workload.sa_name}
        if not self.has("r3-ignores-generator"):
            wanted[LABEL_PREFIX + "generator"] = name
            wanted[LABEL_PREFIX + "generator-kind"] = kind
        self._delete_states(wanted, {ns})
        return {} if self.has("r3-empty-object") else None

    def revoke_of(
        self, request: Request, identity: Identity, workload: Workload | None, ns: str
    ) -> Any:
        owner, body_ns = "", ""
        if request.body:
            media = (request.header("Content-Type") or "").split(";")[0].strip().lower()
            if media not in BINDABLE and not self.has("r4-any-media-type"):
                raise HandlerError(400, "code=415, message=Unsupported Media Type")
            if media in ("application/json", "") or self.has("r4-any-media-type"):
                try:
                    body = json.loads(request.body)
                except ValueError as exc:
                    raise HandlerError(400, f"code=400, message=Syntax error: {exc}") from None
                if isinstance(body, dict):
                    owner_value = self._member(body, "owner")
                    ns_value = self._member(body, "namespace")
                    if not isinstance(owner_value, str) or not isinstance(ns_value, str):
                        raise HandlerError(400, "code=400, message=Unmarshal type error")
                    owner, body_ns = owner_value, ns_value
            elif media == "application/x-www-form-urlencoded":
                form = urllib.parse.parse_qs(request.body.decode("utf-8", "replace"))
                owner = form.get("owner", [""])[0]
                body_ns = form.get("namespace", [""])[0]
        self._granting(identity, lambda s: ns in s.state_namespaces)
        if self.has("r4-body-namespace"):
            with self.world.lock:
                namespaces = {k[0] for k in self.world.states} if not body_ns else {body_ns}
        else:
            if body_ns and not self.points.compare("r4-namespace", ns, body_ns):
                raise HandlerError(400, "the body namespace must be empty or the URL namespace")
            namespaces = {ns}
        if not self.has("r4-deletes-nothing"):
            self._delete_states({LABEL_PREFIX + "owner": owner}, namespaces, "r4-owner")
        return "GeneratorStates deleted" if self.has("r4-other-text") else "GeneratorState deleted"

    def _member(self, body: dict[str, Any], name: str) -> Any:
        """A member as echo's JSON binder reads it: names match case-insensitively, the last
        matching member wins; absent is the empty string."""
        found: Any = ""
        for member, value in body.items():
            if self.points.compare("body-member", name, member.casefold()):
                found = value
        return found

    # -- bookkeeping ------------------------------------------------------------------------------

    def _delete_states(
        self, labels: dict[str, str], namespaces: set[str], owner_point: str | None = None
    ) -> None:
        def same(name: str, have: str, wanted: str) -> bool:
            if owner_point and name == LABEL_PREFIX + "owner":
                return self.points.compare(owner_point, have, wanted)
            return have == wanted

        with self.world.lock:
            for key, state in list(self.world.states.items()):
                have = state["metadata"]["labels"]
                if key[0] in namespaces and all(
                    same(k, have.get(k, ""), v) for k, v in labels.items()
                ):
                    del self.world.states[key]

    def _record(
        self,
        identity: Identity,
        workload: Workload | None,
        spec: Authorization,
        credential: dict[str, Any],
    ) -> None:
        """Upsert the AuthorizedIdentity `<method>-<sanitised subject>` (docs/protocol.md §4.5)."""
        if self.has("no-authorized-identity"):
            return
        sanitised = re.sub(r"[^a-z0-9-]", "-", identity.subject.lower()).strip("-")[:253]
        name = f"{identity.method}-{sanitised}"
        if workload is not None:
            pod = bool(workload.pod_name)
            credential["workloadBinding"] = {
                "kind": "Pod" if pod else "ServiceAccount",
                "name": workload.pod_name if pod else workload.sa_name,
                "uid": workload.pod_uid if pod else workload.sa_uid,
                "namespace": workload.namespace,
            }
        with self.world.lock:
            obj = self.world.identities.get(name)
            if obj is None:
                subject = (
                    {"spiffe": {"spiffeID": identity.subject}}
                    if identity.method == "spiffe"
                    else {"oidc": {"issuer": identity.provider, "subject": identity.subject}}
                )
                obj = {
                    "apiVersion": "federation.external-secrets.io/v1alpha1",
                    "kind": "AuthorizedIdentity",
                    "metadata": {"name": name},
                    "spec": {
                        "identitySpec": {
                            "federationRef": {
                                "kind": spec.federation_kind,
                                "name": spec.federation_name,
                            },
                            "subject": subject,
                        },
                        "issuedCredentials": [],
                    },
                }
                self.world.identities[name] = obj
            entries = obj["spec"]["issuedCredentials"]
            entries[:] = [
                e
                for e in entries
                if {**e, "lastIssuedAt": None} != {**credential, "lastIssuedAt": None}
            ]
            entries.append({**credential, "lastIssuedAt": _now()})


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
