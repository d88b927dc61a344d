"""`FakeCluster`: one fake Kubernetes cluster, composed of its parts.

Inventory (service accounts, pods, nodes, Secrets), key ring, minting, token review and the HTTPS
discovery app each live in their own module; this class wires them behind one interface and
keeps the state version that the Federation Server's key caches compare (docs/modes.md, Upstream caching).
"""

from __future__ import annotations

import ssl
import threading
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

import flask
import trustme
from werkzeug.wrappers import Response

from mockserver.clock import CLOCK, Clock
from mockserver.cluster.app import FaultHook, build_discovery_app
from mockserver.cluster.inventory import Inventory, Mutations
from mockserver.cluster.keyring import KeyRing
from mockserver.cluster.minting import legacy_secret_name, mint_for, resolve_binding
from mockserver.cluster.objects import (
    Node,
    Pod,
    ServiceAccount,
    TokenReviewError,
    UserInfo,
    split_ref,
)
from mockserver.cluster.review import review_token
from mockserver.cluster.status import UNAUTHORIZED_BODY, forbidden_body
from mockserver.discovery import (
    DISCOVERY_PATH,
    JWKS_PATH,
    discovery_document,
    https_url_error,
    jwks_document,
)
from mockserver.keys import SigningKey
from mockserver.serving import Listener
from mockserver.tls import CertificateAuthority, server_context
from mockserver.tokens import DEFAULT_DURATION

