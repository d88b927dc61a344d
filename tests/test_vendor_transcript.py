"""The "first contact" transcript of docs/vendor-bundle.md, replayed in a shell word for word.

Each `$ ` line runs in one bash session (in a fresh folder, with `esi-conformance` and `esi-mock`
on PATH as an installed project has them); its output must equal the lines below it, where
`<PORT>` is any port and `<DIR>` the folder. A later command may use a `<PORT>` an earlier one
printed: the first value printed for a placeholder line is reused in the same position.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC = ROOT / "docs" / "vendor-bundle.md"
SEPARATOR = "=== next command ==="


def transcript() -> list[tuple[str, list[str]]]:
    text = DOC.read_text(encoding="utf-8")
    block = text.split("<!-- first-contact -->", 1)[1].split("<!-- /first-contact -->", 1)[0]
    lines = block.strip().removeprefix("```console").removesuffix("```").strip().splitlines()
    steps: list[tuple[str, list[str]]] = []
    for line in lines:
        if line.startswith("$ "):
            steps.append((line[2:], []))
        else:
            steps[-1][1].append(line)
    return steps


def shims(folder: Path) -> dict[str, str]:
    folder.mkdir()
    for name, module in (("esi-conformance", "conformance.cli"), ("esi-mock", "mockserver.cli")):
        path = folder / name
        path.write_text(f'#!/bin/sh\nexec {sys.executable} -m {module} "$@"\n')
        path.chmod(0o755)
    return {
        **os.environ,
        "PATH": f"{folder}{os.pathsep}{os.environ['PATH']}",
        "PYTHONPATH": str(ROOT),
    }


def pattern(line: str, folder: Path) -> re.Pattern[str]:
    text = re.escape(line).replace(re.escape("<PORT>"), r"(\d+)")
    return re.compile(text.replace(re.escape("<DIR>"), re.escape(str(folder))) + r"\Z")


def test_first_contact_transcript_replays_word_for_word(tmp_path):
    steps = transcript()
    assert [c.split()[0] for c, _ in steps] == [
        "esi-conformance",
        "esi-conformance",
        "esi-conformance",
        "esi-mock",
        "esi-mock",
        "esi-conformance",
    ]
    env = shims(tmp_path / "bin")
    work = tmp_path / "work"
    work.mkdir()
    ports: dict[str, str] = {}  # "ready: http://127.0.0.1:" → the port it printed
    script = []
    for command, _ in steps:
        # A <PORT> in a command is the one an earlier output line printed after the same prefix.
        script.append(f"echo '{SEPARATOR}'")
        script.append(command.replace("<PORT>", "$READY_PORT") + " 2>&1")
        if command.startswith("esi-mock wait"):
            script[-1] = f'out=$({script[-1]}); echo "$out"; READY_PORT=${{out##*:}}'
    script.append("kill %1 2>/dev/null; wait")
    done = subprocess.run(
        ["bash", "-c", "\n".join(script)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    outputs = done.stdout.split(SEPARATOR + "\n")[1:]
    assert len(outputs) == len(steps), done.stdout + done.stderr
    for (command, expected), got in zip(steps, outputs, strict=True):
        got_lines = got.rstrip("\n").splitlines() if got.strip() else []
        assert len(got_lines) == len(expected), (command, got)
        for want, line in zip(expected, got_lines, strict=True):
            match = pattern(want, work).match(line)
            assert match, (command, want, line)
            if want.startswith("ready: "):
                ports["ready"] = match.group(1)
    assert "ready" in ports
    assert (work / "reports" / "server" / "results.json").exists()
