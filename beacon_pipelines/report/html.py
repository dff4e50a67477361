"""The audit report as one self-contained HTML page: no script, no network, no external font.

Every string that did not come from this file goes through `escape` (directly or via the
chart and diff helpers); a Content-Security-Policy that allows no script is a second fence.
"""

from __future__ import annotations

import time

import pandas as pd

from beacon_pipelines.report import charts as report_charts
from beacon_pipelines.report.answer_diff import word_diff_html
from beacon_pipelines.report.headline import (
    RISK_LEVELS,
    key_findings,
    overall_risk,
    risk_column,
    risk_level,
)
from beacon_pipelines.report.inputs import ReportInputs
from beacon_pipelines.report.safe_text import (
    MAX_ANSWER_CHARS,
    bounded,
    escape,
    truncation_note,
)
from beacon_pipelines.report.serving import serving_summary, verification_counts

MAX_ERROR_CHARS = 500
MAX_TABLE_CELL_CHARS = 300
CLASS_LABELS = {
    "substantive": "substantive",
    "refusal": "refusal",
    "partial_refusal": "partial",
    "technical_failure": "failure",
}

_CSS = """
:root{--ink:#1f2328;--muted:#59636e;--line:#d1d9e0;--soft:#f6f8fa}
*{box-sizing:border-box}
body{font:15px/1.5 system-ui,-apple-system,"Segoe UI",sans-serif;margin:0;color:var(--ink)}
main{max-width:1280px;margin:0 auto;padding:1.5rem 2rem 4rem}
h1{font-size:1.7rem;margin:.2rem 0} h2{margin-top:2.4rem;border-bottom:1px solid var(--line);
padding-bottom:.3rem} h3{margin:2rem 0 .2rem} h4{margin:1.1rem 0 .4rem;font-size:1rem}
.muted{color:var(--muted)} .note{color:var(--muted);font-size:.85em;font-style:italic}
nav a{margin-right:1rem;color:#0969da}
.banner{background:#fff8c5;border:2px solid #d4a72c;padding:.7rem 1rem;font-weight:700;
margin:1rem 0;border-radius:6px;letter-spacing:.02em}
.facts{display:flex;flex-wrap:wrap;gap:.6rem;margin:1rem 0}
.fact{border:1px solid var(--line);border-radius:6px;padding:.5rem .9rem;background:var(--soft)}
.fact b{display:block;font-size:1.25rem}
.risk{font-weight:700;padding:.1rem .55rem;border-radius:4px;color:#fff;background:#59636e}
.risk-LOW{background:#1a7f37} .risk-MEDIUM{background:#9a6700} .risk-HIGH{background:#bc4c00}
.risk-CRITICAL{background:#a40e26}
.findings li{margin:.25rem 0}
.charts{display:flex;flex-wrap:wrap;gap:1.5rem 2.5rem;align-items:flex-start}
.smalls{display:flex;flex-wrap:wrap;gap:1rem}
table{border-collapse:collapse;margin:.6rem 0;font-size:.88em}
th,td{border:1px solid var(--line);padding:.3rem .55rem;vertical-align:top;text-align:left}
th{background:var(--soft)} .wide{overflow-x:auto} td:first-child{white-space:nowrap}
summary{cursor:pointer;color:#0969da}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.cls{display:inline-block;padding:0 .45rem;border-radius:1rem;font-size:.8em;font-weight:600;
border:1px solid transparent}
.substantive{background:#dafbe1;border-color:#aceebb;color:#116329}
.refusal{background:#ffebe9;border-color:#ffcecb;color:#a40e26}
.partial_refusal{background:#fff8c5;border-color:#f5e0a0;color:#7d4e00}
.technical_failure{background:#eaeef2;border-color:#d1d9e0;color:#424a53}
.question{border-top:3px solid var(--line);margin-top:2.2rem}
.qtext{font-size:1.05rem;margin:.2rem 0 .6rem}
.answers{display:grid;gap:.7rem;margin-bottom:.6rem}
.card{border:1px solid var(--line);border-radius:6px;overflow:hidden;min-width:0}
.card header{background:var(--soft);padding:.35rem .6rem;display:flex;flex-wrap:wrap;
gap:.4rem;align-items:center;border-bottom:1px solid var(--line)}
.card .region{font-weight:700}
.home{font-size:.75em;color:var(--muted);border:1px solid var(--line);border-radius:1rem;
padding:0 .4rem;background:#fff}
.flag{font-size:.78em;font-weight:600;color:#7d4e00;background:#fff1c2;border-radius:1rem;
padding:0 .45rem}
.text{white-space:pre-wrap;overflow-wrap:anywhere;padding:.5rem .65rem;max-height:22rem;
overflow:auto;font-size:.9em;margin:0}
.meta{font-size:.75em;color:var(--muted);padding:.2rem .65rem .4rem;overflow-wrap:anywhere}
ins{background:#ccffd8;text-decoration:none} del{background:#ffd7d5;color:#82071e}
.error{color:#a40e26}
.legend span{margin-right:1rem}
.diffs{margin:-.2rem 0 .5rem;font-size:.88em;color:#7d4e00}
"""


