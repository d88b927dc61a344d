"""The bundle's one error type and its port check, shared by the bundle's clusters and its
fake identity providers."""

from __future__ import annotations

import socket


class BundleError(RuntimeError):
    """A bundle that cannot be written, read or served (with what to do about it)."""


def check_port(what: str, host: str, port: int) -> None:
    """`what`: the listener named in the error (`fake cluster alpha`). Fail with the bundle's advice before the server library gets to print its own."""
    probe = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET)
    probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        probe.bind((host, port))
    except OSError as exc:
        raise BundleError(port_problem(what, host, port, exc)) from None
    finally:
        probe.close()


def port_problem(what: str, host: str, port: int, exc: BaseException) -> str:
    reason = getattr(exc, "strerror", None) or "address in use"
    return (
        f"cannot listen on {host}:{port} for {what}: {reason}. "
        "The bundle fixed this address; stop whatever uses the port, or write a new bundle "
        "(`esi-conformance bundle --out DIR`) and load its manifests.yaml again."
    )
