"""Select checks, run each behind an error boundary, collect findings and check records."""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence

from overfit_doctor.checks.base import Check, Context, NotApplicable
from overfit_doctor.diagnosis import CheckRecord, Finding


def code_selected(code: str, select: Sequence[str], ignore: Sequence[str]) -> bool:
    """ruff-style prefix selection: `--select OD1` keeps OD1xx, `--ignore OD103` drops one."""
    if select and not any(code.startswith(s) for s in select):
        return False
    return not any(code.startswith(i) for i in ignore)


def run_checks(
    ctx: Context,
    checks: Iterable[Check],
    *,
    select: Sequence[str] = (),
    ignore: Sequence[str] = (),
    available: frozenset[str] = frozenset({"history"}),
    figures: dict | None = None,
) -> tuple[list[Finding], list[CheckRecord]]:
    """Run every applicable check; a crash becomes an `errored` record, never a crash here.
    Plot data the checks return is collected into `figures` when given."""
    findings: list[Finding] = []
    records: list[CheckRecord] = []
    for check in checks:
        meta = check.meta
        wanted = [c for c in meta.codes if code_selected(c, select, ignore)]
        if not wanted:
            records.append(CheckRecord(meta.id, "skipped", meta.codes, "not selected"))
            continue
        missing = sorted(meta.needs - available)
        if missing:
            reason = "needs " + ", ".join(_NEED_TEXT.get(m, m) for m in missing)
            records.append(CheckRecord(meta.id, "skipped", meta.codes, reason))
            continue
        start = time.perf_counter()
        try:
            outcome = check.run(ctx)
        except NotApplicable as exc:
            records.append(CheckRecord(meta.id, "skipped", meta.codes, str(exc)))
            continue
        except Exception as exc:
            records.append(
                CheckRecord(
                    meta.id,
                    "errored",
                    meta.codes,
                    f"{type(exc).__name__}: {exc}",
                    time.perf_counter() - start,
                )
            )
            continue
        duration = time.perf_counter() - start
        status, reason = ("errored", "; ".join(outcome.errors)) if outcome.errors else ("ran", None)
        records.append(
            CheckRecord(meta.id, status, meta.codes, reason, duration, outcome.measurements)
        )
        findings.extend(f for f in outcome.findings if f.code in wanted)
        if figures is not None:
            figures.update(outcome.figures)
    return findings, records


_NEED_TEXT = {
    "history": "a training log (PATH)",
    "model": "a model (--spec)",
    "train_data": "training data (--spec)",
    "val_data": "validation data (--spec)",
}