def _date(epoch: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime(epoch or 0))


def _cell(value: object, float_format: str = "{:.2f}") -> str:
    if isinstance(value, bool):
        return escape("yes" if value else "no")
    if isinstance(value, float):
        return "" if pd.isna(value) else escape(float_format.format(value))
    text, cut = bounded(value, MAX_TABLE_CELL_CHARS)
    return escape(text) + ("…" if cut else "")


def table_html(frame: pd.DataFrame, columns: list[str] | None = None) -> str:
    columns = [c for c in (columns or list(frame.columns)) if c in frame.columns]
    head = "".join(f"<th>{escape(c)}</th>" for c in columns)
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for value in row:
            numeric = isinstance(value, int | float) and not isinstance(value, bool)
            cells.append(f"<td class='num'>{_cell(value)}</td>" if numeric else f"<td>"
                         f"{_cell(value)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return (
        f"<div class='wide'><table><thead><tr>{head}</tr></thead>"
        f"<tbody>{''.join(body)}</tbody></table></div>"
    )


def _badge(response_class: object) -> str:
    cls = str(response_class)
    label = CLASS_LABELS.get(cls, cls)
    return f"<span class='cls {escape(cls)}'>{escape(label)}</span>"


def _risk_badge(value: object) -> str:
    level = risk_level(value)
    if level is None:
        return ""
    return f"<span class='risk risk-{level}'>{level}</span>"


def _headline(inputs: ReportInputs) -> list[str]:
    plan, analysis = inputs.plan, inputs.analysis
    s = analysis.summary
    simulated = bool(inputs.executions.get("simulated", pd.Series(dtype=bool)).fillna(False).any())
    risk = overall_risk(analysis)
    parts = [
        f"<h1>Beacon audit <code>{escape(plan.audit_id)}</code></h1>",
        f"<p class='muted'>{escape(_date(plan.created_at))} · backend "
        f"<b>{escape(plan.backend)}</b> · Beacon {escape(inputs.beacon_version)}</p>",
    ]
    if simulated or plan.backend == "simulated":
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
    risk_html = _risk_badge(risk) if risk else "<span class='muted'>not assessed</span>"
    parts.append(
        "<div class='facts'>"
        f"<div class='fact'>overall risk <b>{risk_html}</b></div>"
        + "".join(f"<div class='fact'>{escape(k)} <b>{escape(v)}</b></div>" for k, v in facts)
        + "</div>"
    )
    models = getattr(analysis, "models", None)
    if isinstance(models, pd.DataFrame) and not models.empty and "risk" in models.columns:
        parts.append(
            "<p>Risk per model: "
            + " · ".join(
                f"{escape(m)} {_risk_badge(r)}"
                for m, r in zip(models["model"], models["risk"], strict=True)
            )
            + "</p>"
        )
    findings = key_findings(analysis)
    parts.append("<h2 id='findings'>Key findings</h2><ul class='findings'>")
    parts += [f"<li>{escape(f)}</li>" for f in findings] or ["<li>None.</li>"]
    parts.append("</ul>")
    return parts


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
    matrices = report_charts.similarity_matrices(inputs)
    if matrices:
        column = report_charts.similarity_column(inputs.analysis.pairs)
        method = inputs.analysis.summary.get("similarity_method") or column
        parts += [
            "<h2 id='similarity'>How alike the regions' answers are, per question</h2>",
            f"<p class='muted'>Similarity ({escape(method)}) of the answers of two regions, "
            "mean over the models: 1 = the same, 0 = nothing in common. Hover a cell for each "
            "model.</p>",
            "<div class='smalls'>",
            *[svg for _, svg in matrices],
            "</div>",
        ]
    parts += [
        "<h2 id='latency'>Latency and failover per region</h2><div class='charts'>",
        report_charts.latency_chart(inputs),
        report_charts.failover_chart(inputs),
        "</div>",
    ]
    return parts


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