DEFAULT_ISSUER = "https://kubernetes.default.svc.cluster.local"


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
        public_issuer: bool = False,
    ) -> None:
        self.name = name
        self.mutations = Mutations()
        self._issuer = issuer
        self._api_audiences: list[str] = list(api_audiences) if api_audiences else [issuer]
        self._leaf: trustme.LeafCert | None = None
        self._ca = ca if ca is not None else CertificateAuthority.create(f"fake cluster {name}")
        self.extra_names = tuple(extra_names)
        self.host = host
        self.port = port
        self._anonymous_discovery = anonymous_discovery
        self._public_issuer = public_issuer
        self._jwks_uri_host = jwks_uri_host
        self.clock = clock
        self._faults: FaultHook | None = None
        self._watchers: tuple[FaultHook, ...] = ()
        self._lock = threading.Lock()
        self._counts = {"discovery": 0, "jwks": 0}
        self.inventory = Inventory(name, self.mutations)
        self.keyring = KeyRing(
            name,
            list(keys) if keys else [SigningKey.generate(t) for t in key_types],
            signing_kid,
            self.mutations,
        )
        self._listener: Listener | None = None
        self._app: flask.Flask | None = None
        for sa in service_accounts:
            self.add_service_account(sa.namespace, sa.name, sa.uid or None)
        for pod in pods:
            self.add_pod(pod.namespace, pod.name, pod.service_account, pod.uid or None, pod.node)

    def __repr__(self) -> str:
        return f"FakeCluster({self.name!r}, issuer={self.issuer!r})"

    # -- the state version ----------------------------------------------------------------------

    @property
    def state_version(self) -> tuple[int, int]:
        """Changes with every key, object, token, access-rule or fault change and every clock
        shift: equal versions mean a fetch now answers as the one made then (until `exp`)."""
        return (self.mutations.count, self.clock.generation)

    def touch(self) -> None:
        """Record a change made from outside (a fault installed or removed)."""
        self.mutations.bump()

    @property
    def issuer(self) -> str:
        return self._issuer

    @issuer.setter
    def issuer(self, issuer: str) -> None:
        self._issuer = issuer
        self.mutations.bump()

    @property
    def api_audiences(self) -> list[str]:
        return self._api_audiences

    @api_audiences.setter
    def api_audiences(self, audiences: Sequence[str]) -> None:
        self._api_audiences = list(audiences)
        self.mutations.bump()

    @property
    def anonymous_discovery(self) -> bool:
        return self._anonymous_discovery

    @anonymous_discovery.setter
    def anonymous_discovery(self, allowed: bool) -> None:
        self._anonymous_discovery = allowed
        self.mutations.bump()

    @property
    def public_issuer(self) -> bool:
        """Discovery and JWKS are public, as the OIDC issuers of EKS, GKE and AKS serve them:
        anyone may `get` them and any bearer is ignored, so a forwarded token is never judged
        here and the verifier's own key selection decides (docs: fixtures/README.md)."""
        return self._public_issuer

    @public_issuer.setter
    def public_issuer(self, public: bool) -> None:
        self._public_issuer = public
        self.mutations.bump()

    @property
    def jwks_uri_host(self) -> str | None:
        return self._jwks_uri_host

    @jwks_uri_host.setter
    def jwks_uri_host(self, host: str | None) -> None:
        self._jwks_uri_host = host
        self.mutations.bump()

    @property
    def faults(self) -> FaultHook | None:
        """The hook the discovery app asks first: watchers in the order added, then the
        mock's own fault hook; the first answer that is not None is served."""
        if not self._watchers:
            return self._faults
        hooks = [*self._watchers, *([self._faults] if self._faults else [])]

        def chain(endpoint: str, request: flask.Request) -> Response | None:
            for hook in hooks:
                answer = hook(endpoint, request)
                if answer is not None:
                    return answer
            return None

        return chain

    @faults.setter
    def faults(self, hook: FaultHook | None) -> None:
        self._faults = hook
        self.mutations.bump()

    def watch(self, hook: FaultHook) -> Callable[[], None]:
        """Add an observer of every request to this cluster (it may answer in the cluster's
        place); returns the function that removes it. A harness watches a cluster this way
        without replacing the mock's own fault hook."""
        with self._lock:
            self._watchers = (*self._watchers, hook)
        self.mutations.bump()

        def unwatch() -> None:
            with self._lock:
                self._watchers = tuple(h for h in self._watchers if h is not hook)
            self.mutations.bump()

        return unwatch

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
        self.mutations.bump()

    # -- objects (the inventory) ---------------------------------------------------------------

    def stable_uid(self, kind: str, namespace: str, name: str) -> str:
        """A uuid5 of cluster/kind/namespace/name, so UIDs survive restarts."""
        return self.inventory.stable_uid(kind, namespace, name)

    def add_service_account(
        self, namespace: str, name: str, uid: str | None = None
    ) -> ServiceAccount:
        return self.inventory.add_service_account(namespace, name, uid)

    def remove_service_account(self, namespace: str, name: str) -> None:
        self.inventory.remove_service_account(namespace, name)

    def add_pod(
        self,
        namespace: str,
        name: str,
        service_account: str = "default",
        uid: str | None = None,
        node: str | None = None,
    ) -> Pod:
        """Add a pod; its service account must exist in the same namespace."""
        return self.inventory.add_pod(namespace, name, service_account, uid, node)

    def remove_pod(self, namespace: str, name: str) -> None:
        self.inventory.remove_pod(namespace, name)

    def add_node(self, name: str, uid: str | None = None) -> Node:
        return self.inventory.add_node(name, uid)

    def remove_node(self, name: str) -> None:
        self.inventory.remove_node(name)

    def delete_legacy_secret(self, sa: str) -> str:
        """Delete the legacy token Secret of service account "ns/name", invalidating the
        tokens it held (a later legacy mint recreates it); returns the Secret's name."""
        namespace, name = split_ref(sa)
        secret = legacy_secret_name(self.name, ServiceAccount(namespace, name))
        self.inventory.delete_secret(namespace, secret)
        return secret

    def service_account(self, namespace: str, name: str) -> ServiceAccount | None:
        return self.inventory.service_account(namespace, name)

    def pod(self, namespace: str, name: str) -> Pod | None:
        return self.inventory.pod(namespace, name)

    def node(self, name: str) -> Node | None:
        return self.inventory.node(name)

    @property
    def service_accounts(self) -> list[ServiceAccount]:
        return self.inventory.service_accounts

    @property
    def pods(self) -> list[Pod]:
        return self.inventory.pods

    def find_pod_by_uid(self, uid: str) -> Pod | None:
        return self.inventory.find_pod_by_uid(uid)

    def find_service_account_by_uid(self, uid: str) -> ServiceAccount | None:
        return self.inventory.find_service_account_by_uid(uid)

    # -- keys and rotation (the key ring) ------------------------------------------------------

    @property
    def keys(self) -> list[SigningKey]:
        """Every published key, in JWKS order."""
        return self.keyring.keys

    @property
    def signing_key(self) -> SigningKey:
        return self.keyring.signing_key

    def key(self, kid: str) -> SigningKey:
        return self.keyring.key(kid)

    def rotate_add_key(self, key_type: str = "rsa", key: SigningKey | None = None) -> SigningKey:
        """Step 1: publish a new key (appended to the JWKS) without signing with it yet."""
        return self.keyring.add(key or SigningKey.generate(key_type))

    def rotate_sign_with(self, kid: str) -> None:
        """Step 2: sign new tokens with a published key; old tokens still verify."""
        self.keyring.sign_with(kid)

    def rotate_retire(self, kid: str) -> None:
        """Step 3: unpublish a key; tokens it signed stop verifying."""
        self.keyring.retire(kid)

    def _set_keys(self, keys: list[SigningKey], signing_kid: str | None) -> None:
        self.keyring.replace(keys, signing_kid)

    # -- persistence -----------------------------------------------------------------------------

    def save_secrets(self, directory: str | Path) -> None:
        """Write keys to `<directory>/keys/` and the CA to `<directory>/ca/`, files mode 0600."""
        folder = Path(directory)
        self.keyring.save(folder / "keys")
        self.ca.save(folder / "ca")

    def load_secrets(self, directory: str | Path) -> bool:
        """Reuse keys and CA saved by `save_secrets` (each only if present); before `start()`.

        Returns whether anything was loaded.
        """
        if self._listener is not None:
            raise RuntimeError(f"cluster {self.name} is serving; load secrets before start()")
        folder = Path(directory)
        loaded = self.keyring.load(folder / "keys")
        if CertificateAuthority.exists(folder / "ca"):
            self.ca = CertificateAuthority.load(folder / "ca")
            loaded = True
        return loaded

    # -- minting ---------------------------------------------------------------------------------

    def legacy_secret_name(self, sa: ServiceAccount) -> str:
        """`<sa>-token-<5 chars>`, deterministic, in the alphabet Kubernetes uses for suffixes."""
        return legacy_secret_name(self.name, sa)

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
        node. `broken` names one of `tokens.BROKEN_KINDS` or `minting.KEY_SELECTION_KINDS`.
        Refusals raise `TokenRequestError`.
        """
        account, bound_pod, bound_node = resolve_binding(self.inventory, sa, pod, node)
        secret = None
        if legacy:
            secret = self.legacy_secret_name(account)
            self.inventory.restore_secret(account.namespace, secret)
        return mint_for(
            self.signing_key,
            account,
            issuer=self.issuer,
            api_audiences=self.api_audiences,
            secret_name=secret,
            audiences=audiences,
            duration=duration,
            now=self.clock.time() if now is None else now,
            pod=bound_pod,
            node=bound_node,
            broken=broken,
            published=self.keyring.keys,
            retired=self.keyring.retired,
        )

    # -- verification (what kube-apiserver's authenticator does) ---------------------------------

    def review_token(self, token: str, audiences: Sequence[str] | None = None) -> UserInfo:
        """Authenticate `token` as this cluster's apiserver would, against `audiences`
        (default: the API audiences); raise TokenReviewError with kube's message otherwise."""
        return review_token(self, token, audiences)

    def honours(self, token: str) -> str | None:
        """None while the cluster still honours `token` as a credential (key published, bound
        objects present, in time), whatever its audience; else kube's reason it does not. A
        public issuer judges no token, so it honours every one."""
        if self.public_issuer:
            return None
        try:
            review_token(self, token, check_audience=False)
        except TokenReviewError as exc:
            return str(exc)
        return None

    def discovery_access(self, token: str | None) -> tuple[str | None, bool]:
        """(user, whether RBAC grants `get` on the discovery URLs); user None: a bad token. A
        public issuer ignores the bearer: everyone is an anonymous caller who may `get`."""
        if self.public_issuer:
            return "system:anonymous", True
        if not token:
            return "system:anonymous", self.anonymous_discovery
        try:
            user = self.review_token(token)
        except TokenReviewError:
            return None, False
        return user.username, True

    def authenticate_bearer(self, token: str | None, path: str = JWKS_PATH) -> tuple[int, bytes]:
        """Access to a discovery path as a default cluster decides it: (200, b"") when allowed,
        else (401|403, Status body). Anonymous is 403 unless `anonymous_discovery`; a bad token
        is 401 and never falls back to anonymous."""
        user, granted = self.discovery_access(token)
        if user is None:
            return 401, UNAUTHORIZED_BODY
        if not granted:
            return 403, forbidden_body(user, path)
        return 200, b""

    # -- serving ---------------------------------------------------------------------------------

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
        """The serving certificate's SANs: loopback, the extra names, the listening host and,
        as kube-apiserver's certificate has it, the issuer's host."""
        names = ["127.0.0.1", "localhost", *self.extra_names]
        if self.host not in names and self.host not in ("0.0.0.0", "::", ""):
            names.append(self.host)
        issuer_host = (
            urlsplit(self.issuer).hostname if https_url_error(self.issuer) is None else None
        )
        if issuer_host:
            names.append(issuer_host)
        return tuple(dict.fromkeys(names))

    def server_cert(self) -> trustme.LeafCert:
        """A certificate as kube-apiserver serves: its names, extended key usage serverAuth."""
        if self._leaf is None:
            self._leaf = self.ca.issue_apiserver_cert(*self.server_names())
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

    def count_request(self, endpoint: str) -> None:
        with self._lock:
            self._counts[endpoint] += 1

    def wsgi_app(self) -> flask.Flask:
        """The Flask app serving the discovery endpoints with kube-apiserver's access rules."""
        if self._app is None:
            self._app = build_discovery_app(self)
        return self._app

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
