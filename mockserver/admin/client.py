"""A small client of the admin HTTP API (stdlib only), for the CLI and for other processes.

Method names and arguments match `MockControl`, so code can switch between an in-process mock and
one started by `esi-mock serve` without changes.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

from mockserver.state import StateDir


class AdminClientError(Exception):
    """The admin API refused a call (`status` and its `error` text), or could not be reached."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}" if status else message)
        self.status = status
        self.message = message


class AdminClient:
    """Talks to one mock's admin API at `base_url` (the `admin_url` of connection.json)."""

    def __init__(self, base_url: str, timeout: float = 10.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout

    @classmethod
    def from_state_dir(cls, state_dir: str | Path, timeout: float = 10.0) -> AdminClient:
        """The client for the mock whose `connection.json` is in `state_dir`."""
        connection = StateDir(state_dir).read_connection()
        url = connection.get("admin_url")
        if not url:
            raise AdminClientError(0, f"{state_dir}/connection.json has no admin_url")
        return cls(url, timeout)

    def call(
        self, verb: str, path: str, body: Any = None, query: dict[str, Any] | None = None
    ) -> Any:
        """One admin call; returns the decoded JSON answer or raises AdminClientError."""
        params = {k: v for k, v in (query or {}).items() if v is not None}
        url = self.base_url + path + (f"?{urlencode(params)}" if params else "")
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(url, data=data, method=verb)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read() or b"null")
        except urllib.error.HTTPError as exc:
            raw = exc.read()
            try:
                message = json.loads(raw).get("error", raw.decode())
            except (ValueError, AttributeError):
                message = raw.decode("utf-8", "replace")
            raise AdminClientError(exc.code, message) from None
        except (urllib.error.URLError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            message = f"cannot reach the admin API at {self.base_url}: {reason}"
            raise AdminClientError(0, message) from None

    # -- journal ---------------------------------------------------------------------------------

    def journal(self, **filters: Any) -> list[dict[str, Any]]:
        return self.call("GET", "/journal", query=filters)["entries"]

    def journal_entry(self, entry_id: int) -> dict[str, Any]:
        return self.call("GET", f"/journal/{int(entry_id)}")

    def clear_journal(self) -> int:
        return self.call("DELETE", "/journal")["cleared"]

    # -- faults ----------------------------------------------------------------------------------

    def add_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict[str, Any]:
        return self.call("POST", "/faults", {**(spec or {}), **fields})

    def faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "/faults")["faults"]

    def remove_fault(self, rule_id: int) -> None:
        self.call("DELETE", f"/faults/{int(rule_id)}")

    def clear_faults(self) -> int:
        return self.call("DELETE", "/faults")["cleared"]

    def add_backend_fault(
        self,
        backend: str,
        *,
        store: str | None = None,
        generator: str | None = None,
        count: int | None = 1,
    ) -> dict[str, Any]:
        spec: dict[str, Any] = {"backend": backend, "count": count}
        if store is not None:
            spec["store"] = store
        if generator is not None:
            spec["generator"] = generator
        return self.add_fault(spec)

    def add_cluster_fault(self, spec: dict[str, Any] | None = None, **fields: Any) -> dict:
        return self.call("POST", "/cluster-faults", {**(spec or {}), **fields})

    def cluster_faults(self) -> list[dict[str, Any]]:
        return self.call("GET", "/cluster-faults")["faults"]

    def remove_cluster_fault(self, rule_id: int) -> None:
        self.call("DELETE", f"/cluster-faults/{int(rule_id)}")

    def clear_cluster_faults(self) -> int:
        return self.call("DELETE", "/cluster-faults")["cleared"]

    # -- state and manifests ---------------------------------------------------------------------

    def state(self) -> dict[str, Any]:
        return self.call("GET", "/state")

    def generator_states(self, namespace: str | None = None) -> list[dict[str, Any]]:
        answer = self.call("GET", "/state/generator-states", query={"namespace": namespace})
        return answer["generator_states"]

    def authorized_identities(self) -> list[dict[str, Any]]:
        return self.call("GET", "/state/authorized-identities")["authorized_identities"]

    def leaked_credentials(self) -> list[dict[str, Any]]:
        return self.call("GET", "/state/leaked-credentials")["leaked_credentials"]

    def clusters(self) -> dict[str, Any]:
        return self.call("GET", "/state/clusters")["clusters"]

    def manifests(self) -> dict[str, Any]:
        return self.call("GET", "/manifests")

    def apply_manifests(self, manifests: str | list[dict[str, Any]]) -> list[dict[str, Any]]:
        key = "yaml" if isinstance(manifests, str) else "documents"
        return self.call("POST", "/manifests", {key: manifests})["applied"]

    def delete_manifest(self, kind: str, name: str, namespace: str | None = None) -> None:
        self.call("DELETE", "/manifests", {"kind": kind, "name": name, "namespace": namespace})

    # -- quirks, clock, keys, tokens, reset ------------------------------------------------------

    def quirks(self) -> dict[str, Any]:
        return self.call("GET", "/quirks")

    def enable_quirk(self, name: str) -> dict[str, Any]:
        return self.call("POST", f"/quirks/{quote(name, safe='')}")

    def disable_quirk(self, name: str) -> dict[str, Any]:
        return self.call("DELETE", f"/quirks/{quote(name, safe='')}")

    def set_quirks(self, quirks: list[str], strict: bool | None = None) -> dict[str, Any]:
        return self.call("PUT", "/quirks", {"quirks": quirks, "strict": strict})

    def clock(self) -> dict[str, float]:
        return self.call("GET", "/clock")

    def shift_clock(self, seconds: float) -> dict[str, float]:
        return self.call("POST", "/clock", {"shift": seconds})

    def set_clock_offset(self, offset: float) -> dict[str, float]:
        return self.call("POST", "/clock", {"offset": offset})

    def rotate_keys(
        self, cluster: str, step: str = "full", kid: str | None = None, key_type: str = "rsa"
    ) -> dict[str, Any]:
        body = {"step": step, "kid": kid, "key_type": key_type}
        return self.call("POST", f"/keys/{quote(cluster, safe='')}/rotate", body)

    def mint_token(self, cluster: str, sa: str, **options: Any) -> str:
        return self.call("POST", "/tokens", {"cluster": cluster, "sa": sa, **options})["token"]

    def reset(self) -> None:
        self.call("POST", "/reset")

    def health(self) -> dict[str, Any]:
        return self.call("GET", "/health")
