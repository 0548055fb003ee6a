"""The HTML report in a real browser: Debian's headless Chromium, driven through the Chrome
DevTools Protocol (CDP) over a websocket (the `websocket-client` package).

How it works: the fixture starts `chromium --headless --remote-debugging-port=0` with a fresh
profile; Chromium writes the port it picked to `DevToolsActivePort` in that profile, and the test
connects to the page target's websocket. Before loading a report it installs, with
`Page.addScriptToEvaluateOnNewDocument`, a hook that records every call of `alert`/`confirm`/
`prompt`, and it listens to `Page.javascriptDialogOpening`, `Runtime.exceptionThrown`,
`Runtime.consoleAPICalled` and `Log.entryAdded` (CSP violations, failed loads and console errors
all arrive there). After the load event it asks the page, with `Runtime.evaluate`, for the
rendered size of every plot and for its text, takes a full-page screenshot
(`Page.captureScreenshot`) and prints it to PDF (`Page.printToPDF`), both kept under
test-artifacts/.

Skipped, saying why, only where Chromium is not installed (CI installs it: .ci/run).
"""

from __future__ import annotations

import base64
import json
import shutil
import subprocess
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import websocket  # websocket-client, in the `test` extra

from overfit_doctor import api
from overfit_doctor.report import html as html_report
from tests.report import (
    ARTIFACTS,
    IMG,
    OVERFITTING,
    SCRIPT,
    hostile_log,
    spec_like_diagnosis,
)

WIDTH = 1280
HOOK = """
window.__dialogs = [];
for (const name of ["alert", "confirm", "prompt"]) {
  window[name] = (...args) => { window.__dialogs.push(name + ":" + args.join(" ")); };
}
"""
PROBE = """
JSON.stringify({
  scripts: document.scripts.length,
  dialogs: window.__dialogs || null,
  plots: [...document.querySelectorAll("img, svg")].filter(
      e => !(e.parentElement && e.parentElement.closest("svg"))).map(e => {
    const r = e.getBoundingClientRect();
    return {tag: e.tagName.toLowerCase(), cls: e.getAttribute("class") || "",
            width: r.width, height: r.height, natural: e.naturalWidth || 0,
            complete: e.complete === undefined ? true : e.complete};
  }),
  bold: document.querySelectorAll("main b, header b").length,
  text: document.body.innerText,
  height: Math.ceil(document.documentElement.scrollHeight),
  verdict: (document.querySelector(".verdict-label") || {}).textContent || "",
})
"""


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


