"""Data probe: what the training and validation tensors look like, before any training.

One pass over the (capped, seeded) splits of the ProbeContext, no model training:

- **overlap**: validation rows whose input also occurs in the training set, exactly (a 128-bit
  BLAKE2b digest of each row of a contiguous float32 copy, -0.0 folded into 0.0; int64 for
  integer inputs) or nearly (random-projection hashing of the rows standardized with training
  statistics, candidates verified by their true RMS distance). Both are O(n): one digest or one
  projection per row, dictionary lookups, and at most `_BUCKET_CAP` verified candidates per row.
  The same is measured inside the training set (a row's twin elsewhere in train), together with
  how likely exact twins are by chance given each feature's value distribution, so the check can
  tell leakage from naturally repeated inputs.
- **labels**: class counts per split (classification / binary), or a two-sample
  Kolmogorov-Smirnov test of the targets (regression); chi-square test and total variation
  distance between the splits' class distributions.
- **scale**: per-feature (per-channel for images) mean, standard deviation and RMS of the inputs
  as the model's first layer sees them, and NaN/inf counts in inputs and targets.
"""

from __future__ import annotations

import hashlib
import math
from collections import Counter
from typing import Any

import numpy as np
import torch
from torch import nn

from overfit_doctor.probes.context import ProbeContext, Split, _tensor

NEAR_MAX = 0.05  # largest RMS distance (in training standard deviations) reported as "near"
_PROJ_DIMS = 8  # random projections per row for the near-duplicate hash
_CELL = 20 * NEAR_MAX  # grid cell width in projected units (a pair at NEAR_MAX rarely splits)
_GRIDS = 3  # shifted grids: a close pair split by a cell edge in one grid meets in another
_BUCKET_CAP = 64  # candidates verified per row and grid (bounds the cost on repeated rows)
_FULL_HASH_FACTOR = 50  # hash up to this many x max_samples training rows given as tensors
_NORM_LAYERS = (
    nn.BatchNorm1d,
    nn.BatchNorm2d,
    nn.BatchNorm3d,
    nn.LayerNorm,
    nn.GroupNorm,
    nn.InstanceNorm1d,
    nn.InstanceNorm2d,
    nn.InstanceNorm3d,
)


def run(ctx: ProbeContext) -> dict[str, Any]:
    train, val = ctx.train, ctx.val
    model = ctx.new_model()
    result: dict[str, Any] = {
        "model_class": type(model).__name__,
        "task": ctx.task,
        "input_dtype": str(train.X.dtype).replace("torch.", ""),
        "input_shape": list(train.X.shape[1:]),
        "train_samples": train.total,
        "train_rows_used": len(train),
        "val_samples": val.total if val is not None else None,
        "val_rows_used": len(val) if val is not None else None,
        "non_finite": _non_finite(train, val),
        "labels": labels(train, val, ctx.task),
        "scale": scale(ctx, model, train, val),
        "loss_weighted": _loss_weighted(ctx.spec.loss),
    }
    if val is not None:
        result["overlap"] = overlap(ctx, train, val)
    return result


# --- overlap --------------------------------------------------------------------------------


def row_digests(X: torch.Tensor, integer: bool) -> list[bytes]:
    """A 16-byte BLAKE2b digest of each row (float32, -0.0 folded into 0.0; int64 if integer)."""
    flat = X.reshape(len(X), -1)
    flat = flat.to(torch.int64) if integer else flat.to(torch.float32) + 0.0
    arr = np.ascontiguousarray(flat.numpy())
    return [hashlib.blake2b(row, digest_size=16).digest() for row in arr]


def _label_keys(y: torch.Tensor) -> list[bytes]:
    flat = y.reshape(len(y), -1)
    flat = flat.to(torch.float64) + 0.0 if torch.is_floating_point(flat) else flat.to(torch.int64)
    arr = np.ascontiguousarray(flat.numpy())
    return [row.tobytes() for row in arr]


def _train_chunks(ctx: ProbeContext, train: Split, size: int = 4096):
    """(complete, chunks): the training rows to hash in (X, y) chunks. The user's whole (X, y)
    when it was capped to a sample and is not huge (read chunk by chunk, never modified),
    else the capped sample. `complete`: every training row is hashed."""
    data = ctx.spec.train
    limit = _FULL_HASH_FACTOR * ctx.budget.max_samples
    if (
        train.kind == "tensors"
        and len(train) < train.total <= limit
        and isinstance(data, (tuple, list))
    ):
        X, y = data
        chunks = ((_tensor(X[i : i + size]), _tensor(y[i : i + size]))
                  for i in range(0, train.total, size))
        return True, chunks
    chunks = ((train.X[i : i + size], train.y[i : i + size]) for i in range(0, len(train), size))
    return train.total <= len(train), chunks


