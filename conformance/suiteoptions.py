"""The options both suites' commands share, declared once, so `esi-conformance server` and
`esi-conformance client` read the same words the same way (each with its own variable prefix)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import click

from conformance.clicommon import option
from conformance.requirements import PROFILES
from conformance.settings import LEVEL_CHOICES, LEVEL_HELP, PROFILE_HELP

F = TypeVar("F", bound=Callable[..., Any])
Env = Callable[[str], str]
"""Option name → its environment variable (ESI_CONFORMANCE_… or ESI_CONFORMANCE_CLIENT_…)."""


def _all(*decorators: Callable[[F], F]) -> Callable[[F], F]:
    def apply(function: F) -> F:
        for decorator in reversed(decorators):
            function = decorator(function)
        return function

    return apply


def selection_options(env: Env, *, ids: str, prefix: str) -> Callable[[F], F]:
    """--profile, --level and --requirement (into the parameter `ids`; `prefix`: SRV or CLI)."""
    return _all(
        option(
            "--profile",
            type=click.Choice(PROFILES),
            default="full",
            envvar=env("profile"),
            help=PROFILE_HELP,
        ),
        option("--level", type=click.Choice(LEVEL_CHOICES), envvar=env("level"), help=LEVEL_HELP),
        option(
            "--requirement",
            ids,
            multiple=True,
            metavar="ID",
            envvar=env("requirement"),
            help=f"Only this {prefix}-… requirement, any case (repeatable; space-separated in "
            "the variable).",
        ),
    )


def expected_failures_option(env: Env) -> Callable[[F], F]:
    return option(
        "--expected-failures",
        type=click.Path(path_type=Path),
        envvar=env("expected-failures"),
        help="YAML list of {id, reason}: FAIL becomes XFAIL, PASS becomes XPASS.",
    )


def report_dir_option(env: Env, *, default: Path, holds: str) -> Callable[[F], F]:
    return option(
        "--report-dir",
        type=click.Path(file_okay=False, path_type=Path),
        default=default,
        envvar=env("report-dir"),
        help=f"Where {holds} go.",
    )


def output_options(env: Env, *, list_help: str) -> Callable[[F], F]:
    """--list, --json and --quiet."""
    return _all(
        option("--list", "list_only", is_flag=True, help=list_help),
        option("--json", "as_json", is_flag=True, help="With --list: one JSON object."),
        option(
            "-q",
            "--quiet",
            is_flag=True,
            envvar=env("quiet"),
            help="Only FAIL, ERROR and XPASS lines, and the last line.",
        ),
    )
