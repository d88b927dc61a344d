"""Where the shipped fixtures and scenarios are, installed from a wheel or in a checkout."""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent


def default_fixtures_dir() -> Path:
    """``mockserver/_data/fixtures`` in a wheel, else the repository's ``fixtures/``."""
    shipped = _PACKAGE / "_data" / "fixtures"
    if shipped.is_dir():
        return shipped
    return _PACKAGE.parent / "fixtures"


def default_scenarios_dir() -> Path:
    """``conformance/_data/scenarios`` in a wheel, else the repository's ``scenarios/``.

    Found by path, next to this package, so that mockserver never imports conformance.
    """
    shipped = _PACKAGE.parent / "conformance" / "_data" / "scenarios"
    if shipped.is_dir():
        return shipped
    return _PACKAGE.parent / "scenarios"
