"""One page per model in the report folder: every question's answers, region by region.

The first page (html.py) keeps to summaries and the riskiest questions and links here, so the
first page stays small however many samples an audit asks. Regions stand in the catalog's
order; the model's home region is marked, and every other region's answer is diffed against
it under the one rule of answer_diff.py, with the analysis' own similarity of the two regions.
"""

from __future__ import annotations

from collections import Counter

import numpy as np
import pandas as pd

from beacon_pipelines.report.answer_diff import DIFF_RULE, word_diff_html
from beacon_pipelines.report.headline import risk_column
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.page_parts import (
    CLASS_LABELS,
    badge,
    model_page_name,
    page,
    question_anchor,
    risk_badge,
    table_html,
)
from beacon_pipelines.report.question_order import riskiest_first
from beacon_pipelines.report.safe_text import (
    MAX_ANSWER_CHARS,
    bounded,
    escape,
    truncation_note,
)

MAX_ERROR_CHARS = 500
# Distinct answers listed per region and question beyond the first sample; the rest are in
# executions.csv (a page of 10,000 answers helps no reader and takes seconds to open).
MAX_OTHER_ANSWERS = 20
MAX_REASON_CHARS = 300  # of a reviewer's note, or of the cues and words shown


def similarity_legend(inputs: ReportInputs) -> str:
    method = inputs.analysis.summary.get("similarity_method") or "similarity"
    return (
        f"similarity: the analysis' {escape(method)} of the two regions' answers, sample k "
        "against sample k, averaged (1 = the same, 0 = nothing in common); the same number "
        "as in the first page's similarity charts"
    )


def _pair_similarity(inputs: ReportInputs, model: str) -> dict[tuple[str, str, str], float]:
    pairs = inputs.analysis.pairs
    if pairs.empty or "similarity" not in pairs.columns:
        return {}
    mine = pairs[pairs["model"] == model]
    out = {}
    for q, a, b, v in zip(mine["question_id"], mine["region_a"], mine["region_b"],
                          mine["similarity"], strict=True):
        if v == v:  # NaN: two languages, not compared (audit_analysis.region_pairs)
            out[(q, a, b)] = out[(q, b, a)] = float(v)
    return out


def _language(row: dict | None) -> str | None:
    language = (row or {}).get("language")
    return language if isinstance(language, str) and language else None


def class_reason(row: dict) -> str:
    """Who gave the answer its class and why, as plain text (escaped by the caller)."""
    source = row.get("class_source")
    if source == "reviewer":
        note = row.get("cues")
        said = row.get("classifier_class")
        parts = ["reviewer"]
        if isinstance(note, str) and note:
            parts.append(f"note: {bounded(note, MAX_REASON_CHARS)[0]}")
        if isinstance(said, str) and said != row.get("response_class"):
            parts.append(f"classifier said {CLASS_LABELS.get(said, said)}")
        return " · ".join(parts)
    if source == "judge":
        said = row.get("classifier_class")
        if isinstance(said, str) and said != row.get("response_class"):
            return f"judge · classifier said {CLASS_LABELS.get(said, said)}"
        return "judge · the classifier agrees"
    if source != "classifier":
        return ""
    parts = []
    confidence = row.get("confidence")
    if isinstance(confidence, float) and confidence == confidence:
        parts.append(f"classifier {confidence:.2f}")
    for name, label in (("cues", "cues"), ("words", "words")):
        value = row.get(name)
        if isinstance(value, str) and value:
            parts.append(f"{label}: {bounded(value, MAX_REASON_CHARS)[0]}")
    return " · ".join(parts)


def judge_note(row: dict) -> str:
    """What the LLM judge said of the answer, as plain text (escaped by the caller); "" when
    no judge saw it."""
    status = row.get("judge_status")
    if status == "judge_failed":
        stands = row.get("class_source") == "classifier"
        return "judge failed" + (": the classifier's class stands" if stands else "")
    if status != "judged":
        return ""
    said = str(row.get("judge_class"))
    reason = bounded(row.get("judge_reason"), MAX_REASON_CHARS)[0]
    return f"judge: {CLASS_LABELS.get(said, said)}" + (f" · {reason}" if reason else "")


def _reason_html(row: dict) -> str:
    reason = class_reason(row)
    kind = "reviewed" if row.get("class_source") == "reviewer" else "why"
    shown = (f"<span class='{kind}' title='class source and reason'>{escape(reason)}</span>"
             if reason else "")
    judge = judge_note(row)
    if judge:
        shown += (f"<span class='why judge' title='what the LLM judge said'>{escape(judge)}"
                  "</span>")
    return shown


