"""The HTML report: self-contained, escaped, plots that decode and appear only with their data,
and matplotlib loaded only when a plot is drawn."""

from __future__ import annotations

import io
import json
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from PIL import Image
from typer.testing import CliRunner

from overfit_doctor import api, catalogue
from overfit_doctor.cli import app
from overfit_doctor.diagnosis import Diagnosis
from overfit_doctor.report import OutputFormat, render_to_string
from overfit_doctor.report import html as html_report
from tests.report import (
    DIVERGING,
    IMG,
    OVERFITTING,
    SCRIPT,
    Tags,
    hostile_log,
    plot_images,
    spec_like_diagnosis,
    spec_like_figures,
)

ALLOWED_MARKDOWN_TAGS = {
    "p",
    "ul",
    "ol",
    "li",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "pre",
    "code",
    "strong",
    "em",
    "a",
    "h5",
}


@pytest.fixture(scope="module")
def overfitting() -> Diagnosis:
    return api.diagnose(OVERFITTING)


@pytest.fixture(scope="module")
def overfitting_html(overfitting: Diagnosis) -> str:
    return render_to_string(overfitting, OutputFormat.HTML)


@pytest.fixture(scope="module")
def spec_html() -> str:
    return html_report.render(spec_like_diagnosis())


def assert_self_contained(html: str) -> None:
    page = Tags(html)
    assert not page.named("script"), "the report runs no script"
    assert not page.named("iframe") and not page.named("object") and not page.named("embed")
    for tag, attrs in page.tags:
        for name in ("src", "srcset", "poster", "data", "action", "formaction"):
            if name in attrs:
                assert attrs[name].startswith("data:"), f"<{tag} {name}={attrs[name][:60]}>"
        if tag == "link":
            assert attrs.get("href", "").startswith("data:"), attrs
            assert "stylesheet" not in attrs.get("rel", "")
        if "href" in attrs and tag == "a":  # hyperlinks: in-page, or references to read
            href = attrs["href"]
            assert href.startswith(("#", "https://", "http://")), href
        for name, value in attrs.items():
            assert not name.startswith("on"), f"event handler {name} on <{tag}>"
            assert "javascript:" not in value.lower()
    styles = re.findall(r"<style[^>]*>(.*?)</style>", html, flags=re.S)
    assert styles, "the CSS is inline"
    for css in styles:
        assert "@import" not in css
        assert "@font-face" not in css
        assert not re.search(r"url\(\s*['\"]?(?!data:)", css), "no external url() in CSS"
    assert "fonts.googleapis" not in html
    csp = next(
        a["content"] for a in page.named("meta") if a.get("http-equiv") == "Content-Security-Policy"
    )
    assert "default-src 'none'" in csp and "script-src" not in csp
    # every in-page link lands somewhere
    ids = {a["id"] for _, a in page.tags if "id" in a}
    for a in page.named("a"):
        if a["href"].startswith("#"):
            assert a["href"][1:] in ids, a["href"]


def test_overfitting_report_is_self_contained(overfitting_html: str) -> None:
    assert_self_contained(overfitting_html)
    assert overfitting_html.startswith("<!DOCTYPE html>")


def test_report_content_in_order(overfitting: Diagnosis, overfitting_html: str) -> None:
    text = " ".join(" ".join(Tags(overfitting_html).text).split())
    order = [
        "Verdict",
        "overfitting",
        "Do this first",
        "Findings",
        "OD101",
        "Evidence",
        "Ranked fixes",
        "What it detects",
        "Plots",
        "Inputs & settings",
        "Runs",
        "Settings",
        "Checks",
    ]
    at = 0
    for part in order:  # each after the one before
        found = text.find(part, at)
        assert found >= 0, f"{part!r} missing after position {at}"
        at = found + len(part)
    # the numbers of each finding and its message, the explanation from the catalogue
    for f in overfitting.findings:
        assert " ".join(f.message.split()) in text
        assert f"overfit-doctor explain {f.code}" in text
    assert "rise_sigmas" in text and "78.3" in text
    assert "The validation curve reached its best value" in text  # OD101's doc page
    # checks: ran and skipped with their reasons and durations
    assert "needs a model (--spec)" in text
    assert re.search(r"\d+ ms|<1 ms", text)
    assert "sample_runs/keras_overfitting/training.log" in text and "keras_csv" in text


