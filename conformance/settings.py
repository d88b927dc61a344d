"""The one settings step: `ServerSettings` and `ClientSettings`, built once from the command
line, the environment or pytest options, checked, and handed to the runners as objects.

Every bad value becomes a `SettingsError` whose message is one line naming the cause and the fix,
so each front end (click, pytest, Python callers) reports it the same way.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from conformance.requirements import LEVELS, PROFILES, all_requirements
from conformance.results import ExpectedFailuresError, load_expected_failures

SERVER_REPORT_DIR = Path("reports/server")
CLIENT_REPORT_DIR = Path("reports/client")
LEVEL_CHOICES = ("must", "should", *LEVELS)
LEVEL_HELP = (
    "must: MUST and MUST-SEC; should: every level; or exactly one of MUST, MUST-SEC, SHOULD "
    "(default: every level)."
)
PROFILE_HELP = "smoke: one MUST per operation; core: every MUST and MUST-SEC; full: everything."


class SettingsError(ValueError):
    """A setting that cannot be used; the message is the one line the user sees."""


def requirement_ids(values: Iterable[str] | None, direction: str) -> tuple[str, ...] | None:
    """IDs in any case → registry IDs of `direction`; an unknown one names `--list` as the fix."""
    if not values:
        return None
    registry = all_requirements()
    prefix = "SRV-" if direction == "server" else "CLI-"
    out: list[str] = []
    for raw in values:
        rid = raw.strip().upper()
        if rid not in registry or not rid.startswith(prefix):
            suite = "server" if direction == "server" else "client"
            raise SettingsError(
                f"unknown {suite} requirement {raw!r} (IDs look like {prefix}AUTH-001); "
                f"`esi-conformance {suite} --list` shows them"
            )
        if rid not in out:
            out.append(rid)
    return tuple(out)


def check_choice(name: str, value: str | None, choices: Iterable[str]) -> None:
    options = tuple(choices)
    if value is not None and value not in options:
        raise SettingsError(f"{name} {value!r} is not one of {', '.join(options)}")


def load_expected(path: Path | None, direction: str) -> dict[str, str] | None:
    """The expected-failures file as {ID: reason}; every problem in one line."""
    if path is None:
        return None
    if not path.is_file():
        raise SettingsError(
            f"--expected-failures {path}: no such file (a YAML list of {{id, reason}})"
        )
    prefix = "SRV-" if direction == "server" else "CLI-"
    known = [rid for rid in all_requirements() if rid.startswith(prefix)]
    try:
        return load_expected_failures(path, known)
    except (ExpectedFailuresError, OSError, UnicodeDecodeError) as exc:
        first, *rest = str(exc).splitlines() or ["cannot read it"]
        more = f" (and {len(rest)} more)" if rest else ""
        raise SettingsError(f"--expected-failures {first}{more}") from None


def target_url(url: str, option: str = "--target") -> str:
    """A vendor target must be an http:// or https:// URL with a host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SettingsError(
            f"{option} {url}: not an http:// or https:// URL; write http://{url} for a plain "
            f"port or https://{url} with --target-ca for a TLS port"
        )
    return url.rstrip("/")


@dataclass(frozen=True)
class ServerSettings:
    """Everything one server-suite run needs. `target` None means the embedded mock."""

    target: str | None = None
    bundle: Path | None = None
    hooks: Path | None = None
    target_ca: Path | None = None
    target_mtls: str | None = None
    profile: str = "full"
    level: str | None = None
    requirement_ids: tuple[str, ...] | None = None
    scenario_ids: tuple[str, ...] | None = None
    expected_failures: Path | None = None
    report_dir: Path | None = SERVER_REPORT_DIR
    strict: bool = False
    quirks: tuple[str, ...] = ()
    expected: dict[str, str] | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        *,
        target: str | None = None,
        bundle: str | Path | None = None,
        hooks: str | Path | None = None,
        target_ca: str | Path | None = None,
        target_mtls: str | None = None,
        profile: str = "full",
        level: str | None = None,
        requirements: Iterable[str] | None = None,
        scenarios: Iterable[str] | None = None,
        expected_failures: str | Path | None = None,
        report_dir: str | Path | None = SERVER_REPORT_DIR,
        strict: bool = False,
        quirks: Iterable[str] = (),
    ) -> ServerSettings:
        """Check and normalise raw values (from click, pytest or the environment)."""
        check_choice("--profile", profile, PROFILES)
        check_choice("--level", level, LEVEL_CHOICES)
        if target in (None, "", "embedded"):
            target = None
        else:
            assert target is not None
            target = target_url(target)
            if bundle is None:
                raise SettingsError(
                    "--target needs --bundle (write one with `esi-conformance bundle --out DIR`)"
                )
            if strict or quirks:
                raise SettingsError("--strict and --quirk change the embedded mock; drop --target")
        if target is None and (bundle or hooks or target_ca or target_mtls):
            raise SettingsError(
                "--bundle, --hooks, --target-ca and --target-mtls describe a vendor server; "
                "add --target URL"
            )
        if target_ca is not None and not Path(target_ca).is_file():
            raise SettingsError(f"--target-ca {target_ca}: no such file (the PEM CA of the target)")
        if target_mtls is not None:
            target_mtls = target_url(target_mtls, "--target-mtls")
        path = Path(expected_failures) if expected_failures else None
        return cls(
            target=target,
            bundle=Path(bundle) if bundle else None,
            hooks=Path(hooks) if hooks else None,
            target_ca=Path(target_ca) if target_ca else None,
            target_mtls=target_mtls,
            profile=profile,
            level=level,
            requirement_ids=requirement_ids(requirements, "server"),
            scenario_ids=tuple(scenarios) if scenarios else None,
            expected_failures=path,
            report_dir=Path(report_dir) if report_dir else None,
            strict=strict,
            quirks=tuple(quirks),
            expected=load_expected(path, "server"),
        )


@dataclass(frozen=True)
class ClientSettings:
    """Everything one client-suite run needs; `adapter` is a file or a shipped adapter name."""

    adapter: str
    profile: str = "full"
    level: str | None = None
    requirement_ids: tuple[str, ...] | None = None
    scenario_ids: tuple[str, ...] | None = None
    expected_failures: Path | None = None
    report_dir: Path | None = CLIENT_REPORT_DIR
    expected: dict[str, str] | None = field(default=None, compare=False)

    @classmethod
    def build(
        cls,
        *,
        adapter: str,
        profile: str = "full",
        level: str | None = None,
        requirements: Iterable[str] | None = None,
        scenarios: Iterable[str] | None = None,
        expected_failures: str | Path | None = None,
        report_dir: str | Path | None = CLIENT_REPORT_DIR,
    ) -> ClientSettings:
        check_choice("--profile", profile, PROFILES)
        check_choice("--level", level, LEVEL_CHOICES)
        path = Path(expected_failures) if expected_failures else None
        return cls(
            adapter=adapter,
            profile=profile,
            level=level,
            requirement_ids=requirement_ids(requirements, "client"),
            scenario_ids=tuple(scenarios) if scenarios else None,
            expected_failures=path,
            report_dir=Path(report_dir) if report_dir else None,
            expected=load_expected(path, "client"),
        )
