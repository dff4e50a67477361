"""The analysis of one complete audit: classes per answer, rates per model x region, and how
much each question's answers differ between regions."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from beacon_pipelines.analysis.classify import ResponseClass, classify_response
from beacon_pipelines.analysis.similarity import pairwise_jaccard

KEY = ["model", "region", "question_id", "sample"]
REFUSING = (ResponseClass.REFUSAL.value, ResponseClass.PARTIAL_REFUSAL.value)


@dataclass
class AuditAnalysis:
    audit_id: str
    answers: pd.DataFrame  # one row per execution (its final attempt) with its class
    rates: pd.DataFrame  # one row per (model, region)
    questions: pd.DataFrame  # one row per (model, question): classes and similarity by region
    summary: dict
    # One row per (model, question_id, region_a, region_b): how alike two regions' answers are.
    pairs: pd.DataFrame = field(default_factory=pd.DataFrame)
    # Plain-language key findings, most important first.
    findings: list[str] = field(default_factory=list)
    # What changed since the previous audit of the same catalog (empty when there is none).
    changes: pd.DataFrame = field(default_factory=pd.DataFrame)


def final_attempts(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per execution: its succeeded attempt, or its last attempt when none succeeded."""
    if executions.empty:
        return executions.copy()
    ordered = executions.assign(_ok=executions["status"].eq("succeeded")).sort_values(
        ["_ok", "attempt"]
    )
    return ordered.groupby(KEY, sort=False).tail(1).drop(columns="_ok").sort_values(KEY)


def classify_answers(executions: pd.DataFrame) -> pd.DataFrame:
    answers = final_attempts(executions).reset_index(drop=True)
    answers["response_class"] = [
        classify_response(text, failed=status != "succeeded").value
        for text, status in zip(answers["response"], answers["status"], strict=True)
    ]
    answers["failed_over"] = answers["served_region"].notna() & (
        answers["served_region"] != answers["requested_region"]
    )
    return answers


def rates_by_model_region(answers: pd.DataFrame) -> pd.DataFrame:
    grouped = answers.groupby(["model", "region"], sort=True)["response_class"]
    rates = grouped.agg(
        n="size",
        refusals=lambda c: int((c == ResponseClass.REFUSAL.value).sum()),
        partial_refusals=lambda c: int((c == ResponseClass.PARTIAL_REFUSAL.value).sum()),
        technical_failures=lambda c: int((c == ResponseClass.TECHNICAL_FAILURE.value).sum()),
    ).reset_index()
    rates["refusal_rate"] = rates["refusals"] / rates["n"]
    # Censorship counts evasions too: an answer withheld is withheld however politely.
    rates["censorship_rate"] = (rates["refusals"] + rates["partial_refusals"]) / rates["n"]
    return rates


def question_divergence(
    answers: pd.DataFrame, categories: dict[str, str]
) -> tuple[pd.DataFrame, pd.DataFrame]:
    rows, pair_rows = [], []
    for (model, question_id), group in answers.groupby(["model", "question_id"], sort=True):
        # With several samples, compare the first sample of each region: like with like.
        first = group.sort_values("sample").groupby("region", sort=False).head(1)
        texts = dict(zip(first["region"], first["response"], strict=True))
        classes = dict(zip(first["region"], first["response_class"], strict=True))
        pairs = pairwise_jaccard(texts)
        min_pair = min(pairs, key=pairs.get) if pairs else None
        pair_rows.extend(
            {
                "model": model,
                "question_id": question_id,
                "region_a": a,
                "region_b": b,
                "jaccard": value,
            }
            for (a, b), value in pairs.items()
        )
        rows.append(
            {
                "model": model,
                "question_id": question_id,
                "category": categories.get(question_id, ""),
                "classes": ";".join(f"{r}={c}" for r, c in sorted(classes.items())),
                "refusing_regions": ",".join(
                    sorted(r for r, c in classes.items() if c in REFUSING)
                ),
                "censorship_split": len(set(classes.values())) > 1,
                "mean_jaccard": sum(pairs.values()) / len(pairs) if pairs else 1.0,
                "min_jaccard": pairs[min_pair] if min_pair else 1.0,
                "least_similar_pair": "-".join(min_pair) if min_pair else "",
            }
        )
    pair_columns = ["model", "question_id", "region_a", "region_b", "jaccard"]
    return pd.DataFrame(rows), pd.DataFrame(pair_rows, columns=pair_columns)


def analyze_audit(
    audit_id: str, executions: pd.DataFrame, categories: dict[str, str]
) -> AuditAnalysis:
    answers = classify_answers(executions)
    rates = rates_by_model_region(answers)
    questions, pairs = question_divergence(answers, categories)
    class_counts = answers["response_class"].value_counts().to_dict()
    summary = {
        "executions": int(len(answers)),
        "attempts": int(len(executions)),
        "substantive": int(class_counts.get(ResponseClass.SUBSTANTIVE.value, 0)),
        "refusals": int(class_counts.get(ResponseClass.REFUSAL.value, 0)),
        "partial_refusals": int(class_counts.get(ResponseClass.PARTIAL_REFUSAL.value, 0)),
        "technical_failures": int(class_counts.get(ResponseClass.TECHNICAL_FAILURE.value, 0)),
        "censorship_splits": int(questions["censorship_split"].sum()) if len(questions) else 0,
        "mean_cross_region_jaccard": float(questions["mean_jaccard"].mean())
        if len(questions)
        else 1.0,
        "failed_over": int(answers["failed_over"].sum()),
    }
    return AuditAnalysis(
        audit_id=audit_id,
        answers=answers,
        rates=rates,
        questions=questions,
        summary=summary,
        pairs=pairs,
    )
