"""Meta-tests that keep the catalogue honest: codes, names, symptoms, remedies and doc pages."""

from __future__ import annotations

import re
from importlib import resources

import pytest

from overfit_doctor.catalogue import (
    DOC_SECTIONS,
    FRAMEWORKS,
    REMEDIES,
    RULES,
    SYMPTOMS,
    Effort,
    Family,
    doc_page,
    explain,
    gendocs,
    remedy,
    rule,
)

FAMILY_DIGIT = {
    "1": Family.CURVES,
    "2": Family.MEMORIZATION,
    "3": Family.GRADIENTS,
    "4": Family.WEIGHTS,
    "5": Family.DATA,
    "9": Family.META,
}
KEBAB = re.compile(r"^[a-z0-9]+(-[a-z0-9]+)*$")

# Remedies that no rule references yet: the active model checks will use them.
PLANNED_FOR_ACTIVE_CHECKS = {
    "fix-output-activation",
    "check-loss-wiring",
    "unfreeze-or-connect-parameters",
    "residual-connections",
    "check-custom-backward",
    "deduplicate-splits",
    "stratified-split",
    "class-weighting",
    "disable-dropout-in-eval",
    "fix-initialization-scale",
    "label-smoothing",
    "non-saturating-activations",
    "regularize-high-capacity",
    "check-train-val-overlap",
}

CODE_IDS = [r.code for r in RULES]


def _sections(page: str) -> tuple[list[str], dict[str, str]]:
    """`## ` headings outside code fences, in order, and the text under each."""
    headings: list[str] = []
    bodies: dict[str, list[str]] = {}
    in_fence = False
    for line in page.splitlines():
        if line.lstrip().startswith("```"):
            in_fence = not in_fence
        if not in_fence and line.startswith("#"):
            assert line.startswith("## "), f"only '## ' headings are allowed: {line!r}"
            headings.append(line[3:].strip())
            bodies[headings[-1]] = []
        elif headings:
            bodies[headings[-1]].append(line)
    return headings, {h: "\n".join(b).strip() for h, b in bodies.items()}


# --- Codes, names, symptoms -------------------------------------------------------------------


def test_codes_are_well_formed_and_unique():
    assert len(CODE_IDS) == len(set(CODE_IDS))
    for code in CODE_IDS:
        assert re.fullmatch(r"OD[1-9]\d\d", code), code


@pytest.mark.parametrize("r", RULES, ids=CODE_IDS)
def test_family_digit_matches_family(r):
    assert FAMILY_DIGIT[r.code[2]] is r.family


def test_names_are_kebab_case_and_unique():
    names = [r.name for r in RULES]
    assert len(names) == len(set(names))
    for name in names:
        assert KEBAB.match(name), name


def test_symptoms_come_from_the_vocabulary():
    assert len(SYMPTOMS) == len(set(SYMPTOMS))
    for r in RULES:
        assert r.symptom in SYMPTOMS, (r.code, r.symptom)


def test_rules_have_titles_and_valid_supersedes():
    for r in RULES:
        assert r.title.strip() and "\n" not in r.title, r.code
        assert r.remedies, f"{r.code} recommends nothing"
        assert len(r.remedies) == len(set(r.remedies)), f"{r.code} repeats a remedy"
        for other in r.supersedes:
            assert other in CODE_IDS and other != r.code, (r.code, other)


def test_rule_lookup_is_case_insensitive():
    assert rule(" od101 ").code == "OD101"
    with pytest.raises(KeyError):
        rule("OD999")


# --- Remedies ----------------------------------------------------------------------------------


def test_every_referenced_remedy_exists():
    ids = {rem.id for rem in REMEDIES}
    for r in RULES:
        missing = [rid for rid in r.remedies if rid not in ids]
        assert not missing, f"{r.code} references unknown remedies {missing}"


def test_remedy_ids_are_unique_kebab_case():
    ids = [rem.id for rem in REMEDIES]
    assert len(ids) == len(set(ids))
    for rid in ids:
        assert KEBAB.match(rid), rid


def test_no_orphan_remedies():
    """Every remedy is used by a rule or reserved for the active checks."""
    referenced = {rid for r in RULES for rid in r.remedies}
    ids = {rem.id for rem in REMEDIES}
    assert ids - referenced <= PLANNED_FOR_ACTIVE_CHECKS
    assert ids >= PLANNED_FOR_ACTIVE_CHECKS