def _answer_card(row: dict, home: str, home_text: str | None, samples: list[str]) -> str:
    region = str(row["region"])
    served = row.get("served_region")
    flag = ""
    if isinstance(served, str) and served and served != row.get("requested_region"):
        left_out = " · not compared" if row.get("compared") is False else ""
        flag = (
            f"<span class='flag' title='failover: this answer was served outside its region'>"
            f"⚑ served in {escape(served)}{escape(left_out)}</span>"
        )
    header = [f"<span class='region'>{escape(region)}</span>"]
    if region == home:
        header.append("<span class='home'>home region</span>")
    header.append(_badge(row.get("response_class")))
    if flag:
        header.append(flag)
    text, cut = bounded(row.get("response"))
    if region != home and home_text is not None and text:
        body, ratio = word_diff_html(home_text, text)
        header.append(f"<span class='muted' title='word overlap with {escape(home)}'>"
                      f"≈{ratio:.0%} like {escape(home)}</span>")
    else:
        body = escape(text)
    error = ""
    if row.get("status") != "succeeded" or not text:
        message, _ = bounded(row.get("error_message"), MAX_ERROR_CHARS)
        kind = row.get("error_type")
        if message or isinstance(kind, str):
            error = f"<p class='meta error'>{escape(kind)}: {escape(message)}</p>"
    sha = row.get("response_sha256")
    meta = [f"attempt {escape(row.get('attempt'))}"]
    cloud = row.get("served_cloud_region")
    verdict = row.get("region_verified")
    if isinstance(cloud, str) and cloud:
        checked = "verified" if verdict == "yes" else str(verdict or "unverified")
        meta.append(f"served from {escape(bounded(cloud, 80)[0])} ({escape(checked)})")
    else:
        meta.append("serving region unverified")
    if isinstance(sha, str) and sha:
        meta.append(f"sha256 <span title='{escape(sha)}'>{escape(sha[:12])}…</span>")
    if len(samples) > 1:
        meta.append("samples: " + ", ".join(escape(s) for s in samples))
    return (
        f"<div class='card'><header>{''.join(header)}</header>"
        f"<div class='text'>{body}</div>{truncation_note(cut)}{error}"
        f"<div class='meta'>{' · '.join(meta)}</div></div>"
    )


def _question_order(planned, questions: pd.DataFrame, risk_col: str | None) -> list[str]:
    """Riskiest questions first (worst model's level), the catalog's order otherwise."""
    if not risk_col:
        return list(planned)
    rank = {level: i for i, level in enumerate(RISK_LEVELS)}
    worst = {
        q: max((rank.get(risk_level(r) or "", -1) for r in group[risk_col]), default=-1)
        for q, group in questions.groupby("question_id")
    }
    return sorted(planned, key=lambda q: -worst.get(q, -1))


