"""Map the keys that frameworks log (`val_loss`, `eval_accuracy`, `Loss/train`, ...) to
`(split, metric)`, and say whether higher is better for a metric.

This is the one place where names are interpreted; readers and checks never guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from functools import lru_cache

_TOKEN_SPLIT = re.compile(r"[\s_/\-.:()\[\],]+")

# Split markers, as whole tokens at the start or end of a key.
_SPLIT_TOKENS = {
    "train": "train",
    "training": "train",
    "trn": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "eval": "val",
    "evaluation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}

# Keys that are bookkeeping, not curves: dropped on purpose and listed as "ignored".
_BOOKKEEPING = {
    "epoch",
    "epochs",
    "step",
    "steps",
    "global_step",
    "iteration",
    "iter",
    "iterations",
    "time",
    "timestamp",
    "runtime",
    "date",
    "done",
    "trial_id",
    "experiment_id",
    "pid",
    "hostname",
    "node_ip",
    "training_iteration",
    "time_this_iter_s",
    "time_total_s",
    "time_since_restore",
    "timesteps_since_restore",
    "iterations_since_restore",
    "timesteps_total",
    "episodes_total",
    "should_checkpoint",
    "warmup_time",
    "total_flos",
    "eta_seconds",
    "data_time",
    "mfu",
    "memory",
    "batch",
    "batch_size",
    "epoch_time",
    "epoch_time_sec",
    "elapsed",
    "elapsed_time",
    "duration",
    "wall_time",
    "num_input_tokens_seen",
    "hp_metric",
}
_BOOKKEEPING_SUFFIXES = (
    "_runtime",
    "_samples_per_second",
    "_steps_per_second",
    "_per_sec",
    "_time_s",
    "_timestamp",
    "throughput",
)

_ALIASES = {
    "acc": "accuracy",
    "epoch_loss": "loss",
    "epoch_acc": "accuracy",
    "epoch_accuracy": "accuracy",
    "learning_rate": "lr",
    "top1": "accuracy_top1",
    "acc1": "accuracy_top1",
    "acc_1": "accuracy_top1",
    "top5": "accuracy_top5",
    "acc5": "accuracy_top5",
    "acc_5": "accuracy_top5",
    "total_loss": "loss",
    "err": "error",
    "error_rate": "error",
}

# Words that decide the direction of a metric; lower-is-better is tested first. Long words
# match anywhere in the name, short ones only as whole tokens (`kl` must not match `klue`).
_LOWER_IS_BETTER = ("loss", "nll", "error", "perplexity", "logloss", "entropy", "hamming")
_LOWER_TOKENS = ("err", "mse", "mae", "rmse", "ppl", "wer", "cer", "bce", "kl", "kld", "nmse")
_HIGHER_IS_BETTER = (
    "acc",
    "auc",
    "auroc",
    "auprc",
    "iou",
    "io_u",
    "dice",
    "precision",
    "recall",
    "bleu",
    "rouge",
    "score",
    "fitness",
    "jaccard",
    "kappa",
    "specificity",
    "sensitivity",
)
_HIGHER_TOKENS = (
    "f1",
    "map",
    "map50",
    "map75",
    "ap",
    "ap50",
    "ap75",
    "top1",
    "top5",
    "r2",
    "mcc",
    "ndcg",
)


class Kind(Enum):
    """How a key was classified."""

    METRIC = "metric"  # a curve: (split, metric)
    IGNORED = "ignored"  # bookkeeping (runtime, timestamps, ...)
    UNMAPPED = "unmapped"  # not understood; shown by `inspect`, fixable with --map


@dataclass(frozen=True)
class KeyMapping:
    kind: Kind
    split: str | None = None
    metric: str | None = None


def clean_name(text: str) -> str:
    """Lower-case snake form of a metric name: `mAP50-95(B)` -> `map50_95_b`."""
    text = re.sub(r"[^0-9a-zA-Z]+", "_", text.strip()).strip("_").lower()
    return text


def _is_lr(tokens: list[str]) -> bool:
    joined = "_".join(tokens)
    return tokens[:1] == ["lr"] or joined.startswith("learning_rate")


def _lr_metric(tokens: list[str]) -> str:
    joined = "_".join(tokens)
    rest = joined.removeprefix("learning_rate").removeprefix("lr").strip("_")
    return "lr" if not rest else f"lr_{rest}"


@lru_cache(maxsize=4096)
def map_key(key: str) -> KeyMapping:
    """Classify one logged key.

    Unprefixed keys with a recognizable metric name (`loss`, `acc`, `dice_coef`) are training
    values, as Keras and most loops write them. Unprefixed keys with unknown names are unmapped.
    """
    raw = key.strip()
    if not raw:
        return KeyMapping(Kind.UNMAPPED)
    if raw.startswith("_") or raw.lower().startswith(("config/", "config.")):
        return KeyMapping(Kind.IGNORED)
    tokens = [t.lower() for t in _TOKEN_SPLIT.split(raw) if t]
    if not tokens:
        return KeyMapping(Kind.UNMAPPED)
    joined = "_".join(tokens)
    if joined in _BOOKKEEPING or joined.endswith(_BOOKKEEPING_SUFFIXES):
        return KeyMapping(Kind.IGNORED)
    if tokens[0] in ("runtime", "time", "timestamp", "best", "max", "min"):
        return KeyMapping(Kind.IGNORED)
    if tokens[0] == "metrics" and len(tokens) > 1:  # Ultralytics: metrics/mAP50(B) are val metrics
        return _metric(
            "val", clean_name(raw.split("/", 1)[1] if "/" in raw else "_".join(tokens[1:]))
        )
    if _is_lr(tokens):
        return KeyMapping(Kind.METRIC, "train", _lr_metric(tokens))
    if len(tokens) > 1 and tokens[-1] in ("epoch", "step"):  # Lightning on_step/on_epoch
        tokens = [*tokens[:-1], f"_{tokens[-1]}"]
    split = None
    if tokens[0] in _SPLIT_TOKENS and len(tokens) > 1:
        split, tokens = _SPLIT_TOKENS[tokens[0]], tokens[1:]
    elif tokens[-1] in _SPLIT_TOKENS and len(tokens) > 1:
        split, tokens = _SPLIT_TOKENS[tokens[-1]], tokens[:-1]
    if tokens and _is_lr(tokens):
        return KeyMapping(Kind.METRIC, "train", _lr_metric(tokens))
    if tokens and (tokens[0] in ("best", "max", "min") or tokens[-1] in ("best", "max", "min")):
        return KeyMapping(Kind.IGNORED)  # running best values, not curves
    metric = "_".join(tokens).replace("__step", "_step").replace("__epoch", "")
    if metric.lstrip("_") in _BOOKKEEPING or metric.endswith(_BOOKKEEPING_SUFFIXES):
        return KeyMapping(Kind.IGNORED)
    if split is None:
        if direction(metric) is None and metric not in ("grad_norm", "gradient_norm"):
            return KeyMapping(Kind.UNMAPPED)
        split = "train"
    return _metric(split, metric)


def _metric(split: str, metric: str) -> KeyMapping:
    metric = clean_name(metric)
    if not metric:
        return KeyMapping(Kind.UNMAPPED)
    return KeyMapping(Kind.METRIC, split, _ALIASES.get(metric, metric))


def direction(metric: str) -> str | None:
    """`"min"` when lower is better, `"max"` when higher is better, None when unknown."""
    name = metric.lower()
    if name == "lr" or name.startswith("lr_") or name in ("grad_norm", "gradient_norm"):
        return None
    tokens = set(name.split("_"))
    tokens |= {t.rstrip("0123456789") for t in tokens}  # f1_macro, map50_95_b, ...
    if any(w in name for w in _LOWER_IS_BETTER) or tokens.intersection(_LOWER_TOKENS):
        return "min"
    if any(w in name for w in _HIGHER_IS_BETTER) or tokens.intersection(_HIGHER_TOKENS):
        return "max"
    return None


def is_loss(metric: str) -> bool:
    """Whether a metric is a loss (used to choose the primary curve of a run)."""
    return metric == "loss" or metric.endswith("_loss") or metric in ("nll", "nll_loss")


def parse_map_option(text: str) -> tuple[str, KeyMapping]:
    """Parse `--map KEY=SPLIT:METRIC` (or `KEY=ignore`)."""
    key, sep, target = text.rpartition("=")
    if not sep or not key:
        raise ValueError(f"--map expects KEY=SPLIT:METRIC, got {text!r}")
    if target.strip().lower() == "ignore":
        return key, KeyMapping(Kind.IGNORED)
    split, sep, metric = target.partition(":")
    split = _SPLIT_TOKENS.get(split.strip().lower(), split.strip().lower())
    if not sep or split not in ("train", "val", "test") or not clean_name(metric):
        raise ValueError(
            f"--map expects KEY=SPLIT:METRIC with SPLIT one of train, val, test; got {text!r}"
        )
    return key, KeyMapping(Kind.METRIC, split, clean_name(metric))