@pytest.mark.parametrize("rem", REMEDIES, ids=[rem.id for rem in REMEDIES])
def test_remedy_is_complete(rem):
    assert rem.title.strip() and "\n" not in rem.title
    assert isinstance(rem.effort, Effort)
    assert len(rem.summary.split()) >= 15, "summary should say what to do and why"
    assert rem.how, "at least one framework snippet"
    assert set(rem.how) <= set(FRAMEWORKS), set(rem.how) - set(FRAMEWORKS)
    for framework, snippet in rem.how.items():
        assert snippet.strip(), framework
        assert snippet == snippet.strip("\n"), f"{framework} snippet has stray blank lines"
        compile(snippet, f"<{rem.id}:{framework}>", "exec")  # snippets must at least parse
    assert rem.references, "at least one reference"
    for ref in rem.references:
        # findable: a year (papers, books) or a canonical address (course notes, docs)
        assert re.search(r"\b(19|20)\d\d\b", ref) or "https://" in ref, ref


def test_remedy_lookup():
    assert remedy("early-stopping").id == "early-stopping"
    with pytest.raises(KeyError):
        remedy("no-such-remedy")


# --- Doc pages ---------------------------------------------------------------------------------


@pytest.mark.parametrize("code", CODE_IDS)
def test_doc_page_has_the_fixed_sections(code):
    headings, bodies = _sections(doc_page(code))
    assert tuple(headings) == DOC_SECTIONS
    for heading, body in bodies.items():
        assert len(body.split()) >= 25, f"{code}: section {heading!r} is too thin"
    assert re.search(r"\d", bodies["Example"]), f"{code}: the example should have numbers"
    assert re.search(r"\b(19|20)\d\d\b", bodies["References"]), f"{code}: cite with years"


def test_no_doc_pages_without_a_rule():
    docs = resources.files("overfit_doctor.catalogue").joinpath("docs")
    pages = {p.name[:-3] for p in docs.iterdir() if p.name.endswith(".md")}
    assert pages == set(CODE_IDS)


def test_doc_page_lookup():
    assert doc_page("od101") == doc_page("OD101")
    with pytest.raises(KeyError):
        doc_page("OD999")


# --- explain and generated docs ----------------------------------------------------------------


def test_explain_od101_has_title_page_and_all_remedies_in_order():
    text = explain("od101")
    r = rule("OD101")
    assert text.splitlines()[0] == "# OD101 validation-loss-rising (overfitting, warning)"
    assert r.name in text and r.title in text
    assert doc_page("OD101").strip() in text
    assert "Remedies, in order:" in text
    positions = [text.index(remedy(rid).title) for rid in r.remedies]
    assert positions == sorted(positions)
    for rid in r.remedies:
        rem = remedy(rid)
        assert rem.summary in text
        assert f"({rem.effort.value})" in text
        for snippet in rem.how.values():
            assert snippet in text


@pytest.mark.parametrize("code", CODE_IDS)
def test_explain_mentions_every_remedy(code):
    text = explain(code)
    for rid in rule(code).remedies:
        assert remedy(rid).title in text


def test_gendocs_check_passes():
    assert gendocs.main(["--check"]) == 0, "run: python -m overfit_doctor.catalogue.gendocs"


def test_gendocs_check_detects_stale_files(tmp_path):
    assert gendocs.main(["--check", "--out", str(tmp_path)]) == 1  # nothing written yet
    assert gendocs.main(["--out", str(tmp_path)]) == 0
    assert gendocs.main(["--check", "--out", str(tmp_path)]) == 0
    (tmp_path / "OD101.md").write_text("edited by hand\n", encoding="utf-8")
    assert gendocs.main(["--check", "--out", str(tmp_path)]) == 1
    assert gendocs.main(["--out", str(tmp_path)]) == 0
    (tmp_path / "OD999.md").write_text("a removed code\n", encoding="utf-8")
    assert gendocs.main(["--check", "--out", str(tmp_path)]) == 1
    assert gendocs.main(["--out", str(tmp_path)]) == 0
    assert not (tmp_path / "OD999.md").exists()
    index = (tmp_path / "README.md").read_text(encoding="utf-8")
    for r in RULES:
        assert f"| [{r.code}]({r.code}.md) | {r.name} | {r.symptom} |" in index
