"""pytest plugin (entry point ``pytest11``): fixtures for tests that use the mock.

- ``federation_mock``: a running mock (default fixtures, or the folder named by the
  ``esi_mock_fixtures`` marker, relative to the test file, or ini option, relative to the
  rootdir), reset before each test; it is a
  `mockserver.admin.MockControl`: ``.url``, ``.journal(...)``, ``.add_fault(...)``,
  ``.apply_manifests(...)``, ``.shift_clock(...)``, ``.mint_token(...)``, ``.state()``, … One mock
  per fixture folder is started per session and shares nothing with other tests' changes.
  Failures inside the mock's threads while a test ran fail that test at teardown.
- ``sa_token``: ``sa_token("team-a/web", cluster="alpha", **options) -> str``.
- ``idp_token``: ``idp_token("okta", subject="0oa-esi-ci-client", **options) -> str`` (or
  ``"pingone"``, ``client_id=...``); options as ``MockControl.idp_token``.
- ``fake_cluster``: a standalone started `FakeCluster` ("test", service account
  ``default/default``) for testing a real Federation Server.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:  # imported lazily: every pytest run in this environment loads the plugin
    from mockserver.admin.control import MockControl
    from mockserver.cluster import FakeCluster

INI_FIXTURES = "esi_mock_fixtures"
MARKER = "esi_mock_fixtures"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addini(INI_FIXTURES, "manifest folder for the federation_mock fixture", default="")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", f"{MARKER}(path): start federation_mock with this manifest folder"
    )


class _Mocks:
    """The session's running mocks, one per fixture folder, started on first use."""

    def __init__(self, tmp_path_factory: pytest.TempPathFactory) -> None:
        self._tmp = tmp_path_factory
        self._servers: dict[str, Any] = {}

    def get(self, fixtures: str | None) -> Any:
        from mockserver.clock import Clock
        from mockserver.runtime import MockServer

        key = str(Path(fixtures).resolve()) if fixtures else ""
        server = self._servers.get(key)
        if server is None:
            server = MockServer(
                fixtures or None,
                state_dir=self._tmp.mktemp("esi-mock"),
                clock=Clock(),
                refresh_volumes=False,
                ephemeral=True,
            ).start()
            self._servers[key] = server
        return server

    def stop(self) -> None:
        for server in self._servers.values():
            server.stop()
        self._servers.clear()


@pytest.fixture(scope="session")
def _esi_mocks(tmp_path_factory: pytest.TempPathFactory) -> Iterator[_Mocks]:
    mocks = _Mocks(tmp_path_factory)
    yield mocks
    mocks.stop()


def fixtures_for(request: pytest.FixtureRequest) -> str | None:
    """The manifest folder of this test: the marker's path relative to the test file, the ini
    option's relative to the rootdir, never to the current directory."""
    marker = request.node.get_closest_marker(MARKER)
    if marker and marker.args:
        path = Path(str(marker.args[0]))
        return str(path if path.is_absolute() else request.path.parent / path)
    ini = str(request.config.getini(INI_FIXTURES) or "")
    if not ini:
        return None
    path = Path(ini)
    return str(path if path.is_absolute() else request.config.rootpath / path)


@pytest.fixture
def federation_mock(request: pytest.FixtureRequest, _esi_mocks: _Mocks) -> Iterator[MockControl]:
    """A running mock, reset to its fixtures; its failures surface in this test."""
    server = _esi_mocks.get(fixtures_for(request))
    server.reset()
    control: MockControl = server.admin
    yield control
    control.check_errors()


@pytest.fixture
def sa_token(federation_mock: MockControl) -> Callable[..., str]:
    """Mint tokens from the mock's fake clusters: ``sa_token("ns/name", cluster=None, ...)``."""

    def mint(sa: str = "team-a/web", cluster: str | None = None, **options: Any) -> str:
        name = cluster or federation_mock.cluster_names()[0]
        return federation_mock.mint_token(name, sa, **options)

    return mint


@pytest.fixture
def idp_token(federation_mock: MockControl) -> Callable[..., str]:
    """Mint tokens from the mock's fake Okta and PingOne: ``idp_token("okta", subject=...)``."""

    def mint(idp: str = "okta", **options: Any) -> str:
        return federation_mock.idp_token(idp, **options)

    return mint


@pytest.fixture
def fake_cluster() -> Iterator[FakeCluster]:
    """A standalone fake cluster serving discovery and JWKS over HTTPS on 127.0.0.1."""
    from mockserver.cluster import FakeCluster, ServiceAccount

    cluster = FakeCluster("test", service_accounts=[ServiceAccount("default", "default")])
    with cluster:
        yield cluster
