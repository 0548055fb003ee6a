"""Data checks of `diagnose --spec`: validation rows copied from training (OD501), label
distributions that differ between the splits (OD502), class imbalance (OD503), and inputs far
from unit scale or not finite (OD504). All read the `data` probe (no training)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, ClassVar

from overfit_doctor.catalogue.model import Severity
from overfit_doctor.checks.base import CheckMeta, Context, finding
from overfit_doctor.checks.spec_base import SpecCheck
from overfit_doctor.diagnosis import Finding

_MODEL_AND_DATA = frozenset({"model", "train_data"})
_WITH_VAL = frozenset({"model", "train_data", "val_data"})


def _clamp(x: float, lo: float, hi: float) -> float:
    return max(lo, min(hi, x))


def _pct(x: float) -> str:
    return f"{100 * x:.1f}%" if x >= 0.001 else f"{100 * x:.2g}%"


def _classes(names: list[str], limit: int = 6) -> str:
    shown = ", ".join(names[:limit])
    return shown + (f" and {len(names) - limit} more" if len(names) > limit else "")


# --- OD501 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class OverlapParams:
    min_share: float = 0.01  # share of validation rows with a twin in train
    min_rows: int = 5  # ... and at least this many such rows
    near_tolerance: float = 0.02  # RMS distance, in training std units, that counts as "near"
    null_ratio: float = 2.0  # when repeats are natural: share must exceed this x train's own
    natural_gate: float = 1e-3  # chance-twin rate above which repeated inputs may be natural


class TrainValOverlap(SpecCheck):
    """Validation rows that also occur (exactly or almost exactly) in the training set."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="train-val-overlap",
        codes=("OD501",),
        needs=_WITH_VAL,
        description="Validation rows that also occur, exactly or almost, in the training set.",
    )
    Params = OverlapParams

    def measure(self, ctx: Context, p: OverlapParams) -> dict[str, Any]:
        d = ctx.probe("data")
        return overlap_measurements(d, p)

    def judge(self, m: dict[str, Any], p: OverlapParams) -> list[Finding]:
        if not m.get("judged") or m["duplicated_rows"] < p.min_rows or m["share"] < p.min_share:
            return []
        share, rows = m["share"], m["duplicated_rows"]
        near_txt = (
            f", {m['near']} near-identical (RMS distance <= {p.near_tolerance} std)"
            if m["near"]
            else ""
        )
        core = (
            f"{_pct(share)} of validation rows have a twin in the training set "
            f"({m['exact']} exact{near_txt}, of {m['val_rows']} checked"
            f"{', estimated from a sample' if m['estimated'] else ''})"
        )
        evidence = {
            k: m[k]
            for k in (
                "share",
                "exact",
                "near",
                "duplicated_rows",
                "val_rows",
                "val_total",
                "estimated_val_rows_affected",
                "same_label_share",
                "train_internal_share",
                "natural_twin_rate",
                "repeats_natural",
                "expected_share",
                "estimated",
                "examples",
                "examples_are_user_rows",
            )
        }
        evidence["thresholds"] = asdict(p)
        where = {"model": m["model"], "split": "val"}
        if not m["fires"]:
            message = (
                f"{core}, but the training set repeats its own rows about as often "
                f"({_pct(m['train_internal_share'])}) and inputs this discrete repeat by chance: "
                "likely natural repeats, not leakage."
            )
            return [
                finding(
                    "OD501",
                    confidence=0.3,
                    message=message,
                    evidence=evidence,
                    where=where,
                    severity=Severity.INFO,
                )
            ]
        conf = 0.6 + 0.15 * math.log10(share / p.min_share) + 0.05 * math.log10(rows / p.min_rows)
        if m["estimated"]:
            conf -= 0.1
        if m["exact"] == 0:
            conf -= 0.1
        message = f"{core}: validation scores reward memorization."
        if m["train_internal_share"] >= p.min_share:
            message = (
                f"{core}; training repeats {_pct(m['train_internal_share'])} of its own rows "
                "(oversampled or augmented before splitting?)."
            )
        return [
            finding(
                "OD501",
                confidence=_clamp(conf, 0.5, 0.97),
                message=message,
                evidence=evidence,
                where=where,
            )
        ]


