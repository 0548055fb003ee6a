"""The catalogue: one rule per finding code, the remedies they share, and a doc page per code.

Fix text never lives in findings: every renderer and `overfit-doctor explain` read it from here,
so they all say the same thing.
"""

from __future__ import annotations

from importlib import resources

from overfit_doctor.catalogue.model import Effort, Family, Remedy, Rule, Severity
from overfit_doctor.catalogue.remedies import REMEDIES, all_remedies, remedy
from overfit_doctor.catalogue.rules import RULES, SYMPTOMS, codes, rule

__all__ = [
    "REMEDIES",
    "RULES",
    "SYMPTOMS",
    "Effort",
    "Family",
    "Remedy",
    "Rule",
    "Severity",
    "all_remedies",
    "codes",
    "doc_page",
    "explain",
    "remedy",
    "rule",
]

# Display names for the `how` keys, in the order they are printed.
FRAMEWORKS = {
    "pytorch": "PyTorch",
    "lightning": "Lightning",
    "keras": "Keras",
    "huggingface": "Hugging Face",
}

# The fixed sections of every doc page, in order (meta-tested).
DOC_SECTIONS = (
    "What it detects",
    "Why it matters",
    "How it is measured",
    "Example",
    "What to do",
    "False positives",
    "References",
)


def doc_page(code: str) -> str:
    """The packaged Markdown page for `code` (case-insensitive); KeyError if the code is unknown."""
    code = rule(code).code
    page = resources.files(__package__).joinpath("docs", f"{code}.md")
    return page.read_text(encoding="utf-8")


def heading(r: Rule) -> str:
    """`OD101 validation-loss-rising (overfitting, warning)`."""
    return f"{r.code} {r.name} ({r.symptom}, {r.severity.label})"


def remedy_text(rem: Remedy, rank: int | None = None) -> str:
    """One remedy as Markdown: title, effort, summary, references and framework snippets."""
    number = f"{rank}. " if rank is not None else ""
    parts = [f"### {number}{rem.title} ({rem.effort.value})", rem.summary]
    if rem.references:
        parts.append("References:\n\n" + "\n".join(f"- {ref}" for ref in rem.references))
    for key, label in FRAMEWORKS.items():
        if key in rem.how:
            parts.append(f"**{label}**\n\n```python\n{rem.how[key]}\n```")
    extra = sorted(set(rem.how) - set(FRAMEWORKS))
    for key in extra:
        parts.append(f"**{key}**\n\n```python\n{rem.how[key]}\n```")
    return "\n\n".join(parts)


def explain(code: str) -> str:
    """Everything `overfit-doctor explain CODE` prints, as plain Markdown."""
    r = rule(code)
    meta = [f"Family: {r.family.value}", f"default severity: {r.severity.label}"]
    if r.supersedes:
        meta.append("supersedes " + ", ".join(r.supersedes))
    parts = [
        f"# {heading(r)}",
        f"**{r.title}**",
        "; ".join(meta) + ".",
        doc_page(r.code).strip(),
        "## Remedies, in order:",
    ]
    parts.extend(remedy_text(remedy(rid), i) for i, rid in enumerate(r.remedies, start=1))
    return "\n\n".join(parts) + "\n"
