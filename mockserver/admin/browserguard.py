"""Who may talk to the admin listener: the checks that keep a web page out of it.

The admin API listens on loopback, but a browser on the same machine can still be made to send
to it: any site can POST to `http://127.0.0.1:<port>/faults`, and a DNS name rebound to
127.0.0.1 can read the answers. So every request must name the listener itself in `Host`, a
request carrying `Origin` (only browsers send it) must come from the console's own origin, and
such a request may change state only with the per-run token the console page embeds. Requests
without `Origin` (the CLI, the pytest plugin, hooks) are not browsers and need no token.
"""

from __future__ import annotations

import hmac
import secrets
from dataclasses import dataclass, field

TOKEN_HEADER = "X-ESI-Console-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
LOOPBACK_NAMES = ("127.0.0.1", "localhost", "[::1]")


def new_console_token() -> str:
    """A fresh per-run token (never written to disk: only the console page carries it)."""
    return secrets.token_urlsafe(32)


@dataclass(frozen=True)
class BrowserGuard:
    """The Host, Origin and token rules of one admin listener; `refusal` says why not."""

    token: str = field(default_factory=new_console_token, repr=False)

    def allowed_hosts(self, server_name: str, port: str) -> set[str]:
        """`Host` values naming this listener: the loopback names and its own address (without
        the port too on port 80, as browsers leave the default port out)."""
        own = f"[{server_name}]" if ":" in server_name else server_name
        names = (*LOOPBACK_NAMES, own)
        hosts = {f"{name}:{port}".lower() for name in names}
        if port == "80":
            hosts |= {name.lower() for name in names}
        return hosts

    def refusal(
        self,
        *,
        method: str,
        host: str | None,
        origin: str | None,
        token: str | None,
        server_name: str,
        port: str,
    ) -> str | None:
        """None when the request may proceed, else the message of its 403."""
        address = f"[{server_name}]" if ":" in server_name else server_name
        own_url = f"http://{address}:{port}"
        if not host:
            return f"the admin API needs a Host header naming it ({own_url})"
        if host.lower() not in self.allowed_hosts(server_name, port):
            return (
                f"the admin API refuses Host {host!r}: it answers only to its own address "
                f"(127.0.0.1, localhost or [::1] with port {port}); open {own_url}"
            )
        if origin is None:
            return None
        if origin.lower() != f"http://{host.lower()}":
            return (
                f"the admin API refuses a browser request from Origin {origin!r}: only the "
                f"console's own page ({own_url}/) may call it"
            )
        if method.upper() in SAFE_METHODS:
            return None
        if token is None or not hmac.compare_digest(token.encode(), self.token.encode()):
            return (
                f"a browser request that changes state needs the console's token in the "
                f"{TOKEN_HEADER} header; reload the console at {own_url}/"
            )
        return None