class Browser:
    """A headless Chromium with one page, driven over CDP."""

    def __init__(self, exe: str) -> None:
        self.profile = tempfile.mkdtemp(prefix="od-chromium-")
        self.log = open(Path(self.profile) / "stderr.log", "wb")  # noqa: SIM115
        self.proc = subprocess.Popen(
            [
                exe,
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--disable-extensions",
                "--disable-default-apps",
                "--mute-audio",
                "--hide-scrollbars",
                "--remote-debugging-port=0",
                "--remote-allow-origins=*",
                f"--user-data-dir={self.profile}",
                f"--window-size={WIDTH},900",
                "about:blank",
            ],
            stdout=subprocess.DEVNULL,
            stderr=self.log,
        )
        port = self._port()
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # localhost
        with opener.open(f"http://127.0.0.1:{port}/json/list", timeout=30) as r:
            targets = json.load(r)
        page = next(t for t in targets if t.get("type") == "page")
        self.ws = websocket.create_connection(
            page["webSocketDebuggerUrl"], timeout=60, suppress_origin=True
        )
        self._id = 0
        self.events: list[dict[str, Any]] = []
        for domain in ("Page", "Runtime", "Log"):
            self.send(f"{domain}.enable")
        self.send("Page.addScriptToEvaluateOnNewDocument", source=HOOK)

    def _port(self) -> int:
        active = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"chromium exited with {self.proc.returncode}: "
                    + (Path(self.profile) / "stderr.log").read_text()[-2000:]
                )
            if active.exists():
                lines = active.read_text().split()
                if lines:
                    return int(lines[0])
            time.sleep(0.1)
        raise RuntimeError("chromium did not open its DevTools port within 60 s")

    def send(self, method: str, **params: Any) -> dict[str, Any]:
        self._id += 1
        mid = self._id
        self.ws.send(json.dumps({"id": mid, "method": method, "params": params}))
        while True:
            msg = json.loads(self.ws.recv())
            if msg.get("id") == mid:
                if "error" in msg:
                    raise RuntimeError(f"{method}: {msg['error']}")
                return msg.get("result", {})
            if "method" in msg:
                self.events.append(msg)

    def wait_for(self, event: str, timeout: float = 60) -> dict[str, Any]:
        deadline = time.monotonic() + timeout
        seen = len(self.events)
        while True:
            for msg in self.events[seen:]:
                if msg["method"] == event:
                    return msg
            seen = len(self.events)
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(event)
            self.ws.settimeout(left)
            msg = json.loads(self.ws.recv())
            if "method" in msg:
                self.events.append(msg)

    def open(self, path: Path) -> dict[str, Any]:
        """Load a file, then return what the page says about itself and the problems seen."""
        self.events.clear()
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=900,
            deviceScaleFactor=1,
            mobile=False,
        )
        self.send("Page.navigate", url=path.resolve().as_uri())
        self.wait_for("Page.loadEventFired")
        self.send("Runtime.evaluate", expression="document.fonts.ready", awaitPromise=True)
        result = self.send("Runtime.evaluate", expression=PROBE, returnByValue=True)
        page = json.loads(result["result"]["value"])
        page["errors"] = self.errors()
        page["dialog_events"] = [
            e for e in self.events if e["method"] == "Page.javascriptDialogOpening"
        ]
        return page

    def errors(self) -> list[str]:
        out = []
        for e in self.events:
            p = e.get("params", {})
            if e["method"] == "Runtime.exceptionThrown":
                out.append(json.dumps(p.get("exceptionDetails", {}))[:500])
            elif e["method"] == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.append(json.dumps(p.get("args", []))[:500])
            elif e["method"] == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.append(p["entry"].get("text", "")[:500])
        return out

    def screenshot(self, target: Path, height: int) -> bytes:
        self.send(
            "Emulation.setDeviceMetricsOverride",
            width=WIDTH,
            height=max(height, 600),
            deviceScaleFactor=1,
            mobile=False,
        )
        shot = self.send("Page.captureScreenshot", format="png", captureBeyondViewport=True)
        data = base64.b64decode(shot["data"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return data

    def pdf(self, target: Path) -> bytes:
        data = base64.b64decode(self.send("Page.printToPDF", printBackground=True)["data"])
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        return data

    def close(self) -> None:
        try:
            self.ws.close()
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()
            shutil.rmtree(self.profile, ignore_errors=True)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    exe = chromium_path()
    if exe is None:
        pytest.skip("chromium not installed: apt-get install chromium")
    b = Browser(exe)
    try:
        yield b
    finally:
        b.close()


def check_page(page: dict[str, Any], plots: int) -> None:
    assert page["errors"] == [], page["errors"]
    assert page["dialogs"] == [] and page["dialog_events"] == []
    assert page["scripts"] == 0
    images = [p for p in page["plots"] if "plot-img" in p["cls"]]
    assert len(images) == plots
    assert all(p["tag"] == "img" for p in page["plots"]), "no image but the plots"
    for p in images:
        assert p["complete"] and p["natural"] > 0, p  # decoded
        assert p["width"] > 300 and p["height"] > 100, p  # laid out at a readable size


def test_overfitting_report_renders_cleanly(browser: Browser, tmp_path: Path) -> None:
    d = api.diagnose(OVERFITTING)
    path = tmp_path / "report.html"
    path.write_text(html_report.render(d), encoding="utf-8")
    page = browser.open(path)
    check_page(page, plots=2)
    assert page["verdict"].strip().lower() == "overfitting"
    assert "Do this first" in page["text"] and "OD101" in page["text"]
    png = browser.screenshot(ARTIFACTS / "report-overfitting.png", page["height"])
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    pdf = browser.pdf(ARTIFACTS / "report-overfitting.pdf")
    assert pdf.startswith(b"%PDF") and len(pdf) > 10_000


def test_spec_figures_render_cleanly(browser: Browser, tmp_path: Path) -> None:
    d = spec_like_diagnosis()
    path = tmp_path / "spec.html"
    path.write_text(html_report.render(d), encoding="utf-8")
    page = browser.open(path)
    check_page(page, plots=len(d.figures))
    browser.screenshot(ARTIFACTS / "report-spec-figures.png", page["height"])


def test_script_in_metric_name_does_not_run(browser: Browser, tmp_path: Path) -> None:
    """Markup from a real log (column names, a folder name) and from every other string a log
    or a model controls, including a metric named `<script>alert(1)</script>`."""
    d = api.diagnose(hostile_log(tmp_path / "logs"))
    for name, diagnosis in (("log", d), ("everywhere", spec_like_diagnosis(hostile=True))):
        path = tmp_path / f"{name}.html"
        path.write_text(html_report.render(diagnosis), encoding="utf-8")
        page = browser.open(path)
        check_page(page, plots=len(diagnosis.figures))
        assert page["bold"] == 0
        assert SCRIPT in page["text"]  # shown as text
        if name == "everywhere":
            assert IMG in page["text"]
        browser.screenshot(ARTIFACTS / f"report-escaping-{name}.png", page["height"])


def test_the_harness_sees_scripts_errors_and_broken_images(
    browser: Browser, tmp_path: Path
) -> None:
    """The checks above would fail on a page that ran a script or loaded nothing."""
    bad = tmp_path / "bad.html"
    bad.write_text(
        '<p>x</p><script>alert(1)</script><script>console.error("e")</script>'
        '<img class="plot-img" src="missing.png">',
        encoding="utf-8",
    )
    page = browser.open(bad)
    assert page["dialogs"] == ["alert:1"]
    assert page["scripts"] == 2
    assert len(page["errors"]) == 2  # console.error and the missing image
    assert [p["natural"] for p in page["plots"]] == [0]
