"""Vendor state hooks from a YAML file: each hook is a command or a URL (docs/vendor-bundle.md).

    apply:         {command: ["./hooks/apply.sh"]}      # manifests as YAML on stdin
    delete:        {command: "kubectl delete -f -"}     # same input; a shell string is allowed
    state:         {url: "http://127.0.0.1:9000/state"} # GET; JSON list (or {"items": [...]})
    backend_fault: {url: "http://127.0.0.1:9000/fault"} # POST JSON {store|generator, fault}
    reset:         {command: ["./hooks/reset.sh"]}      # after each scenario that used hooks
    timeout: 30                                         # seconds per hook (default 30)

A command gets its input on stdin and must exit 0; a URL gets a POST with the input as body
(`application/yaml` for manifests, `application/json` for faults) and must answer 2xx.
`apply`, `delete` and `state` together give `state-hooks`; `backend_fault` gives `faults`.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml

from conformance.runner.hooks import FAULTS, STATE_HOOKS, HookError, Hooks, Manifest

KNOWN = ("apply", "delete", "state", "backend_fault", "reset")
DEFAULT_TIMEOUT = 30.0


class HooksFileError(ValueError):
    """A hooks file that cannot be used, naming the file and field."""


class Hook:
    """One command or URL."""

    def __init__(self, name: str, spec: Any, base: Path, timeout: float, where: str) -> None:
        self.name = name
        self.timeout = timeout
        if (
            not isinstance(spec, dict)
            or len(spec) != 1
            or next(iter(spec)) not in ("command", "url")
        ):
            raise HooksFileError(f"{where}: {name}: expected {{command: ...}} or {{url: ...}}")
        kind, value = next(iter(spec.items()))
        self.url: str | None = None
        self.argv: list[str] | None = None
        if kind == "url":
            if not isinstance(value, str) or not value.startswith(("http://", "https://")):
                raise HooksFileError(f"{where}: {name}.url: expected an http(s) URL")
            self.url = value
        elif isinstance(value, str) and value.strip():
            self.argv = shlex.split(value)
        elif isinstance(value, list) and value and all(isinstance(v, str) for v in value):
            self.argv = list(value)
        else:
            raise HooksFileError(f"{where}: {name}.command: expected a string or a list of strings")
        self.cwd = base

    def call(self, data: bytes, content_type: str, method: str = "POST") -> bytes:
        if self.url is not None:
            request = urllib.request.Request(
                self.url,
                data=data if method == "POST" else None,
                method=method,
                headers={"Content-Type": content_type},
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as response:
                    return response.read()
            except urllib.error.HTTPError as exc:
                tail = exc.read().decode("utf-8", "replace").strip()[-300:]
                raise HookError(
                    f"hook {self.name} ({self.url}) answered {exc.code}: {tail}"
                ) from exc
            except (urllib.error.URLError, OSError) as exc:
                raise HookError(f"hook {self.name} ({self.url}) failed: {exc}") from exc
        assert self.argv is not None
        try:
            done = subprocess.run(
                self.argv,
                input=data,
                capture_output=True,
                cwd=self.cwd,
                timeout=self.timeout,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise HookError(f"hook {self.name} ({self.argv[0]}) failed: {exc}") from exc
        if done.returncode != 0:
            tail = done.stderr.decode("utf-8", "replace").strip()[-300:]
            raise HookError(f"hook {self.name} exited {done.returncode}: {tail}")
        return done.stdout


class FileHooks(Hooks):
    """Hooks read from a vendor's YAML file."""

    def __init__(self, hooks: Mapping[str, Hook]) -> None:
        self.hooks = dict(hooks)
        caps = set()
        if all(k in self.hooks for k in ("apply", "delete", "state")):
            caps.add(STATE_HOOKS)
        if "backend_fault" in self.hooks:
            caps.add(FAULTS)
        self.capabilities = frozenset(caps)
        self._used = False

    def _hook(self, name: str) -> Hook:
        hook = self.hooks.get(name)
        if hook is None:
            raise HookError(f"the hooks file has no {name} hook")
        self._used = True
        return hook

    def apply(self, documents: Sequence[Manifest]) -> None:
        self._hook("apply").call(_yaml(documents), "application/yaml")

    def delete(self, documents: Sequence[Manifest]) -> None:
        self._hook("delete").call(_yaml(documents), "application/yaml")

    def state(self) -> list[dict[str, Any]]:
        hook = self._hook("state")
        raw = hook.call(b"", "application/json", method="GET" if hook.url else "POST")
        try:
            value = json.loads(raw or b"[]")
        except ValueError as exc:
            raise HookError(f"hook state did not print JSON: {exc}") from exc
        if isinstance(value, dict):
            value = value.get("items")
        if not isinstance(value, list) or not all(isinstance(v, dict) for v in value):
            raise HookError('hook state must give a JSON list of objects (or {"items": [...]})')
        return value

    def backend_fault(self, spec: Mapping[str, Any]) -> None:
        self._hook("backend_fault").call(json.dumps(dict(spec)).encode(), "application/json")

    def end_scenario(self) -> None:
        if self._used and "reset" in self.hooks:
            self.hooks["reset"].call(b"", "application/json")
        self._used = False


def _yaml(documents: Sequence[Manifest]) -> bytes:
    return yaml.safe_dump_all([dict(d) for d in documents], sort_keys=False).encode("utf-8")


def load_hooks(path: str | Path) -> FileHooks:
    """Read and check a hooks file; commands run in the file's folder."""
    file = Path(path)
    try:
        data = yaml.safe_load(file.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as exc:
        raise HooksFileError(f"{file}: cannot read hooks: {exc}") from exc
    if not isinstance(data, dict):
        raise HooksFileError(f"{file}: expected a mapping of hooks")
    unknown = sorted(str(k) for k in data if k not in (*KNOWN, "timeout"))
    if unknown:
        raise HooksFileError(f"{file}: unknown hook {unknown[0]} (known: {', '.join(KNOWN)})")
    timeout = data.get("timeout", DEFAULT_TIMEOUT)
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or timeout <= 0:
        raise HooksFileError(f"{file}: timeout: expected a positive number of seconds")
    hooks = {
        name: Hook(name, data[name], file.parent, float(timeout), str(file))
        for name in KNOWN
        if name in data
    }
    return FileHooks(hooks)
