"""The bundle's fake identity providers: a fake Okta org and a fake PingOne, kept in the bundle.

`write_bundle_idps` fixes where each listens (free ports at bundle time on the bundle's bind
address, as for the clusters), generates their CAs and signing keys and keeps them under
`idps/<name>/` (private files mode 0600, `ca.crt` readable): every later run presents the same
issuers and keys. `BundleIdps` serves them again on those addresses for `esi-conformance server
--bundle`. The server under test reaches them by their public names (the OktaFederation's
domain, PingOne's `auth.pingone.<region>`): the vendor maps those names to this machine and
trusts the CA (the bundle README says how).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from conformance.bundleports import BundleError, check_port
from mockserver.bundlefolder import IDPS_FOLDER
from mockserver.clock import CLOCK, Clock
from mockserver.idp import IdentityProviders, default_providers

IDP_KIND = "FakeIdentityProvider"


def write_bundle_idps(
    root: Path, bind: str, ports: Mapping[str, int], clock: Clock = CLOCK
) -> dict[str, Any]:
    """Keep new fake IdPs under `root/idps` and return their `bundle.json` entries."""
    providers = IdentityProviders(default_providers(clock, host=bind, ports=ports))
    providers.keep(root / IDPS_FOLDER)
    out: dict[str, Any] = {}
    for name, provider in providers.items():
        out[name] = {
            "kind": provider.kind,
            "bind_host": bind,
            "bind_port": int(ports[name]),
            "hosts": list(provider.hosts),
            "ca_file": f"{IDPS_FOLDER}/{name}/ca.crt",
            "issuers": [s.issuer for s in provider.servers.values()],
        }
    return out


class BundleIdps:
    """The bundle's fake IdPs, started on the bundle's addresses with its keys and CAs."""

    def __init__(self, root: Path, entries: Mapping[str, Any], clock: Clock = CLOCK) -> None:
        self.root = root
        self.entries = dict(entries)
        self.clock = clock
        self.providers: IdentityProviders | None = None

    def start(self) -> IdentityProviders | None:
        """Serve them (None for a bundle written before it carried fake IdPs)."""
        if not self.entries:
            return None
        binds = {n: (str(e["bind_host"]), int(e["bind_port"])) for n, e in self.entries.items()}
        for name, (host, port) in binds.items():
            check_port(f"fake identity provider {name}", host, port)
        found = default_providers(
            self.clock,
            host=next(iter(binds.values()))[0],
            ports={n: p for n, (_, p) in binds.items()},
        )
        unknown = sorted(set(binds) - set(found))
        if unknown:
            raise BundleError(f"bundle.json names unknown identity providers: {', '.join(unknown)}")
        providers = IdentityProviders({n: found[n] for n in binds})
        for name in binds:
            if not (self.root / IDPS_FOLDER / name / "ca").is_dir():
                raise BundleError(
                    f"{self.root / IDPS_FOLDER / name}: the bundle's {name} keys are missing; "
                    "write the bundle again with `esi-conformance bundle --out DIR --force`"
                )
        self.providers = providers.start(self.root / IDPS_FOLDER)
        return self.providers

    def stop(self) -> None:
        if self.providers is not None:
            self.providers.stop()
            self.providers = None

    def routes(self) -> dict[str, str]:
        """Public host name → `address:port` where the fake answering it listens."""
        return {
            host: f"{_dial(str(e['bind_host']))}:{int(e['bind_port'])}"
            for e in self.entries.values()
            for host in e["hosts"]
        }


def _dial(host: str) -> str:
    return "127.0.0.1" if host in ("", "0.0.0.0", "::") else host
