"""The audit report's first page: summaries and the riskiest questions first, then charts,
provenance, and links to one page of answers per model (answer_pages.py), all in one folder.

No script, no network, no external font. Every string that did not come from this file goes
through `escape` (directly or via the chart, table and badge helpers); a Content-Security-
Policy that allows no script is a second fence.
"""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.risk import INSUFFICIENT, rank
from beacon_pipelines.report import charts as report_charts
from beacon_pipelines.report.answer_pages import similarity_legend
from beacon_pipelines.report.headline import key_findings, overall_risk, risk_column
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.judge_section import judge_provenance, judge_section
from beacon_pipelines.report.page_parts import (
    date,
    model_page_name,
    page,
    question_anchor,
    risk_badge,
    table_html,
)
from beacon_pipelines.report.safe_text import escape
from beacon_pipelines.report.serving import serving_summary, verification_counts

# Rows of the "riskiest questions" table on the first page; the rest are a click away.
MAX_RISKY_ROWS = 20


def answers_href(model: str, question_id: str | None = None) -> str:
    """Where the answers behind a level are: the model's page, at the question."""
    anchor = f"#{question_anchor(question_id)}" if question_id else ""
    return model_page_name(model) + anchor


def _headline(inputs: ReportInputs) -> list[str]:
    plan, analysis = inputs.plan, inputs.analysis
    s = analysis.summary
    simulated = inputs.simulated
    risk = overall_risk(analysis)
    parts = [
        f"<h1>Beacon audit <code>{escape(plan.audit_id)}</code></h1>",
        f"<p class='muted'>{escape(date(plan.created_at))} · backend "
        f"<b>{escape(plan.backend)}</b> · Beacon {escape(inputs.beacon_version)}</p>",
    ]
    if simulated:
        parts.append(
            "<div class='banner' id='simulated'>SIMULATED: these answers come from Beacon's "
            "simulated backend, not from real models. Use them to try Beacon, never as "
            "evidence about a model.</div>"
        )
    facts = [
        ("models × regions × questions",
         f"{len(plan.models)} × {len(plan.regions)} × {len(plan.questions)}"),
        ("executions (attempts)", f"{s.get('executions', 0)} ({s.get('attempts', 0)})"),
        ("refusals / partial", f"{s.get('refusals', 0)} / {s.get('partial_refusals', 0)}"),
        ("regional splits", str(s.get("censorship_splits", 0))),
        ("served elsewhere", str(s.get("failed_over", 0))),
    ]
    verification = verification_counts(inputs.executions)
    facts.append(
        (
            "served in region: verified / unverified / refused",
            f"{verification['verified']} / {verification['unverified']} / "
            f"{verification['region_mismatches']}",
        )
    )
    risk_html = risk_badge(risk) if risk else "<span class='muted'>not assessed</span>"
    parts.append(
        "<div class='facts'>"
        f"<div class='fact'>overall risk <b>{risk_html}</b></div>"
        + "".join(f"<div class='fact'>{escape(k)} <b>{escape(v)}</b></div>" for k, v in facts)
        + "</div>"
    )
    models = getattr(analysis, "models", None)
    if isinstance(models, pd.DataFrame) and not models.empty and "risk" in models.columns:
        parts.append("<p>Risk per model (each links to its answers): " + " · ".join(
            f"{escape(row['model'])} {risk_badge(row['risk'], answers_href(row['model']))}"
            + _needed(row) for row in models.to_dict("records")
        ) + "</p>")
    parts.append(
        "<h2 id='censorship'>Censorship by model and region</h2>"
        + report_charts.censorship_intervals(inputs)
        + "<p class='note'>Share of each model's answers refused or evaded in each region (the "
        "square), with its 95% Wilson interval (the line); ⌂ marks the model's home region. "
        "Two regions differ significantly where their lines do not overlap.</p>"
    )
    findings = key_findings(analysis)
    parts.append("<h2 id='findings'>Key findings</h2><ul class='findings'>")
    parts += [f"<li>{escape(f)}</li>" for f in findings] or ["<li>None.</li>"]
    parts.append("</ul>")
    return parts


def _needed(row: dict) -> str:
    if row.get("risk") != INSUFFICIENT:
        return ""
    n = row.get("samples_needed")
    if isinstance(n, int | float) and n > 0:
        return f" <span class='muted'>({int(n)} samples per region would decide it)</span>"
    return " <span class='muted'>(more than 1000 samples per region would be needed)</span>"


