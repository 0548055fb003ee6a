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
_FULL_HASH_VALUES = 8192  # hash all training (X, y) rows up to this many values x max_samples
_CHUNK_ELEMENTS = 1 << 22  # values converted at a time (bounds the probe's extra memory)
_STATS_ELEMENTS = 1 << 20  # values used for the scale statistics (evenly spaced rows)
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


def _chunk_rows(X: Any) -> int:
    """Rows per chunk so that a converted chunk stays near `_CHUNK_ELEMENTS` values."""
    per_row = max(1, int(np.prod(X.shape[1:])) if len(X.shape) > 1 else 1)
    return max(1, _CHUNK_ELEMENTS // per_row)


def row_digests(X: torch.Tensor, integer: bool) -> list[bytes]:
    """A 16-byte BLAKE2b digest of each row (float32, -0.0 folded into 0.0; int64 if integer),
    converted chunk by chunk."""
    out: list[bytes] = []
    step = _chunk_rows(X)
    for i in range(0, len(X), step):
        chunk = X[i : i + step]
        flat = chunk.reshape(len(chunk), -1)
        flat = flat.to(torch.int64) if integer else flat.to(torch.float32) + 0.0
        arr = np.ascontiguousarray(flat.numpy())
        out.extend(hashlib.blake2b(row, digest_size=16).digest() for row in arr)
    return out


def _label_keys(y: torch.Tensor) -> list[bytes]:
    flat = y.reshape(len(y), -1)
    flat = flat.to(torch.float64) + 0.0 if torch.is_floating_point(flat) else flat.to(torch.int64)
    arr = np.ascontiguousarray(flat.numpy())
    return [row.tobytes() for row in arr]


def _train_chunks(ctx: ProbeContext, train: Split):
    """(complete, chunks): the training rows to hash in (X, y) chunks. The user's whole (X, y)
    when it was capped to a sample and is not huge (read chunk by chunk, never modified),
    else the capped sample. `complete`: every training row is hashed."""
    data = ctx.spec.train
    per_row = int(np.prod(train.X.shape[1:])) if train.X.dim() > 1 else 1
    limit = _FULL_HASH_VALUES * ctx.budget.max_samples // max(per_row, 1)
    if (
        train.kind == "tensors"
        and len(train) < train.total <= limit
        and isinstance(data, (tuple, list))
    ):
        X, y = data
        size = _chunk_rows(train.X)
        chunks = (
            (_tensor(X[i : i + size]), _tensor(y[i : i + size]))
            for i in range(0, train.total, size)
        )
        return True, chunks
    size = _chunk_rows(train.X)
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
    sd = _feature_scale(A)
    exact_set = set(exact)
    dist = near_distances(A, B, seed=ctx.seed, scale=sd)
    out["near_distances"] = sorted(
        round(float(d), 5) for i, d in enumerate(dist) if i not in exact_set and d <= NEAR_MAX
    )
    sample_digests = row_digests(train.X, integer)
    sample_counts = Counter(sample_digests)
    self_dist = near_distances(A, A, seed=ctx.seed, self_join=True, scale=sd)
    out["train_internal_near_distances"] = sorted(
        round(float(d), 5)
        for d, dg in zip(self_dist, sample_digests, strict=True)
        if sample_counts[dg] == 1 and d <= NEAR_MAX
    )
    out["train_sample_rows"] = len(A)
    out["train_sample_internal_exact"] = sum(c for c in sample_counts.values() if c > 1)
    return out


def _flat_float(X: torch.Tensor) -> np.ndarray:
    """Rows as a float32 matrix (a view when possible); NaN/inf replaced by 0 in a copy."""
    arr = X.reshape(len(X), -1).to(torch.float32).numpy()
    if not np.isfinite(arr).all():
        arr = np.nan_to_num(arr, nan=0.0, posinf=0.0, neginf=0.0)
    return arr


def _feature_scale(A: np.ndarray) -> np.ndarray:
    """Per-feature training standard deviation (accumulated chunk by chunk in float64),
    floored at a tenth of the median one so that a feature (almost) constant in train cannot
    turn tiny differences into large ones."""
    n, d = A.shape
    s1, s2 = np.zeros(d), np.zeros(d)
    step = max(1, _CHUNK_ELEMENTS // max(d, 1))
    for i in range(0, n, step):
        chunk = A[i : i + step].astype(np.float64)
        s1 += chunk.sum(0)
        s2 += (chunk**2).sum(0)
    mean = s1 / max(n, 1)
    sd = np.sqrt(np.maximum(s2 / max(n, 1) - mean**2, 0.0))
    positive = sd[sd > 0]
    floor = 0.1 * float(np.median(positive)) if positive.size else 1.0
    return np.maximum(sd, floor).astype(np.float32)


def near_distances(
    A: np.ndarray,
    B: np.ndarray,
    seed: int = 0,
    self_join: bool = False,
    scale: np.ndarray | None = None,
) -> np.ndarray:
    """For each row of B, the RMS distance to its nearest row of A among the hash candidates
    (inf when none shares a cell), in units of `scale` per feature (1 when None; the scaled
    rows are never materialized). Rows are projected on `_PROJ_DIMS` random Gaussian
    directions scaled by 1/sqrt(d), so a pair at RMS distance r differs by N(0, r^2) on each
    projection; the projections are cut into cells of width `_CELL` on `_GRIDS` shifted grids,
    and only pairs sharing a cell are compared. With `self_join`, a row is not its own match."""
    n_a, d = A.shape
    out = np.full(len(B), np.inf)
    if n_a == 0 or len(B) == 0:
        return out
    inv = np.ones(d, dtype=np.float32) if scale is None else (1.0 / scale).astype(np.float32)
    rng = np.random.default_rng(seed + 7919)
    R = (rng.standard_normal((d, _PROJ_DIMS)) / math.sqrt(d)).astype(np.float32)
    R = R * inv[:, None]  # (x / scale) @ R without forming x / scale
    PA = A @ R
    PB = PA if self_join else B @ R
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
        diff = (A[idx] - B[j]) * inv
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
            out["ks_statistic"], out["ks_p"] = ks_two_sample(a, b)
    return out


def ks_two_sample(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Two-sample Kolmogorov-Smirnov statistic D = max |F_a - F_b| and its asymptotic p-value
    Q(sqrt(n_a n_b / (n_a + n_b)) D), Q(t) = 2 sum_k (-1)^(k-1) exp(-2 k^2 t^2) (Kolmogorov's
    limit law, `scipy.stats.kstwobign.sf`), without importing scipy (2-3 s at import)."""
    a, b = np.sort(a), np.sort(b)
    grid = np.concatenate([a, b])
    cdf_a = np.searchsorted(a, grid, side="right") / len(a)
    cdf_b = np.searchsorted(b, grid, side="right") / len(b)
    d = float(np.max(np.abs(cdf_a - cdf_b)))
    t = math.sqrt(len(a) * len(b) / (len(a) + len(b))) * d
    if t < 0.2:
        return d, 1.0
    p = 2 * sum((-1) ** (k - 1) * math.exp(-2 * k * k * t * t) for k in range(1, 101))
    return d, float(min(1.0, max(0.0, p)))


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
    """Pearson chi-square statistic of the 2 x K table [a; b], its p-value (the chi-square
    survival function, the regularized upper incomplete gamma Q(dof / 2, stat / 2)) and dof."""
    table = np.vstack([a, b])
    expected = table.sum(1, keepdims=True) * table.sum(0, keepdims=True) / table.sum()
    stat = float(((table - expected) ** 2 / expected).sum())
    dof = table.shape[1] - 1
    p = torch.special.gammaincc(
        torch.tensor(dof / 2, dtype=torch.float64), torch.tensor(stat / 2, dtype=torch.float64)
    )
    return stat, float(p), dof


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
    tr_values, tr_rows = count_non_finite(train.X)
    out: dict[str, int | None] = {
        "train_inputs": tr_values,
        "val_inputs": None,
        "train_targets": count_non_finite(train.y)[0],
        "val_targets": None,
        "train_input_rows": tr_rows,
        "val_input_rows": None,
    }
    if val is not None:
        out["val_inputs"], out["val_input_rows"] = count_non_finite(val.X)
        out["val_targets"] = count_non_finite(val.y)[0]
    return out


def count_non_finite(X: torch.Tensor) -> tuple[int, int]:
    """(NaN/inf values, rows holding at least one), chunk by chunk; 0 for integer tensors."""
    if not torch.is_floating_point(X) or len(X) == 0:
        return 0, 0
    values = rows = 0
    step = _chunk_rows(X)
    for i in range(0, len(X), step):
        bad = ~torch.isfinite(X[i : i + step].reshape(min(step, len(X) - i), -1))
        values += int(bad.sum())
        rows += int(bad.any(1).sum())
    return values, rows


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
                seen.update(
                    name=name, type=type(mod).__name__, norm=is_norm, input=args[0].detach().cpu()
                )

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
    if not torch.is_floating_point(train.X) and (seen is None or not torch.is_floating_point(seen)):
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
    """Per-feature mean, std and RMS (NaN/inf left out) and their summaries, on evenly
    spaced rows holding at most `_STATS_ELEMENTS` values."""
    rows = len(X)
    per_row = int(np.prod(X.shape[1:])) if X.dim() > 1 else 1
    keep = max(1, _STATS_ELEMENTS // max(1, per_row))
    if rows > keep:
        X = X[torch.linspace(0, rows - 1, keep).round().long()]
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
        "rows_used": len(X),
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
    return any(getattr(loss, attr, None) is not None for attr in ("weight", "pos_weight"))
