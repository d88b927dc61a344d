"""`ServeSettings`: the options of `esi-mock serve` as one object, so a new option is one field
here and one decorator on the command, and the `MockServer` arguments come from one place."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class ServeSettings:
    """What `esi-mock serve` was asked for (click passes every option by name)."""

    fixtures: Path | None = None
    bundle: Path | None = None
    state_dir: Path | None = None
    host: str = "127.0.0.1"
    port: int = 0
    tls_port: int = 0
    mtls_port: int = 0
    admin_port: int = 0
    quirks: tuple[str, ...] = ()
    strict: bool = False
    access_log: bool = False
    journal_size: int = 1000
    admin_host: str = "127.0.0.1"
    unredacted: bool = False
    upstream_cache: float = 0.0
    ephemeral: bool = False
    results: Path | None = None

    def server_kwargs(self, state_dir: str | Path | None) -> dict[str, Any]:
        """Keyword arguments of `MockServer` (`state_dir`: the folder actually used)."""
        return {
            "fixtures": self.fixtures,
            "state_dir": state_dir,
            "host": self.host,
            "quirks": self.quirks,
            "strict": self.strict,
            "unredacted": self.unredacted,
            "journal_size": self.journal_size,
            "admin_host": self.admin_host,
            "admin_port": self.admin_port,
            "http_port": self.port,
            "tls_port": self.tls_port,
            "mtls_port": self.mtls_port,
            "upstream_cache": self.upstream_cache,
            "ephemeral": self.ephemeral,
            "console_results": self.results,
        }
