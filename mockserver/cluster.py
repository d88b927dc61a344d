"""One fake Kubernetes cluster: service accounts, pods, signing keys, minting, HTTPS discovery.

A Federation Server verifies workload tokens by fetching the issuing cluster's discovery document
and JWKS over HTTPS, with the caller's token as bearer and the caller's `ca.crt` as trust. This
module plays that cluster: it mints tokens as kube-apiserver does and serves the two discovery
endpoints with kube-apiserver's access rules (a default cluster lets any service account read
them and refuses anonymous callers).
"""

from __future__ import annotations

import hashlib
import json
import ssl
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import flask
import trustme
from werkzeug.wrappers import Response

from mockserver.clock import CLOCK, Clock
from mockserver.discovery import (
    CACHE_CONTROL,
    DISCOVERY_CONTENT_TYPE,
    DISCOVERY_PATH,
    JWKS_CONTENT_TYPE,
    JWKS_PATH,
    discovery_document,
    https_url_error,
    jwks_document,
)
from mockserver.keys import SigningKey, go_json, load_keys, save_keys
from mockserver.serving import Listener
from mockserver.tls import CertificateAuthority, server_context
from mockserver.tokens import (
    DEFAULT_DURATION,
    LEGACY_ISSUER,
    TokenRequestError,
    decode_unverified,
    mint_broken_token,
    mint_legacy_token,
    mint_token,
    validate_duration,
    verify_signature,
)

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"
LEEWAY = 60
"""go-jose's default leeway, which kube-apiserver applies to exp, nbf and iat."""

FaultHook = Callable[[str, flask.Request], Response | None]
"""Called per request with the endpoint ("discovery", "jwks" or "other"); a response it returns
is sent instead of the normal one. The admin layer installs these to break the cluster side."""


@dataclass(frozen=True)
class ServiceAccount:
    namespace: str
    name: str
    uid: str = ""


@dataclass(frozen=True)
class Pod:
    namespace: str
    name: str
    uid: str = ""
    service_account: str = "default"
    node: str | None = None


@dataclass(frozen=True)
class Node:
    name: str
    uid: str = ""


@dataclass(frozen=True)
class UserInfo:
    """What a TokenReview of a valid token reports (A.5), plus the verified claims."""

    username: str
    uid: str
    groups: tuple[str, ...]
    extra: dict[str, tuple[str, ...]]
    namespace: str
    service_account: str
    pod: Pod | None = None
    node: Node | None = None
    legacy: bool = False
    claims: dict[str, Any] = field(default_factory=dict)


class TokenReviewError(Exception):
    """The token is not valid for this cluster; the message is kube-apiserver's where it has one."""


def _split(ref: str, default_namespace: str | None = None) -> tuple[str, str]:
    if "/" in ref:
        namespace, _, name = ref.partition("/")
        return namespace, name
    if default_namespace is None:
        raise ValueError(f"expected 'namespace/name', got {ref!r}")
    return default_namespace, ref


def status_body(code: int, reason: str, message: str, *, details: bool = True) -> bytes:
    """A Kubernetes `Status` failure body as kube-apiserver writes it (compact, newline)."""
    body: dict[str, Any] = {
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
    }
    if details:
        body["details"] = {}
    body["code"] = code
    return go_json(body) + b"\n"


UNAUTHORIZED_BODY = status_body(401, "Unauthorized", "Unauthorized", details=False)
NOT_FOUND_BODY = status_body(404, "NotFound", "the server could not find the requested resource")


def forbidden_body(user: str, path: str) -> bytes:
    return status_body(403, "Forbidden", f'forbidden: User "{user}" cannot get path "{path}"')


_SECRET_SUFFIX_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"


