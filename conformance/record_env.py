"""The program the harness hands a client to run: it records its argv and environment as JSON.

A client under test that delivers values "into the environment of a program" runs this; the
harness then reads what the program saw. It runs as a plain script (standard library only), so
it works under whatever environment the client gives it.

    record_env.py --record-to FILE [ARG ...]     (or FILE from $ESI_RECORD_ENV_FILE)

The record is `{"argv": [ARG, ...], "env": {NAME: VALUE}, "cwd": "..."}`, written atomically
with mode 0600 (it holds secrets).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

RECORD_ENV_VAR = "ESI_RECORD_ENV_FILE"
EXIT_USAGE = 2


def record(path: Path, argv: list[str]) -> None:
    """Write what this process sees, atomically, readable by its owner only."""
    document = {"argv": argv, "env": dict(os.environ), "cwd": os.getcwd()}
    data = json.dumps(document, sort_keys=True, indent=1).encode()
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == ["--record-to"] and len(args) >= 2:
        target, rest = args[1], args[2:]
    elif os.environ.get(RECORD_ENV_VAR):
        target, rest = os.environ[RECORD_ENV_VAR], args
    else:
        print(f"record_env: give --record-to FILE or set ${RECORD_ENV_VAR}", file=sys.stderr)
        return EXIT_USAGE
    record(Path(target), rest)
    return 0


@dataclass(frozen=True)
class Recorder:
    """An executable the harness substitutes for `{program}`, and the file it will write."""

    program: Path
    record_file: Path

    def read(self) -> dict[str, object] | None:
        """The record, or None when the program never ran."""
        try:
            return json.loads(self.record_file.read_text())
        except FileNotFoundError:
            return None


def make_recorder(folder: Path, python: str = sys.executable) -> Recorder:
    """Write `folder/record-env` (a Python script with this interpreter in its `#!` line, so no
    shell touches the environment) that records into `folder/record.json`."""
    folder.mkdir(parents=True, exist_ok=True)
    program = folder / "record-env"
    record_file = folder / "record.json"
    script = Path(__file__).resolve()
    program.write_text(
        f"#!{python} -I\n"
        "import runpy, sys\n"
        f"sys.argv[1:1] = ['--record-to', {str(record_file)!r}]\n"
        f"runpy.run_path({str(script)!r}, run_name='__main__')\n"
    )
    program.chmod(0o700)
    return Recorder(program, record_file)


if __name__ == "__main__":
    sys.exit(main())