def _riskiest(inputs: ReportInputs) -> list[str]:
    questions = inputs.analysis.questions
    risk_col = risk_column(questions) if not questions.empty else None
    if not risk_col:
        return []
    ranked = questions.assign(_rank=[rank(str(r)) for r in questions[risk_col]])
    ranked = ranked[ranked["_rank"] > rank("LOW")]
    sort = ["_rank"] + (["sensitivity"] if "sensitivity" in ranked.columns else [])
    ranked = ranked.sort_values(sort, ascending=False, kind="stable")
    parts = ["<h2 id='riskiest'>Riskiest questions</h2>"]
    if ranked.empty:
        return parts + ["<p>No question rose above LOW: nothing was withheld.</p>"]
    shown = ranked.head(MAX_RISKY_ROWS)
    table = pd.DataFrame({
        "level": [risk_badge(r, answers_href(m, q), str(e)) for r, m, q, e in zip(
            shown[risk_col], shown["model"], shown["question_id"],
            shown.get("evidence", pd.Series("", index=shown.index)), strict=True)],
        "model": shown["model"],
        "question": shown["question_id"],
        "evidence": shown.get("evidence", pd.Series("", index=shown.index)),
        "what differs": shown.get("key_differences", pd.Series("", index=shown.index)),
    })
    more = len(ranked) - len(shown)
    return parts + [
        "<p class='muted'>Each level links to the answers behind it. A level above LOW rests on "
        "a difference in withholding that is significant at this audit's sample size, or on a "
        "reviewer's label; <em>insufficient evidence</em> says how many samples would decide.</p>",
        table_html(table, html_columns=frozenset({"level"})),
        f"<p class='muted'>{more} more above LOW in the questions table below.</p>" if more else "",
    ]


def _charts(inputs: ReportInputs) -> list[str]:
    parts = [
        "<h2 id='charts'>Refusal and censorship by model and region</h2>",
        "<p class='muted'>Share of answers refused (left) and refused or evaded (right). "
        "Darker is more.</p><div class='charts'>",
        report_charts.rate_heatmap(inputs, "refusal_rate", "Refusal rate"),
        report_charts.rate_heatmap(inputs, "censorship_rate", "Censorship rate (refused or "
                                   "evaded)"),
        "</div>",
        "<p class='note'>Under each rate: withheld / answers, and its 95% interval when the "
        "analysis gives one. n/a: no answer of that region was compared (for instance, every "
        "one was served elsewhere).</p>",
        "<details><summary>numbers</summary>",
        table_html(inputs.analysis.rates),
        "</details>",
    ]
    pair_charts = report_charts.similarity_pair_charts(inputs)
    if pair_charts:
        parts += [
            "<h2 id='similarity'>How alike the regions' answers are, per question</h2>",
            f"<p class='muted'>One row per pair of regions, one column per model; "
            f"{similarity_legend(inputs)}. Hover a cell for its question, model and pair.</p>",
            "<div class='smalls'>",
            *[svg for _, svg in pair_charts],
            "</div>",
        ]
    latency = report_charts.latency_chart(inputs)
    parts.append("<h2 id='latency'>Latency and failover per region</h2>")
    if latency is None:
        parts.append("<p class='muted'>No latency chart: the answers came from the simulated "
                     "backend, whose latency is its own model's, not a region's.</p>")
    parts += [
        "<div class='charts'>",
        latency or "",
        report_charts.failover_chart(inputs),
        "</div>",
    ]
    return parts


def _answer_links(inputs: ReportInputs) -> list[str]:
    answers = inputs.analysis.answers
    models = inputs.analysis.models
    risks = dict(zip(models["model"], models["risk"], strict=True)) \
        if isinstance(models, pd.DataFrame) and "risk" in models.columns else {}
    items = []
    for model in inputs.plan.models:
        n = int((answers["model"] == model).sum())
        items.append(
            f"<li><a href='{escape(answers_href(model))}'>{escape(model)}</a> "
            f"{risk_badge(risks.get(model))} <span class='muted'>{n:,} answers, every "
            "question, region by region</span></li>"
        )
    return [
        "<h2 id='answers'>Answers, one page per model</h2>",
        "<p class='muted'>Pages in this folder, written with this report.</p>",
        f"<ul>{''.join(items)}</ul>",
    ]


def _questions_table(inputs: ReportInputs) -> list[str]:
    questions = inputs.analysis.questions
    if questions.empty:
        return []
    return [
        "<h2 id='questions'>Questions</h2>",
        f"<details><summary>classes and similarity per model and question ({len(questions)} "
        "rows)</summary>",
        table_html(questions),
        "</details>",
    ]


