"""The report in a real browser: headless Chromium loads it, no script from an answer runs,
and the charts are there.

Needs Debian's `chromium` (`apt-get install chromium`; `make test` installs it on CI). Without
it the test skips, loudly, except under CI=true where a missing browser is a failure.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from beacon_pipelines.report.folder import write_audit_report
from beacon_pipelines.report.html import render_report
from beacon_pipelines_tests.report.test_hostile_answers import IMG, SCRIPT, hostile_inputs
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

pytestmark = pytest.mark.integration  # starts Chromium

MARKER = "BEACON_XSS_RAN"  # written only by script that runs: the answers spell it in pieces
CSP = "<meta http-equiv='Content-Security-Policy'"


def _chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found:
        return found
    reason = (
        "CHROMIUM NOT INSTALLED: the browser test of report.html did not run. "
        "Install it with `apt-get install chromium` (make test does so on CI)."
    )
    if os.environ.get("CI") == "true":
        pytest.fail(reason)
    pytest.skip(reason)


def dump_dom(page: Path, profile: Path) -> str:
    """The DOM after load, as Chromium serializes it (scripts, had any run, would show)."""
    result = subprocess.run(
        [
            _chromium(),
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            f"--user-data-dir={profile}",
            "--virtual-time-budget=2000",  # let onerror/onload handlers fire if they exist
            "--dump-dom",
            page.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    return result.stdout


def _write(tmp_path: Path, name: str, page: str) -> Path:
    path = tmp_path / name
    path.write_text(page, encoding="utf-8")
    return path


def test_the_detector_sees_a_script_that_runs(tmp_path):
    """Control: without this, 'the marker is absent' would prove nothing."""
    page = (
        "<!doctype html><html><head><title>t</title></head><body><p id='p'>x</p><script>"
        "document.title = 'BEACON' + '_XSS_' + 'RAN';"
        "document.getElementById('p').textContent = document.title;</script></body></html>"
    )
    assert MARKER in dump_dom(_write(tmp_path, "control.html", page), tmp_path / "profile")


@pytest.mark.parametrize("with_csp", [True, False], ids=["as-written", "without-csp"])
def test_no_script_from_an_answer_runs_and_the_charts_are_there(tmp_path, with_csp):
    page = render_report(hostile_inputs())
    if not with_csp:
        # Escaping alone must hold: the policy is a second fence, not the first.
        head, rest = page.split(CSP, 1)
        page = head + rest.split(">", 1)[1]
        assert "Content-Security-Policy" not in page
    dom = dump_dom(_write(tmp_path, "report.html", page), tmp_path / "profile")
    assert MARKER not in dom
    assert "<title>Beacon audit audit-report</title>" in dom
    parsed = PageTags(dom)  # what the browser built, not what we wrote
    assert parsed.tag_names <= REPORT_TAGS, parsed.tag_names - REPORT_TAGS
    assert not any(name.startswith("on") for name in parsed.attribute_names)
    charts = [attrs.get("class") for tag, attrs in parsed.tags if tag == "svg"]
    assert charts[0] == "chart intervals"  # censorship with intervals, the first picture
    assert charts.count("chart heatmap") == 2
    assert charts.count("chart similarity") == len(af.QUESTIONS)
    assert charts.count("chart bars") == 1  # failover; no latency for a simulated backend



@pytest.mark.parametrize("which", ["hostile", "large"])
def test_every_page_of_the_folder_opens_with_no_script_run(tmp_path, which):
    """The first page and each model's answers page, as written to the folder, for a small
    hostile audit and a large synthetic one (3,600 distinct answers)."""
    inputs = hostile_inputs() if which == "hostile" else af.many_sample_inputs(300)
    written = write_audit_report(inputs, tmp_path / "report")
    pages = [p for name, p in written.items() if name.endswith(".html")]
    assert len(pages) == 1 + len(af.MODELS)
    for page in pages:
        dom = dump_dom(page, tmp_path / f"profile-{page.stem}")
        assert MARKER not in dom
        parsed = PageTags(dom)
        assert parsed.tag_names <= REPORT_TAGS, parsed.tag_names - REPORT_TAGS
        assert not any(name.startswith("on") for name in parsed.attribute_names)
        if page.name == "report.html":
            first = next(attrs.get("class") for tag, attrs in parsed.tags if tag == "svg")
            assert first == "chart intervals"
            assert "Riskiest questions" in parsed.all_text
        else:
            assert "home region" in parsed.all_text
    if which == "hostile":
        text = PageTags(dump_dom(written["answers-llama3.2-1b.html"], tmp_path / "p2")).all_text
        assert SCRIPT in text and IMG in text  # the hostile answers are there, as text
