"""What Go's `http.Client` does under both ESE clients: `Accept-Encoding: gzip` and
transparent gunzip, the proxy from the environment (`HTTP_PROXY`, `HTTPS_PROXY`, `NO_PROXY`;
never for localhost or loopback addresses), redirects as `Client.Do` follows them (301/302/303
become GET without a body; 307/308 repeat the method and body when the body can be re-read;
`Authorization` dropped when the host changes; at most 10), and Go's error texts
(`Post "URL": dial tcp HOST:PORT: connect: connection refused`, `tls: failed to verify
certificate: x509: ...`)."""

from __future__ import annotations

import gzip
import http.client
import ipaddress
import os
import socket
import ssl
import zlib
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin

from .gocompat import GoURL, GoURLError, parse_url

MAX_REDIRECTS = 10
REDIRECTS = (301, 302, 303, 307, 308)


class TransportError(Exception):
    """A failed round trip; `str()` is Go's `*url.Error` text."""


@dataclass(frozen=True)
class Exchange:
    """One request as sent and the answer; kept so users and adapters can see the wire."""

    method: str
    url: str
    target: str
    headers: tuple[tuple[str, str], ...]
    body: bytes | None
    chunked: bool
    status: int | None = None
    response: bytes = b""


def status_text(code: int) -> str:
    """Go's `Response.Status` against a Go server: the code and Go's reason phrase."""
    try:
        return f"{code} {HTTPStatus(code).phrase}"
    except ValueError:
        return str(code)


def _host_port(parsed: GoURL) -> tuple[str, int]:
    host, _, port_text = parsed.host.rpartition(":")
    if not host or not port_text.isdigit() or (host.startswith("[") and not host.endswith("]")):
        host, port_text = parsed.host, ""
    port = int(port_text) if port_text else (443 if parsed.scheme == "https" else 80)
    return host.strip("[]"), port


def _env(name: str) -> str:
    return os.environ.get(name) or os.environ.get(name.lower()) or ""


def proxy_for(parsed: GoURL) -> str | None:
    """`httpproxy.FromEnvironment().ProxyFunc()`: the proxy URL for this request, if any."""
    host, port = _host_port(parsed)
    if host == "localhost":
        return None
    try:
        if ipaddress.ip_address(host).is_loopback:
            return None
    except ValueError:
        pass
    proxy = _env("HTTPS_PROXY") if parsed.scheme == "https" else _env("HTTP_PROXY")
    if not proxy:
        return None
    for entry in (e.strip().lower() for e in _env("NO_PROXY").split(",")):
        if not entry:
            continue
        if entry == "*":
            return None
        name, _, entry_port = entry.partition(":")
        if entry_port and entry_port != str(port):
            continue
        if host.lower() == name.lstrip(".") or host.lower().endswith("." + name.lstrip(".")):
            return None
    return proxy if "://" in proxy else "http://" + proxy


def describe(exc: BaseException, host: str, port: int) -> str:
    """Go's text for a transport failure."""
    if isinstance(exc, socket.timeout | TimeoutError):
        return "context deadline exceeded (Client.Timeout exceeded while awaiting headers)"
    if isinstance(exc, ConnectionRefusedError):
        return f"dial tcp {_addr(host, port)}: connect: connection refused"
    if isinstance(exc, socket.gaierror):
        return f"dial tcp: lookup {host}: no such host"
    if isinstance(exc, ssl.SSLCertVerificationError):
        return f"tls: failed to verify certificate: {_x509_text(exc, host)}"
    if isinstance(exc, ssl.SSLError):
        return f"remote error: tls: {exc.reason.lower().replace('_', ' ') if exc.reason else exc}"
    if isinstance(exc, http.client.RemoteDisconnected | ConnectionResetError):
        return "EOF"
    if isinstance(exc, zlib.error | gzip.BadGzipFile | EOFError):
        return "gzip: invalid header" if isinstance(exc, gzip.BadGzipFile) else "unexpected EOF"
    return str(exc) or type(exc).__name__