def overlap_measurements(d: dict[str, Any], p: OverlapParams) -> dict[str, Any]:
    o = d.get("overlap")
    if not o:
        return {"judged": False, "reason": "no validation data"}
    n = max(o["val_rows"], 1)
    near = sum(1 for x in o["near_distances"] if x <= p.near_tolerance)
    internal_near = sum(1 for x in o["train_internal_near_distances"] if x <= p.near_tolerance)
    train_total = max(d["train_samples"], 1)
    sample_fraction = min(1.0, o.get("train_sample_rows", train_total) / train_total)
    coverage = min(1.0, o["train_coverage"])
    # A twin can only be found among the training rows searched: scale by the share searched.
    exact_share = o["exact"] / n / max(coverage, 1e-12)
    near_share = near / n / max(sample_fraction, 1e-12)
    share = min(1.0, exact_share + near_share)
    internal = o["train_internal_exact"] / max(o["train_rows_hashed"], 1)
    if o.get("train_sample_rows"):
        internal += internal_near / o["train_sample_rows"]
    natural = (o["natural_twin_rate"] or 0.0) >= p.natural_gate
    expected = internal if natural else 0.0
    estimated = coverage < 1.0 or (near > 0 and sample_fraction < 1.0)
    m = {
        "judged": True,
        "model": d["model_class"],
        "share": share,
        "exact": o["exact"],
        "near": near,
        "duplicated_rows": o["exact"] + near,
        "val_rows": o["val_rows"],
        "val_total": o["val_total"],
        "estimated_val_rows_affected": round(share * o["val_total"]),
        "same_label_share": o["exact_same_label"] / o["exact"] if o["exact"] else None,
        "train_internal_share": min(1.0, internal),
        "natural_twin_rate": o["natural_twin_rate"],
        "natural_log10_pair": o["natural_log10_pair"],
        "repeats_natural": natural,
        "expected_share": expected,
        "estimated": estimated,
        "train_rows_searched": o["train_rows_hashed"],
        "integer_inputs": o["integer_inputs"],
        "examples": o["exact_examples"],
        "examples_are_user_rows": o["examples_are_user_rows"],
    }
    m["fires"] = bool(
        m["duplicated_rows"] >= p.min_rows
        and share >= p.min_share
        and share > p.null_ratio * expected
    )
    return m


# --- OD502 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LabelShiftParams:
    min_expected: float = 5.0  # expected rows of a class before its absence counts
    max_tvd: float = 0.1  # total variation distance between the class distributions
    alpha: float = 1e-3  # significance of the chi-square / Kolmogorov-Smirnov test
    min_samples: int = 20  # rows per split before the distribution tests are judged
    max_ks: float = 0.2  # Kolmogorov-Smirnov statistic for regression targets


