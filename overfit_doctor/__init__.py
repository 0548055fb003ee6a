"""overfit-doctor: why your neural network does not generalize, and what to do about it."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

__all__ = [
    "Diagnosis",
    "Finding",
    "History",
    "Severity",
    "Spec",
    "UnhealthyTraining",
    "__version__",
    "assert_healthy",
    "diagnose",
]

if TYPE_CHECKING:
    from overfit_doctor.api import UnhealthyTraining, assert_healthy, diagnose
    from overfit_doctor.catalogue.model import Severity
    from overfit_doctor.diagnosis import Diagnosis, Finding
    from overfit_doctor.history.model import History
    from overfit_doctor.spec import Spec

_LAZY = {
    "diagnose": ("overfit_doctor.api", "diagnose"),
    "assert_healthy": ("overfit_doctor.api", "assert_healthy"),
    "UnhealthyTraining": ("overfit_doctor.api", "UnhealthyTraining"),
    "Spec": ("overfit_doctor.spec", "Spec"),
    "Diagnosis": ("overfit_doctor.diagnosis", "Diagnosis"),
    "Finding": ("overfit_doctor.diagnosis", "Finding"),
    "Severity": ("overfit_doctor.catalogue.model", "Severity"),
    "History": ("overfit_doctor.history.model", "History"),
}


def __getattr__(name: str) -> Any:
    """Import public names on first use, so `import overfit_doctor` stays cheap."""
    if name in _LAZY:
        import importlib

        module, attr = _LAZY[name]
        return getattr(importlib.import_module(module), attr)
    raise AttributeError(f"module 'overfit_doctor' has no attribute {name!r}")
