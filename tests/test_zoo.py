"""Self-test of the conformance suite against the zoo, an independent Federation Server.

The defect-free zoo must pass every server MUST and MUST-SEC requirement (with state hooks and
its mTLS port, so nothing is SKIP), and each defect must make each requirement it names FAIL.
One bundle and one set of fake clusters serve the whole module; each zoo runs in this process.

Key caches: a zoo forwards the caller's token upstream only when its key cache misses, and a
fake cluster refuses to serve discovery to a broken token. So each defect run first warms the
cache with `auth-valid-token`, as an earlier scenario of a full run would; without that, a
verification defect is judged by the fake cluster's token review instead of the zoo's code.
"""

from __future__ import annotations

import base64
import json
import os
import select
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from conformance.bundle import Bundle, BundleClusters, create_bundle
from conformance.requirements import select as select_requirements
from conformance.runner.api import run_server_suite
from conformance.runner.wire import send
from tests.zoo import DEFECTS, ZooServer

ROOT = Path(__file__).resolve().parent.parent
WEB = ("team-a/web", "web-7d9f8b6c5-x2x4q")
IDP_NEEDS = {"okta", "pingone"}
MUST_IDS = [
    r.id
    for r in select_requirements(level="must", direction="server")
    if not IDP_NEEDS & set(r.needs)  # the zoo and the bundle carry no fake Okta/PingOne yet
]


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Bundle:
    return create_bundle(tmp_path_factory.mktemp("zoo-bundle"))


@pytest.fixture(scope="module")
def clusters(bundle: Bundle) -> Iterator[BundleClusters]:
    started = BundleClusters(bundle).start()
    yield started
    started.stop()


def start_zoo(bundle: Bundle, defects: tuple[str, ...] = ()) -> ZooServer:
    return ZooServer(
        bundle.root / "manifests.yaml",
        defects=defects,
        spiffe_bundle=bundle.root / "spiffe" / "bundle.pem",
    ).start()


def run_suite(
    zoo: ZooServer,
    bundle: Bundle,
    clusters: BundleClusters,
    tmp: Path,
    requirement_ids: list[str] | None = None,
    scenario_ids: list[str] | None = None,
) -> dict[str, Any]:
    """The suite against `zoo` as a vendor target (hooks file, mTLS port); ID → result."""
    ca = tmp / "zoo-ca.pem"
    ca.write_bytes(zoo.server_ca_pem)
    run = run_server_suite(
        zoo.url,
        bundle=bundle.root,
        hooks=zoo.hooks_file(tmp / "hooks.yaml"),
        clusters=clusters,
        target_ca=ca,
        target_mtls=zoo.mtls_url,
        level="must",
        requirement_ids=requirement_ids,
        scenario_ids=scenario_ids,
    )
    return {r.requirement.id: r for r in run.requirements}


def why(result: Any) -> str:
    return "; ".join(f"{s.scenario_id}: {s.status} {s.message}" for s in result.scenarios)


# -- the zoo itself ---------------------------------------------------------------------------


class Caller:
    """Requests to a zoo as the fake clusters' identities."""

    def __init__(self, zoo: ZooServer, clusters: BundleClusters) -> None:
        self.zoo, self.clusters = zoo, clusters

    def body(self, cluster: str = "alpha", **extra: Any) -> bytes:
        ca = base64.b64encode(self.clusters.clusters[cluster].ca.cert_pem).decode()
        return json.dumps({"ca.crt": ca, **extra}).encode()

    def __call__(
        self,
        method: str,
        path: str,
        who: tuple[str, str | None] | None = WEB,
        body: bytes | None = None,
        **headers: str,
    ) -> Any:
        if who is not None:
            token = self.clusters.clusters["alpha"].mint(who[0], pod=who[1])
            headers["Authorization"] = f"Bearer {token}"
            headers.setdefault("Content-Type", "application/json")
        payload = self.body() if body is None and who is not None else body or b""
        return send(self.zoo.url, method, path, headers, payload)


@pytest.fixture(scope="module")
def baseline(bundle: Bundle, clusters: BundleClusters) -> Iterator[ZooServer]:
    zoo = start_zoo(bundle)
    yield zoo
    zoo.stop()