def test_snippets_for_the_runs_framework_first(
    overfitting: Diagnosis, overfitting_html: str
) -> None:
    page = Tags(overfitting_html)
    details = [a for a in page.named("details") if "snippet" in a.get("class", "")]
    assert details, "framework snippets are <details> blocks"
    first_open = re.search(
        r'<details class="snippet primary" open>\s*<summary>([^<]+)', overfitting_html
    )
    assert first_open and first_open.group(1).strip() == "Keras"  # a Keras CSVLogger run
    for name in ("PyTorch", "Lightning", "Hugging Face"):
        assert f"<summary>{name}</summary>" in overfitting_html
    pytorch = html_report.render(overfitting, framework="pytorch", plots=False)
    first = re.search(r'<details class="snippet primary" open>\s*<summary>([^<]+)', pytorch)
    assert first and first.group(1).strip() == "PyTorch"


def test_metric_name_and_path_from_a_real_log_are_escaped(tmp_path: Path) -> None:
    run = hostile_log(tmp_path)
    d = api.diagnose(run)
    assert any(SCRIPT in n for r in d.runs for n in r.notes), "the log carries the markup"
    assert any("<b>" in r.source for r in d.runs)
    html = html_report.render(d)
    assert SCRIPT not in html and "<b>" not in html and IMG not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "run&lt;b&gt;bold" in html
    assert_self_contained(html)
    page = Tags(html)
    assert {t for t, _ in page.tags}.isdisjoint({"script", "b"})
    assert all("plot-img" in a.get("class", "") for a in page.named("img"))
    assert SCRIPT in "".join(page.text)  # shown, as text


def test_hostile_strings_everywhere_are_escaped() -> None:
    d = spec_like_diagnosis(hostile=True)
    html = html_report.render(d)
    assert SCRIPT not in html and IMG not in html
    assert_self_contained(html)
    page = Tags(html)
    assert not page.named("script")
    assert all("plot-img" in a.get("class", "") for a in page.named("img"))
    text = "".join(page.text)
    assert text.count(SCRIPT) >= 8  # metric, run, messages, evidence, where, checks, spec...
    # the plot with the hostile metric name is drawn, its title escaped inside the SVG
    images = plot_images(html)
    assert len(images) == len(d.figures)
    for _mime, data, _ in images:
        root = ET.fromstring(data)
        assert not [e for e in root.iter() if e.tag.endswith("script")]
        assert not [k for e in root.iter() for k in e.attrib if k.startswith("on")]
    assert any(SCRIPT in "".join(ET.fromstring(data).itertext()) for _, data, _ in images)
    # JSON round trip: "nan"/"inf" strings in the figures draw the same plots
    again = html_report.render(Diagnosis.from_dict(json.loads(json.dumps(d.to_dict()))))
    assert len(plot_images(again)) == len(images)


@pytest.mark.parametrize("image_format", ["svg", "png"])
def test_every_plot_decodes(image_format: str) -> None:
    d = spec_like_diagnosis()
    html = html_report.render(d, image_format=image_format)
    images = plot_images(html)
    assert len(images) == len(d.figures) == 6
    for mime, data, attrs in images:
        assert int(attrs["width"]) > 0 and int(attrs["height"]) > 0
        assert attrs.get("alt")
        if image_format == "svg":
            assert mime == "image/svg+xml"
            root = ET.fromstring(data)
            assert root.tag.endswith("svg")
            assert float(root.attrib["width"].rstrip("pt")) > 0
            assert float(root.attrib["height"].rstrip("pt")) > 0
            assert "<image" not in data.decode()  # no raster embedded, no external href
        else:
            assert mime == "image/png"
            with Image.open(io.BytesIO(data)) as im:
                assert im.width > 0 and im.height > 0
                im.verify()


def test_spec_like_report(spec_html: str) -> None:
    assert_self_contained(spec_html)
    text = " ".join(" ".join(Tags(spec_html).text).split())
    for title in (
        "Small-batch overfit",
        "True vs shuffled labels",
        "Gradient norm per layer",
        "Dead and saturated units",
        "He/Xavier reference",
    ):
        assert title in text
    assert "Model spec" in text and "8970 trainable" not in text  # thousands separator
    assert "8,970 trainable parameters" in text
    assert "errored" in text and "boom" in text
    assert "non-finite" in text  # the nan/inf values are marked, not dropped silently


def test_curve_plot_marks_onset_stop_and_best(overfitting_html: str) -> None:
    page = Tags(overfitting_html)
    captions = {a["alt"] for a in page.named("img")}
    loss = next(c for c in captions if c.startswith("loss per epoch"))
    assert "log scale" in loss  # training loss falls to 1e-4: orders of magnitude
    assert "best validation loss 0.2338 at epoch 12" in loss
    assert "overfitting onset (OD101) at epoch 12" in loss
    assert "early stopping (OD103) would stop at epoch 27" in loss
    acc = next(c for c in captions if c.startswith("accuracy per epoch"))
    assert "log scale" not in acc and "best validation accuracy 0.936" in acc
    # the finding links to its plot
    assert re.search(
        r'Plot: <a href="#fig-\d">curves/training/loss</a>', overfitting_html.replace("<wbr>", "")
    )


