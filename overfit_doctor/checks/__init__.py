"""Checks by family. Each reads the History (and later probe results) and returns findings."""

from __future__ import annotations

from overfit_doctor.checks import data_checks, gradients, memorization, model_state
from overfit_doctor.checks.base import Check
from overfit_doctor.checks.coverage import Coverage
from overfit_doctor.checks.divergence import Divergence
from overfit_doctor.checks.early_stopping import EarlyStoppingPoint
from overfit_doctor.checks.generalization import NoGeneralization
from overfit_doctor.checks.instability import Instability
from overfit_doctor.checks.learning import LowPlateau, NotLearning
from overfit_doctor.checks.overfitting import GeneralizationGap, ValidationRise
from overfit_doctor.checks.progress import StillImproving, ValidationNoise

HISTORY_CHECKS: tuple[Check, ...] = (
    Coverage(),
    Divergence(),
    NotLearning(),
    LowPlateau(),
    NoGeneralization(),
    ValidationRise(),
    GeneralizationGap(),
    EarlyStoppingPoint(),
    Instability(),
    StillImproving(),
    ValidationNoise(),
)


# Checks on a model and its data (diagnose --spec); they import torch only when they run.
SPEC_CHECKS: tuple[Check, ...] = (
    *data_checks.CHECKS,
    *model_state.CHECKS,
    *memorization.CHECKS,
    *gradients.CHECKS,
)


def all_checks() -> tuple[Check, ...]:
    return HISTORY_CHECKS + SPEC_CHECKS
