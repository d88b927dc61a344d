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


def assert_all_killed(
    run: MutationRun, counted: set[str], table: str, doc: str, regen: str
) -> None:
    """The checks both mutation-score tests make: the correct zoo passes, every counted mutant
    ran and was killed by a named requirement, and the generated table `doc` (path) is
    `table` (the run rendered), else regenerate it with the `regen` command."""
    from pathlib import Path

    assert run.baseline_failures == {}
    assert run.survivors == [], run.summary()
    assert set(run.kills) == counted
    for kill in run.kills.values():
        assert kill is not None and kill.requirements, kill
    assert Path(doc).read_text("utf-8") == table, f"{doc} is out of date: run `{regen}`"