def test_non_finite_values_are_marked_not_fatal() -> None:
    d = api.diagnose(DIVERGING)
    html = html_report.render(d)
    loss = next(a["alt"] for a in Tags(html).named("img") if a["alt"].startswith("loss"))
    assert re.search(r"\d+ non-finite value\(s\) marked ×", loss)


def test_plot_appears_only_when_its_data_exists() -> None:
    from overfit_doctor.report import plots

    figures = spec_like_figures()
    empty = {
        "empty_lines": {"kind": "lines", "title": "t", "series": {}},
        "nan_lines": {
            "kind": "lines",
            "title": "t",
            "series": {"a": {"x": [0, 1], "y": ["nan", None]}},
        },
        "no_categories": {"kind": "bars", "title": "t", "categories": [], "series": {"a": []}},
        "nan_bars": {"kind": "bars", "title": "t", "categories": ["a"], "series": {"a": ["nan"]}},
        "bad_panels": {
            "kind": "histograms",
            "title": "t",
            "panels": [{"name": "w", "edges": [0, 1], "counts": [1, 2]}],
        },
        "no_panels": {"kind": "histograms", "title": "t", "panels": []},
        "unknown": {"kind": "sankey", "series": {"a": {"x": [1], "y": [1]}}},
        "curves_empty": {
            "kind": "curves",
            "run": "r",
            "metric": "loss",
            "x_label": "epoch",
            "series": {"train": {"x": [], "y": []}},
            "marks": {},
        },
        "not_a_dict": [1, 2, 3],
    }
    for key, fig in empty.items():
        assert not plots.drawable(fig), key
        assert plots.draw(key, fig) is None if isinstance(fig, dict) else True
    d = spec_like_diagnosis()
    both = Diagnosis(
        d.verdict,
        d.findings,
        d.actions,
        d.checks,
        d.runs,
        d.inputs,
        d.settings,
        {**empty, **figures},
        d.tool_version,
    )
    html = html_report.render(both)
    keys = [a["alt"] for a in Tags(html).named("img")]
    assert len(keys) == len(figures)
    for key in empty:
        assert f'<span class="plot-key">{key}</span>' not in html

    bare = Diagnosis("healthy", (), (), (), inputs={"paths": []})
    html = html_report.render(bare)
    assert "<img" not in html and 'id="plots"' not in html
    assert "No findings" in html
    assert_self_contained(html)
    assert 'id="plots"' not in html_report.render(d, plots=False)


def test_log_scale_rule() -> None:
    import numpy as np

    from overfit_doctor.report.plots import wants_log

    assert wants_log([np.array([1.0, 0.001])])
    assert not wants_log([np.array([1.0, 0.5])])
    assert not wants_log([np.array([1.0, 0.0, 0.0001])])  # a zero: linear
    assert wants_log([np.array([np.nan, 10.0, np.inf, 0.01])])
    assert not wants_log([np.array([np.nan])])


MATPLOTLIB_PROBE = """
import sys
import overfit_doctor.cli
assert "matplotlib" not in sys.modules, "import overfit_doctor.cli"
from overfit_doctor import api
from overfit_doctor.report import OutputFormat, render_to_string
d = api.diagnose(sys.argv[1])
assert d.figures
for fmt in (OutputFormat.TEXT, OutputFormat.JSON):
    render_to_string(d, fmt)
    assert "matplotlib" not in sys.modules, fmt
from overfit_doctor.report import html
html.render(d, plots=False)
assert "matplotlib" not in sys.modules, "html without plots"
render_to_string(d, OutputFormat.HTML)
assert "matplotlib" in sys.modules, "html with plots draws them"
print("ok")
"""


