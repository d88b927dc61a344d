"""What a mutation run found: per mutant, the scenario that killed it, or nothing (a survivor)."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Kill:
    """`scenario` FAILed the MUST-level `requirements` with `mutant` switched on."""

    mutant: str
    scenario: str
    requirements: tuple[str, ...]


@dataclass
class MutationRun:
    """One direction's mutants in order; None marks a survivor."""

    direction: str
    kills: dict[str, Kill | None] = field(default_factory=dict)
    baseline_failures: dict[str, str] = field(default_factory=dict)

    def add(self, mutant: str, kill: Kill | None) -> None:
        self.kills[mutant] = kill

    @property
    def survivors(self) -> list[str]:
        return [name for name, kill in self.kills.items() if kill is None]

    @property
    def score(self) -> float:
        return 1.0 if not self.kills else 1 - len(self.survivors) / len(self.kills)

    def summary(self) -> str:
        killed = len(self.kills) - len(self.survivors)
        line = f"{self.direction} mutation score {self.score:.1%} ({killed}/{len(self.kills)})"
        return line + ("; survivors: " + ", ".join(self.survivors) if self.survivors else "")
