"""The audit report as one self-contained HTML page. Every model-written string is escaped."""

from __future__ import annotations

import html
import time

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import AuditAnalysis
from beacon_pipelines.audit_plan import AuditPlan

MAX_ANSWER_CHARS = 4000  # a report stays readable (and bounded) whatever a model wrote

_CSS = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#1b1f24;max-width:1200px}
h1{margin-bottom:.2rem} .muted{color:#57606a} table{border-collapse:collapse;margin:1rem 0}
th,td{border:1px solid #d0d7de;padding:.35rem .6rem;vertical-align:top;text-align:left}
th{background:#f6f8fa} .banner{background:#fff8c5;border:1px solid #d4a72c;padding:.6rem 1rem;
font-weight:600;margin:1rem 0} .cls{padding:.1rem .4rem;border-radius:.3rem;font-size:.85em}
.substantive{background:#dafbe1} .refusal{background:#ffebe9} .partial_refusal{background:#fff1c2}
.technical_failure{background:#eaeef2} .answer{white-space:pre-wrap;max-width:28rem}
"""


def _e(value: object) -> str:
    return html.escape(
        "" if value is None or (isinstance(value, float) and pd.isna(value)) else str(value),
        quote=True,
    )


def _answer(text: object) -> str:
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    if len(text) > MAX_ANSWER_CHARS:
        cut = len(text) - MAX_ANSWER_CHARS
        return f"{_e(text[:MAX_ANSWER_CHARS])}<br><em>[truncated: {cut:,} more characters]</em>"
    return _e(text)


def _table(frame: pd.DataFrame, float_format: str = "{:.2f}") -> str:
    head = "".join(f"<th>{_e(c)}</th>" for c in frame.columns)
    body = []
    for row in frame.itertuples(index=False):
        cells = [_e(float_format.format(v)) if isinstance(v, float) else _e(v) for v in row]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def render_report(
    analysis: AuditAnalysis,
    plan: AuditPlan,
    question_texts: dict[str, str],
    provenance: dict[str, str],
) -> str:
    s = analysis.summary
    simulated = bool(analysis.answers.get("simulated", pd.Series(dtype=bool)).any())
    parts = [
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'; img-src data:\">",
        f"<title>Beacon audit {_e(plan.audit_id)}</title><style>{_CSS}</style></head><body>",
        f"<h1>Beacon audit {_e(plan.audit_id)}</h1>",
        f"<p class='muted'>{_e(time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime(plan.created_at)))}"
        f" · backend {_e(plan.backend)} · {len(plan.models)} models × {len(plan.regions)} regions"
        f" × {len(plan.questions)} questions · {s['executions']} executions"
        f" ({s['attempts']} attempts)</p>",
    ]
    if simulated:
        parts.append(
            "<div class='banner'>SIMULATED: these answers come from Beacon's simulated backend,"
            " not from real models.</div>"
        )
    parts += [
        "<h2>Summary</h2><ul>",
        f"<li>{s['substantive']} substantive answers, {s['refusals']} refusals, "
        f"{s['partial_refusals']} partial refusals, {s['technical_failures']} technical "
        "failures.</li>",
        f"<li>{s['censorship_splits']} (model, question) pairs are answered differently across "
        "regions.</li>",
        f"<li>Mean cross-region lexical similarity (Jaccard): "
        f"{s['mean_cross_region_jaccard']:.2f}.</li>",
        f"<li>{s['failed_over']} executions were served outside their requested region.</li>",
        "</ul>",
        "<h2>Refusal and censorship rate by model and region</h2>",
        _table(analysis.rates),
        "<h2>Questions</h2>",
        _table(analysis.questions),
        "<h2>Answers side by side</h2>",
    ]
    answers = analysis.answers
    for (model, question_id), group in answers.groupby(["model", "question_id"], sort=True):
        parts.append(
            f"<h3>{_e(model)} · {_e(question_id)}</h3>"
            f"<p class='muted'>{_e(question_texts.get(question_id, ''))}</p><table><tr>"
        )
        first = group.sort_values("sample").groupby("region", sort=False).head(1)
        for row in first.itertuples(index=False):
            served = ""
            if isinstance(row.served_region, str) and row.served_region != row.requested_region:
                served = f" <span class='muted'>(served in {_e(row.served_region)})</span>"
            parts.append(
                f"<td><strong>{_e(row.region)}</strong>{served} "
                f"<span class='cls {_e(row.response_class)}'>{_e(row.response_class)}</span>"
                f"<div class='answer'>{_answer(row.response)}</div></td>"
            )
        parts.append("</tr></table>")
    parts.append("<h2>Provenance</h2>")
    parts.append(_table(pd.DataFrame(list(provenance.items()), columns=["item", "value"])))
    parts.append("</body></html>")
    return "\n".join(parts)