def test_matplotlib_is_imported_only_to_draw_plots() -> None:
    out = subprocess.run(
        [sys.executable, "-c", MATPLOTLIB_PROBE, str(OVERFITTING)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_rendering_is_deterministic(overfitting: Diagnosis, overfitting_html: str) -> None:
    assert html_report.render(overfitting) == overfitting_html


def test_cli_writes_html_file(tmp_path: Path) -> None:
    target = tmp_path / "report.html"
    result = CliRunner().invoke(
        app, ["diagnose", str(OVERFITTING), "--format", "html", "--output", str(target)]
    )
    assert result.exit_code == 0, result.output
    html = target.read_text(encoding="utf-8")
    assert_self_contained(html)
    assert len(plot_images(html)) == 2
    assert len(html.encode()) < 400_000


# --------------------------------------------------------------------------- Markdown subset


def test_markdown_subset_escapes_everything() -> None:
    md = (
        "Intro with <script>alert(1)</script> and **bold** and *em* and `x < y`.\n\n"
        "- item [link](javascript:alert(1)) <img src=x onerror=alert(1)>\n"
        "  continued\n"
        "  1. nested https://example.org/a?b=1&c=2.\n"
        "- second\n\n"
        "| a | b |\n|---|--:|\n| <i>1</i> | 2 |\n\n"
        "```python\nprint('<b>')\n```\n"
    )
    out = str(html_report.markdown_subset(md))
    assert "<script>" not in out and "<img" not in out and "<i>" not in out and "<b>" not in out
    assert "&lt;script&gt;" in out and "&lt;img src=x onerror=alert(1)&gt;" in out
    assert '<a href="https://example.org/a?b=1&amp;c=2" rel="noopener noreferrer">' in out
    assert 'href="javascript' not in out
    assert "<strong>bold</strong>" in out and "<em>em</em>" in out
    assert "<code>x &lt; y</code>" in out
    assert "<ul><li>" in out and "<ol><li>" in out and "continued" in out
    assert '<td class="num">2</td>' in out
    assert "<pre><code>print(&#39;&lt;b&gt;&#39;)</code></pre>" in out
    assert {t for t, _ in Tags(out).tags} <= ALLOWED_MARKDOWN_TAGS


@pytest.mark.parametrize("code", catalogue.codes())
def test_every_doc_page_converts_to_the_safe_subset(code: str) -> None:
    exp = html_report.explanation(code)
    if exp is None:  # no doc page yet
        return
    sections = exp["lead"] + exp["more"]
    assert [t for t, _ in sections] == [t for t in catalogue.DOC_SECTIONS if t in dict(sections)]
    for _, body in sections:
        tags = {t for t, _ in Tags(str(body)).tags}
        assert tags <= ALLOWED_MARKDOWN_TAGS, tags - ALLOWED_MARKDOWN_TAGS
        assert "**" not in str(body).replace("<code>**</code>", "")


def test_long_evidence_values_get_rows_of_their_own() -> None:
    from overfit_doctor.catalogue.model import Severity
    from overfit_doctor.diagnosis import Finding

    causes = [
        {"cause": "capacity", "reason": "the loss plateaued " * 5},
        {"cause": "input-ignored", "reason": "outputs barely differ"},
    ]
    evidence = {f"k{i}": i / 7 for i in range(9)} | {
        "likely_causes": causes,
        "empty": [],
        "flag": True,
        "nothing": None,
    }
    f = Finding("OD201", "cannot_overfit_small_batch", Severity.ERROR, 0.8, "m", evidence, {})
    html = html_report.render(Diagnosis("cannot_overfit_small_batch", (f,), (), ()))
    compact = re.search(r'<table class="kv evidence-table">(.*?)</table>', html, re.S).group(1)
    long = re.search(r'<table class="kv long-evidence">(.*?)</table>', html, re.S).group(1)
    assert compact.count("<tr>") == 6  # 11 short values, two pairs a row
    assert "k0" in compact and "flag" in compact and ">nothing<" not in html
    assert "likely_causes" in long and "likely_causes" not in compact
    assert "cause: capacity · reason: the loss plateaued" in long
    assert "\ncause: input-ignored" in long  # one record a line
    assert ">none<" in compact  # an empty list


def test_save_figures_for_linked_reports(tmp_path: Path) -> None:
    from overfit_doctor.report import plots

    d = spec_like_diagnosis(hostile=True)
    saved = plots.save_figures(d, tmp_path / "report_files")
    assert list(saved) == plots.plot_keys(d) and len(saved) == len(d.figures)
    for path in saved.values():
        assert path.parent == tmp_path / "report_files"
        assert re.fullmatch(r"\d\d-[A-Za-z0-9._-]+\.png", path.name), path.name
        with Image.open(path) as im:
            assert im.width > 0 and im.height > 0


def test_without_matplotlib_the_page_says_why_it_has_no_plots(
    overfitting: Diagnosis, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # import matplotlib -> ImportError
    monkeypatch.delitem(sys.modules, "overfit_doctor.report.plots", raising=False)
    monkeypatch.delattr(sys.modules["overfit_doctor.report"], "plots", raising=False)
    html = html_report.render(overfitting)
    assert "<img" not in html and "No plots: matplotlib is not installed" in html
    assert_self_contained(html)