class LabelShift(SpecCheck):
    """Training and validation labels come from different distributions."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="label-shift",
        codes=("OD502",),
        needs=_WITH_VAL,
        description="Classes missing from one split, or label distributions that differ.",
    )
    Params = LabelShiftParams

    def measure(self, ctx: Context, p: LabelShiftParams) -> dict[str, Any]:
        return label_shift_measurements(ctx.probe("data"), p)

    def judge(self, m: dict[str, Any], p: LabelShiftParams) -> list[Finding]:
        if not m.get("fires"):
            return []
        parts = []
        if m.get("missing_in_val"):
            miss = m["missing_in_val"]
            parts.append(
                f"validation lacks {len(miss)} of {m['train_classes']} training classes "
                f"({_classes(miss)}; at least {m['missing_min_expected']:.0f} rows each expected)"
            )
        if m.get("new_in_val"):
            new = m["new_in_val"]
            parts.append(
                f"validation has {len(new)} classes that training never shows ({_classes(new)})"
            )
        if m["kind"] == "classes" and m.get("tvd") is not None:
            parts.append(
                f"class shares differ by TVD {m['tvd']:.2f} (chi-square p {_p(m.get('chi2_p'))})"
            )
        if m["kind"] == "continuous":
            parts.append(
                f"targets differ (Kolmogorov-Smirnov D {m['ks_statistic']:.2f}, p "
                f"{_p(m['ks_p'])}; val median {m['val_median']:.3g} vs train "
                f"{m['train_median']:.3g})"
            )
        message = (
            "Label distributions differ between training and validation: " + "; ".join(parts) + "."
        )
        if m.get("missing_in_val") or m.get("new_in_val"):
            conf = 0.95 if m["absence_p"] < 1e-6 else 0.8
        else:
            effect = m.get("tvd") if m["kind"] == "classes" else m.get("ks_statistic")
            limit = p.max_tvd if m["kind"] == "classes" else p.max_ks
            conf = _clamp(0.55 + 1.5 * (effect - limit), 0.55, 0.9)
        evidence = {k: v for k, v in m.items() if k not in ("fires", "judged", "model")}
        evidence["thresholds"] = asdict(p)
        return [
            finding(
                "OD502",
                confidence=conf,
                message=message,
                evidence=evidence,
                where={"model": m["model"], "split": "val"},
            )
        ]


def _p(p: float | None) -> str:
    if p is None:
        return "n/a"
    return "< 1e-300" if p == 0 else f"{p:.2g}"


def label_shift_measurements(d: dict[str, Any], p: LabelShiftParams) -> dict[str, Any]:
    lab = d["labels"]
    m: dict[str, Any] = {"model": d["model_class"], "kind": lab["kind"], "judged": False}
    if lab["kind"] == "skipped":
        m["reason"] = lab["reason"]
        return m
    if lab["kind"] == "continuous":
        if "ks_statistic" not in lab:
            m["reason"] = "no validation targets"
            return m
        n_tr, n_va = lab["train"].get("finite", 0), lab["val"].get("finite", 0)
        m.update(
            judged=True,
            ks_statistic=lab["ks_statistic"],
            ks_p=lab["ks_p"],
            train_median=lab["train"]["quantiles"][2],
            val_median=lab["val"]["quantiles"][2],
            train_rows=n_tr,
            val_rows=n_va,
        )
        m["fires"] = bool(
            min(n_tr, n_va) >= p.min_samples
            and lab["ks_statistic"] >= p.max_ks
            and lab["ks_p"] < p.alpha
        )
        return m
    if "val_counts" not in lab:
        m["reason"] = "no validation labels"
        return m
    tr, va = lab["train_counts"], lab["val_counts"]
    n_tr, n_va = sum(tr.values()), sum(va.values())
    if n_tr == 0 or n_va == 0:
        m["reason"] = "empty split"
        return m
    missing, new, absence_p, min_expected = [], [], 1.0, math.inf
    for c, k in tr.items():
        expected = n_va * k / n_tr
        if va.get(c, 0) == 0 and expected >= p.min_expected:
            missing.append(c)
            min_expected = min(min_expected, expected)
            absence_p = min(absence_p, (1 - k / n_tr) ** n_va)
    for c, k in va.items():
        expected = n_tr * k / n_va
        if tr.get(c, 0) == 0 and expected >= p.min_expected:
            new.append(c)
            absence_p = min(absence_p, (1 - k / n_va) ** n_tr)
    tvd, chi2_p = lab.get("tvd"), lab.get("chi2_p")
    shifted = bool(
        tvd is not None
        and chi2_p is not None
        and min(n_tr, n_va) >= p.min_samples
        and tvd >= p.max_tvd
        and chi2_p < p.alpha
    )
    m.update(
        judged=True,
        train_rows=n_tr,
        val_rows=n_va,
        train_classes=len(tr),
        val_classes=len(va),
        missing_in_val=missing,
        new_in_val=new,
        missing_min_expected=min_expected if missing else None,
        absence_p=absence_p,
        tvd=tvd,
        chi2_p=chi2_p,
        train_counts=tr,
        val_counts=va,
    )
    m["fires"] = bool(missing or new or shifted)
    return m


# --- OD503 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImbalanceParams:
    max_ratio: float = 10.0  # largest / smallest training class count (SageMaker ClassImbalance)


class ClassImbalance(SpecCheck):
    """Some training classes are far rarer than others."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="class-balance",
        codes=("OD503",),
        needs=_MODEL_AND_DATA,
        description="Ratio of the largest to the smallest training class.",
    )
    Params = ImbalanceParams

    def measure(self, ctx: Context, p: ImbalanceParams) -> dict[str, Any]:
        d = ctx.probe("data")
        lab = d["labels"]
        m: dict[str, Any] = {"model": d["model_class"], "judged": False}
        if lab["kind"] != "classes":
            m["reason"] = lab.get("reason") or "regression targets have no classes"
            return m
        counts = lab["train_counts"]
        if len(counts) < 2:
            m["reason"] = "a single class in the training data"
            return m
        big = max(counts, key=lambda c: counts[c])
        small = min(counts, key=lambda c: counts[c])
        n = sum(counts.values())
        m.update(
            judged=True,
            ratio=counts[big] / counts[small],
            largest_class=big,
            largest_count=counts[big],
            smallest_class=small,
            smallest_count=counts[small],
            smallest_share=counts[small] / n,
            largest_share=counts[big] / n,
            classes=len(counts),
            rare_classes=[c for c, k in counts.items() if counts[big] / k > p.max_ratio],
            loss_weighted=d["loss_weighted"],
            train_rows=n,
        )
        m["fires"] = bool(m["ratio"] > p.max_ratio)
        return m

    def judge(self, m: dict[str, Any], p: ImbalanceParams) -> list[Finding]:
        if not m.get("fires"):
            return []
        rare = m["rare_classes"]
        message = (
            f"Training classes are imbalanced {m['ratio']:.1f}:1: class {m['largest_class']} has "
            f"{m['largest_count']} rows ({_pct(m['largest_share'])}), class "
            f"{m['smallest_class']} only {m['smallest_count']} ({_pct(m['smallest_share'])})"
            + (f"; {len(rare)} classes are over {p.max_ratio:g}x rarer" if len(rare) > 1 else "")
            + "."
        )
        evidence = {k: v for k, v in m.items() if k not in ("fires", "judged", "model")}
        evidence["thresholds"] = asdict(p)
        where = {"model": m["model"], "split": "train"}
        if m["loss_weighted"]:
            message = message[:-1] + "; the loss already weights classes."
            return [
                finding(
                    "OD503",
                    confidence=0.3,
                    message=message,
                    evidence=evidence,
                    where=where,
                    severity=Severity.INFO,
                )
            ]
        conf = _clamp(0.55 + 0.3 * math.log10(m["ratio"] / p.max_ratio), 0.55, 0.95)
        return [finding("OD503", confidence=conf, message=message, evidence=evidence, where=where)]