class FakeCluster:
    """A fake cluster: state, keys and rotation, minting, and its HTTPS discovery endpoints."""

    def __init__(
        self,
        name: str,
        issuer: str = DEFAULT_ISSUER,
        api_audiences: Sequence[str] | None = None,
        ca: CertificateAuthority | None = None,
        extra_names: Iterable[str] = (),
        host: str = "127.0.0.1",
        port: int = 0,
        key_types: Sequence[str] = ("rsa",),
        service_accounts: Iterable[ServiceAccount] = (),
        pods: Iterable[Pod] = (),
        anonymous_discovery: bool = False,
        jwks_uri_host: str | None = None,
        clock: Clock = CLOCK,
        keys: Sequence[SigningKey] | None = None,
        signing_kid: str | None = None,
    ) -> None:
        self.name = name
        self.issuer = issuer
        self.api_audiences: list[str] = list(api_audiences) if api_audiences else [issuer]
        self._leaf: trustme.LeafCert | None = None
        self._ca = ca if ca is not None else CertificateAuthority.create(f"fake cluster {name}")
        self.extra_names = tuple(extra_names)
        self.host = host
        self.port = port
        self.anonymous_discovery = anonymous_discovery
        self.jwks_uri_host = jwks_uri_host
        self.clock = clock
        self.faults: FaultHook | None = None
        self._lock = threading.RLock()
        self._counts = {"discovery": 0, "jwks": 0}
        self._keys: list[SigningKey] = []
        self._signing_kid = ""
        self._set_keys(
            list(keys) if keys else [SigningKey.generate(t) for t in key_types], signing_kid
        )
        self._service_accounts: dict[tuple[str, str], ServiceAccount] = {}
        self._pods: dict[tuple[str, str], Pod] = {}
        self._nodes: dict[str, Node] = {}
        self._listener: Listener | None = None
        self._app: flask.Flask | None = None
        for sa in service_accounts:
            self.add_service_account(sa.namespace, sa.name, sa.uid or None)
        for pod in pods:
            self.add_pod(pod.namespace, pod.name, pod.service_account, pod.uid or None, pod.node)

    def __repr__(self) -> str:
        return f"FakeCluster({self.name!r}, issuer={self.issuer!r})"

    @property
    def ca(self) -> CertificateAuthority:
        return self._ca

    @ca.setter
    def ca(self, ca: CertificateAuthority) -> None:
        """Replace the CA (before `start()`); the serving certificate is reissued from it."""
        if self._listener is not None:
            raise RuntimeError(f"cluster {self.name} is serving; set its CA before start()")
        self._ca = ca
        self._leaf = None

    # -- objects -----------------------------------------------------------------------------

    def stable_uid(self, kind: str, namespace: str, name: str) -> str:
        """A uuid5 of cluster/kind/namespace/name, so UIDs survive restarts."""
        return str(
            uuid.uuid5(uuid.NAMESPACE_URL, f"esi-mock:{self.name}/{kind}/{namespace}/{name}")
        )

    def add_service_account(
        self, namespace: str, name: str, uid: str | None = None
    ) -> ServiceAccount:
        sa = ServiceAccount(namespace, name, uid or self.stable_uid("sa", namespace, name))
        with self._lock:
            self._service_accounts[(namespace, name)] = sa
        return sa

    def remove_service_account(self, namespace: str, name: str) -> None:
        with self._lock:
            self._service_accounts.pop((namespace, name), None)

    def add_pod(
        self,
        namespace: str,
        name: str,
        service_account: str = "default",
        uid: str | None = None,
        node: str | None = None,
    ) -> Pod:
        """Add a pod; its service account must exist in the same namespace."""
        with self._lock:
            if (namespace, service_account) not in self._service_accounts:
                raise ValueError(
                    f"pod {namespace}/{name}: service account {namespace}/{service_account} "
                    f"does not exist in cluster {self.name}"
                )
            pod = Pod(
                namespace,
                name,
                uid or self.stable_uid("pod", namespace, name),
                service_account,
                node,
            )
            self._pods[(namespace, name)] = pod
            if node is not None:
                self.add_node(node)
        return pod

    def remove_pod(self, namespace: str, name: str) -> None:
        with self._lock:
            self._pods.pop((namespace, name), None)

    def add_node(self, name: str, uid: str | None = None) -> Node:
        with self._lock:
            if name not in self._nodes or uid:
                self._nodes[name] = Node(name, uid or self.stable_uid("node", "", name))
            return self._nodes[name]

    def service_account(self, namespace: str, name: str) -> ServiceAccount | None:
        with self._lock:
            return self._service_accounts.get((namespace, name))

    def pod(self, namespace: str, name: str) -> Pod | None:
        with self._lock:
            return self._pods.get((namespace, name))

    def node(self, name: str) -> Node | None:
        with self._lock:
            return self._nodes.get(name)

    @property
    def service_accounts(self) -> list[ServiceAccount]:
        with self._lock:
            return list(self._service_accounts.values())

    @property
    def pods(self) -> list[Pod]:
        with self._lock:
            return list(self._pods.values())

    def find_pod_by_uid(self, uid: str) -> Pod | None:
        with self._lock:
            return next((p for p in self._pods.values() if p.uid == uid), None)

    def find_service_account_by_uid(self, uid: str) -> ServiceAccount | None:
        with self._lock:
            return next((s for s in self._service_accounts.values() if s.uid == uid), None)

    # -- keys and rotation -------------------------------------------------------------------

    def _set_keys(self, keys: list[SigningKey], signing_kid: str | None) -> None:
        if not keys:
            raise ValueError(f"cluster {self.name} needs at least one signing key")
        kid = signing_kid or keys[0].kid
        if kid not in {k.kid for k in keys}:
            raise ValueError(f"signing kid {kid} is not among the keys of cluster {self.name}")
        with self._lock:
            self._keys, self._signing_kid = keys, kid

    @property
    def keys(self) -> list[SigningKey]:
        """Every published key, in JWKS order."""
        with self._lock:
            return list(self._keys)

    @property
    def signing_key(self) -> SigningKey:
        with self._lock:
            return next(k for k in self._keys if k.kid == self._signing_kid)

    def key(self, kid: str) -> SigningKey:
        with self._lock:
            for key in self._keys:
                if key.kid == kid:
                    return key
        raise KeyError(f"cluster {self.name} publishes no key {kid}")

    def rotate_add_key(self, key_type: str = "rsa", key: SigningKey | None = None) -> SigningKey:
        """Step 1: publish a new key (appended to the JWKS) without signing with it yet."""
        key = key or SigningKey.generate(key_type)
        with self._lock:
            if all(k.kid != key.kid for k in self._keys):
                self._keys.append(key)
        return key

    def rotate_sign_with(self, kid: str) -> None:
        """Step 2: sign new tokens with a published key; old tokens still verify."""
        self.key(kid)
        with self._lock:
            self._signing_kid = kid

    def rotate_retire(self, kid: str) -> None:
        """Step 3: unpublish a key; tokens it signed stop verifying."""
        with self._lock:
            if kid == self._signing_kid:
                raise ValueError(f"cannot retire {kid}: cluster {self.name} still signs with it")
            self.key(kid)
            self._keys = [k for k in self._keys if k.kid != kid]

    # -- persistence -------------------------------------------------------------------------

    def save_secrets(self, directory: str | Path) -> None:
        """Write keys to `<directory>/keys/` and the CA to `<directory>/ca/`, files mode 0600."""
        folder = Path(directory)
        with self._lock:
            save_keys(folder / "keys", self._keys, self._signing_kid)
        self.ca.save(folder / "ca")

    def load_secrets(self, directory: str | Path) -> bool:
        """Reuse keys and CA saved by `save_secrets` (each only if present); before `start()`.

        Returns whether anything was loaded.
        """
        if self._listener is not None:
            raise RuntimeError(f"cluster {self.name} is serving; load secrets before start()")
        folder = Path(directory)
        loaded = False
        saved = load_keys(folder / "keys")
        if saved is not None:
            self._set_keys(*saved)
            loaded = True
        if CertificateAuthority.exists(folder / "ca"):
            self.ca = CertificateAuthority.load(folder / "ca")
            loaded = True
        return loaded

    # -- minting -----------------------------------------------------------------------------

    def _resolve(
        self, sa: str, pod: str | None, node: str | None
    ) -> tuple[ServiceAccount, Pod | None, Node | None]:
        namespace, name = _split(sa)
        account = self.service_account(namespace, name)
        if account is None:
            raise TokenRequestError(
                f'serviceaccounts "{name}" not found', code=404, reason="NotFound"
            )
        bound_pod = bound_node = None
        if pod is not None and node is not None:
            raise TokenRequestError(
                "a token binds to one object: give a pod or a node, not both",
                code=400,
                reason="BadRequest",
            )
        if pod is not None:
            pod_ns, pod_name = _split(pod, namespace)
            bound_pod = self.pod(pod_ns, pod_name)
            if bound_pod is None or pod_ns != namespace:
                raise TokenRequestError(f'pods "{pod_name}" not found', code=404, reason="NotFound")
            if bound_pod.service_account != name:
                raise TokenRequestError(
                    f'cannot bind token for serviceaccount "{name}" to pod running with '
                    "different serviceaccount name.",
                    code=400,
                    reason="BadRequest",
                )
            if bound_pod.node is not None:
                bound_node = self.node(bound_pod.node) or Node(bound_pod.node)
        elif node is not None:
            bound_node = self.add_node(node)
        return account, bound_pod, bound_node

    def legacy_secret_name(self, sa: ServiceAccount) -> str:
        """`<sa>-token-<5 chars>`, deterministic, in the alphabet Kubernetes uses for suffixes."""
        digest = hashlib.sha256(f"{self.name}/{sa.namespace}/{sa.name}".encode()).digest()
        suffix = "".join(
            _SECRET_SUFFIX_ALPHABET[b % len(_SECRET_SUFFIX_ALPHABET)] for b in digest[:5]
        )
        return f"{sa.name}-token-{suffix}"

    def mint(
        self,
        sa: str,
        audiences: Sequence[str] | None = None,
        duration: int = DEFAULT_DURATION,
        pod: str | None = None,
        legacy: bool = False,
        broken: str | None = None,
        node: str | None = None,
        now: float | None = None,
    ) -> str:
        """A token for service account "ns/name", as TokenRequest (or a legacy Secret) gives it.

        `pod` is "name" (in the SA's namespace) or "ns/name"; a pod on a node also carries the
        node. `broken` names one of `tokens.BROKEN_KINDS`. Refusals raise `TokenRequestError`.
        """
        account, bound_pod, bound_node = self._resolve(sa, pod, node)
        key = self.signing_key
        if legacy:
            return mint_legacy_token(
                key,
                namespace=account.namespace,
                sa_name=account.name,
                sa_uid=account.uid,
                secret_name=self.legacy_secret_name(account),
            )
        common: dict[str, Any] = {
            "issuer": self.issuer,
            "namespace": account.namespace,
            "sa_name": account.name,
            "sa_uid": account.uid,
            "audiences": audiences,
            "now": self.clock.time() if now is None else now,
            "pod": bound_pod,
            "node": bound_node,
            "api_audiences": self.api_audiences,
        }
        if broken is not None:
            validate_duration(duration)
            return mint_broken_token(broken, key, **common)
        return mint_token(key, duration=duration, **common)

    # -- verification (what kube-apiserver's authenticator does) -----------------------------

    def review_token(self, token: str, audiences: Sequence[str] | None = None) -> UserInfo:
        """Authenticate `token` as this cluster's apiserver would, against `audiences`
        (default: the API audiences); raise TokenReviewError with kube's message otherwise."""
        if token.startswith("{") or token.count(".") != 2:
            raise TokenReviewError("not a service account token")
        try:
            header, claims, signing_input, signature = decode_unverified(token)
        except ValueError as exc:
            raise TokenReviewError(f"token could not be parsed: {exc}") from None
        issuer = claims.get("iss")
        if issuer not in (self.issuer, LEGACY_ISSUER):
            raise TokenReviewError("token issued by another issuer")
        kid, alg = header.get("kid"), header.get("alg")
        if not isinstance(alg, str) or not isinstance(kid, str | type(None)):
            raise TokenReviewError("token could not be parsed")
        with self._lock:
            # No kid (or the empty kid of pre-1.17 legacy tokens): every key is tried.
            keys = [k for k in self._keys if kid in (None, "", k.kid)]
        if not keys:
            raise TokenReviewError("invalid signature, no keys found")
        if not any(verify_signature(k, alg, signing_input, signature) for k in keys):
            raise TokenReviewError("invalid signature")
        wanted = list(audiences) if audiences else self.api_audiences
        token_auds = claims.get("aud")
        token_auds = [token_auds] if isinstance(token_auds, str) else list(token_auds or [])
        if issuer == LEGACY_ISSUER:
            # A legacy token's implicit audiences are the apiserver's own.
            token_auds = self.api_audiences
        if not set(token_auds) & set(wanted):
            raise TokenReviewError(
                f"token audiences {_go_quote(token_auds)} is invalid for the target audiences "
                f"{_go_quote(wanted)}"
            )
        if issuer == LEGACY_ISSUER:
            return self._review_legacy(claims)
        self._check_times(claims)
        return self._review_bound(claims)

    def _check_times(self, claims: dict[str, Any]) -> None:
        now = self.clock.now()
        exp, nbf, iat = claims.get("exp"), claims.get("nbf"), claims.get("iat")
        if isinstance(exp, int | float) and now - LEEWAY > exp:
            raise TokenReviewError("service account token has expired")
        if isinstance(nbf, int | float) and now + LEEWAY < nbf:
            raise TokenReviewError("service account token is not valid yet")
        if isinstance(iat, int | float) and now + LEEWAY < iat:
            raise TokenReviewError("service account token is issued in the future")

    def _review_bound(self, claims: dict[str, Any]) -> UserInfo:
        private = claims.get("kubernetes.io") or {}
        namespace = private.get("namespace", "")
        sa_ref = private.get("serviceaccount") or {}
        account = self.service_account(namespace, sa_ref.get("name", ""))
        if account is None:
            raise TokenReviewError(f'serviceaccounts "{sa_ref.get("name", "")}" not found')
        if account.uid != sa_ref.get("uid"):
            raise TokenReviewError(
                f"service account UID ({account.uid}) does not match claim ({sa_ref.get('uid')})"
            )
        pod = node = None
        extra: dict[str, tuple[str, ...]] = {}
        if "pod" in private:
            pod = self.pod(namespace, private["pod"].get("name", ""))
            if pod is None:
                raise TokenReviewError("service account token has been invalidated")
            if pod.uid != private["pod"].get("uid"):
                raise TokenReviewError(
                    f"pod UID ({pod.uid}) does not match service account pod ref claim "
                    f"({private['pod'].get('uid')})"
                )
            extra["authentication.kubernetes.io/pod-name"] = (pod.name,)
            extra["authentication.kubernetes.io/pod-uid"] = (pod.uid,)
        if "node" in private:
            node = self.node(private["node"].get("name", ""))
            if node is None and pod is None:
                raise TokenReviewError("service account token has been invalidated")
            if node is not None:
                ref_uid = private["node"].get("uid")
                if pod is None and ref_uid != node.uid:
                    raise TokenReviewError(
                        f"node UID ({node.uid}) does not match service account node ref claim "
                        f"({ref_uid})"
                    )
                extra["authentication.kubernetes.io/node-name"] = (node.name,)
                if ref_uid:
                    extra["authentication.kubernetes.io/node-uid"] = (ref_uid,)
        if claims.get("jti"):
            extra["authentication.kubernetes.io/credential-id"] = (f"JTI={claims['jti']}",)
        return self._user(account, extra, claims, pod=pod, node=node)

    def _review_legacy(self, claims: dict[str, Any]) -> UserInfo:
        prefix = "kubernetes.io/serviceaccount/"
        if not claims.get("sub"):
            raise TokenReviewError("sub claim is missing")
        for claim in ("namespace", "secret.name", "service-account.name", "service-account.uid"):
            if not claims.get(prefix + claim):
                raise TokenReviewError(f"{prefix}{claim} claim is missing")
        namespace = claims[prefix + "namespace"]
        name = claims[prefix + "service-account.name"]
        if claims["sub"] != f"system:serviceaccount:{namespace}:{name}":
            raise TokenReviewError("sub claim is invalid")
        account = self.service_account(namespace, name)
        if account is None:
            raise TokenReviewError(f'serviceaccounts "{name}" not found')
        uid = claims[prefix + "service-account.uid"]
        if account.uid != uid:
            raise TokenReviewError(
                f"service account UID ({account.uid}) does not match claim ({uid})"
            )
        return self._user(account, {}, claims, legacy=True)

    @staticmethod
    def _user(
        account: ServiceAccount,
        extra: dict[str, tuple[str, ...]],
        claims: dict[str, Any],
        **kw: Any,
    ) -> UserInfo:
        return UserInfo(
            username=f"system:serviceaccount:{account.namespace}:{account.name}",
            uid=account.uid,
            groups=(
                "system:serviceaccounts",
                f"system:serviceaccounts:{account.namespace}",
                "system:authenticated",
            ),
            extra=extra,
            namespace=account.namespace,
            service_account=account.name,
            claims=claims,
            **kw,
        )

    def authenticate_bearer(self, token: str | None, path: str = JWKS_PATH) -> tuple[int, bytes]:
        """Access to a discovery path as a default cluster decides it: (200, b"") when allowed,
        else (401|403, Status body). Anonymous is 403 unless `anonymous_discovery`; a bad token
        is 401 and never falls back to anonymous."""
        if token:
            try:
                self.review_token(token)
            except TokenReviewError:
                return 401, UNAUTHORIZED_BODY
            return 200, b""
        if self.anonymous_discovery:
            return 200, b""
        return 403, forbidden_body("system:anonymous", path)

    # -- serving -----------------------------------------------------------------------------

    @property
    def listener(self) -> Listener | None:
        """The HTTPS listener while serving (faults install per-connection TLS hooks on it)."""
        return self._listener

    @property
    def listening(self) -> bool:
        return self._listener is not None

    @property
    def url(self) -> str:
        """`https://127.0.0.1:<port>`, once `start()` has bound the port."""
        if self._listener is None:
            raise RuntimeError(f"cluster {self.name} is not listening yet: call start() first")
        return self._listener.url

    @property
    def jwks_url(self) -> str:
        return self.url + JWKS_PATH

    @property
    def discovery_url(self) -> str:
        return self.url + DISCOVERY_PATH

    @property
    def jwks_uri(self) -> str:
        """The jwks_uri the discovery document names: this server, unless `jwks_uri_host` moves
        it to another host (with this server's port unless the host has one)."""
        if self.jwks_uri_host is None:
            return self.jwks_url
        host = self.jwks_uri_host
        if ":" not in host.rsplit("]", 1)[-1]:
            host = f"{host}:{self._listener.port if self._listener else 443}"
        return f"https://{host}{JWKS_PATH}"

    def discovery_bytes(self) -> bytes:
        return discovery_document(self.issuer, self.jwks_uri, self.keys)

    def jwks_bytes(self) -> bytes:
        return jwks_document(self.keys)

    def server_names(self) -> tuple[str, ...]:
        names = ["127.0.0.1", "localhost", *self.extra_names]
        if self.host not in names and self.host not in ("0.0.0.0", "::", ""):
            names.append(self.host)
        return tuple(dict.fromkeys(names))

    def server_cert(self) -> trustme.LeafCert:
        if self._leaf is None:
            self._leaf = self.ca.issue_server_cert(*self.server_names())
        return self._leaf

    def server_ssl_context(self) -> ssl.SSLContext:
        return server_context(self.server_cert())

    def client_context(self) -> ssl.SSLContext:
        """A client context that trusts only this cluster's CA."""
        return self.ca.client_context()

    @property
    def request_counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def reset_request_counts(self) -> None:
        with self._lock:
            self._counts = {"discovery": 0, "jwks": 0}

    def wsgi_app(self) -> flask.Flask:
        """The Flask app serving the discovery endpoints with kube-apiserver's access rules."""
        if self._app is None:
            self._app = self._build_app()
        return self._app

    def _build_app(self) -> flask.Flask:
        app = flask.Flask(f"fake-cluster-{self.name}")
        endpoints = {DISCOVERY_PATH: "discovery", JWKS_PATH: "jwks"}

        @app.route("/", defaults={"path": ""}, methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
        @app.route("/<path:path>", methods=["GET", "HEAD", "POST", "PUT", "DELETE"])
        def handle(path: str) -> Response:
            request = flask.request
            endpoint = endpoints.get(request.path)
            if endpoint is not None:
                with self._lock:
                    self._counts[endpoint] += 1
            hook = self.faults
            if hook is not None:
                answer = hook(endpoint or "other", request)
                if answer is not None:
                    return answer
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            bearer = token.strip() if scheme.lower() == "bearer" else None
            if endpoint is None or https_url_error(self.issuer) is not None:
                if bearer and self._status(bearer) != 200:
                    return _status_response(401, UNAUTHORIZED_BODY)
                return _status_response(404, NOT_FOUND_BODY)
            code, body = self.authenticate_bearer(bearer, request.path)
            if code != 200:
                return _status_response(code, body)
            if request.method not in ("GET", "HEAD"):
                return _status_response(
                    405,
                    status_body(
                        405,
                        "MethodNotAllowed",
                        "the server does not allow this method on the requested resource",
                    ),
                )
            if endpoint == "discovery":
                document, content_type = self.discovery_bytes(), DISCOVERY_CONTENT_TYPE
            else:
                document, content_type = self.jwks_bytes(), JWKS_CONTENT_TYPE
            response = Response(document, status=200, content_type=content_type)
            response.headers["Cache-Control"] = CACHE_CONTROL
            return response

        return app

    def _status(self, token: str) -> int:
        return self.authenticate_bearer(token)[0]

    def start(self) -> FakeCluster:
        """Serve the discovery endpoints over HTTPS (127.0.0.1, OS-chosen port by default)."""
        if self._listener is None:
            listener = Listener(
                self.wsgi_app(),
                host=self.host,
                port=self.port,
                ssl_context=self.server_ssl_context(),
                name=f"cluster-{self.name}",
            )
            self._listener = listener.start()
        return self

    def stop(self) -> None:
        if self._listener is not None:
            self._listener.stop()
            self._listener = None

    def __enter__(self) -> FakeCluster:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _status_response(code: int, body: bytes) -> Response:
    response = Response(body, status=code, content_type="application/json")
    response.headers["Cache-Control"] = "no-cache, private"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


def _go_quote(values: Sequence[str]) -> str:
    """Go's %q of a []string: ["a" "b"]."""
    return "[" + " ".join(json.dumps(v) for v in values) + "]"


__all__ = [
    "DEFAULT_ISSUER",
    "FakeCluster",
    "FaultHook",
    "Node",
    "Pod",
    "ServiceAccount",
    "TokenReviewError",
    "UserInfo",
]
