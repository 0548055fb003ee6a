"""Every finding code, its symptom and its ranked remedies. Codes are never reused."""

from __future__ import annotations

from overfit_doctor.catalogue.model import Family, Rule, Severity

# The stable symptom vocabulary (ARCHITECTURE.md): JSON consumers and CI gates key on it.
SYMPTOMS = (
    "overfitting",
    "underfitting",
    "diverging",
    "unstable",
    "still_improving",
    "noisy_validation",
    "no_generalization",
    "memorization",
    "data_leakage",
    "distribution_shift",
    "class_imbalance",
    "unnormalized_inputs",
    "cannot_overfit_small_batch",
    "bad_initialization",
    "output_activation_mismatch",
    "gradient_error",
    "vanishing_gradients",
    "exploding_gradients",
    "disconnected_parameters",
    "dead_units",
    "saturated_activations",
    "weight_anomaly",
    "eval_nondeterminism",
    "insufficient_data",
)

_C, _M = Family.CURVES, Family.META
_I, _W, _E = Severity.INFO, Severity.WARNING, Severity.ERROR

RULES: tuple[Rule, ...] = (
    Rule(
        "OD101", "validation-loss-rising", "overfitting", _C, _W,
        "Validation got worse after its best epoch while training kept improving",
        ("early-stopping", "weight-decay", "dropout", "data-augmentation", "more-data",
         "smaller-model", "transfer-learning", "label-smoothing"),
        supersedes=("OD109",),
    ),
    Rule(
        "OD102", "generalization-gap-growing", "overfitting", _C, _W,
        "The train/validation gap is large and growing while validation stalls",
        ("weight-decay", "dropout", "data-augmentation", "more-data", "smaller-model",
         "early-stopping", "smaller-batch"),
    ),
    Rule(
        "OD103", "training-past-best-epoch", "overfitting", _C, _I,
        "Early stopping would have stopped well before the end: keep the best checkpoint",
        ("early-stopping", "restore-best-checkpoint"),
    ),
    Rule(
        "OD104", "training-not-learning", "underfitting", _C, _E,
        "Training loss stays near its initial value (or accuracy near chance)",
        ("check-data-pipeline", "overfit-one-batch", "check-loss-wiring", "tune-learning-rate",
         "normalize-inputs",
         "he-xavier-init", "non-saturating-activations", "bigger-model"),
        supersedes=("OD105", "OD108", "OD109"),
    ),
    Rule(
        "OD105", "training-plateau-low-accuracy", "underfitting", _C, _W,
        "Training accuracy plateaued at a low level with no gap to validation",
        ("bigger-model", "train-longer", "reduce-regularization", "tune-learning-rate",
         "cyclical-learning-rate"),
    ),
    Rule(
        "OD106", "loss-diverged", "diverging", _C, _E,
        "The loss became NaN/inf or exploded",
        ("lower-learning-rate", "gradient-clipping", "learning-rate-warmup", "normalize-inputs",
         "he-xavier-init", "batch-normalization", "check-data-pipeline"),
        supersedes=("OD101", "OD102", "OD103", "OD104", "OD105", "OD107", "OD108", "OD109"),
    ),
    Rule(
        "OD107", "training-unstable", "unstable", _C, _W,
        "Loss spikes repeatedly, well above its noise floor",
        ("lower-learning-rate", "gradient-clipping", "learning-rate-warmup",
         "learning-rate-decay", "batch-normalization", "larger-batch"),
    ),
    Rule(
        "OD108", "validation-still-improving", "still_improving", _C, _I,
        "Validation was still improving when training stopped",
        ("train-longer", "cyclical-learning-rate"),
    ),
    Rule(
        "OD109", "validation-too-noisy", "noisy_validation", _C, _I,
        "Validation is too noisy for a verdict",
        ("larger-validation-set", "k-fold-validation", "learning-rate-decay", "larger-batch"),
    ),
    Rule(
        "OD110", "validation-not-improving", "no_generalization", _C, _E,
        "Training fits but validation never improves beyond its start",
        ("check-train-val-pipeline", "label-randomization-test", "more-data",
         "transfer-learning"),
        supersedes=("OD101", "OD102", "OD103", "OD109"),
    ),
    Rule(
        "OD901", "no-validation-curve", "insufficient_data", _M, _I,
        "No validation curve was logged: generalization cannot be judged",
        ("log-validation",),
    ),
    Rule(
        "OD902", "too-few-points", "insufficient_data", _M, _I,
        "Too few logged points to judge the curves",
        ("log-more-often",),
    ),
)

_BY_CODE = {r.code: r for r in RULES}


def rule(code: str) -> Rule:
    """The rule for `code` (case-insensitive); KeyError if unknown."""
    return _BY_CODE[code.strip().upper()]


def codes() -> list[str]:
    return [r.code for r in RULES]
