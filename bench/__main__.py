"""Run every benchmark and print one line per figure with its goal."""

from __future__ import annotations

import argparse
import importlib
import sys

SUITES = {
    "serve": "bench.serve_bench",
    "tokens": "bench.token_bench",
    "requests": "bench.request_bench",
    "revocation": "bench.revocation_bench",
    "conformance": "bench.conformance_bench",
    "hostile": "bench.hostile_bench",
}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("suites", nargs="*", metavar="SUITE", help=f"any of {', '.join(SUITES)}")
    args = parser.parse_args(argv)
    unknown = [s for s in args.suites if s not in SUITES]
    if unknown:
        parser.error(f"unknown suite {unknown[0]!r}; choose from {', '.join(SUITES)}")
    for name in args.suites or list(SUITES):
        try:
            module = importlib.import_module(SUITES[name])
        except ModuleNotFoundError as exc:
            print(f"{name}: not available ({exc.name})")
            continue
        for line, ok in module.run():
            marker = "ok  " if ok else "MISS"
            print(f"[{marker}] {line}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
