"""The mTLS listener's handshake through pyOpenSSL, so a refused client gets Go's TLS alert.

Why not the stdlib `ssl` module: it has no verify callback, so the SPIFFE allow-list could only
run after a completed handshake, and the client then saw a silent close. The real server (Go
crypto/tls, `tlsconfig.MTLSServerConfig` plus `VerifyConnection`, see docs/protocol.md) fails
the handshake instead: a chain that does not verify against the trust bundle and a SPIFFE ID
outside the allow-list both get the alert `bad_certificate` (42); with TLS 1.3 the client reads
it after its own Finished. No certificate at all gets `certificate_required` (116) under TLS 1.3.

OpenSSL picks the alert from the verification error, so the verify callback (a raw cffi one:
pyOpenSSL's wrapper cannot set the error) refuses with `X509_V_ERR_CERT_REJECTED`, the error
OpenSSL maps to `bad_certificate`. After the handshake, `TLSConnection` gives the connection
loop the few socket methods it uses, with stdlib-like timeouts and errors.
"""

from __future__ import annotations

import logging
import select
import socket
import ssl
import time
from collections.abc import Callable
from typing import Any, Protocol

import trustme
from cryptography import x509
from cryptography.hazmat.bindings.openssl.binding import Binding
from cryptography.hazmat.primitives import serialization
from OpenSSL import SSL, crypto

log = logging.getLogger("mockserver.serving")

_binding = Binding()
_ffi: Any = _binding.ffi
_lib: Any = _binding.lib

# The error OpenSSL turns into the alert bad_certificate (ssl_x509err2alert).
_REJECTED = int(_lib.X509_V_ERR_CERT_REJECTED)
_VERIFY_MODE = SSL.VERIFY_PEER | SSL.VERIFY_FAIL_IF_NO_PEER_CERT
# The stdlib's default TLS 1.2 cipher string, so the suites offered stay as they were.
_CIPHERS = (
    b"@SECLEVEL=2:ECDH+AESGCM:ECDH+CHACHA20:ECDH+AES:DHE+AES:!aNULL:!eNULL:!aDSS:!SHA1:!AESCCM"
)


class PeerCertificate(Protocol):
    """What a peer check reads: the stdlib `SSLSocket.getpeercert` shape."""

    def getpeercert(self, binary_form: bool = ...) -> Any: ...


PeerDecision = Callable[[Any], bool]
"""Called during the handshake with an object whose `getpeercert(binary_form=True)` is the
client's leaf (DER); False refuses the handshake with `bad_certificate`."""


class _Leaf:
    """The client's leaf as a peer check sees it, before the handshake has finished."""

    def __init__(self, der: bytes) -> None:
        self._der = der

    def getpeercert(self, binary_form: bool = False) -> Any:
        return self._der if binary_form else {}


def _chain_pems(chain: trustme.LeafCert | tuple[bytes, bytes]) -> tuple[bytes, bytes]:
    if isinstance(chain, trustme.LeafCert):
        certs = b"".join(blob.bytes() for blob in chain.cert_chain_pems)
        return certs, chain.private_key_pem.bytes()
    return chain


class RefusingServer:
    """A TLS 1.2+ server context requiring a client certificate that chains to `trust_pem` and
    passes `decide`; every refusal fails the handshake with the alert Go sends."""

    def __init__(
        self,
        cert_chain: trustme.LeafCert | tuple[bytes, bytes],
        trust_pem: bytes,
        decide: PeerDecision,
    ) -> None:
        self.decide = decide
        cert_pem, key_pem = _chain_pems(cert_chain)
        certs = x509.load_pem_x509_certificates(cert_pem)
        key = serialization.load_pem_private_key(key_pem, password=None)
        ctx = SSL.Context(SSL.TLS_SERVER_METHOD)
        ctx.set_min_proto_version(SSL.TLS1_2_VERSION)
        ctx.set_options(SSL.OP_NO_COMPRESSION | SSL.OP_CIPHER_SERVER_PREFERENCE)
        ctx.set_options(SSL.OP_NO_RENEGOTIATION)
        # No resumption: a resumed session skips the client certificate, so the allow-list
        # would not be asked again for an ID removed since.
        ctx.set_options(SSL.OP_NO_TICKET)
        ctx.set_session_cache_mode(SSL.SESS_CACHE_OFF)
        ctx.set_cipher_list(_CIPHERS)
        ctx.use_certificate(certs[0])
        for extra in certs[1:]:
            ctx.add_extra_chain_cert(extra)
        ctx.use_privatekey(key)  # type: ignore[arg-type]
        ctx.check_privatekey()
        store = ctx.get_cert_store()
        assert store is not None
        for anchor in x509.load_pem_x509_certificates(trust_pem):
            store.add_cert(crypto.X509.from_cryptography(anchor))
        # Kept on self: the C side only holds a pointer to this callback.
        self._callback = _ffi.callback("int (*)(int, X509_STORE_CTX *)", self._verify)
        _lib.SSL_CTX_set_verify(ctx._context, _VERIFY_MODE, self._callback)
        self.context = ctx

    def _verify(self, ok: int, store_ctx: Any) -> int:
        """OpenSSL's verify callback: chain errors and an allow-list refusal both reject."""
        try:
            if not ok:
                error = _lib.X509_STORE_CTX_get_error(store_ctx)
                reason = _ffi.string(_lib.X509_verify_cert_error_string(error)).decode()
                log.debug("mTLS: refused a client certificate: %s", reason)
                return self._reject(store_ctx)
            if _lib.X509_STORE_CTX_get_error_depth(store_ctx) != 0:
                return 1
            if self.decide(_Leaf(self._leaf_der(store_ctx))):
                return 1
        except Exception as exc:  # a failing check refuses; it must not crash the handshake
            log.error("mTLS: the client certificate check failed: %s", exc, exc_info=True)
        return self._reject(store_ctx)

    @staticmethod
    def _reject(store_ctx: Any) -> int:
        _lib.X509_STORE_CTX_set_error(store_ctx, _REJECTED)
        return 0

    @staticmethod
    def _leaf_der(store_ctx: Any) -> bytes:
        pointer = _lib.X509_STORE_CTX_get_current_cert(store_ctx)
        if pointer == _ffi.NULL:
            raise ValueError("no current certificate")
        _lib.X509_up_ref(pointer)
        cert = crypto.X509._from_raw_x509_ptr(pointer)
        return cert.to_cryptography().public_bytes(serialization.Encoding.DER)

    def accept(self, raw: socket.socket, timeout: float) -> TLSConnection:
        """Run the server handshake on `raw` within `timeout` seconds. Raises `ssl.SSLError`
        (the alert, if any, is already sent) or `TimeoutError`; the caller closes `raw`."""
        raw.setblocking(False)
        conn = SSL.Connection(self.context, raw)
        conn.set_accept_state()
        deadline = time.monotonic() + timeout
        while True:
            try:
                conn.do_handshake()
                return TLSConnection(conn, raw)
            except SSL.WantReadError:
                _wait(raw, deadline, write=False)
            except SSL.WantWriteError:
                _wait(raw, deadline, write=True)
            except SSL.Error as exc:
                raise ssl.SSLError(1, _describe(exc)) from None