def overlap(ctx: ProbeContext, train: Split, val: Split) -> dict[str, Any]:
    integer = not torch.is_floating_point(train.X) and not torch.is_floating_point(val.X)
    complete, chunks = _train_chunks(ctx, train)
    train_digests: list[bytes] = []
    train_labels: list[bytes] = []
    for Xc, yc in chunks:
        train_digests.extend(row_digests(Xc, integer))
        train_labels.extend(_label_keys(yc))
    by_digest: dict[bytes, set[bytes]] = {}
    first_row: dict[bytes, int] = {}
    for i, (d, lab) in enumerate(zip(train_digests, train_labels, strict=True)):
        by_digest.setdefault(d, set()).add(lab)
        first_row.setdefault(d, i)
    counts = Counter(train_digests)
    internal_exact = sum(c for c in counts.values() if c > 1)

    val_digests = row_digests(val.X, integer)
    val_labels = _label_keys(val.y)
    exact = [i for i, d in enumerate(val_digests) if d in by_digest]
    same_label = sum(1 for i in exact if val_labels[i] in by_digest[val_digests[i]])
    examples = [[i, first_row[val_digests[i]]] for i in exact[:5]]

    out: dict[str, Any] = {
        "integer_inputs": integer,
        "train_rows_hashed": len(train_digests),
        "train_complete": complete,  # every training row was hashed
        "train_coverage": len(train_digests) / max(train.total, 1),
        "val_rows": len(val),
        "val_total": val.total,
        "exact": len(exact),
        "exact_same_label": same_label,
        "exact_examples": examples,  # [val row, train row] (rows of the hashed data)
        "examples_are_user_rows": val.total == len(val) and len(train_digests) == train.total,
        "train_internal_exact": internal_exact,
        "near_max": NEAR_MAX,
        "near_distances": [],
        "train_internal_near_distances": [],
        "natural_log10_pair": None,
        "natural_twin_rate": None,
    }
    log10_pair = natural_collision_log10(train.X, seed=ctx.seed)
    out["natural_log10_pair"] = log10_pair
    out["natural_twin_rate"] = (
        0.0
        if log10_pair == -math.inf
        else float(-math.expm1(train.total * math.log1p(-min(10**log10_pair, 1 - 1e-12))))
    )
    if integer:
        return out  # token ids: nearness of ids means nothing
    A = _flat_float(train.X)
    B = _flat_float(val.X)
    mu, sd = _standardizer(A)
    A, B = (A - mu) / sd, (B - mu) / sd
    exact_set = set(exact)
    dist = near_distances(A, B, seed=ctx.seed)
    out["near_distances"] = sorted(
        round(float(d), 5) for i, d in enumerate(dist) if i not in exact_set and d <= NEAR_MAX
    )
    sample_digests = row_digests(train.X, integer)
    sample_counts = Counter(sample_digests)
    self_dist = near_distances(A, A, seed=ctx.seed, self_join=True)
    out["train_internal_near_distances"] = sorted(
        round(float(d), 5)
        for d, dg in zip(self_dist, sample_digests, strict=True)
        if sample_counts[dg] == 1 and d <= NEAR_MAX
    )
    out["train_sample_rows"] = len(A)
    out["train_sample_internal_exact"] = sum(c for c in sample_counts.values() if c > 1)
    return out


def _flat_float(X: torch.Tensor) -> np.ndarray:
    arr = X.reshape(len(X), -1).to(torch.float32).numpy()
    return np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)


