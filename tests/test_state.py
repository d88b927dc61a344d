"""The state folder: projected volumes refreshed like the kubelet does, swapped atomically."""

from __future__ import annotations

import os
import re
from pathlib import Path

import jwt
import pytest

from mockserver.runtime import REFRESH_FRACTION, VOLUME_TOKEN_SECONDS
from mockserver.state import write_projected_volume


def test_volume_layout_is_the_kubelets(tmp_path):
    folder = tmp_path / "sa"
    write_projected_volume(folder, {"token": b"t1", "namespace": b"ns"}, now=1_700_000_000)
    payload = os.readlink(folder / "..data")
    assert re.fullmatch(r"\.\.2023_11_14_22_13_20\.[0-9]+", payload)  # MkdirTemp's digits
    assert os.readlink(folder / "token") == "..data/token"
    assert (folder / "token").read_bytes() == b"t1"
    write_projected_volume(folder, {"token": b"t2", "namespace": b"ns"}, now=1_700_000_100)
    assert (folder / "token").read_bytes() == b"t2"
    assert not (folder / payload).exists()
    assert sorted(p.name for p in folder.iterdir()) == sorted(
        ["..data", os.readlink(folder / "..data"), "namespace", "token"]
    )


@pytest.fixture
def present_tokens(mock):
    """Start from tokens minted now and leave tokens minted now: a shifted clock must not leave
    future-dated tokens behind for the tests that read the session mock's volumes."""
    mock.clock.reset()
    mock.refresh_volumes(force=True)
    yield mock
    mock.clock.reset()
    mock.refresh_volumes(force=True)


def test_tokens_are_refreshed_after_80_percent_of_their_life(present_tokens):
    mock = present_tokens
    folder = Path(mock.connection()["clusters"]["alpha"]["serviceaccounts"]["team-a/web"])
    before = (folder / "token").read_text()
    assert mock.refresh_volumes() == 0
    mock.clock.shift(REFRESH_FRACTION * VOLUME_TOKEN_SECONDS - 60)
    assert mock.refresh_volumes() == 0
    mock.clock.shift(61)
    refreshed = mock.refresh_volumes()
    after = (folder / "token").read_text()
    assert refreshed == sum(len(c.service_accounts) for c in mock.clusters.values())
    assert after != before
    claims = jwt.decode(after, options={"verify_signature": False})
    # As the kubelet requests it: pod-bound, 3607 s, so kube-apiserver extends exp by a year.
    assert claims["kubernetes.io"]["warnafter"] - claims["iat"] == VOLUME_TOKEN_SECONDS == 3607
    assert claims["exp"] - claims["iat"] == 365 * 24 * 3600
    assert claims["kubernetes.io"]["pod"]["name"] == "web-7d9f8b6c5-x2x4q"
    assert claims["sub"] == "system:serviceaccount:team-a:web"