# --- OD504 ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ScaleParams:
    max_rms: float = 4.0  # overall RMS of the inputs (1 when standardized, <= 1 in [0, 1])
    min_rms: float = 0.01  # ... and its lower bound
    max_feature_rms: float = 100.0  # RMS of any single feature
    max_scale_spread: float = 100.0  # 90th / 10th percentile of per-feature RMS (dense features)
    max_abs_mean: float = 1.0  # median |mean| over features ...
    max_offset_ratio: float = 3.0  # ... together with median |mean| / std over dense features


class InputScale(SpecCheck):
    """Inputs far from zero mean and unit scale, or not finite."""

    meta: ClassVar[CheckMeta] = CheckMeta(
        id="input-scale",
        codes=("OD504",),
        needs=_MODEL_AND_DATA,
        description="Scale, offset and finiteness of the inputs the first layer sees.",
    )
    Params = ScaleParams

    def measure(self, ctx: Context, p: ScaleParams) -> dict[str, Any]:
        d = ctx.probe("data")
        summary = ctx.probe("summary")
        sc = d["scale"]
        m: dict[str, Any] = {
            "model": d["model_class"],
            "non_finite": d["non_finite"],
            "first_layer": sc.get("first_layer"),
            "first_layer_type": sc.get("first_layer_type"),
            "measured_at": sc.get("measured_at"),
            # dataset size against capacity: context for the other findings, never a finding
            "parameters_per_training_sample": summary.get("parameters_per_training_sample"),
            "train_samples": d["train_samples"],
        }
        if "skipped" in sc:
            m["scale_skipped"] = sc["skipped"]
        for split in ("train", "val"):
            if split in sc:
                m[split] = sc[split]
                m[f"{split}_problems"] = scale_problems(sc[split], p)
        nf = d["non_finite"]
        m["fires"] = bool(
            any(nf.get(k) for k in ("train_inputs", "val_inputs", "train_targets", "val_targets"))
            or m.get("train_problems")
            or m.get("val_problems")
        )
        return m

    def judge(self, m: dict[str, Any], p: ScaleParams) -> list[Finding]:
        if not m.get("fires"):
            return []
        nf = m["non_finite"]
        evidence = {
            "non_finite": nf,
            "measured_at": m.get("measured_at"),
            "first_layer": m.get("first_layer"),
            "thresholds": asdict(p),
        }
        for split in ("train", "val"):
            if split in m:
                st = m[split]
                evidence[split] = {
                    k: st[k]
                    for k in (
                        "axis",
                        "features",
                        "global_rms",
                        "median_abs_mean",
                        "median_std",
                        "max_feature_rms",
                        "scale_spread",
                        "median_offset_ratio",
                        "min",
                        "max",
                        "worst_features",
                    )
                }
                evidence[f"{split}_problems"] = m[f"{split}_problems"]
        bad = {k: v for k, v in nf.items() if v and not k.endswith("_rows")}
        if bad:
            what = ", ".join(f"{k.replace('_', ' ')}: {v} NaN/inf" for k, v in bad.items())
            rows = [
                f"{nf[s + '_input_rows']} {s} rows"
                for s in ("train", "val")
                if nf.get(s + "_input_rows")
            ]
            message = (
                f"The data contain non-finite values ({what}"
                + (f"; {', '.join(rows)} affected" if rows else "")
                + "): the loss will be NaN."
            )
            split = "train" if nf.get("train_inputs") or nf.get("train_targets") else "val"
            return [
                finding(
                    "OD504",
                    confidence=0.99,
                    message=message,
                    evidence=evidence,
                    where={"model": m["model"], "split": split},
                    severity=Severity.ERROR,
                )
            ]
        train_p, val_p = m.get("train_problems") or [], m.get("val_problems") or []
        split = "train" if train_p else "val"
        problems = train_p or val_p
        st = m[split]
        head = (
            "Inputs are far from zero mean and unit scale"
            if split == "train"
            else "Validation inputs are scaled unlike the (well-scaled) training inputs"
        )
        message = (
            f"{head}: {'; '.join(x['text'] for x in problems)}"
            + (" (validation too)" if split == "train" and val_p else "")
            + (
                f", measured at the {m['measured_at']}"
                if (m.get("measured_at") or "").startswith("input of")
                else ""
            )
            + "."
        )
        excess = max(x["excess"] for x in problems)
        conf = _clamp(0.6 + 0.2 * math.log10(excess), 0.6, 0.95)
        if st["features"] < 3:
            conf = min(conf, 0.7)
        return [
            finding(
                "OD504",
                confidence=conf,
                message=message,
                evidence=evidence,
                where={"model": m["model"], "split": split},
            )
        ]