def _standardizer(A: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-feature training mean and std. Stds are floored at a tenth of the median one, so
    that a feature (almost) constant in train cannot turn tiny differences into large ones."""
    mu = A.mean(0, dtype=np.float64).astype(np.float32)
    sd = A.std(0, dtype=np.float64)
    positive = sd[sd > 0]
    floor = 0.1 * float(np.median(positive)) if positive.size else 1.0
    return mu, np.maximum(sd, floor).astype(np.float32)


def near_distances(
    A: np.ndarray, B: np.ndarray, seed: int = 0, self_join: bool = False
) -> np.ndarray:
    """For each row of B, the RMS distance to its nearest row of A among the hash candidates
    (inf when none shares a cell). Rows are projected on `_PROJ_DIMS` random Gaussian
    directions scaled by 1/sqrt(d), so a pair at RMS distance r differs by N(0, r^2) on each
    projection; the projections are cut into cells of width `_CELL` on `_GRIDS` shifted grids,
    and only pairs sharing a cell are compared. With `self_join`, a row is not its own match."""
    n_a, d = A.shape
    out = np.full(len(B), np.inf)
    if n_a == 0 or len(B) == 0:
        return out
    rng = np.random.default_rng(seed + 7919)
    R = (rng.standard_normal((d, _PROJ_DIMS)) / math.sqrt(d)).astype(np.float32)
    PA, PB = A @ R, B @ R
    candidates: list[set[int]] = [set() for _ in range(len(B))]
    for g in range(_GRIDS):
        shift = g * _CELL / _GRIDS
        cells_a = np.floor((PA + shift) / _CELL).astype(np.int64)
        cells_b = cells_a if self_join else np.floor((PB + shift) / _CELL).astype(np.int64)
        buckets: dict[bytes, list[int]] = {}
        for i, row in enumerate(cells_a):
            bucket = buckets.setdefault(row.tobytes(), [])
            if len(bucket) < _BUCKET_CAP:
                bucket.append(i)
        for j, row in enumerate(cells_b):
            candidates[j].update(buckets.get(row.tobytes(), ()))
    for j, cand in enumerate(candidates):
        if self_join:
            cand.discard(j)
        if not cand:
            continue
        idx = np.fromiter(cand, dtype=np.int64, count=len(cand))
        diff = A[idx] - B[j]
        out[j] = math.sqrt(float(np.min(np.einsum("ij,ij->i", diff, diff))) / d)
    return out


def natural_collision_log10(
    X: torch.Tensor, max_rows: int = 2000, stop_below: float = -30.0, seed: int = 0
) -> float:
    """log10 of the chance that two different random rows agree on every feature, if features
    were independent: the sum over features of log10(sum_v p_v^2), with sum_v p_v^2 estimated
    without the self-pairs as (sum_v c_v^2 - n) / (n (n - 1)) on up to `max_rows` rows.
    -inf when some feature never repeats a value (continuous data: exact twins are not
    expected by chance). Every term is <= 0, so the sum is cut short (an upper bound) once it
    falls below `stop_below`: chance twins are then out of the question anyway."""
    flat = X.reshape(len(X), -1)
    n = flat.shape[0]
    if n < 2:
        return -math.inf
    if n > max_rows:
        idx = torch.randperm(n, generator=torch.Generator().manual_seed(seed))[:max_rows]
        flat, n = flat[idx], max_rows
    flat = flat.to(torch.float32) if torch.is_floating_point(flat) else flat.to(torch.int64)
    total = 0.0
    for j in range(0, flat.shape[1], 256):
        s, _ = torch.sort(flat[:, j : j + 256], dim=0)
        new = torch.ones_like(s, dtype=torch.bool)
        new[1:] = s[1:] != s[:-1]
        idx = torch.arange(n).unsqueeze(1).expand_as(s)
        start = torch.cummax(torch.where(new, idx, torch.zeros_like(idx)), dim=0).values
        sum_c2 = (2 * (idx - start) + 1).sum(0).to(torch.float64)  # sum over runs of c^2
        p2 = (sum_c2 - n) / (n * (n - 1))
        if bool((p2 <= 0).any()):
            return -math.inf
        total += float(torch.log10(p2).sum())
        if total < stop_below:
            break
    return total


# --- labels ---------------------------------------------------------------------------------


def labels(train: Split, val: Split | None, task: str) -> dict[str, Any]:
    ytr = train.y
    if ytr.dim() > 1 and ytr[0].numel() > 1:
        return {"kind": "skipped", "reason": f"per-element targets of shape {list(ytr.shape[1:])}"}
    ytr = ytr.reshape(-1)
    yva = val.y.reshape(-1) if val is not None else None
    if task in ("classification", "binary"):
        tr_counts = class_counts(ytr)
        out: dict[str, Any] = {"kind": "classes", "train_counts": tr_counts}
        if yva is not None:
            va_counts = class_counts(yva)
            out["val_counts"] = va_counts
            out.update(compare_counts(tr_counts, va_counts))
        return out
    out = {"kind": "continuous", "train": _describe(ytr)}
    if yva is not None:
        out["val"] = _describe(yva)
        a, b = ytr.double().numpy(), yva.double().numpy()
        a, b = a[np.isfinite(a)], b[np.isfinite(b)]
        if len(a) and len(b):
            from scipy.stats import ks_2samp

            res = ks_2samp(a, b)
            out["ks_statistic"] = float(res.statistic)
            out["ks_p"] = float(res.pvalue)
    return out


def class_counts(y: torch.Tensor) -> dict[str, int]:
    if torch.is_floating_point(y):
        y = y[torch.isfinite(y)].round().to(torch.int64)
    values, counts = torch.unique(y, return_counts=True)
    return {str(int(v)): int(c) for v, c in zip(values, counts, strict=True)}


def compare_counts(train: dict[str, int], val: dict[str, int]) -> dict[str, Any]:
    """Total variation distance and a chi-square test of homogeneity between two count
    vectors over the union of their classes."""
    classes = sorted(set(train) | set(val), key=int)
    a = np.array([train.get(c, 0) for c in classes], dtype=np.float64)
    b = np.array([val.get(c, 0) for c in classes], dtype=np.float64)
    na, nb = a.sum(), b.sum()
    out: dict[str, Any] = {"classes": classes, "tvd": None, "chi2": None, "chi2_p": None}
    if na == 0 or nb == 0:
        return out
    out["tvd"] = float(0.5 * np.abs(a / na - b / nb).sum())
    if len(classes) >= 2:
        chi2, p, dof = chi_square_homogeneity(a, b)
        out.update(chi2=chi2, chi2_p=p, chi2_dof=dof)
    return out


def chi_square_homogeneity(a: np.ndarray, b: np.ndarray) -> tuple[float, float, int]:
    """Pearson chi-square statistic of the 2 x K table [a; b], its p-value and dof."""
    from scipy.stats import chi2 as chi2_dist

    table = np.vstack([a, b])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    return stat, float(chi2_dist.sf(stat, dof)), dof


def _describe(y: torch.Tensor) -> dict[str, Any]:
    y = y.double()
    finite = y[torch.isfinite(y)]
    if finite.numel() == 0:
        return {"n": len(y), "finite": 0}
    q = torch.quantile(finite, torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0], dtype=torch.float64))
    return {
        "n": len(y),
        "finite": int(finite.numel()),
        "mean": float(finite.mean()),
        "std": float(finite.std(unbiased=False)),
        "quantiles": [float(v) for v in q],
    }


# --- scale ----------------------------------------------------------------------------------


def _non_finite(train: Split, val: Split | None) -> dict[str, int | None]:
    def bad(t: torch.Tensor | None) -> int | None:
        if t is None:
            return None
        return int((~torch.isfinite(t)).sum()) if torch.is_floating_point(t) else 0

    return {
        "train_inputs": bad(train.X),
        "val_inputs": bad(val.X) if val is not None else None,
        "train_targets": bad(train.y),
        "val_targets": bad(val.y) if val is not None else None,
        "train_input_rows": _bad_rows(train.X),
        "val_input_rows": _bad_rows(val.X) if val is not None else None,
    }


def _bad_rows(X: torch.Tensor) -> int:
    if not torch.is_floating_point(X):
        return 0
    return int((~torch.isfinite(X.reshape(len(X), -1))).any(1).sum())


def first_layer(model: nn.Module, ctx: ProbeContext, X: torch.Tensor) -> dict[str, Any]:
    """The first module with parameters (or normalization layer) that the forward pass calls,
    and the input it received (the model may rescale the input inside `forward`)."""
    seen: dict[str, Any] = {}
    handles = []
    for name, module in model.named_modules():
        is_norm = isinstance(module, _NORM_LAYERS)
        has_params = any(True for _ in module.parameters(recurse=False))
        if not (is_norm or has_params):
            continue

        def hook(mod, args, name=name, is_norm=is_norm):
            if "name" not in seen and args and isinstance(args[0], torch.Tensor):
                seen.update(name=name, type=type(mod).__name__, norm=is_norm,
                            input=args[0].detach().cpu())

        handles.append(module.register_forward_pre_hook(hook))
    try:
        model.eval()
        with torch.no_grad():
            ctx.forward(model, X)
    finally:
        for h in handles:
            h.remove()
    return seen


def scale(ctx: ProbeContext, model: nn.Module, train: Split, val: Split | None) -> dict[str, Any]:
    probe_rows = min(len(train), 256)
    first = first_layer(model, ctx, train.X[:probe_rows])
    out: dict[str, Any] = {"first_layer": first.get("name"), "first_layer_type": first.get("type")}
    seen = first.get("input")
    if not torch.is_floating_point(train.X) and (
        seen is None or not torch.is_floating_point(seen)
    ):
        out["skipped"] = (
            f"integer inputs ({str(train.X.dtype).replace('torch.', '')}) reach the first layer "
            f"({first.get('type', 'none')}) as integers: token ids or categories, whose scale "
            "the embedding sets"
        )
        return out
    if first.get("norm"):
        out["skipped"] = (
            f"the model normalizes its input itself (first layer `{first['name']}` is a "
            f"{first['type']})"
        )
        return out
    raw = train.X[:probe_rows].to(torch.float32)
    transformed = (
        seen is not None
        and torch.is_floating_point(seen)
        and not (
            seen.numel() == raw.numel()
            and torch.allclose(seen.reshape(raw.shape).float(), raw, equal_nan=True)
        )
    )
    out["measured_at"] = f"input of `{first['name']}`" if transformed else "model input"

    def inputs(split: Split) -> torch.Tensor:
        if not transformed:
            return split.X
        rows = split.X[: min(len(split), 1024)]
        got = first_layer(model, ctx, rows).get("input")
        return got if got is not None else rows

    out["train"] = feature_stats(inputs(train))
    if val is not None:
        out["val"] = feature_stats(inputs(val))
    return out


def feature_axis(X: torch.Tensor) -> tuple[torch.Tensor, str]:
    """(rows x features) view: columns for tables, channels for images (N, C, H, W) and
    volumes, the last dimension for sequences (N, T, F)."""
    if X.dim() == 1:
        return X.reshape(-1, 1), "single feature"
    if X.dim() == 2:
        return X, "columns"
    if X.dim() == 3:
        return X.reshape(-1, X.shape[-1]), "last dimension"
    C = X.shape[1]
    return X.transpose(0, 1).reshape(C, -1).T, "channels"


def feature_stats(X: torch.Tensor) -> dict[str, Any]:
    M, axis = feature_axis(X.to(torch.float64))
    finite = torch.isfinite(M)
    Mz = torch.where(finite, M, torch.zeros_like(M))
    cnt = finite.sum(0).clamp(min=1).to(torch.float64)
    mean = Mz.sum(0) / cnt
    sq = (Mz**2).sum(0) / cnt
    std = (sq - mean**2).clamp(min=0).sqrt()
    rms = sq.sqrt()
    zero_share = ((M == 0) & finite).sum(0) / cnt
    dense = zero_share <= 0.5
    total = int(finite.sum())
    gl_rms = float(math.sqrt(float((Mz**2).sum()) / max(total, 1)))
    rd = rms[dense]
    spread = None
    if int(dense.sum()) >= 3:
        lo, hi = torch.quantile(rd, torch.tensor([0.1, 0.9], dtype=torch.float64))
        spread = float(hi / lo) if float(lo) > 0 else math.inf
    offset = None
    if bool(dense.any()):
        ratio = mean[dense].abs() / std[dense].clamp(min=1e-12)
        offset = float(ratio.median())
    used = torch.nonzero(rms > 0).reshape(-1)  # constant-zero features are unused, not badly scaled
    order = used[torch.argsort(rms[used].log10().abs(), descending=True)[:3]]
    return {
        "axis": axis,
        "features": int(M.shape[1]),
        "dense_features": int(dense.sum()),
        "global_rms": gl_rms,
        "global_mean": float(Mz.sum() / max(total, 1)),
        "median_abs_mean": float(mean.abs().median()),
        "median_std": float(std.median()),
        "median_rms": float(rms.median()),
        "max_feature_rms": float(rms.max()),
        "scale_spread": spread,  # 90th / 10th percentile of per-feature RMS, dense features
        "median_offset_ratio": offset,  # median |mean| / std over dense features
        "min": float(Mz.min()) if total else None,
        "max": float(Mz.max()) if total else None,
        "worst_features": [
            {"index": int(i), "mean": float(mean[i]), "std": float(std[i]), "rms": float(rms[i])}
            for i in order
        ],
    }


def _loss_weighted(loss: Any) -> bool:
    """Whether the user's loss already weights classes (weight= or pos_weight=)."""
    for attr in ("weight", "pos_weight"):
        if getattr(loss, attr, None) is not None:
            return True
    return False