def _addr(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _x509_text(exc: ssl.SSLCertVerificationError, host: str) -> str:
    message = (exc.verify_message or "").lower()
    if "expired" in message or "not yet valid" in message:
        return "x509: certificate has expired or is not yet valid"
    if "hostname mismatch" in message or "ip address mismatch" in message:
        try:
            ipaddress.ip_address(host)
            return f"x509: certificate is not valid for {host}"
        except ValueError:
            return f"x509: certificate is not valid for any names, but wanted to match {host}"
    return "x509: certificate signed by unknown authority"


def _connection(
    parsed: GoURL, timeout: float | None, context: ssl.SSLContext | None, use_proxy: bool
) -> tuple[http.client.HTTPConnection, bool]:
    host, port = _host_port(parsed)
    proxy = proxy_for(parsed) if use_proxy else None
    if proxy is not None:
        proxy_url = parse_url(proxy)
        proxy_host, proxy_port = _host_port(proxy_url)
        if parsed.scheme == "https":
            tls = http.client.HTTPSConnection(
                proxy_host,
                proxy_port,
                timeout=timeout,
                context=context or ssl.create_default_context(),
            )
            tls.set_tunnel(host, port)
            return tls, False
        return http.client.HTTPConnection(proxy_host, proxy_port, timeout=timeout), True
    if parsed.scheme == "https":
        return (
            http.client.HTTPSConnection(
                host, port, timeout=timeout, context=context or ssl.create_default_context()
            ),
            False,
        )
    return http.client.HTTPConnection(host, port, timeout=timeout), False


def round_trip(
    method: str,
    url: str,
    parsed: GoURL,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    chunked: bool,
    timeout: float | None,
    context: ssl.SSLContext | None,
    log: list[Exchange],
    limit: int | None,
    use_proxy: bool = True,
    op: str = "",
) -> tuple[int, bytes, str | None]:
    """One request on the wire; returns status, decoded body and the Location header. `op` is
    the first request's method as Go's `*url.Error` names it."""
    op = op or method.capitalize()
    host, port = _host_port(parsed)
    conn, absolute = _connection(parsed, timeout, context, use_proxy)
    target = url.split("#", 1)[0] if absolute else parsed.request_uri
    exchange = Exchange(method, url, parsed.request_uri, tuple(headers), body, chunked)
    try:
        conn.putrequest(method, target, skip_host=True, skip_accept_encoding=True)
        conn.putheader("Host", parsed.host)
        for name, value in headers:
            conn.putheader(name, value)
        conn.putheader("Accept-Encoding", "gzip")
        if body is not None and chunked:
            conn.putheader("Transfer-Encoding", "chunked")
            conn.endheaders()
            conn.send(f"{len(body):x}\r\n".encode() + body + b"\r\n0\r\n\r\n")
        else:
            if body is not None:
                conn.putheader("Content-Length", str(len(body)))
            conn.endheaders(body)
        response = conn.getresponse()
        raw = response.read()
        location = response.getheader("Location")
        data = raw
        if (response.getheader("Content-Encoding") or "").lower() == "gzip" and raw:
            data = gzip.decompress(raw)
        if limit is not None and len(data) > limit:
            log.append(exchange)
            raise TransportError(f'{op} "{url}": response body larger than {limit} bytes')
    except (OSError, http.client.HTTPException, zlib.error, EOFError) as exc:
        log.append(exchange)
        raise TransportError(f'{op} "{url}": {describe(exc, host, port)}') from exc
    finally:
        conn.close()
    log.append(
        Exchange(
            method, url, parsed.request_uri, tuple(headers), body, chunked, response.status, data
        )
    )
    return response.status, data, location


def send(
    method: str,
    url: str,
    headers: list[tuple[str, str]],
    body: bytes | None,
    *,
    chunked: bool,
    timeout: float | None,
    context: ssl.SSLContext | None,
    log: list[Exchange],
    limit: int | None = None,
    rewindable: bool = True,
    use_proxy: bool = True,
) -> tuple[int, bytes]:
    """`Client.Do`: the request, then the redirects Go follows. `rewindable` says whether
    the body can be sent again (`Request.GetBody` set), which 307/308 need."""
    first_method = method.capitalize()
    current_url, current_method, current_body = url, method, body
    current_headers = list(headers)
    original_host = parse_url(url).host
    for hop in range(MAX_REDIRECTS + 1):
        try:
            parsed = parse_url(current_url)
        except GoURLError as exc:
            raise TransportError(f'{first_method} "{current_url}": {exc}') from exc
        status, data, location = round_trip(
            current_method,
            current_url,
            parsed,
            current_headers,
            current_body,
            chunked=chunked and current_body is not None,
            timeout=timeout,
            context=context,
            log=log,
            limit=limit,
            use_proxy=use_proxy,
            op=first_method,
        )
        if status not in REDIRECTS or not location:
            return status, data
        if status in (307, 308) and current_body and not rewindable:
            return status, data
        if hop == MAX_REDIRECTS:
            raise TransportError(f'{first_method} "{current_url}": stopped after 10 redirects')
        current_url = urljoin(current_url, location)
        if status in (301, 302, 303):
            if current_method not in ("GET", "HEAD"):
                current_method = "GET"
            current_body = None
            current_headers = [(n, v) for n, v in current_headers if n.lower() != "content-length"]
        new_host = parse_url(current_url).host
        if not _same_or_subdomain(original_host, new_host):
            current_headers = [(n, v) for n, v in current_headers if n.lower() != "authorization"]
    raise TransportError(f'{first_method} "{current_url}": stopped after 10 redirects')


def _same_or_subdomain(initial: str, dest: str) -> bool:
    """`shouldCopyHeaderOnRedirect`: sensitive headers survive a redirect to the same host or a
    subdomain of it (ports ignored)."""
    a = initial.rsplit(":", 1)[0] if initial.count(":") == 1 else initial
    b = dest.rsplit(":", 1)[0] if dest.count(":") == 1 else dest
    return a == b or b.endswith("." + a)
