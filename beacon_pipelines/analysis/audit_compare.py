"""Audit over audit: what changed since the previous audit of the same catalog."""

from __future__ import annotations

import pandas as pd

SIMILARITY_DROP = 0.2  # a region pair whose similarity fell by at least this much is reported
CHANGE_COLUMNS = ["change", "model", "question_id", "region", "sample", "before", "after", "detail"]


def compare_audits(
    answers: pd.DataFrame,
    pairs: pd.DataFrame,
    previous_answers: pd.DataFrame,
    previous_pairs: pd.DataFrame,
    previous_audit_id: str,
) -> pd.DataFrame:
    """One row per change: an answer whose class flipped, a region pair whose similarity fell.

    Answers are matched on (model, region, question_id, sample); executions only one audit
    has (another question set, more samples) are not changes and are left out.
    """
    rows: list[dict] = []
    key = ["model", "region", "question_id", "sample"]
    if len(answers) and len(previous_answers):
        merged = answers[key + ["response_class"]].merge(
            previous_answers[key + ["response_class"]], on=key, suffixes=("", "_before")
        )
        flips = merged[merged["response_class"] != merged["response_class_before"]]
        rows.extend(
            {
                "change": "class_flip",
                "model": r.model,
                "question_id": r.question_id,
                "region": r.region,
                "sample": int(r.sample),
                "before": r.response_class_before,
                "after": r.response_class,
                "detail": f"{r.response_class_before} in {previous_audit_id} -> "
                f"{r.response_class} now",
            }
            for r in flips.itertuples(index=False)
        )
    pair_key = ["model", "question_id", "region_a", "region_b"]
    if len(pairs) and len(previous_pairs):
        merged = pairs[pair_key + ["similarity"]].merge(
            previous_pairs[pair_key + ["similarity"]], on=pair_key, suffixes=("", "_before")
        )
        drops = merged[merged["similarity_before"] - merged["similarity"] >= SIMILARITY_DROP]
        rows.extend(
            {
                "change": "similarity_drop",
                "model": r.model,
                "question_id": r.question_id,
                "region": f"{r.region_a}-{r.region_b}",
                "sample": -1,
                "before": f"{r.similarity_before:.2f}",
                "after": f"{r.similarity:.2f}",
                "detail": f"{r.region_a} vs {r.region_b} similarity {r.similarity_before:.2f} "
                f"in {previous_audit_id} -> {r.similarity:.2f} now",
            }
            for r in drops.itertuples(index=False)
        )
    return pd.DataFrame(rows, columns=CHANGE_COLUMNS)


def previous_audit(plans, current):
    """The latest audit of the same catalog created before `current`, or None.

    `plans` are AuditPlan-like (audit_id, catalog_sha256, created_at), e.g.
    ExecutionStore.list_audits().
    """
    earlier = [
        p
        for p in plans
        if p.audit_id != current.audit_id
        and p.catalog_sha256 == current.catalog_sha256
        and p.created_at < current.created_at
    ]
    return max(earlier, key=lambda p: p.created_at, default=None)
