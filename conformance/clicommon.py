"""What the click commands of `esi-conformance` share: help on -h, defaults and variables shown,
and `invoke`, which turns usage errors into one line with exit 2 and a closed pipe into a quiet
end."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Sequence

import click

EXIT_USAGE = 2
CONTEXT = {"help_option_names": ["-h", "--help"], "show_default": True, "max_content_width": 100}
option = functools.partial(click.option, show_envvar=True)


def invoke(command: click.Command, argv: Sequence[str], prog_name: str) -> int:
    """Run a click command the project's way: a usage error is one line and exit 2, a closed
    pipe (`--list | head`) ends quietly."""
    try:
        result = command.main(args=list(argv), prog_name=prog_name, standalone_mode=False)
    except click.exceptions.NoArgsIsHelpError as exc:
        click.echo(exc.format_message())
        return EXIT_USAGE
    except click.UsageError as exc:
        name = exc.ctx.command_path if exc.ctx is not None else prog_name
        message = exc.format_message().rstrip(".")
        click.echo(f"{name}: {message}; see `{name} --help`", err=True)
        return EXIT_USAGE
    except click.ClickException as exc:
        click.echo(f"{prog_name}: {exc.format_message()}", err=True)
        return exc.exit_code
    except click.Abort:
        click.echo(f"{prog_name}: interrupted", err=True)
        return 130
    except BrokenPipeError:
        _silence_stdout()
        return 0
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _silence_stdout()
    return result if isinstance(result, int) else 0


def _silence_stdout() -> None:
    """The reader went away: point stdout at /dev/null so the final flush cannot fail."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
