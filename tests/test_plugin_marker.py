"""The `esi_mock_fixtures` marker names a folder relative to the test file, not to the current
directory, so a suite runs the same from any folder."""

from __future__ import annotations

import shutil

from mockserver.paths import default_fixtures_dir

pytest_plugins = ["pytester"]


def test_marker_path_is_relative_to_the_test_file(pytester):
    sub = pytester.mkdir("suite")
    shutil.copytree(default_fixtures_dir(), sub / "manifests")
    (sub / "test_inner.py").write_text(
        "import pytest\n"
        "from pathlib import Path\n\n"
        "@pytest.mark.esi_mock_fixtures('manifests')\n"
        "def test_uses_the_folder_next_to_this_file(federation_mock):\n"
        "    expected = (Path(__file__).parent / 'manifests').resolve()\n"
        "    assert federation_mock.connection()['fixtures'] == str(expected)\n"
    )
    result = pytester.runpytest_subprocess("-p", "no:randomly", "-p", "no:cacheprovider", "suite")
    result.assert_outcomes(passed=1)