def test_zoo_answers_like_the_protocol(baseline: ZooServer, clusters: BundleClusters) -> None:
    call = Caller(baseline, clusters)
    answer = call("POST", "/secretstore/app-store/secrets/html")
    assert (answer.status, answer.headers["Content-Type"]) == (200, "application/json")
    assert answer.body == (
        b'"\\u003cb\\u003efish \\u0026 chips\\u003c/b\\u003e '
        b'\\u003cscript\\u003ealert(\\"x\\")\\u003c/script\\u003e"\n'
    )
    assert call("POST", "/secretstore/app-store/secrets/db/password").body == (
        b'"c0rrect/h0rse:battery@staple"\n'
    )
    encoded = call("POST", "/secretstore/app-store/secrets/db%2Fpassword")
    assert (encoded.status, encoded.body) == (400, b'"Secret does not exist"\n')
    denied = call("POST", "/secretstore/staging/secrets/db-url")
    assert (denied.status, denied.body) == (404, b'"Not Found"\n')
    unknown = call("POST", "//generators/team-a/UUID/uuid")
    assert (unknown.status, json.loads(unknown.body)) == (404, {"message": "Not Found"})
    options = call("OPTIONS", "/generators/team-a/UUID/uuid")
    assert (options.status, options.headers["Allow"]) == (204, "OPTIONS, DELETE, POST")
    anonymous = call("GET", "/healthz", who=None)
    assert anonymous.status == 401 and isinstance(json.loads(anonymous.body), str)


def test_zoo_bookkeeping_and_revocation(baseline: ZooServer, clusters: BundleClusters) -> None:
    call = Caller(baseline, clusters)
    generated = call("POST", "/generators/team-a/UUID/uuid")
    assert generated.status == 200 and set(json.loads(generated.body)) == {"uuid"}
    owner = "federation.externalsecrets.com/owner"
    mine = [
        s for s in baseline.list_state("GeneratorState") if s["metadata"]["labels"][owner] == WEB[1]
    ]
    assert (
        mine
        and "federation.externalsecrets.com/owner-attributes"
        in (mine[0]["metadata"]["annotations"])
    )
    names = {i["metadata"]["name"] for i in baseline.list_state("AuthorizedIdentity")}
    assert "oidc-system-serviceaccount-team-a-web" in names
    admin = ("ops/admin", None)
    other_ns = call(
        "POST", "/generators/team-a/revoke", admin, call.body(owner=WEB[1], namespace="team-b")
    )
    assert other_ns.status == 400
    revoked = call(
        "POST", "/generators/team-a/revoke", admin, call.body(owner=WEB[1], namespace="")
    )
    assert revoked.body == b'"GeneratorState deleted"\n'
    assert not [
        s for s in baseline.list_state("GeneratorState") if s["metadata"]["labels"][owner] == WEB[1]
    ]
    assert call("DELETE", "/generators/team-a/UUID/uuid").body == b"null\n"


def test_forged_workload_token_is_refused(baseline: ZooServer, clusters: BundleClusters) -> None:
    alpha = clusters.clusters["alpha"]
    call = Caller(baseline, clusters)
    forged = alpha.mint(WEB[0], pod=WEB[1], broken="alg-none")
    answer = call(
        "POST",
        "/generators/team-a/Password/password-default",
        ("team-a/worker", "worker-0"),
        **{"x-workload-token": forged},
    )
    assert answer.status == 400
    assert json.loads(answer.body).startswith("invalid x-workload-token:")
    genuine = alpha.mint(WEB[0], pod=WEB[1])
    answer = call(
        "POST",
        "/generators/team-a/Password/password-default",
        ("team-a/worker", "worker-0"),
        **{"x-workload-token": genuine},
    )
    assert answer.status == 200


