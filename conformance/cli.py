"""`esi-conformance`: write a vendor bundle, or run the server suite (pytest underneath)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

DEFAULT_REPORT_DIR = "reports/server"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="esi-conformance", description="Conformance suite for Federation Servers."
    )
    sub = parser.add_subparsers(dest="command", required=True)

    b = sub.add_parser("bundle", help="write what a server under test must load")
    b.add_argument("--out", required=True, help="folder to write the bundle into")
    b.add_argument(
        "--issuer-url",
        help="https://HOST[:PORT] where the fake clusters will be "
        "reached (default: 127.0.0.1 and free ports)",
    )
    b.add_argument("--bind", default="127.0.0.1", help="address the fake clusters listen on")
    b.add_argument(
        "--anonymous-discovery",
        action="store_true",
        help="let the clusters answer discovery without the caller's token",
    )
    b.add_argument("--fixtures", help="manifests folder (default: the shipped fixtures)")

    s = sub.add_parser("server", help="run the server suite (default: against the embedded mock)")
    s.add_argument("--target", help="URL of the server under test (http:// or https://)")
    s.add_argument("--target-ca", help="PEM CA that signed the target's TLS certificate")
    s.add_argument("--target-mtls", help="URL of the target's SPIFFE mTLS port")
    s.add_argument("--bundle", help="bundle folder the target loaded (needed with --target)")
    s.add_argument("--hooks", help="vendor state hooks file (docs/vendor-bundle.md)")
    s.add_argument("--profile", default="full", choices=("smoke", "core", "full"))
    s.add_argument("--level", choices=("must", "should"))
    s.add_argument("--requirement", action="append", help="only this requirement (repeatable)")
    s.add_argument("--expected-failures", help="YAML list of {id, reason}")
    s.add_argument("--report-dir", default=DEFAULT_REPORT_DIR)
    s.add_argument(
        "--list",
        action="store_true",
        help="print the requirements and scenarios a run would execute",
    )
    s.add_argument("pytest_args", nargs="*", help="extra pytest arguments after --, e.g. -k")
    sub.add_parser(
        "client",
        add_help=False,
        help="run the client suite on a client adapter (esi-conformance client --help)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["client"]:  # a click command of its own (conformance/client_runner/cli.py)
        from conformance.client_runner.cli import main as client_main

        return client_main(argv[1:])
    args = _parser().parse_args(argv)
    if args.command == "bundle":
        return _bundle(args)
    return _server(args)


def _bundle(args: argparse.Namespace) -> int:
    from conformance.bundle import BundleError, create_bundle

    try:
        bundle = create_bundle(
            args.out,
            issuer_url=args.issuer_url,
            bind=args.bind,
            anonymous_discovery=args.anonymous_discovery,
            fixtures=args.fixtures,
        )
    except BundleError as exc:
        print(f"esi-conformance bundle: {exc}", file=sys.stderr)
        return 2
    print(f"bundle written to {bundle.root.resolve()}")
    for name, p in bundle.placements.items():
        print(f"  {name:<8} {p.url}  (listens on {p.bind_host}:{p.bind_port})")
    print(
        f"load {bundle.root / 'manifests.yaml'} into the server under test; "
        f"see {bundle.root / 'README.md'}"
    )
    return 0


def _server(args: argparse.Namespace) -> int:
    if args.target and not args.bundle:
        print(
            "esi-conformance server: --target needs --bundle (write one with "
            "`esi-conformance bundle --out DIR`)",
            file=sys.stderr,
        )
        return 2
    if args.bundle:
        from conformance.bundle import Bundle, BundleError

        try:
            Bundle.load(args.bundle)
        except BundleError as exc:
            print(f"esi-conformance server: {exc}", file=sys.stderr)
            return 2
    if args.list:
        return _list(args)
    import pytest

    argv = [
        "-p",
        "conformance.runner.plugin",
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(Path.cwd()),
        "-o",
        "addopts=",
        "-o",
        "testpaths=",
        "--esi-target",
        args.target or "embedded",
        "--esi-profile",
        args.profile,
        "--esi-report-dir",
        args.report_dir,
    ]
    for flag, value in (
        ("--esi-bundle", args.bundle),
        ("--esi-hooks", args.hooks),
        ("--esi-target-ca", args.target_ca),
        ("--esi-target-mtls", args.target_mtls),
        ("--esi-level", args.level),
        ("--esi-expected-failures", args.expected_failures),
    ):
        if value:
            argv += [flag, value]
    for rid in args.requirement or ():
        argv += ["--esi-requirement", rid]
    # conformance is imported before pytest starts, so its assert rewriting would only warn.
    quiet = ["-W", "ignore::pytest.PytestAssertRewriteWarning"]
    return int(pytest.main([*quiet, *argv, *args.pytest_args]))


def _list(args: argparse.Namespace) -> int:
    from conformance.runner.suite import plan

    work = plan(args.profile, args.level, args.requirement)
    print(
        f"profile {args.profile}, level {args.level or 'all'}: {len(work.requirements)} "
        f"requirements, {len(work.scenarios)} scenarios"
    )
    by_req: dict[str, list[str]] = {}
    for scenario in work.scenarios:
        for rid in scenario.requirements:
            by_req.setdefault(rid, []).append(scenario.id)
    for req in work.requirements:
        ids = ", ".join(by_req.get(req.id, [])) or "(no scenario: SKIP)"
        print(f"{req.id:<16} {req.level:<8} {ids}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
