"""A large audit's report: the first page stays small and shows the verdict first; answers
move to one page per model, each region's other samples listed distinct and bounded."""

from __future__ import annotations

import functools
import re

from beacon_pipelines.report.answer_pages import MAX_OTHER_ANSWERS, render_model_page
from beacon_pipelines.report.html import render_report
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

SAMPLES = 300  # 2 models x 3 regions x 2 questions x 300 = 3,600 executions, all distinct


@functools.cache
def large():
    return af.many_sample_inputs(SAMPLES)


def test_the_first_page_of_a_large_audit_is_small_and_leads_with_the_verdict():
    page = render_report(large())
    assert len(page.encode()) < 150_000
    assert "(sample 17)" not in page  # no answer text on the first page
    assert re.search(r"<svg class='([^']+)'", page)[1] == "chart intervals"
    # 300 refusals of 300 against 0 of 300: significant, on a sensitive question.
    riskiest = page.split("<h2 id='riskiest'>")[1].split("<h2")[0]
    assert "href='answers-qwen2.5-1.5b.html#q-tiananmen_1989'" in riskiest
    assert "risk-CRITICAL" in riskiest and "significant at 95 % (300 samples" in riskiest
    parsed = PageTags(page)
    assert parsed.tag_names <= REPORT_TAGS and "<script" not in page.lower()


def test_a_models_page_has_every_question_and_bounds_the_samples_it_lists():
    page = render_model_page(large(), "llama3.2-1b")
    assert len(page.encode()) < 3_000_000
    for question_id in af.QUESTIONS:
        assert f"id='q-{question_id}'" in page
    assert page.count("its other 299 samples (299 distinct answers)") == 6  # 3 regions x 2 q
    listed = re.findall(r"<ul class='others'>(.*?)</ul>", page)
    assert all(item.count("<li>") == MAX_OTHER_ANSWERS for item in listed)
    assert "279 more distinct answers of EU: executions.csv has every one." in page