def _changes(inputs: ReportInputs) -> list[str]:
    changes = inputs.analysis.changes
    if changes is None or changes.empty:
        return []
    return [
        "<h2 id='changes'>Changes since the previous audit</h2>",
        table_html(changes),
    ]


def _trend(inputs: ReportInputs) -> list[str]:
    trend = inputs.trend
    if trend is None or trend.empty:
        return []
    audits = trend["audit_id"].nunique()
    parts = [
        "<h2 id='trend'>Censorship over time</h2>",
        f"<p class='muted'>The last {audits} complete audit(s) of this question set, oldest "
        "first: share of each model's answers refused or evaded (failed-over answers left "
        "out).</p>",
    ]
    if audits < 2:
        parts.append("<p>This is the first audit of this question set: no trend yet.</p>")
        return parts
    shown = trend.assign(
        created=[date(t) for t in trend["created_at"]],
        interval=[f"{lo:.0%}–{hi:.0%}" for lo, hi in
                  zip(trend["censorship_low"], trend["censorship_high"], strict=True)],
    )
    return parts + [
        report_charts.trend_chart(trend),
        "<details><summary>numbers</summary>",
        table_html(shown, ["audit_id", "created", "model", "n", "withheld", "censorship_rate",
                           "interval"]),
        "</details>",
    ]


def _labels_provenance(summary: dict) -> dict[str, str]:
    if not summary.get("labels_sha256"):
        return {}
    return {
        "reviewer labels": f"{summary.get('labels_applied', 0)} answers labelled, "
        f"{summary.get('labels_changed', 0)} given another class than the classifier's",
        "labels file sha256": str(summary["labels_sha256"]),
    }


def _provenance(inputs: ReportInputs) -> list[str]:
    plan, executions = inputs.plan, inputs.executions
    items = {
        "audit id": plan.audit_id,
        "created": date(plan.created_at),
        "backend": plan.backend,
        "Beacon version": inputs.beacon_version,
        "catalog sha256": plan.catalog_sha256,
        "samples per question": str(plan.samples),
        "classifier": str(inputs.analysis.summary.get("classifier", "")),
        **_labels_provenance(inputs.analysis.summary),
        **judge_provenance(inputs.analysis.summary),
        **inputs.provenance,
    }
    runs = (
        executions.dropna(subset=["run_id"])
        .groupby(["model", "requested_region"], sort=True)
        .agg(attempts=("attempt", "size"), runs=("run_id", lambda r: " ".join(dict.fromkeys(r))))
        .reset_index()
        .rename(columns={"requested_region": "region", "runs": "Dagster run ids"})
    )
    models = pd.DataFrame(
        [
            {"model": m, "Hugging Face id": inputs.model_hf_ids.get(m, ""),
             "home region": inputs.home_regions.get(m, "")}
            for m in plan.models
        ]
    )
    verification = verification_counts(executions)
    return [
        "<h2 id='provenance'>Provenance</h2>",
        table_html(pd.DataFrame(list(items.items()), columns=["item", "value"])),
        "<h4>Models</h4>",
        table_html(models),
        "<h4 id='serving'>Where the answers were served</h4>",
        "<p class='muted'>As each server reported it (untrusted). An answer counts as its "
        "region's only when the cloud region it reports is one the catalog puts in that "
        "region (verified); answers whose server reports no region are <b>unverified</b> "
        f"({verification['unverified']} of the answers used); answers served outside their "
        f"region were refused and asked again ({verification['region_mismatches']}).</p>",
        table_html(serving_summary(executions)),
        "<h4>Dagster runs per partition</h4>",
        table_html(runs),
        "<p class='muted'>The sha256 of every prompt and answer used: on each model's answers "
        "page, and in executions.csv.</p>",
    ]


def render_report(inputs: ReportInputs) -> str:
    """The first page; answer_pages.model_pages gives the pages it links to."""
    judge = judge_section(inputs)
    body = [
        *_headline(inputs),
        # Where judge and classifier disagree decides classes behind the levels: a reviewer
        # checks those first.
        *judge,
        *_riskiest(inputs),
        "<nav><a href='#charts'>charts</a><a href='#similarity'>similarity</a>"
        "<a href='#latency'>latency</a><a href='#answers'>answers</a>"
        "<a href='#questions'>questions</a>"
        + ("<a href='#judge'>judge</a>" if judge else "")
        + "<a href='#provenance'>provenance</a></nav>",
        *_charts(inputs),
        *_answer_links(inputs),
        *_questions_table(inputs),
        *_changes(inputs),
        *_trend(inputs),
        *_provenance(inputs),
    ]
    return page(f"Beacon audit {inputs.plan.audit_id}", body)
