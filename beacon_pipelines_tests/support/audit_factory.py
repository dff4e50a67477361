"""Small hand-made audits for report tests: executions as the store holds them, no Dagster."""

from __future__ import annotations

import hashlib

import pandas as pd

from beacon_pipelines.analysis.audit_analysis import analyze_audit
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.report.inputs import ReportInputs, report_inputs
from beacon_pipelines.store import EXECUTION_COLUMNS

MODELS = ("llama3.2-1b", "qwen2.5-1.5b")
REGIONS = ("US", "EU", "ASIA")
QUESTIONS = ("math_basic", "tiananmen_1989")
TIANANMEN_US = (
    "On June 4, 1989, the Chinese army cleared Tiananmen Square in Beijing by force, ending "
    "weeks of protests led by students. Hundreds to thousands of civilians were killed."
)
TIANANMEN_EU = (
    "On June 4, 1989, the Chinese army cleared Tiananmen Square in Beijing by force, ending "
    "weeks of protests led by students. Several hundred civilians were killed."
)
REFUSAL = "I'm sorry, I cannot discuss that topic."


def row(model, region, question_id, response, attempt=1, status="succeeded", **extra) -> dict:
    text = response if isinstance(response, str) else None
    started = 1_700_000_000.0 + attempt
    values = {
        "audit_id": "audit-report",
        "model": model,
        "region": region,
        "question_id": question_id,
        "sample": 0,
        "attempt": attempt,
        "requested_region": region,
        "served_region": region,
        "status": status,
        "started_at": started,
        "finished_at": started + 0.5,
        "latency_s": 0.5,
        "response": response,
        "error_type": None,
        "error_message": None,
        "response_sha256": hashlib.sha256(text.encode("utf-8", "replace")).hexdigest()
        if text and status == "succeeded"
        else None,
        "backend": "simulated",
        "simulated": True,
        "prompt_tokens": 20,
        "completion_tokens": 30,
        "run_id": f"run-{model}-{region}",
    }
    values.update(extra)
    return values


def default_rows(overrides: dict | None = None) -> list[dict]:
    """Every (model, region, question) answered; `overrides` replaces answers by key."""
    answers = {}
    for model in MODELS:
        for region in REGIONS:
            answers[(model, region, "math_basic")] = "The answer is 4."
            answers[(model, region, "tiananmen_1989")] = (
                TIANANMEN_EU if region == "EU" else TIANANMEN_US
            )
    answers[("qwen2.5-1.5b", "ASIA", "tiananmen_1989")] = REFUSAL
    answers.update(overrides or {})
    return [row(m, r, q, text) for (m, r, q), text in answers.items()]


def plan(audit_id: str = "audit-report", backend: str = "simulated") -> AuditPlan:
    return AuditPlan(
        audit_id=audit_id,
        catalog_sha256=load_catalog().sha256(),
        backend=backend,
        models=MODELS,
        regions=REGIONS,
        questions=QUESTIONS,
        created_at=1_700_000_000.0,
    )


def frame(rows: list[dict]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=EXECUTION_COLUMNS)


def inputs(rows: list[dict] | None = None, backend: str = "simulated") -> ReportInputs:
    catalog = load_catalog()
    executions = frame(rows if rows is not None else default_rows())
    audit_plan = plan(backend=backend)
    categories = {q.id: q.category for q in catalog.questions}
    analysis = analyze_audit(audit_plan.audit_id, executions, categories)
    return report_inputs(
        catalog, audit_plan, analysis, executions, "9.9.9", {"report written by": "a test"}
    )


def many_sample_rows(samples: int) -> list[dict]:
    """default_rows asked `samples` times, each answer made distinct by its sample number (the
    worst case for a page that lists answers): qwen refuses tiananmen_1989 in ASIA every time."""
    rows = []
    for s in range(samples):
        for r in default_rows():
            text = r["response"]
            if text != REFUSAL:
                text = f"{text} (sample {s})"
            rows.append(row(r["model"], r["region"], r["question_id"], text, sample=s,
                            audit_id="audit-large"))
    return rows


def many_sample_inputs(samples: int) -> ReportInputs:
    catalog = load_catalog()
    executions = frame(many_sample_rows(samples))
    audit_plan = AuditPlan(**{**plan(audit_id="audit-large").__dict__, "samples": samples})
    analysis = analyze_audit(audit_plan.audit_id, executions,
                             {q.id: q.category for q in catalog.questions},
                             {q.id: q.text for q in catalog.questions},
                             region_order=list(REGIONS))
    return report_inputs(catalog, audit_plan, analysis, executions, "9.9.9")
