"""The bundle's fake Okta and PingOne: kept in the bundle, served with the clusters, probed once,
and resolved by `esi-mock serve --bundle` itself."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from conformance.bundle import BundleClusters, create_bundle
from conformance.runner.api import ServerSession
from conformance.runner.idpprobe import reached_idps
from mockserver.bundlefolder import prepare_state
from mockserver.idp.group import RemoteProvider, read_remote_routes
from mockserver.idp.minting import TokenRequest
from tests.zoo.server import ZooServer


@pytest.fixture(scope="module")
def bundle(tmp_path_factory):
    return create_bundle(tmp_path_factory.mktemp("idp-bundle") / "b")


@pytest.fixture(scope="module")
def upstreams(bundle):
    with BundleClusters(bundle) as started:
        yield started


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_bundle_json_lists_each_fake_idp_with_its_names_port_ca_and_issuers(bundle):
    idps = bundle.info["idps"]
    assert sorted(idps) == ["okta", "pingone"]
    assert idps["okta"]["hosts"] == ["esi-mock.okta.com"]
    assert idps["pingone"]["hosts"] == ["auth.pingone.com", "auth.pingone.eu"]
    assert "https://esi-mock.okta.com/oauth2/default" in idps["okta"]["issuers"]
    assert {u["name"] for u in bundle.info["upstreams"] if u["kind"] == "FakeIdentityProvider"} == {
        "okta",
        "pingone",
    }
    for name, entry in idps.items():
        assert entry["ca_file"] == f"idps/{name}/ca.crt"
        assert entry["bind_host"] == "127.0.0.1" and entry["bind_port"] > 0
        assert mode(bundle.root / entry["ca_file"]) == 0o644
        folder = bundle.root / "idps" / name
        assert mode(folder / "ca" / "ca-key.pem") == 0o600
        signing = [p for p in folder.glob("*/*.pem") if p.parent.name != "ca"]
        assert signing and {mode(p) for p in signing} == {0o600}
    readme = (bundle.root / "README.md").read_text()
    assert "auth.pingone.com" in readme and "idps/pingone/ca.crt" in readme


def test_the_served_idps_sign_with_the_kept_keys_on_the_bundle_ports(bundle, upstreams):
    idps = upstreams.idps
    assert idps is not None
    assert idps["okta"].port == bundle.info["idps"]["okta"]["bind_port"]
    token = idps.mint("okta", TokenRequest(subject="0oa-esi-ci-client"))
    kid = json.loads(_segment(token.split(".")[0]))["kid"]
    assert (bundle.root / "idps" / "okta" / "default" / f"{kid}.pem").is_file()
    assert upstreams.idp_routes() == {
        "esi-mock.okta.com": f"127.0.0.1:{idps['okta'].port}",
        "auth.pingone.com": f"127.0.0.1:{idps['pingone'].port}",
        "auth.pingone.eu": f"127.0.0.1:{idps['pingone'].port}",
    }


def _segment(text: str) -> bytes:
    import base64

    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _zoo(bundle, routes: dict[str, str] | None) -> ZooServer:
    idps = bundle.info["idps"]
    return ZooServer(
        bundle.root / "manifests.yaml",
        state_hooks=False,
        idp_routes=routes,
        idp_cas=[(bundle.root / e["ca_file"]).read_bytes() for e in idps.values()],
    )


def test_the_probe_sees_whether_the_target_reaches_each_fake_idp(bundle, upstreams):
    docs = bundle.documents
    with _zoo(bundle, upstreams.idp_routes()) as mapped:
        assert reached_idps(upstreams.idps, mapped.url, None, docs) == {"okta", "pingone"}
    okta_only = {h: a for h, a in upstreams.idp_routes().items() if "okta" in h}
    with _zoo(bundle, okta_only) as partly:
        assert reached_idps(upstreams.idps, partly.url, None, docs) == {"okta"}
    with _zoo(bundle, None) as unmapped:
        assert reached_idps(upstreams.idps, unmapped.url, None, docs) == frozenset()
    assert reached_idps(None, "http://127.0.0.1:1", None, docs) == frozenset()


def test_without_the_name_mapping_the_idp_scenarios_skip_with_the_reason(bundle, upstreams):
    with _zoo(bundle, None) as unmapped:
        session = ServerSession(
            unmapped.url,
            bundle=bundle.root,
            clusters=upstreams,
            requirement_ids=["SRV-IDP-001", "SRV-IDP-004"],
        ).start()
        try:
            results = {s.id: session.run(s) for s in session.plan.scenarios}
        finally:
            session.stop()
    okta = results["idp-okta-bearer-prefix"]
    assert (okta.status, okta.message) == (
        "SKIP",
        "needs the bundle's fake Okta org reachable from the target (map esi-mock.okta.com to "
        "it and trust its CA; see the bundle README)",
    )
    ping = results["idp-ping-client-id-subject"]
    assert ping.status == "SKIP" and "auth.pingone.<region>" in ping.message


def test_serve_bundle_routes_the_idp_names_to_the_suite_s_listeners(bundle, tmp_path):
    prepare_state(bundle.root, tmp_path / "state")
    routes = read_remote_routes(tmp_path / "state" / "idps")
    okta = bundle.info["idps"]["okta"]
    route = routes["esi-mock.okta.com"]
    assert (route.host, route.port) == ("127.0.0.1", okta["bind_port"])
    assert route.ca_pem == (bundle.root / okta["ca_file"]).read_bytes()
    assert set(routes) == {"esi-mock.okta.com", "auth.pingone.com", "auth.pingone.eu"}
    # Another process's provider: nothing it answered is kept, a rotation shows at once.
    assert isinstance(route.provider, RemoteProvider)
    assert route.provider.state_version != route.provider.state_version
    assert (tmp_path / "state" / "idps" / "okta" / "ca.crt").read_bytes() == (
        bundle.root / okta["ca_file"]
    ).read_bytes()


def test_connection_json_names_the_bundle_s_addresses_for_its_idp_names(bundle, tmp_path):
    from mockserver.clock import Clock
    from mockserver.idp import IdentityProviders, default_providers

    prepare_state(bundle.root, tmp_path / "state")
    own = IdentityProviders(default_providers(Clock())).start(tmp_path / "state" / "idps")
    try:
        hosts = own.connection()["pingone"]["hosts"]
        port = bundle.info["idps"]["pingone"]["bind_port"]
        assert hosts == {
            "auth.pingone.com": f"127.0.0.1:{port}",
            "auth.pingone.eu": f"127.0.0.1:{port}",
        }
        assert own.route("auth.pingone.eu").port == port  # type: ignore[union-attr]
    finally:
        own.stop()
