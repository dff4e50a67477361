"""Model-written text is hostile until proven otherwise: it renders as text, stays bounded,
and can never add a tag, an attribute or a script to the report."""

from __future__ import annotations

import functools

import pandas as pd

from beacon_pipelines.report.answer_pages import model_pages
from beacon_pipelines.report.folder import report_files, write_audit_report
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.safe_text import (
    MAX_ANSWER_CHARS,
    bounded,
    clean_text,
    escape,
    visible,
)
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

SCRIPT = '<script>document.title = "BEACON" + "_XSS_" + "RAN"</script>'
IMG = "<img src=x onerror=\"document.body.setAttribute('data-x', 'BEACON'+'_XSS_'+'RAN')\">"
# No alert(): a modal dialog would hang a headless browser instead of showing the marker.
BREAKOUT = (
    "</div></td></table></section>\"'><svg onload=\"document.title='BEACON'+'_XSS_'+'RAN'\">"
    "<a href=\"javascript:void(0)\">click</a><iframe src=//evil.example></iframe>"
    "<style>body{display:none}</style>"
)
HUGE = "A" * 5_000_000 + SCRIPT  # the script sits past the cut, too
SURROGATES = "caf\udce9 \ud800 then <b>bold</b> text"  # bytes decoded with surrogateescape
# A NUL, an override that would show "France" reversed, isolates and a mark; the question's
# other answers differ from it only after the NUL.
BIDI = "Paris\x00 is \u202eecnarF\u202c, \u2066isolate\u2069 \u2067rtl\u2069\u2068fs\u2069\u200f."
BIDI_CONTROLS = "\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069\u200e\u200f\u061c"


def hostile_rows() -> list[dict]:
    rows = af.default_rows(
        {
            ("llama3.2-1b", "US", "tiananmen_1989"): SCRIPT,
            ("llama3.2-1b", "EU", "tiananmen_1989"): IMG,
            ("llama3.2-1b", "ASIA", "tiananmen_1989"): BREAKOUT,
            ("qwen2.5-1.5b", "US", "tiananmen_1989"): HUGE,
            ("qwen2.5-1.5b", "EU", "tiananmen_1989"): SURROGATES,
            ("llama3.2-1b", "US", "math_basic"): BIDI,
            ("llama3.2-1b", "EU", "math_basic"): "Paris\x00 is elsewhere.",
        }
    )
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("qwen2.5-1.5b", "EU", "math_basic"):
            # A served region and error text from the backend are untrusted too.
            r.update(served_region="<b onmouseover=void(0)>US", response="")
            r.update(error_type="<i>malformed</i>", error_message=SCRIPT)
    return rows


@functools.cache
def hostile_inputs():
    """Analysed once: the analysis of a 5 MB answer takes seconds, the rendering does not."""
    return af.inputs(hostile_rows())


def hostile_page() -> str:
    """The first page and every model's answers page, as one text (each is checked alike)."""
    inputs = hostile_inputs()
    return "\n".join([render_report(inputs), *model_pages(inputs).values()])


def test_no_answer_adds_a_tag_an_event_handler_or_a_link():
    page = PageTags(hostile_page())
    assert page.tag_names <= REPORT_TAGS, page.tag_names - REPORT_TAGS
    assert not any(name.startswith("on") for name in page.attribute_names)
    assert "src" not in page.attribute_names
    hrefs = {attrs["href"] for tag, attrs in page.tags if "href" in attrs}
    # Links stay in the folder: an anchor, or a page of the report.
    pages = set(report_files(af.MODELS))
    assert all(h.startswith("#") or h.split("#")[0] in pages for h in hrefs), hrefs
    assert len([t for t, _ in page.tags if t == "style"]) == 3  # ours, one per page


def test_hostile_answers_are_shown_as_the_text_they_are():
    page = hostile_page()
    assert "&lt;script&gt;document.title" in page
    text = PageTags(page).all_text
    for answer in (SCRIPT, IMG, BREAKOUT):
        assert answer in text  # a reader sees exactly what the model wrote
    assert "<b onmouseover=void(0)>US" in text and "<i>malformed</i>" in text
    assert "<script" not in page.lower()


def test_a_5_mb_answer_is_cut_with_a_note_and_the_page_stays_small():
    page = hostile_page()
    assert len(page.encode()) < 400_000  # all three pages
    cut = len(HUGE) - MAX_ANSWER_CHARS
    assert f"[truncated: {cut:,} more characters; the full text is in executions.csv]" in page
    assert "A" * MAX_ANSWER_CHARS in page and "A" * (MAX_ANSWER_CHARS + 1) not in page


def test_lone_surrogates_and_bad_bytes_become_replacement_characters():
    assert clean_text("caf\udce9") == "caf\ufffd"
    assert clean_text(b"caf\xe9 \xff") == "caf\ufffd \ufffd"
    assert clean_text("a\x00b\x1bc\td\ne") == "a\ufffdb\ufffdc\td\ne"
    assert clean_text(None) == "" and clean_text(float("nan")) == ""
    assert bounded("x" * 10, 4) == ("xxxx", 6)
    page = hostile_page()
    page.encode("utf-8")  # would raise on a lone surrogate
    assert "caf\ufffd \ufffd then &lt;b&gt;bold&lt;/b&gt; text" in page


def test_hostile_answers_are_written_to_every_file(tmp_path):
    written = write_audit_report(hostile_inputs(), tmp_path)
    assert sorted(written) == sorted(report_files(af.MODELS))
    exported = pd.read_csv(tmp_path / "executions.csv", keep_default_na=False)
    responses = set(exported["response"])
    assert SCRIPT in responses and HUGE in responses  # the exports keep answers whole
    assert "caf\ufffd \ufffd then <b>bold</b> text" in responses
    parquet = pd.read_parquet(tmp_path / "executions.parquet")
    assert HUGE in set(parquet["response"])


def test_controls_and_bidi_overrides_show_as_visible_markers_never_raw():
    assert visible("a\x00b\x1b\x85c\td\ne") == "a[U+0000]b[U+001B][U+0085]c\td\ne"
    assert visible("\u202eecnarF\u202c") == "[U+202E]ecnarF[U+202C]"
    assert escape("\u2066<b>\u2069") == "[U+2066]&lt;b&gt;[U+2069]"
    # Joiners that emoji and Persian need, and combining marks, are left alone.
    assert visible("👨\u200d👩 \u200c ne\u0301e") == "👨\u200d👩 \u200c ne\u0301e"
    page = hostile_page()
    assert not set(BIDI_CONTROLS + "\x00\x1b") & set(page)
    expected = "Paris[U+0000] is [U+202E]ecnarF[U+202C], [U+2066]isolate[U+2069]"
    assert expected in PageTags(page).all_text