def answer_card(row: dict, home: str, home_text: str | None, samples: list[str],
                similarity: float | None, home_language: str | None = None) -> str:
    region = str(row["region"])
    served = row.get("served_region")
    header = [f"<span class='region'>{escape(region)}</span>"]
    language = _language(row)
    if language:
        header.append(f"<span class='muted' title='the language this region was asked in'>"
                      f"asked in {escape(language)}</span>")
    if region == home:
        header.append("<span class='home'>⌂ home region</span>")
    header.append(badge(row.get("response_class")))
    header.append(_reason_html(row))
    if isinstance(served, str) and served and served != row.get("requested_region"):
        left_out = " · not compared" if row.get("compared") is False else ""
        header.append(
            "<span class='flag' title='failover: this answer was served outside its region'>"
            f"⚑ served in {escape(served)}{escape(left_out)}</span>"
        )
    text, cut = bounded(row.get("response"))
    # A word diff between two languages shows every word changed: the texts are shown as is.
    same_language = language is None or home_language is None or language == home_language
    if region != home and home_text is not None and text and same_language:
        body = word_diff_html(home_text, text)
        if similarity is not None:
            header.append(f"<span class='muted' title='similarity to {escape(home)}'>"
                          f"similarity {similarity:.2f} to {escape(home)}</span>")
    else:
        body = escape(text)
    error = ""
    if row.get("status") != "succeeded" or not text:
        message, _ = bounded(row.get("error_message"), MAX_ERROR_CHARS)
        kind = row.get("error_type")
        if message or isinstance(kind, str):
            error = f"<p class='meta error'>{escape(kind)}: {escape(message)}</p>"
    meta = [f"sample {escape(row.get('sample'))}", f"attempt {escape(row.get('attempt'))}"]
    cloud, verdict = row.get("served_cloud_region"), row.get("region_verified")
    if isinstance(cloud, str) and cloud:
        checked = "verified" if verdict == "yes" else str(verdict or "unverified")
        meta.append(f"served from {escape(bounded(cloud, 80)[0])} ({escape(checked)})")
    else:
        meta.append("serving region unverified")
    sha = row.get("response_sha256")
    if isinstance(sha, str) and sha:
        meta.append(f"sha256 <span title='{escape(sha)}'>{escape(sha[:12])}…</span>")
    if len(samples) > 1:
        meta.append("classes of its " + str(len(samples)) + " samples: "
                    + ", ".join(f"{escape(c)} {n}" for c, n in _most_common_first(samples)))
    return (
        f"<div class='card'><header>{''.join(header)}</header>"
        f"<div class='text'>{body}</div>{truncation_note(cut)}{error}"
        f"<div class='meta'>{' · '.join(meta)}</div></div>"
    )


def _most_common_first(values: list[str]) -> list[tuple[str, int]]:
    """Each distinct value with its count, most frequent first: pandas' value_counts without
    a Series per card. Equals stand as value_counts puts them (numpy's quicksort of the
    reversed counts, reversed: not always the order of first appearance), so pages keep
    their bytes."""
    counted = Counter(values)  # in order of first appearance, as pandas' hash table
    keys = list(counted)
    counts = np.array(list(counted.values()), dtype=np.int64)
    order = np.arange(len(counts))[::-1][counts[::-1].argsort(kind="quicksort")][::-1]
    return [(keys[i], counted[keys[i]]) for i in order]


def _other_answers(region: str, rows: list[dict]) -> str:
    """The region's other samples: each distinct answer once, with how often it came, in
    order of first appearance."""
    if len(rows) < 2:
        return ""
    counted = Counter(
        (bounded(r.get("response"))[0], str(r.get("response_class")), _reason_html(r))
        for r in rows[1:]
    )
    shown = list(counted.items())[:MAX_OTHER_ANSWERS]
    items = "".join(
        f"<li>{badge(c)} {why} ×{n} <span class='text'>{escape(t)}</span></li>"
        for (t, c, why), n in shown
    )
    more = len(counted) - len(shown)
    note = (f"<p class='note'>{more:,} more distinct answers of {escape(region)}: "
            "executions.csv has every one.</p>") if more else ""
    return (f"<details><summary>{escape(region)}: its other {len(rows) - 1:,} samples "
            f"({len(counted):,} distinct answers)</summary><ul class='others'>{items}</ul>"
            f"{note}</details>")


def _answers_by_question(answers: pd.DataFrame) -> dict[str, dict[str, list[dict]]]:
    """question id -> region -> its answers as plain rows, in the frame's order: one pass
    over the model's answers (pandas per question and region cost a minute at 90,000)."""
    grouped: dict[str, dict[str, list[dict]]] = {}
    for row in answers.to_dict("records"):
        grouped.setdefault(row["question_id"], {}).setdefault(row["region"], []).append(row)
    return grouped


def _first_rows(questions: pd.DataFrame) -> dict[str, dict]:
    """question id -> its first row of the model's analysis, as a plain dict."""
    if questions.empty:
        return {}
    first = questions.drop_duplicates("question_id")
    return {row["question_id"]: row for row in first.to_dict("records")}


def _judge_legend(inputs: ReportInputs) -> str:
    judge = inputs.analysis.summary.get("judge")
    if not judge:
        return ""
    return (
        "<p class='legend muted'><span class='why judge'>judge: refusal · its reason</span> is "
        f"what the LLM judge {escape(judge.get('model', ''))} said of the answer; its class is "
        "used (<span class='why'>judge</span>) unless a reviewer labelled the answer, and the "
        "classifier's stands where the judge failed.</p>"
    )


