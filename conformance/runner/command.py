"""`esi-conformance server` behind the command line: preflight, then the suite under pytest
with pytest's own output kept in a log file, then the shared console summary and the reports.

pytest internals never reach the user: an internal error prints one line and the log's path.
"""

from __future__ import annotations

import contextlib
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from conformance.console import ProgressPrinter, summary
from conformance.report import write_reports
from conformance.results import exit_status
from conformance.runner.plugin import ServerSuitePlugin
from conformance.runner.preflight import preflight
from conformance.settings import ServerSettings, SettingsError

EXIT_USAGE, EXIT_INTERNAL = 2, 3
LOG_NAME = "pytest.log"
PROG = "esi-conformance server"


def run_server_command(
    settings: ServerSettings,
    out: TextIO,
    err: TextIO,
    pytest_args: Sequence[str] = (),
    quiet: bool = False,
) -> int:
    """Run the suite as the command line does; returns the exit status."""
    try:
        preflight(settings)
    except SettingsError as exc:
        err.write(f"{PROG}: {exc}\n")
        return EXIT_USAGE
    suite = ServerSuitePlugin(settings)
    try:
        suite.session.start()
    except Exception as exc:  # the harness could not start its side: one line, no scenarios
        suite.session.stop()
        err.write(f"{PROG}: cannot start the run: {exc}\n")
        return EXIT_USAGE
    printer = ProgressPrinter(suite.session.plan, out, settings.expected, quiet=quiet)
    suite.progress = printer
    log = _log_path(settings)
    code = _pytest(suite, log, pytest_args)
    run = suite.run
    if run is None or code not in (0, 1, 5):
        suite.session.stop()
        what = "pytest rejected the extra arguments" if code == 4 else "internal error"
        err.write(f"{PROG}: {what} (pytest exit {code}); see {log}\n")
        return EXIT_USAGE if code == 4 else EXIT_INTERNAL
    printer.finish()
    report = None
    if settings.report_dir is not None:
        report = str(write_reports(run, settings.report_dir)["html"])
    out.write(summary(run, "server", report, quiet))
    return exit_status(run)


def _log_path(settings: ServerSettings) -> Path:
    if settings.report_dir is not None:
        settings.report_dir.mkdir(parents=True, exist_ok=True)
        return settings.report_dir / LOG_NAME
    return Path(tempfile.mkstemp(prefix="esi-conformance-", suffix=".log")[1])


def _pytest(suite: ServerSuitePlugin, log: Path, extra: Sequence[str]) -> int:
    import pytest

    argv = [
        "-p",
        "no:cacheprovider",
        "-p",
        "no:randomly",
        "-q",
        "-s",
        "--rootdir",
        str(Path.cwd()),
        "-o",
        "addopts=",
        "-o",
        "testpaths=",
        # conformance is imported before pytest starts, so its assert rewriting would only warn.
        "-W",
        "ignore::pytest.PytestAssertRewriteWarning",
        *extra,
    ]
    with (
        log.open("w", encoding="utf-8") as sink,
        contextlib.redirect_stdout(sink),
        contextlib.redirect_stderr(sink),
    ):
        try:
            return int(pytest.main(argv, plugins=[suite]))
        except Exception as exc:  # pytest's own crash goes to the log only
            print(f"pytest crashed: {exc!r}", file=sink)
            return EXIT_INTERNAL
        finally:
            sys.stdout.flush()