def scale_problems(st: dict[str, Any], p: ScaleParams) -> list[dict[str, Any]]:
    """Each broken scale rule: its name, how far past the threshold (>= 1), and a phrase."""
    out = []
    rms = st["global_rms"]
    if rms > p.max_rms:
        out.append(
            {
                "rule": "max_rms",
                "excess": rms / p.max_rms,
                "text": f"overall RMS {rms:.3g} (> {p.max_rms:g}; values {st['min']:.3g} to "
                f"{st['max']:.3g})",
            }
        )
    elif 0 < rms < p.min_rms:
        out.append(
            {
                "rule": "min_rms",
                "excess": p.min_rms / rms,
                "text": f"overall RMS {rms:.3g} (< {p.min_rms:g})",
            }
        )
    spread = st.get("scale_spread")
    if spread is not None and spread > p.max_scale_spread:
        out.append(
            {
                "rule": "max_scale_spread",
                "excess": spread / p.max_scale_spread,
                "text": f"feature scales span {spread:.3g}x between the 10th and 90th "
                f"percentile (> {p.max_scale_spread:g}x)",
            }
        )
    fr = st["max_feature_rms"]
    if fr > p.max_feature_rms and rms <= p.max_rms:
        worst = st["worst_features"][0]["index"] if st["worst_features"] else "?"
        out.append(
            {
                "rule": "max_feature_rms",
                "excess": fr / p.max_feature_rms,
                "text": f"feature {worst} has RMS {fr:.3g} (> {p.max_feature_rms:g})",
            }
        )
    off = st.get("median_offset_ratio")
    if off is not None and st["median_abs_mean"] > p.max_abs_mean and off > p.max_offset_ratio:
        out.append(
            {
                "rule": "max_offset_ratio",
                "excess": off / p.max_offset_ratio,
                "text": f"features sit {off:.2g} std away from zero (median |mean| "
                f"{st['median_abs_mean']:.3g})",
            }
        )
    return out


CHECKS = (TrainValOverlap(), LabelShift(), ClassImbalance(), InputScale())