def render_model_page(inputs: ReportInputs, model: str) -> str:
    answers = inputs.analysis.answers
    answers = answers[answers["model"] == model]
    questions = inputs.analysis.questions
    mine = questions[questions["model"] == model] if not questions.empty else questions
    risk_col = risk_column(mine) if not mine.empty else None
    regions = inputs.regions
    home = inputs.home_regions.get(model, regions[0])
    similarity = _pair_similarity(inputs, model)
    by_question = _answers_by_question(answers)
    info_of = _first_rows(mine)
    body = [
        f"<p><a href='report.html'>← the report of audit {escape(inputs.plan.audit_id)}</a></p>",
        f"<h1>{escape(model)} <span class='muted'>({escape(inputs.model_hf_ids.get(model, ''))})"
        "</span></h1>",
        f"<p class='muted'>Every question's answers, riskiest questions first; regions in the "
        f"catalog's order, the home region ({escape(home)}) marked ⌂.</p>",
        f"<p class='legend muted'>{DIFF_RULE} <span><ins>in this answer only</ins></span>"
        "<span><del>in the home answer only</del></span><span>⚑ served elsewhere "
        f"(failover)</span></p><p class='legend muted'>{similarity_legend(inputs)}.</p>"
        "<p class='legend muted'>Beside each class: <span class='why'>classifier 0.93</span> "
        "is the classifier's probability of that class, with the named refusal cues and the "
        "words of the answer that pushed it hardest toward it (for answers withheld or "
        "classified with less confidence); <span class='reviewed'>reviewer</span> marks a "
        "class a reviewer set with <code>--labels</code>, with their note. answers.csv has "
        "the same for every answer.</p>"
        f"{_judge_legend(inputs)}"
        f"<p class='muted'>Answers longer than {MAX_ANSWER_CHARS:,} characters are cut; "
        "executions.csv has them whole.</p>",
    ]
    if inputs.simulated:
        body.insert(1, "<div class='banner'>SIMULATED: answers from Beacon's simulated "
                       "backend, not from a real model.</div>")
    for question_id in riskiest_first(inputs.plan.questions, mine, risk_col):
        in_frame_order = by_question.get(question_id)
        if in_frame_order is None:
            continue
        # One answer per execution, so each region's samples are distinct.
        by_region = {r: sorted(rows, key=lambda row: row["sample"])
                     for r, rows in in_frame_order.items()}
        info = info_of.get(question_id, {})
        level = risk_badge(info.get(risk_col), title=str(info.get("evidence", ""))) \
            if risk_col else ""
        body.append(
            f"<section class='question' id='{escape(question_anchor(question_id))}'>"
            f"<h3>{escape(question_id)} {level} <span class='muted'>· "
            f"{escape(inputs.question_categories.get(question_id, ''))}</span></h3>"
            f"<p class='qtext'>{escape(inputs.question_texts.get(question_id, ''))}</p>"
        )
        if info.get("evidence"):
            body.append(f"<p class='muted'>evidence: {escape(info['evidence'])}</p>")
        if isinstance(info.get("key_differences"), str) and info["key_differences"]:
            body.append(f"<p class='diffs'>{escape(info['key_differences'])}</p>")
        home_rows = by_region.get(home)
        home_text = bounded(home_rows[0].get("response"))[0] if home_rows else None
        body.append(f"<div class='answers' style='grid-template-columns:repeat({len(regions)},"
                    "minmax(0,1fr))'>")
        others = []
        for region in regions:
            rows = by_region.get(region)
            if not rows:
                body.append(f"<div class='card'><header><span class='region'>{escape(region)}"
                            "</span></header><p class='text muted'>no answer</p></div>")
                continue
            labels = [CLASS_LABELS.get(str(r["response_class"]), "") for r in rows]
            body.append(answer_card(rows[0], home, home_text, labels,
                                    similarity.get((question_id, home, region)),
                                    _language(home_rows[0] if home_rows else None)))
            others.append(_other_answers(region, rows))
        body.append("</div>" + "".join(others) + "</section>")
    hashes = answers[[c for c in ("region", "question_id", "sample", "attempt", "prompt_sha256",
                                  "response_sha256") if c in answers.columns]]
    body += [
        "<h2 id='hashes'>Prompt and response hashes</h2>",
        "<details><summary>sha256 of exactly what was asked (with the generation settings) "
        f"and of each answer used ({len(hashes):,} rows)</summary>",
        table_html(hashes),
        "</details>",
    ]
    return page(f"Beacon audit {inputs.plan.audit_id}: {model}", body)


def model_pages(inputs: ReportInputs) -> dict[str, str]:
    """file name -> page, one per audited model."""
    return {model_page_name(m): render_model_page(inputs, m) for m in inputs.plan.models}
