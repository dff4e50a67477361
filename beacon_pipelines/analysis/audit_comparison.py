"""Two audits side by side: per model x region x question, did the class, the similarity to the
other regions and the censorship rate change, and is the change more than chance?

Audits of different catalogs are compared on what they share: the models and regions both
audited, and the questions both asked with the same id and, where both audits recorded it, the
same text (a reworded question is another question). What only one audit has is listed, never
compared. Pure pandas on two analyses (`analyze_audit`'s answers and pairs).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from beacon_pipelines.analysis.intervals import wilson_interval

ROW_KEY = ["model", "region", "question_id"]
# A class's weight when samples tie: the more telling class wins.
_CLASS_ORDER = ["refusal", "partial_refusal", "technical_failure", "substantive"]
ROW_COLUMNS = [
    "model", "region", "question_id", "class_a", "class_b", "class_changed",
    "n_a", "n_b", "censorship_rate_a", "censorship_low_a", "censorship_high_a",
    "censorship_rate_b", "censorship_low_b", "censorship_high_b", "censorship_change",
    "significant", "similarity_a", "similarity_b", "similarity_change",
]


@dataclass(frozen=True)
class ComparedAudit:
    """What the comparison needs of one audit."""

    audit_id: str
    models: tuple[str, ...]
    regions: tuple[str, ...]
    questions: tuple[str, ...]
    question_hashes: dict[str, str]  # {} when the audit did not record its texts
    answers: pd.DataFrame  # analyze_audit's answers: one row per execution, with its class
    pairs: pd.DataFrame  # analyze_audit's region pairs


@dataclass
class AuditComparison:
    audit_a: str
    audit_b: str
    rows: pd.DataFrame  # ROW_COLUMNS, one per shared (model, region, question)
    shared: dict[str, list[str]]  # "models", "regions", "questions"
    only_in_a: dict[str, list[str]]
    only_in_b: dict[str, list[str]]
    # Same id, other text: asked differently, so not compared.
    reworded: list[str] = field(default_factory=list)
    # Questions matched by id alone, because an audit did not record its texts.
    matched_by_id_only: list[str] = field(default_factory=list)

    @property
    def significant(self) -> pd.DataFrame:
        return self.rows[self.rows["significant"]]


def _modal_class(classes: pd.Series) -> str:
    counts = classes.value_counts()
    top = counts[counts == counts.max()].index
    return min(top, key=lambda c: _CLASS_ORDER.index(c) if c in _CLASS_ORDER else 99)


def _per_row(answers: pd.DataFrame) -> pd.DataFrame:
    if answers.empty:
        return pd.DataFrame(columns=[*ROW_KEY, "cls", "n", "withheld"])
    grouped = answers.groupby(ROW_KEY, sort=True)
    frame = grouped.agg(n=("response_class", "size"), withheld=("withheld", "sum")).reset_index()
    frame["cls"] = grouped["response_class"].agg(_modal_class).to_numpy()
    return frame


def _region_similarity(pairs: pd.DataFrame) -> pd.DataFrame:
    """Per (model, region, question): mean similarity of its answers to the other regions'."""
    if pairs.empty or "similarity" not in pairs.columns:
        return pd.DataFrame(columns=[*ROW_KEY, "similarity"])
    both = pd.concat([
        pairs.rename(columns={"region_a": "region"})[["model", "region", "question_id",
                                                      "similarity"]],
        pairs.rename(columns={"region_b": "region"})[["model", "region", "question_id",
                                                      "similarity"]],
    ])
    return both.groupby(ROW_KEY, sort=True)["similarity"].mean().reset_index()


def _split(a, b) -> tuple[list[str], list[str], list[str]]:
    shared = [x for x in a if x in set(b)]
    return shared, [x for x in a if x not in set(b)], [x for x in b if x not in set(a)]


def compare_two_audits(a: ComparedAudit, b: ComparedAudit) -> AuditComparison:
    models, models_a, models_b = _split(a.models, b.models)
    regions, regions_a, regions_b = _split(a.regions, b.regions)
    same_id, questions_a, questions_b = _split(a.questions, b.questions)
    reworded, by_id_only, questions = [], [], []
    for q in same_id:
        ha, hb = a.question_hashes.get(q), b.question_hashes.get(q)
        if ha and hb and ha != hb:
            reworded.append(q)
            continue
        if not (ha and hb):
            by_id_only.append(q)
        questions.append(q)

    def side(audit: ComparedAudit, suffix: str) -> pd.DataFrame:
        answers = audit.answers
        if "compared" in answers.columns:  # failed-over answers say nothing of their region
            answers = answers[answers["compared"]]
        if not answers.empty:
            answers = answers[
                answers["model"].isin(models) & answers["region"].isin(regions)
                & answers["question_id"].isin(questions)
            ]
        rows = _per_row(answers).merge(_region_similarity(audit.pairs), on=ROW_KEY, how="left")
        low, high = wilson_interval(rows["withheld"], rows["n"])
        rows["rate"] = rows["withheld"] / rows["n"].where(rows["n"] > 0)
        rows["low"], rows["high"] = low, high
        rows = rows.rename(columns={"cls": "class", "n": "n", "rate": "censorship_rate",
                                    "low": "censorship_low", "high": "censorship_high"})
        keep = ["class", "n", "censorship_rate", "censorship_low", "censorship_high",
                "similarity"]
        return rows[ROW_KEY + keep].rename(columns={c: f"{c}_{suffix}" for c in keep})

    rows = side(a, "a").merge(side(b, "b"), on=ROW_KEY, how="inner")
    rows["class_changed"] = rows["class_a"] != rows["class_b"]
    rows["censorship_change"] = rows["censorship_rate_b"] - rows["censorship_rate_a"]
    # Significant: the two 95 % Wilson intervals do not overlap (the rule a censorship split
    # uses within one audit); conservative, so a "yes" is worth reading.
    rows["significant"] = (rows["censorship_low_b"] > rows["censorship_high_a"]) | (
        rows["censorship_high_b"] < rows["censorship_low_a"]
    )
    rows["similarity_change"] = rows["similarity_b"] - rows["similarity_a"]
    rows = rows[ROW_COLUMNS].sort_values(ROW_KEY).reset_index(drop=True)
    return AuditComparison(
        audit_a=a.audit_id,
        audit_b=b.audit_id,
        rows=rows,
        shared={"models": models, "regions": regions, "questions": questions},
        only_in_a={"models": models_a, "regions": regions_a, "questions": questions_a},
        only_in_b={"models": models_b, "regions": regions_b, "questions": questions_b},
        reworded=reworded,
        matched_by_id_only=by_id_only,
    )