def _describe(exc: SSL.Error) -> str:
    if isinstance(exc, SSL.SysCallError):
        return "the client closed the connection"
    reasons = [str(part[2]) for part in exc.args[0] if len(part) > 2] if exc.args else []
    return "; ".join(r for r in reasons if r) or type(exc).__name__


def _wait(raw: socket.socket, deadline: float | None, write: bool) -> None:
    """Block until `raw` is readable (or writable); TimeoutError past `deadline`."""
    remaining = None if deadline is None else deadline - time.monotonic()
    if remaining is not None and remaining <= 0:
        raise TimeoutError("timed out")
    try:
        if write:
            _, ready, _ = select.select([], [raw], [], remaining)
        else:
            ready, _, _ = select.select([raw], [], [], remaining)
    except ValueError as exc:  # the socket was closed under us (listener stop)
        raise ConnectionAbortedError("connection closed") from exc
    if not ready:
        raise TimeoutError("timed out")


class TLSConnection:
    """A pyOpenSSL connection with the socket methods the connection loop uses (`recv`,
    `sendall`, `settimeout`, `shutdown`, `close`, `getpeercert`), raising as `ssl` does."""

    def __init__(self, conn: SSL.Connection, raw: socket.socket) -> None:
        self._conn = conn
        self._raw = raw
        self._timeout: float | None = None

    def settimeout(self, seconds: float | None) -> None:
        self._timeout = seconds

    def gettimeout(self) -> float | None:
        return self._timeout

    def fileno(self) -> int:
        return self._raw.fileno()

    def _deadline(self) -> float | None:
        return None if self._timeout is None else time.monotonic() + self._timeout

    def recv(self, size: int) -> bytes:
        """Up to `size` bytes; b"" at the end of the stream (close_notify or a plain close)."""
        deadline = self._deadline()
        while True:
            try:  # data already buffered or on the socket is read without a select
                return self._conn.recv(size)
            except SSL.WantReadError:
                _wait(self._raw, deadline, write=False)
            except SSL.WantWriteError:
                _wait(self._raw, deadline, write=True)
            except SSL.ZeroReturnError:
                return b""
            except SSL.SysCallError as exc:
                if exc.args and exc.args[0] == -1:  # the peer closed without close_notify
                    return b""
                raise ConnectionResetError(str(exc)) from None
            except SSL.Error as exc:
                raise ssl.SSLError(1, _describe(exc)) from None

    def sendall(self, data: bytes) -> None:
        view = memoryview(data)
        deadline = self._deadline()
        while view:
            try:
                sent = self._conn.send(view[:65536])
            except SSL.WantWriteError:
                _wait(self._raw, deadline, write=True)
                continue
            except SSL.WantReadError:
                _wait(self._raw, deadline, write=False)
                continue
            except SSL.SysCallError as exc:
                raise BrokenPipeError(str(exc)) from None
            except SSL.Error as exc:
                raise ssl.SSLError(1, _describe(exc)) from None
            view = view[sent:]

    def getpeercert(self, binary_form: bool = False) -> Any:
        """The client's leaf as DER with `binary_form` (as `ssl.SSLSocket` gives it)."""
        cert = self._conn.get_peer_certificate(as_cryptography=True)
        if cert is None:
            return None
        return cert.public_bytes(serialization.Encoding.DER) if binary_form else {}

    def version(self) -> str | None:
        return self._conn.get_protocol_version_name()

    def shutdown(self, how: int) -> None:
        """A TCP shutdown, as `ssl.SSLSocket.shutdown` is (no close_notify)."""
        self._raw.shutdown(how)

    def close(self) -> None:
        self._raw.close()
