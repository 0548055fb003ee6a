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
_MEM, _G, _WA, _D = Family.MEMORIZATION, Family.GRADIENTS, Family.WEIGHTS, Family.DATA
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
    # --- active checks on a model and its data (diagnose --spec) ---------------------------
    Rule(
        "OD201", "cannot-overfit-small-batch", "cannot_overfit_small_batch", _MEM, _E,
        "The model cannot drive the loss on one small batch to near its floor",
        ("check-loss-wiring", "fix-output-activation", "unfreeze-or-connect-parameters",
         "tune-learning-rate", "check-data-pipeline", "bigger-model"),
        explained_by=("OD301", "OD302", "OD303", "OD304", "OD401", "OD402", "OD403", "OD404",
                      "OD504"),
    ),
    Rule(
        "OD202", "memorizes-random-labels", "memorization", _MEM, _W,
        "Shuffled labels are memorized about as fast as the real ones: expect overfitting",
        ("regularize-high-capacity", "weight-decay", "dropout", "data-augmentation",
         "smaller-model", "early-stopping", "more-data"),
    ),
    Rule(
        "OD203", "labels-not-learnable", "no_generalization", _MEM, _E,
        "Real labels do no better on held-out data than shuffled ones",
        ("check-data-pipeline", "check-train-val-pipeline", "check-loss-wiring",
         "normalize-inputs", "bigger-model"),
    ),
    Rule(
        "OD204", "shuffled-labels-score-above-chance", "data_leakage", _MEM, _E,
        "Held-out labels are predictable without the training labels: suspect leakage",
        ("check-train-val-overlap", "deduplicate-splits", "check-train-val-pipeline"),
    ),
    Rule(
        "OD301", "gradient-check-failed", "gradient_error", _G, _E,
        "Analytic gradients disagree with numerical ones",
        ("check-custom-backward", "check-loss-wiring"),
    ),
    Rule(
        "OD302", "vanishing-gradients", "vanishing_gradients", _G, _W,
        "Gradients shrink to almost nothing in the early layers",
        ("non-saturating-activations", "he-xavier-init", "batch-normalization",
         "residual-connections", "tune-learning-rate"),
    ),
    Rule(
        "OD303", "exploding-gradients", "exploding_gradients", _G, _W,
        "Gradients grow very large or non-finite",
        ("gradient-clipping", "lower-learning-rate", "fix-initialization-scale",
         "batch-normalization", "learning-rate-warmup"),
    ),
    Rule(
        "OD304", "parameters-without-gradient", "disconnected_parameters", _G, _W,
        "Trainable parameters receive no gradient, or are never updated",
        ("unfreeze-or-connect-parameters", "check-loss-wiring"),
    ),
    Rule(
        "OD305", "frozen-parameters", "disconnected_parameters", _G, _I,
        "Some parameters are frozen (requires_grad=False)",
        ("unfreeze-or-connect-parameters",),
    ),
    Rule(
        "OD401", "loss-at-init-off", "bad_initialization", _WA, _W,
        "The loss at initialization is far from its expected value",
        ("fix-initialization-scale", "fix-output-activation", "he-xavier-init",
         "check-loss-wiring"),
    ),
    Rule(
        "OD402", "output-activation-mismatch", "output_activation_mismatch", _WA, _E,
        "The model's output does not match what the loss expects",
        ("fix-output-activation", "check-loss-wiring"),
    ),
    Rule(
        "OD403", "dead-relu-units", "dead_units", _WA, _W,
        "Many ReLU units never activate",
        ("he-xavier-init", "lower-learning-rate", "non-saturating-activations",
         "normalize-inputs", "batch-normalization"),
    ),
    Rule(
        "OD404", "saturated-activations", "saturated_activations", _WA, _W,
        "Many tanh/sigmoid units sit in their flat, saturated range",
        ("normalize-inputs", "fix-initialization-scale", "non-saturating-activations",
         "batch-normalization"),
    ),
    Rule(
        "OD405", "weight-scale-anomaly", "weight_anomaly", _WA, _W,
        "Weights far from the scale He/Xavier initialization expects",
        ("fix-initialization-scale", "he-xavier-init", "weight-decay"),
    ),
    Rule(
        "OD406", "eval-mode-nondeterministic", "eval_nondeterminism", _WA, _E,
        "Two forward passes in eval mode on the same batch differ",
        ("disable-dropout-in-eval",),
    ),
    Rule(
        "OD501", "train-val-duplicates", "data_leakage", _D, _E,
        "Validation samples also appear in the training set",
        ("deduplicate-splits", "check-train-val-overlap"),
    ),
    Rule(
        "OD502", "label-distribution-shift", "distribution_shift", _D, _W,
        "The label distribution differs between training and validation",
        ("stratified-split", "check-train-val-pipeline"),
    ),
    Rule(
        "OD503", "class-imbalance", "class_imbalance", _D, _W,
        "Some classes are much rarer than others",
        ("class-weighting", "stratified-split"),
    ),
    Rule(
        "OD504", "unnormalized-inputs", "unnormalized_inputs", _D, _W,
        "Inputs are far from zero mean and unit scale, or inputs/targets contain NaN/inf",
        ("normalize-inputs", "check-data-pipeline"),
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