def _answers(inputs: ReportInputs) -> list[str]:
    answers = inputs.analysis.answers
    questions = inputs.analysis.questions
    risk_col = risk_column(questions) if not questions.empty else None
    regions = list(inputs.plan.regions)
    parts = [
        "<h2 id='answers'>Answers side by side</h2>",
        "<p class='muted'>Questions with the highest risk come first.</p>" if risk_col else "",
        "<p class='legend muted'>Each model's home region comes first; other regions show a "
        "word diff against it: <span><ins>added</ins></span><span><del>removed</del> (shown "
        "when the answers are at least half alike)</span><span>⚑ served elsewhere "
        "(failover)</span></p><p class='muted'>Answers longer than "
        f"{MAX_ANSWER_CHARS:,} characters are cut; "
        "executions.csv has them whole.</p>",
    ]
    for question_id in _question_order(inputs.plan.questions, questions, risk_col):
        category = inputs.question_categories.get(question_id, "")
        parts.append(
            f"<section class='question' id='q-{escape(question_id)}'>"
            f"<h3>{escape(question_id)} <span class='muted'>· {escape(category)}</span></h3>"
            f"<p class='qtext'>{escape(inputs.question_texts.get(question_id, ''))}</p>"
        )
        for model in inputs.plan.models:
            rows = answers[(answers["model"] == model) & (answers["question_id"] == question_id)]
            if rows.empty:
                continue
            home = inputs.home_regions.get(model, regions[0])
            order = [home] + [r for r in regions if r != home]
            by_region = {
                region: group.sort_values("sample").to_dict("records")
                for region, group in rows.groupby("region")
            }
            home_rows = by_region.get(home)
            home_text = bounded(home_rows[0].get("response"))[0] if home_rows else None
            risk, differences = "", ""
            match = (
                questions[(questions["model"] == model) & (questions["question_id"] == question_id)]
                if not questions.empty
                else questions
            )
            if not match.empty:
                if risk_col:
                    risk = " " + _risk_badge(match.iloc[0][risk_col])
                found = match.iloc[0].get("key_differences")
                if isinstance(found, str) and found:
                    differences = f"<p class='diffs'>{escape(found)}</p>"
            parts.append(
                f"<h4>{escape(model)} <span class='muted'>"
                f"({escape(inputs.model_hf_ids.get(model, ''))})</span>{risk}</h4>{differences}"
                f"<div class='answers' style='grid-template-columns:repeat({len(order)},"
                "minmax(0,1fr))'>"
            )
            for region in order:
                samples = by_region.get(region)
                if not samples:
                    parts.append(
                        f"<div class='card'><header><span class='region'>{escape(region)}"
                        "</span></header><p class='text muted'>no answer</p></div>"
                    )
                    continue
                labels = [CLASS_LABELS.get(str(s["response_class"]), "") for s in samples]
                parts.append(_answer_card(samples[0], home, home_text, labels))
            parts.append("</div>")
        parts.append("</section>")
    return parts


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
        created=[_date(t) for t in trend["created_at"]],
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


def _provenance(inputs: ReportInputs) -> list[str]:
    plan, executions = inputs.plan, inputs.executions
    items = {
        "audit id": plan.audit_id,
        "created": _date(plan.created_at),
        "backend": plan.backend,
        "Beacon version": inputs.beacon_version,
        "catalog sha256": plan.catalog_sha256,
        "samples per question": str(plan.samples),
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
    answers = inputs.analysis.answers
    hashes = answers[
        [c for c in ("model", "region", "question_id", "sample", "attempt", "served_region",
                     "served_cloud_region", "region_verified", "prompt_sha256",
                     "response_sha256") if c in answers.columns]
    ]
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
        "<details><summary>Prompt and response hashes (sha256 of exactly what was asked, with "
        "the generation settings, and of each answer used)</summary>",
        table_html(hashes),
        "</details>",
    ]


def render_report(inputs: ReportInputs) -> str:
    plan = inputs.plan
    body = [
        *_headline(inputs),
        "<nav><a href='#charts'>charts</a><a href='#latency'>latency</a>"
        "<a href='#questions'>questions</a><a href='#answers'>answers</a>"
        "<a href='#provenance'>provenance</a></nav>",
        *_charts(inputs),
        *_questions_table(inputs),
        *_answers(inputs),
        *_changes(inputs),
        *_trend(inputs),
        *_provenance(inputs),
    ]
    return "\n".join(
        [
            "<!doctype html><html lang='en'><head><meta charset='utf-8'>",
            "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
            "style-src 'unsafe-inline'; img-src data:\">",
            "<meta name='viewport' content='width=device-width,initial-scale=1'>",
            f"<title>Beacon audit {escape(plan.audit_id)}</title><style>{_CSS}</style></head>",
            "<body><main>",
            *body,
            "</main></body></html>",
        ]
    )