def test_zoo_is_independent_of_the_mock_and_the_suite() -> None:
    check = (
        "import sys, tests.zoo.server; "
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in ('mockserver', 'conformance')); "
        "print(bad); sys.exit(1 if bad else 0)"
    )
    done = subprocess.run(
        [sys.executable, "-c", check],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


# -- the suite judges the zoo ----------------------------------------------------------------


def test_every_must_requirement_is_caught_by_some_defect() -> None:
    """Each server MUST / MUST-SEC requirement is shown to catch at least one broken server."""
    covered = {rid for defect in DEFECTS.values() for rid in defect.requirements}
    assert sorted(set(MUST_IDS) - covered) == []
    assert sorted(covered - set(MUST_IDS)) == []


def test_defect_free_zoo_passes_every_must(
    bundle: Bundle, clusters: BundleClusters, tmp_path: Path
) -> None:
    zoo = start_zoo(bundle)
    try:
        results = run_suite(zoo, bundle, clusters, tmp_path)
    finally:
        zoo.stop()
    idp = {rid: r for rid, r in results.items() if rid not in MUST_IDS}
    assert sorted(set(results) - set(idp)) == sorted(MUST_IDS)
    assert idp and {r.status for r in idp.values()} == {"SKIP"}  # no fake Okta/PingOne reached
    results = {rid: r for rid, r in results.items() if rid in MUST_IDS}
    bad = {rid: f"{r.status}: {why(r)}" for rid, r in results.items() if r.status != "PASS"}
    assert bad == {}


@pytest.mark.parametrize("name", sorted(DEFECTS))
def test_defect_makes_its_requirements_fail(
    name: str, bundle: Bundle, clusters: BundleClusters, tmp_path: Path
) -> None:
    zoo = start_zoo(bundle, (name,))
    try:
        run_suite(zoo, bundle, clusters, tmp_path, ["SRV-AUTH-001"], ["auth-valid-token"])
        results = run_suite(zoo, bundle, clusters, tmp_path, list(DEFECTS[name].requirements))
    finally:
        zoo.stop()
    not_failed = {
        rid: f"{results[rid].status}: {why(results[rid])}"
        for rid in DEFECTS[name].requirements
        if results[rid].status != "FAIL"
    }
    assert not_failed == {}


# -- the command-line path -------------------------------------------------------------------


def _wait_for(path: Path, process: subprocess.Popen[str], timeout: float = 20.0) -> str:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, f"{path} did not appear"
        select.select([], [], [], 0.05)
    return path.read_text("utf-8").strip()


def _serve_zoo(
    bundle_dir: Path, tmp: Path, defects: tuple[str, ...]
) -> tuple[subprocess.Popen[str], str]:
    """`python -m tests.zoo.server` on the bundle's manifests; (process, URL) once ready."""
    port_file = tmp / f"zoo-{'-'.join(defects) or 'baseline'}.url"
    argv = [
        sys.executable,
        "-m",
        "tests.zoo.server",
        "--manifests",
        str(bundle_dir / "manifests.yaml"),
        "--port-file",
        str(port_file),
    ]
    for name in defects:
        argv += ["--defect", name]
    process = subprocess.Popen(
        argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    return process, _wait_for(port_file, process)


def _conformance(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "conformance.cli", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def test_cli_bundle_then_server_judges_the_zoo(tmp_path: Path) -> None:
    """`esi-conformance bundle`, the zoo loads manifests.yaml, `esi-conformance server`: exit 0
    for the defect-free zoo; non-zero and the violated requirement in results.json otherwise."""
    bundle_dir = tmp_path / "bundle"
    made = _conformance("bundle", "--out", str(bundle_dir))
    assert made.returncode == 0, made.stderr
    for defects, expected_exit in (((), 0), (("kidless-drop",), 1)):
        zoo, url = _serve_zoo(bundle_dir, tmp_path, defects)
        try:
            reports = tmp_path / f"reports-{len(defects)}"
            done = _conformance(
                "server",
                "--target",
                url,
                "--bundle",
                str(bundle_dir),
                "--level",
                "must",
                "--report-dir",
                str(reports),
            )
        finally:
            zoo.terminate()
            zoo.communicate(timeout=10)
        assert (done.returncode != 0) == bool(expected_exit), done.stdout[-2000:] + done.stderr
        results = json.loads((reports / "results.json").read_text("utf-8"))
        failed = {r["id"] for r in results["requirements"] if r["status"] == "FAIL"}
        assert failed == set(DEFECTS[defects[0]].requirements if defects else ())
