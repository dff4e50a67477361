"""The report's LLM-judge section: which judge, how far it agrees with the classifier (Cohen's
kappa, the confusion matrix), and the answers they disagree on, listed first for a reviewer.

Nothing here when the audit was analysed without a judge. The judge's reason is model text:
it is bounded and escaped like any answer (table_html, escape).
"""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.analysis.judge_agreement import disagreements
from beacon_pipelines.analysis.risk import rank
from beacon_pipelines.report.headline import risk_column
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.page_parts import (
    CLASS_LABELS,
    badge,
    model_page_name,
    question_anchor,
    table_html,
)
from beacon_pipelines.report.safe_text import escape

# Rows of the disagreements table (one per model, question, region, classes and answer);
# answers.csv has every answer with both classes.
MAX_DISAGREEMENT_ROWS = 200
# By the answer's hash, not its reason's text: pandas' string hashing stops at a NUL.
_GROUP = ["model", "question_id", "region", "classifier_class", "judge_class", "response_class",
          "class_source", "response_sha256"]


def judge_provenance(summary: dict) -> dict[str, str]:
    judge = summary.get("judge")
    if not judge:
        return {}
    return {
        "LLM judge": f"{judge.get('model', '')}: {judge.get('judged', 0)} answers judged, "
        f"{judge.get('failed', 0)} failed (their classifier's class stands)",
        "judge prompt sha256": str(judge.get("prompt_sha256", "")),
    }


def kappa_text(judge: dict) -> str:
    kappa = judge.get("kappa")
    if kappa is None:
        return judge.get("kappa_note") or "undefined"
    return f"{kappa:.2f}"


def judge_section(inputs: ReportInputs) -> list[str]:
    judge = inputs.analysis.summary.get("judge")
    if not judge:
        return []
    found = _disagreement_rows(inputs)
    parts = [
        "<h2 id='judge'>LLM judge against the classifier</h2>",
        f"<p>The judge <b>{escape(judge.get('model', ''))}</b> (prompt sha256 "
        f"<code>{escape(judge.get('prompt_sha256', ''))}</code>) classified "
        f"{int(judge.get('judged', 0)):,} answers; it failed on {int(judge.get('failed', 0)):,}, "
        "which keep the classifier's class. Its class is used wherever it judged, unless a "
        "reviewer labelled the answer. Agreement with the classifier, Cohen's kappa: "
        f"<b>{escape(kappa_text(judge))}</b>; they disagree on "
        f"<b>{int(judge.get('disagreements', 0)):,}</b> answers.</p>",
        "<h3 id='judge-disagreements'>Answers they disagree on</h3>",
    ]
    if found.empty:
        parts.append("<p>None: wherever the judge judged, it gave the classifier's class.</p>")
    else:
        shown = found.head(MAX_DISAGREEMENT_ROWS)
        parts += [
            "<p class='muted'>For a reviewer, riskiest questions first; each question links to "
            "its answers. A label file (<code>--labels</code>) overrides both.</p>",
            table_html(_table(shown), html_columns=frozenset(
                {"question", "classifier", "judge", "class used"})),
        ]
        more = len(found) - len(shown)
        if more:
            parts.append(f"<p class='muted'>{more:,} more rows in answers.csv (judge_class "
                         "differs from classifier_class).</p>")
    parts += [
        "<h3 id='judge-confusion'>Confusion matrix</h3>",
        "<p class='muted'>Answers both classified: rows the classifier's class, columns the "
        "judge's.</p>",
        table_html(_confusion(judge)),
    ]
    return parts


def _disagreement_rows(inputs: ReportInputs) -> pd.DataFrame:
    """One row per (model, question, region, classes, answer), with how many samples."""
    found = disagreements(inputs.analysis.answers)
    if found.empty:
        return found
    grouped = (found.groupby(_GROUP, sort=False, dropna=False)
               .agg(samples=("judge_reason", "size"), judge_reason=("judge_reason", "first"))
               .reset_index())
    questions = inputs.analysis.questions
    col = risk_column(questions) if not questions.empty else None
    risks = ({(m, q): rank(str(r)) for m, q, r in
              zip(questions["model"], questions["question_id"], questions[col], strict=True)}
             if col else {})
    models = {m: i for i, m in enumerate(inputs.plan.models)}
    regions = {r: i for i, r in enumerate(inputs.regions)}
    order = grouped.assign(
        _risk=[-risks.get((m, q), 0) for m, q in zip(grouped["model"], grouped["question_id"],
                                                     strict=True)],
        _model=grouped["model"].map(models),
        _region=grouped["region"].map(regions),
    )
    return order.sort_values(["_risk", "_model", "question_id", "_region"], kind="stable")


def _table(rows: pd.DataFrame) -> pd.DataFrame:
    href = [model_page_name(m) + "#" + question_anchor(q)
            for m, q in zip(rows["model"], rows["question_id"], strict=True)]
    used = [badge(c) + (" <span class='muted'>reviewer</span>" if s == "reviewer" else "")
            for c, s in zip(rows["response_class"], rows["class_source"], strict=True)]
    return pd.DataFrame({
        "question": [f"<a href='{escape(h)}'>{escape(q)}</a>"
                     for h, q in zip(href, rows["question_id"], strict=True)],
        "model": rows["model"].tolist(),
        "region": rows["region"].tolist(),
        "samples": rows["samples"].astype(int).tolist(),
        "classifier": [badge(c) for c in rows["classifier_class"]],
        "judge": [badge(c) for c in rows["judge_class"]],
        "class used": used,
        "judge's reason": rows["judge_reason"].tolist(),
    })


def _confusion(judge: dict) -> pd.DataFrame:
    confusion = judge.get("confusion") or {}
    labels = [CLASS_LABELS.get(c, c) for c in confusion.get("labels", [])]
    matrix = confusion.get("matrix", [])
    frame = pd.DataFrame(matrix, columns=[f"judge: {c}" for c in labels])
    frame.insert(0, "classifier", labels)
    return frame
