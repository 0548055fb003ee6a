"""The engine's error boundary, skipping and code selection."""

from typing import ClassVar

from overfit_doctor.checks.base import CheckMeta, Context, Outcome, finding
from overfit_doctor.engine import code_selected, run_checks
from overfit_doctor.history.model import History, empty_frame


class Boom:
    meta: ClassVar = CheckMeta("boom", ("OD101",), frozenset({"history"}))

    def run(self, ctx):
        raise RuntimeError("kaput")


class Fine:
    meta: ClassVar = CheckMeta("fine", ("OD108",), frozenset({"history"}))

    def run(self, ctx):
        f = finding("OD108", confidence=0.7, message="m", evidence={}, where={"run": "r"})
        return Outcome({"r": {"x": 1}}, [f])


class NeedsModel:
    meta: ClassVar = CheckMeta("needs-model", ("OD109",), frozenset({"model"}))

    def run(self, ctx):  # pragma: no cover - never called
        raise AssertionError


def _ctx():
    return Context(history=History(empty_frame(), ()))


def test_a_crashing_check_is_recorded_and_the_others_still_run():
    findings, records = run_checks(_ctx(), [Boom(), Fine(), NeedsModel()])
    by_id = {r.id: r for r in records}
    assert by_id["boom"].status == "errored"
    assert "RuntimeError: kaput" in by_id["boom"].reason
    assert by_id["fine"].status == "ran" and by_id["fine"].measurements == {"r": {"x": 1}}
    assert by_id["needs-model"].status == "skipped"
    assert "--spec" in by_id["needs-model"].reason
    assert [f.code for f in findings] == ["OD108"]
    assert findings[0].symptom == "still_improving"


def test_selection_by_prefix():
    assert code_selected("OD101", ["OD1"], [])
    assert not code_selected("OD901", ["OD1"], [])
    assert not code_selected("OD103", [], ["OD103"])
    _, records = run_checks(_ctx(), [Fine()], ignore=["OD1"])
    assert records[0].status == "skipped" and records[0].reason == "not selected"


class Inapplicable:
    meta: ClassVar = CheckMeta("inapplicable", ("OD108",), frozenset({"history"}))

    def run(self, ctx):
        from overfit_doctor.checks.base import NotApplicable

        raise NotApplicable("no accuracy metric in this log")


def test_not_applicable_is_a_skip_with_its_reason():
    _, records = run_checks(_ctx(), [Inapplicable()])
    assert (records[0].status, records[0].reason) == ("skipped", "no accuracy metric in this log")
