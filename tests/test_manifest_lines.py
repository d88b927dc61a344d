"""Manifest errors name the line of the field (or, for a missing field, of the nearest field
that holds it), as well as the file and the document."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from mockserver.manifests import ManifestError, build_model, parse_documents

TEXT = textwrap.dedent(
    """\
    # a comment
    apiVersion: identity.federation.external-secrets.io/v1alpha1
    kind: KubernetesFederation
    metadata: {name: alpha}
    spec:
      url: https://127.0.0.1:1
    ---
    apiVersion: federation.external-secrets.io/v1alpha1
    kind: Authorization
    metadata:
      name: web
    spec:
      federationRef: {kind: KubernetesFederation, name: alpha}
      subject:
        oidc:
          issuer: https://kubernetes.default.svc.cluster.local
          subject: system:serviceaccount:a:b
      allowedClusterSecretStores: [app-store, 7]
      allowedGenerators: []
      allowedGeneratorStates: []
    """
)


def errors_of(text: str) -> list[str]:
    with pytest.raises(ManifestError) as info:
        build_model(parse_documents(text, "m.yaml"))
    return [str(e) for e in info.value.errors]


def test_a_wrong_list_item_names_its_line():
    assert errors_of(TEXT) == [
        'm.yaml: document 2 (Authorization "web"), line 18: '
        "spec.allowedClusterSecretStores[1]: expected a string, got the number 7"
    ]


def test_a_missing_field_names_the_line_of_what_holds_it():
    text = TEXT.replace("[app-store, 7]", "[app-store]").replace(
        "      subject: system:serviceaccount:a:b\n", ""
    )
    assert errors_of(text) == [
        'm.yaml: document 2 (Authorization "web"), line 15: spec.subject.oidc.subject: '
        "expected a string (required)"
    ]


def test_esi_mock_serve_shows_the_line(tmp_path):
    (tmp_path / "m.yaml").write_text(TEXT)
    done = subprocess.run(
        [sys.executable, "-m", "mockserver.cli", "serve", "--fixtures", str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert f'{tmp_path / "m.yaml"}: document 2 (Authorization "web"), line 18: ' in done.stderr
