"""Catalogue types: a Rule per finding code, and the Remedies that rules share."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum, IntEnum


class Severity(IntEnum):
    """How bad a finding is: info < warning < error."""

    INFO = 10
    WARNING = 20
    ERROR = 30

    @property
    def label(self) -> str:
        return self.name.lower()

    @classmethod
    def parse(cls, text: str) -> Severity:
        try:
            return cls[text.strip().upper()]
        except KeyError:
            raise ValueError(f"unknown severity {text!r} (info, warning, error)") from None


class Effort(Enum):
    """What applying a remedy takes; cheaper kinds are preferred when scores tie."""

    CONFIG = "config"
    CODE = "code"
    DATA = "data"
    ARCHITECTURE = "architecture"

    @property
    def rank(self) -> int:
        return list(Effort).index(self)


class Family(Enum):
    CURVES = "curves"
    MEMORIZATION = "memorization"
    GRADIENTS = "gradients"
    WEIGHTS = "weights"
    DATA = "data"
    META = "meta"


@dataclass(frozen=True)
class Remedy:
    """One fix, shared by the rules that recommend it."""

    id: str
    title: str
    effort: Effort
    summary: str  # one or two sentences: what to do and why it helps
    how: dict[str, str]  # framework ("pytorch", "lightning", "keras", "huggingface") -> snippet
    references: tuple[str, ...]


@dataclass(frozen=True)
class Rule:
    """One finding code: what it means and how to fix it, in ranked order."""

    code: str
    name: str  # kebab-case problem statement: "validation-loss-rising"
    symptom: str  # from the stable symptom vocabulary
    family: Family
    severity: Severity  # default severity; a check may lower it with a stated reason
    title: str  # one line for listings
    remedies: tuple[str, ...]  # remedy ids, most effective first
    supersedes: tuple[str, ...] = ()  # codes this one makes redundant in the same place
    explained_by: tuple[str, ...] = ()  # codes naming a cause of this symptom: their fixes first
