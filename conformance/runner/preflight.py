"""Checks run once before any scenario: a vendor target that is reachable and speaks HTTP(S)
with a trusted certificate, a bundle whose cluster ports are free, a hooks file that parses.

Each problem is a `PreflightError` whose message is one line naming the cause and the fix; the
command line prints it and exits 2 instead of letting every scenario fail the same way.
"""

from __future__ import annotations

import socket
import ssl
from pathlib import Path
from urllib.parse import urlsplit

from conformance.bundle import Bundle
from conformance.bundleports import BundleError, check_port
from conformance.runner.hooksfile import HooksFileError, load_hooks
from conformance.settings import ServerSettings, SettingsError

TIMEOUT = 5.0


class PreflightError(SettingsError):
    """The run cannot start; the message is one line with the cause and the fix."""


def preflight(settings: ServerSettings, timeout: float = TIMEOUT) -> None:
    """Raise PreflightError for the first problem; the embedded mock needs no checks."""
    if settings.target is None:
        return
    assert settings.bundle is not None
    try:
        bundle = Bundle.load(settings.bundle)
    except BundleError as exc:
        raise PreflightError(f"--bundle {settings.bundle}: {exc}") from None
    if settings.hooks is not None:
        try:
            load_hooks(settings.hooks)
        except HooksFileError as exc:
            raise PreflightError(f"--hooks: {exc}") from None
    for name, placement in bundle.placements.items():
        try:
            check_port(f"fake cluster {name}", placement.bind_host, placement.bind_port)
        except BundleError as exc:
            raise PreflightError(str(exc)) from None
    ca = _read_ca(settings.target_ca) if settings.target_ca else None
    probe_http(settings.target, ca, "--target", timeout)
    if settings.target_mtls is not None:
        probe_http(settings.target_mtls, ca, "--target-mtls", timeout, handshake_only=True)


def _read_ca(path: Path) -> bytes:
    data = path.read_bytes()
    try:
        ssl.create_default_context(cadata=data.decode("ascii"))
    except (ssl.SSLError, ValueError):
        raise PreflightError(
            f"--target-ca {path}: not a PEM CA certificate; pass the CA that signed the "
            "target's TLS certificate"
        ) from None
    return data


def probe_http(
    url: str,
    ca_pem: bytes | None,
    option: str = "--target",
    timeout: float = TIMEOUT,
    handshake_only: bool = False,
) -> None:
    """Connect, shake hands when https, send one GET and expect an HTTP status line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        raw = socket.create_connection((host, port), timeout=timeout)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise PreflightError(
            f"{option} {url}: cannot connect ({reason}); start the server or fix the address"
        ) from None
    try:
        sock: socket.socket = raw
        if parts.scheme == "https":
            sock = _tls(raw, url, host, ca_pem, option)
            if handshake_only:
                return
        sock.sendall(
            f"GET / HTTP/1.1\r\nHost: {parts.netloc}\r\nConnection: close\r\n\r\n".encode()
        )
        try:
            first = sock.recv(64)
        except (OSError, ssl.SSLError) as exc:
            reason = exc.strerror or str(exc)
            raise PreflightError(
                f"{option} {url}: no HTTP answer ({reason}); for a TLS port write https:// and "
                "pass --target-ca"
            ) from None
        if not first.startswith(b"HTTP/"):
            raise PreflightError(
                f"{option} {url}: the answer is not HTTP; for a TLS port write https:// and "
                "pass --target-ca"
            )
    finally:
        raw.close()


def _tls(
    raw: socket.socket, url: str, host: str, ca_pem: bytes | None, option: str
) -> ssl.SSLSocket:
    ctx = ssl.create_default_context()
    if ca_pem is not None:
        ctx = ssl.create_default_context(cadata=ca_pem.decode("ascii", "replace"))
    try:
        return ctx.wrap_socket(raw, server_hostname=host)
    except ssl.SSLCertVerificationError as exc:
        fix = (
            "pass --target-ca with the PEM CA that signed the target's certificate"
            if ca_pem is None
            else "--target-ca is not the CA that signed the target's certificate"
        )
        raise PreflightError(
            f"{option} {url}: the TLS certificate is not trusted ({exc.verify_message}); {fix}"
        ) from None
    except (ssl.SSLError, OSError) as exc:
        reason = getattr(exc, "reason", None) or exc.strerror or str(exc)
        raise PreflightError(
            f"{option} {url}: TLS handshake failed ({reason}); a plain HTTP port takes http://"
        ) from None
