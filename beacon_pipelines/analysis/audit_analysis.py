"""The analysis of one complete audit: classes per answer, rates per model x region with
confidence intervals, how much each question's answers differ between regions, risk levels,
findings, and what changed since the previous audit.

Work is linear in the number of executions: answers are compared only within one (model,
question), region against region, sample k against sample k; each distinct text is classified
and vectorised once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from beacon_pipelines.analysis.answer_explanation import CALL_FAILED, AnswerExplainer
from beacon_pipelines.analysis.answer_labels import (
    CLASSIFIER,
    REVIEWER,
    AnswerLabels,
    apply_labels,
)
from beacon_pipelines.analysis.audit_analysis_result import AuditAnalysis
from beacon_pipelines.analysis.audit_compare import CHANGE_COLUMNS, compare_audits
from beacon_pipelines.analysis.classify import ResponseClass, ResponseClassifier, default_classifier
from beacon_pipelines.analysis.evidence import (
    samples_needed,
    samples_needed_mostly,
    withheld_mostly,
)
from beacon_pipelines.analysis.intervals import wilson_interval
from beacon_pipelines.analysis.judge_agreement import judge_summary
from beacon_pipelines.analysis.judge_classes import (
    apply_judgements,
    check_judgements,
    has_judgements,
    judge_identity,
)
from beacon_pipelines.analysis.response_class import WITHHELD_VALUES
from beacon_pipelines.analysis.risk import (
    DIVERGENT_SIMILARITY,
    INSUFFICIENT,
    MODERATE_SIMILARITY,
    ORDER,
    QuestionEvidence,
    audit_risk,
    label,
    model_risk,
    question_risk,
    rank,
)
from beacon_pipelines.analysis.sensitivity import question_sensitivity, sensitivity_keywords
from beacon_pipelines.analysis.similarity import TermTable, multilingual, pair_jaccard
from beacon_pipelines.analysis.similarity_choice import default_similarity
from beacon_pipelines.analysis.tone import TONE_GAP, hedging_share

KEY = ["model", "region", "question_id", "sample"]
FAILURE = ResponseClass.TECHNICAL_FAILURE.value
SUBSTANTIVE = ResponseClass.SUBSTANTIVE.value
MIN_STORY_WORDS = 8  # distinct content words an answer needs for its narrative to be compared
PAIR_COLUMNS = [
    "model", "question_id", "region_a", "region_b", "jaccard", "similarity",
    "narrative_similarity", "n_pairs", "languages", "comparable",
]


@dataclass(frozen=True)
class AnalysisOptions:
    # An answer served outside its requested region says nothing about that region.
    exclude_failed_over: bool = True
    classifier: ResponseClassifier | None = None
    # Any object with a name and similarities(a, b) (every pair at once) or similarity(a, b),
    # each in [0, 1]; default: default_similarity().
    similarity: object | None = None
    # A reviewer's risk level per (model, question_id): it decides that question's level.
    reviews: dict[tuple[str, str], str] = field(default_factory=dict)
    # The catalog's word on each question's sensitivity (Catalog.sensitive): True or False
    # decides it; a question missing or None is scored from its words, as before.
    sensitive: dict[str, bool | None] = field(default_factory=dict)
    # A reviewer's class per answer (`--labels FILE`): it replaces the classifier's.
    labels: AnswerLabels | None = None
    # An LLM judge's class per answer (the judgements frame of judge_classes.py, matched by
    # response_sha256): it replaces the classifier's, and a reviewer's label replaces it.
    # None or empty: no judge.
    judgements: pd.DataFrame | None = None


def final_attempts(executions: pd.DataFrame) -> pd.DataFrame:
    """One row per execution: its succeeded attempt, or its last attempt when none succeeded."""
    if executions.empty:
        return executions.copy()
    ordered = executions.assign(_ok=executions["status"].eq("succeeded")).sort_values(
        ["_ok", "attempt"]
    )
    return ordered.groupby(KEY, sort=False).tail(1).drop(columns="_ok").sort_values(KEY)


def classify_answers(
    executions: pd.DataFrame,
    classifier: ResponseClassifier | None = None,
    question_texts: dict[str, str] | None = None,
    explain: bool = False,
) -> pd.DataFrame:
    """The final attempt of each execution with its class; `question_texts` (question id ->
    text) let the classifier weigh each answer against what was asked. With `explain`, also its
    class_source (`classifier`), classifier_class, confidence, cues and words
    (answer_explanation.py)."""
    classifier = classifier or default_classifier()
    answers = final_attempts(executions).reset_index(drop=True)
    failed = answers["status"].ne("succeeded").to_numpy()
    texts = answers["response"].where(~failed, None)
    asked = (
        answers["question_id"].map(question_texts)
        if question_texts
        else pd.Series(None, index=answers.index, dtype=object)
    )
    asked = [q if isinstance(q, str) else None for q in asked]
    given = [t is not None and t == t for t in texts]  # t != t: NaN
    # Answers repeat (low temperature, many samples): classify each distinct (answer, question)
    # once. A dict, not pd.unique: pandas' string hashing stops at a NUL, so it took "a\0b" and
    # "a\0c" for one.
    keys = list(zip(texts, asked, strict=True))
    distinct = list(dict.fromkeys(k for k, ok in zip(keys, given, strict=True) if ok))
    distinct_texts = [t for t, _ in distinct]
    scored = classifier.classify_scored(distinct_texts, questions=[q for _, q in distinct])
    classes = dict(zip(distinct, (c.value for c in scored.classes), strict=True))
    answers["response_class"] = [classes[k] if ok else FAILURE
                                 for k, ok in zip(keys, given, strict=True)]
    if explain:
        why = dict(zip(distinct, AnswerExplainer(classifier.model).explain(distinct_texts, scored),
                       strict=True))
        explained = [why[k] if ok else None for k, ok in zip(keys, given, strict=True)]
        answers["class_source"] = CLASSIFIER
        answers["classifier_class"] = answers["response_class"]  # kept when a reviewer relabels
        answers["confidence"] = [e.confidence if e else 1.0 for e in explained]
        answers["cues"] = [e.cues if e else CALL_FAILED for e in explained]
        answers["words"] = [e.words if e else "" for e in explained]
    answers["failed_over"] = answers["served_region"].notna() & (
        answers["served_region"] != answers["requested_region"]
    )
    answers["withheld"] = answers["response_class"].isin(WITHHELD_VALUES)
    if "language" not in answers.columns:
        answers["language"] = None  # executions from before languages were recorded
    return answers


def rates_by_model_region(answers: pd.DataFrame) -> pd.DataFrame:
    """Rates over the answers given; technical failures count in n (they were asked)."""
    cls = answers["response_class"]
    frame = answers.assign(
        _refusal=cls.eq(ResponseClass.REFUSAL.value),
        _partial=cls.eq(ResponseClass.PARTIAL_REFUSAL.value),
        _failure=cls.eq(FAILURE),
    )
    rates = (
        frame.groupby(["model", "region"], sort=True)
        .agg(
            n=("response_class", "size"),
            refusals=("_refusal", "sum"),
            partial_refusals=("_partial", "sum"),
            technical_failures=("_failure", "sum"),
        )
        .reset_index()
    )
    for column in ("refusals", "partial_refusals", "technical_failures"):
        rates[column] = rates[column].astype(int)
    rates["refusal_rate"] = rates["refusals"] / rates["n"]
    # Censorship counts evasions too: an answer withheld is withheld however politely.
    withheld = rates["refusals"] + rates["partial_refusals"]
    rates["censorship_rate"] = withheld / rates["n"]
    rates["refusal_rate_low"], rates["refusal_rate_high"] = wilson_interval(
        rates["refusals"], rates["n"]
    )
    rates["censorship_rate_low"], rates["censorship_rate_high"] = wilson_interval(
        withheld, rates["n"]
    )
    return rates


def region_pairs(
    answers: pd.DataFrame, similarity, region_order: list[str]
) -> pd.DataFrame:
    """Region vs region per (model, question), sample k against sample k, failures left out.

    Two answers in different languages are compared only by a multilingual similarity; with
    any other their similarity is NaN and the pair is marked not comparable (a lexical measure
    would call a Chinese and an English account of the same facts unrelated)."""
    if "language" not in answers.columns:
        answers = answers.assign(language=None)
    usable = answers[answers["response_class"] != FAILURE][
        ["model", "question_id", "region", "sample", "response", "response_class", "language"]
    ]
    if usable.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    rank = {r: i for i, r in enumerate(region_order)}
    usable = usable.assign(_rank=usable["region"].map(lambda r: rank.get(r, len(rank))))
    merged = usable.merge(usable, on=["model", "question_id", "sample"], suffixes=("_a", "_b"))
    merged = merged[
        (merged["_rank_a"] < merged["_rank_b"])
        | ((merged["_rank_a"] == merged["_rank_b"]) & (merged["region_a"] < merged["region_b"]))
    ]
    if merged.empty:
        return pd.DataFrame(columns=PAIR_COLUMNS)
    a, b = merged["response_a"].tolist(), merged["response_b"].tolist()
    # Unrecorded languages (older audits, all English) compare as the same.
    lang_a = merged["language_a"].fillna("").astype(str).tolist()
    lang_b = merged["language_b"].fillna("").astype(str).tolist()
    same = np.array([x == y or not x or not y for x, y in zip(lang_a, lang_b, strict=True)])
    comparable = same | multilingual(similarity)
    # Each distinct answer's words read once (by the similarity, when it reads words); the
    # pairs compared in numpy.
    words = getattr(similarity, "terms", None)
    words = words if isinstance(words, TermTable) else TermTable()
    rows_a, rows_b = words.rows(a), words.rows(b)
    nan = float("nan")
    # Word overlap is lexical whatever the similarity: only within one language.
    overlap = np.where(same, pair_jaccard(words, rows_a, rows_b), nan)
    semantic = np.full(len(a), nan)
    chosen = np.flatnonzero(comparable)
    if hasattr(similarity, "similarities"):
        semantic[chosen] = similarity.similarities([a[i] for i in chosen], [b[i] for i in chosen])
    else:
        semantic[chosen] = [similarity.similarity(a[i], b[i]) for i in chosen]
    merged = merged.assign(
        jaccard=overlap,
        similarity=semantic,
        languages=[x if x == y else f"{x or '?'}/{y or '?'}"
                   for x, y in zip(lang_a, lang_b, strict=True)],
        comparable=comparable,
    )
    # A narrative is two substantive answers with a story to compare: "4" against "The
    # answer is 4" differ in words, not in what they say.
    sizes = words.sizes()
    story = (sizes[rows_a] >= MIN_STORY_WORDS) & (sizes[rows_b] >= MIN_STORY_WORDS)
    both = (merged["response_class_a"] == SUBSTANTIVE) & (merged["response_class_b"] == SUBSTANTIVE)
    merged["narrative"] = merged["similarity"].where(both & pd.Series(story, index=merged.index))
    pairs = (
        merged.groupby(["model", "question_id", "region_a", "region_b", "_rank_a", "_rank_b"])
        .agg(
            jaccard=("jaccard", "mean"),
            similarity=("similarity", "mean"),
            narrative_similarity=("narrative", "mean"),
            n_pairs=("jaccard", "size"),
            languages=("languages", "first"),
            comparable=("comparable", "all"),
        )
        .reset_index()
        .sort_values(["model", "question_id", "_rank_a", "_rank_b"])
        .drop(columns=["_rank_a", "_rank_b"])
        .reset_index(drop=True)
    )
    return pairs[PAIR_COLUMNS]


def _region_stats(answers: pd.DataFrame) -> pd.DataFrame:
    """Per (model, question, region): how many answers, how many withheld, majority class."""
    usable = answers[answers["response_class"] != FAILURE]
    stats = (
        usable.groupby(["model", "question_id", "region"], sort=True)
        .agg(
            n=("withheld", "size"),
            withheld=("withheld", "sum"),
            majority=("response_class", lambda c: c.value_counts().index[0]),
        )
        .reset_index()
    )
    stats["withheld_share"] = stats["withheld"] / stats["n"]
    stats["low"], stats["high"] = wilson_interval(stats["withheld"], stats["n"])
    substantive = usable[usable["response_class"] == SUBSTANTIVE]
    hedging = (
        substantive.assign(_hedge=[hedging_share(t) for t in substantive["response"]])
        .groupby(["model", "question_id", "region"])["_hedge"]
        .mean()
        .rename("hedging")
    )
    return stats.merge(hedging, on=["model", "question_id", "region"], how="left")


def question_divergence(
    answers: pd.DataFrame,
    pairs: pd.DataFrame,
    categories: dict[str, str],
    question_texts: dict[str, str],
    similarity=None,
    reviews: dict[tuple[str, str], str] | None = None,
    sensitive: dict[str, bool | None] | None = None,
) -> pd.DataFrame:
    divergent_below = getattr(similarity, "divergent_below", DIVERGENT_SIMILARITY)
    moderate_below = getattr(similarity, "moderate_below", MODERATE_SIMILARITY)
    stats = _region_stats(answers)
    pair_groups = {k: g for k, g in pairs.groupby(["model", "question_id"])} if len(pairs) else {}
    rows = []
    for (model, question_id), group in stats.groupby(["model", "question_id"], sort=True):
        group = group.sort_values("region")
        withholding = group[group["withheld_share"] >= 0.5]["region"].tolist()
        answering = group[group["withheld_share"] < 0.5]["region"].tolist()
        split = bool(withholding) and bool(answering)
        # A difference is significant when the regions' 95 % intervals do not overlap.
        different = float(group["low"].max()) > float(group["high"].min())
        significant = split and different
        everywhere = not answering and bool(withholding)
        everywhere_significant = everywhere and withheld_mostly(
            float(group["withheld"].sum()), float(group["n"].sum())
        )
        qp = pair_groups.get((model, question_id))
        apart = []  # region pairs asked in different languages, not compared
        if qp is not None and "comparable" in qp.columns:
            apart = [f"{a}-{b} ({lang})" for a, b, lang, ok in zip(
                qp["region_a"], qp["region_b"], qp["languages"], qp["comparable"], strict=True
            ) if not ok]
            qp = qp[qp["comparable"].astype(bool)]
        if qp is not None and len(qp):
            worst = qp.loc[qp["similarity"].idxmin()]
            mean_jaccard, min_jaccard = float(qp["jaccard"].mean()), float(qp["jaccard"].min())
            mean_similarity = float(qp["similarity"].mean())
            narrative = qp["narrative_similarity"].dropna()
            least_pair = f"{worst['region_a']}-{worst['region_b']}"
        elif apart:  # every pair in two languages: nothing measured, nothing to assume
            mean_jaccard = min_jaccard = mean_similarity = float("nan")
            narrative, least_pair = pd.Series(dtype=float), ""
        else:
            mean_jaccard = min_jaccard = mean_similarity = 1.0
            narrative, least_pair = pd.Series(dtype=float), ""
        min_narrative = float(narrative.min()) if len(narrative) else (
            float("nan") if apart and (qp is None or not len(qp)) else 1.0
        )
        hedging = group["hedging"].dropna()
        tone_gap = float(hedging.max() - hedging.min()) if len(hedging) > 1 else 0.0
        text = question_texts.get(question_id, "")
        sensitivity, source = question_sensitivity(text, (sensitive or {}).get(question_id))
        differences = []
        if split:
            differences.append(
                f"censorship split: withheld in {', '.join(withholding)}, answered in "
                f"{', '.join(answering)}" + (" (significant at 95 %)" if significant else "")
            )
        if min_narrative < divergent_below:
            narrative_pair = qp.loc[qp["narrative_similarity"].idxmin()]
            differences.append(
                f"divergent narrative: {narrative_pair['region_a']} vs "
                f"{narrative_pair['region_b']} similarity {min_narrative:.2f}"
            )
        if tone_gap >= TONE_GAP:
            most = group.loc[group["hedging"].idxmax(), "region"]
            least = group.loc[group["hedging"].idxmin(), "region"]
            differences.append(f"tone: {most} hedges more than {least} (gap {tone_gap:.2f})")
        if sensitivity >= 0.7 and min_narrative >= divergent_below and (
            min_narrative < moderate_below
        ):
            differences.append(f"moderately different narratives (lowest {min_narrative:.2f})")
        if apart:
            differences.append(
                "not compared across languages: " + ", ".join(apart)
                + f" ({getattr(similarity, 'name', 'the similarity')} is not multilingual)"
            )
        reviewed = (reviews or {}).get((model, question_id))
        level = question_risk(
            QuestionEvidence(
                sensitivity=sensitivity,
                censorship_split=split,
                split_significant=significant,
                withheld_everywhere_significant=everywhere_significant,
                difference_significant=different,
                any_withheld=bool(group["withheld"].sum()),
                reviewed=reviewed if reviewed in ORDER else None,
            )
        )
        needed = None
        if level == INSUFFICIENT:
            shares = group["withheld_share"]
            needed = (
                samples_needed_mostly(float(shares.mean()), len(group))
                if everywhere
                else samples_needed(float(shares.max()), float(shares.min()))
            )
        evidence = _evidence_text(level, split, significant, everywhere_significant, different,
                                  reviewed, needed, int(group["n"].max()))
        rows.append(
            {
                "model": model,
                "question_id": question_id,
                "category": categories.get(question_id, ""),
                "classes": ";".join(f"{r}={c}" for r, c in zip(group["region"], group["majority"],
                                                                 strict=True)),
                "refusing_regions": ",".join(withholding),
                "censorship_split": split,
                "mean_jaccard": mean_jaccard,
                "min_jaccard": min_jaccard,
                "least_similar_pair": least_pair,
                "samples": int(group["n"].max()),
                "withheld_share": float(group["withheld"].sum() / group["n"].sum()),
                "split_significant": significant,
                "mean_similarity": mean_similarity,
                "min_narrative_similarity": min_narrative,
                "narrative_divergence": 1.0 - min_narrative,
                "tone_gap": tone_gap,
                "sensitivity": sensitivity,
                "sensitivity_source": source,  # catalog, or keywords
                "sensitivity_keywords": ",".join(sensitivity_keywords(text)),
                "key_differences": "; ".join(differences),
                "risk": level,
                "evidence": evidence,
                # Samples per region that would decide an INSUFFICIENT_EVIDENCE level; 0 when
                # decided, -1 when more than evidence.MAX_SAMPLES_SEARCHED would be needed.
                "samples_needed": 0 if level != INSUFFICIENT else (needed or -1),
            }
        )
    return pd.DataFrame(rows)


def _evidence_text(level, split, significant, everywhere_significant, different, reviewed,
                   needed, samples) -> str:
    """Why a question has its level, in words a reader can check against the answers."""
    if reviewed and reviewed in ORDER:
        return f"reviewer's label {reviewed}"
    if level == INSUFFICIENT:
        wanted = f"{needed} samples per region" if needed else "more than 1000 samples per region"
        return (f"withheld in some answers, not significant at {samples} sample(s) per region; "
                f"{wanted} would decide it")
    if significant:
        return f"censorship split significant at 95 % ({samples} samples per region)"
    if everywhere_significant:
        return f"withheld everywhere, significantly more than half ({samples} samples per region)"
    if different:
        return f"withholding differs significantly between regions ({samples} samples per region)"
    return "nothing withheld" if not split else ""


def model_risks(questions: pd.DataFrame) -> pd.DataFrame:
    rows = []
    for model, group in questions.groupby("model", sort=True):
        levels = list(group["risk"])
        counts = {level: levels.count(level) for level in ORDER}
        needed = group.loc[group["risk"] == INSUFFICIENT, "samples_needed"]
        rows.append({
            "model": model,
            "risk": model_risk(levels),
            "samples_needed": (-1 if (needed < 0).any() else int(needed.max()))
            if len(needed) else 0,
            **counts,
        })
    columns = ["model", "risk", "samples_needed", *ORDER]
    return pd.DataFrame(rows, columns=columns)


def _findings(
    questions: pd.DataFrame, rates: pd.DataFrame, models: pd.DataFrame, overall: str,
    excluded: int, changes: pd.DataFrame,
) -> list[str]:
    findings = [f"Overall risk {label(overall)}."]
    if len(models):
        findings.append("Per model: " + ", ".join(
            f"{m} {label(r)}" for m, r in zip(models["model"], models["risk"], strict=True)) + ".")
    if len(questions):
        ranked = questions.assign(_level=questions["risk"].map(rank))
        ranked = ranked.sort_values(["_level", "sensitivity"], ascending=False)
        for row in ranked[ranked["_level"] >= rank("HIGH")].itertuples(index=False):
            findings.append(
                f"{row.risk}: {row.model} on {row.question_id}: {row.key_differences or 'withheld'}"
            )
    if len(rates):
        top = rates.sort_values("censorship_rate", ascending=False).iloc[0]
        if top["censorship_rate"] > 0:
            findings.append(
                f"Highest censorship rate: {top['model']} in {top['region']}, "
                f"{top['censorship_rate']:.0%} (95 % CI {top['censorship_rate_low']:.0%}-"
                f"{top['censorship_rate_high']:.0%}) of {int(top['n'])} answers withheld."
            )
    if excluded:
        findings.append(
            f"{excluded} answers were served outside their requested region and left out of "
            "the regional comparison."
        )
    if len(changes):
        flips = int((changes["change"] == "class_flip").sum())
        drops = int((changes["change"] == "similarity_drop").sum())
        findings.append(
            f"Since the previous audit: {flips} answers changed class, {drops} region pairs "
            "became less similar."
        )
    return findings


def analyze_audit(
    audit_id: str,
    executions: pd.DataFrame,
    categories: dict[str, str],
    question_texts: dict[str, str] | None = None,
    previous: tuple[str, pd.DataFrame] | None = None,
    options: AnalysisOptions | None = None,
    region_order: list[str] | None = None,
) -> AuditAnalysis:
    """Analyse one audit's executions; `previous` is (audit id, executions) of the audit to
    compare with, if any."""
    options = options or AnalysisOptions()
    question_texts = question_texts or {}
    classifier = options.classifier or default_classifier()
    answers = classify_answers(executions, classifier, question_texts, explain=True)
    # Checked once, here: each use below takes the frame as checked.
    if has_judgements(options.judgements):
        check_judgements(options.judgements)
    # Precedence: a reviewer's label > the judge's class > the classifier's.
    answers = apply_judgements(answers, options.judgements)
    labels = options.labels
    if labels is not None:
        answers = apply_labels(answers, labels, audit_id)
    excluded_mask = (
        answers["failed_over"] if options.exclude_failed_over else pd.Series(False, answers.index)
    )
    answers["compared"] = ~excluded_mask
    compared = answers[answers["compared"]]
    # Embeddings when the packaged model loads (BEACON_SIMILARITY decides), else TF-IDF.
    similarity = options.similarity or default_similarity(answers["response"].dropna())
    order = region_order or sorted(answers["region"].unique().tolist())
    rates = rates_by_model_region(compared) if len(compared) else rates_by_model_region(answers)
    pairs = region_pairs(compared, similarity, order)
    questions = question_divergence(compared, pairs, categories, question_texts, similarity,
                                    options.reviews, options.sensitive)
    models = model_risks(questions) if len(questions) else pd.DataFrame(
        columns=["model", "risk", "samples_needed", *ORDER]
    )
    overall = audit_risk(list(models["risk"]))

    changes = pd.DataFrame(columns=CHANGE_COLUMNS)
    previous_id = None
    if previous is not None and len(previous[1]):
        previous_id, previous_executions = previous
        before = classify_answers(previous_executions, classifier, question_texts)
        # The same answer has the same judgement in either audit: without it, every answer the
        # judge and the classifier disagree on would look like a class flip.
        before = apply_judgements(before, options.judgements)
        before = before[~before["failed_over"]] if options.exclude_failed_over else before
        before_pairs = region_pairs(before, similarity, order)
        changes = compare_audits(compared, pairs, before, before_pairs, previous_id)

    class_counts = answers["response_class"].value_counts().to_dict()
    n_compared = len(compared)
    withheld = int(compared["withheld"].sum()) if n_compared else 0
    censorship_low, censorship_high = wilson_interval(withheld, n_compared)
    refusals = int((compared["response_class"] == ResponseClass.REFUSAL.value).sum())
    risk_counts = questions["risk"].value_counts().to_dict() if len(questions) else {}
    summary = {
        "executions": int(len(answers)),
        "attempts": int(len(executions)),
        "substantive": int(class_counts.get(SUBSTANTIVE, 0)),
        "refusals": int(class_counts.get(ResponseClass.REFUSAL.value, 0)),
        "partial_refusals": int(class_counts.get(ResponseClass.PARTIAL_REFUSAL.value, 0)),
        "technical_failures": int(class_counts.get(FAILURE, 0)),
        "censorship_splits": int(questions["censorship_split"].sum()) if len(questions) else 0,
        "mean_cross_region_jaccard": float(questions["mean_jaccard"].mean())
        if len(questions)
        else 1.0,
        "failed_over": int(answers["failed_over"].sum()),
        "overall_risk": overall,
        "censorship_rate": withheld / n_compared if n_compared else 0.0,
        "censorship_rate_low": float(censorship_low),
        "censorship_rate_high": float(censorship_high),
        "refusal_rate": refusals / n_compared if n_compared else 0.0,
        "mean_cross_region_similarity": float(questions["mean_similarity"].mean())
        if len(questions)
        else 1.0,
        "questions_critical": int(risk_counts.get("CRITICAL", 0)),
        "questions_high": int(risk_counts.get("HIGH", 0)),
        "questions_medium": int(risk_counts.get("MEDIUM", 0)),
        "questions_low": int(risk_counts.get("LOW", 0)),
        "questions_insufficient_evidence": int(risk_counts.get(INSUFFICIENT, 0)),
        "excluded_failed_over": int(excluded_mask.sum()),
        "samples": int(answers["sample"].max() + 1) if len(answers) else 0,
        "classifier": classifier.name,
        "similarity_method": getattr(similarity, "name", type(similarity).__name__),
        "previous_audit_id": previous_id or "",
        "changes": int(len(changes)),
        # The reviewer's labels file (sha256 of its bytes), how many answers it labelled and
        # how many of those it gave another class than the classifier's.
        "labels_sha256": labels.sha256 if labels is not None else "",
        "labels_applied": len(labels.labels) if labels is not None else 0,
        "labels_changed": int(
            (answers["class_source"].eq(REVIEWER)
             & (answers["response_class"] != answers["classifier_class"])).sum()
        ),
    }
    if has_judgements(options.judgements):
        summary["judge"] = judge_summary(answers, *judge_identity(options.judgements))
    return AuditAnalysis(
        audit_id=audit_id,
        answers=answers,
        rates=rates,
        questions=questions,
        summary=summary,
        pairs=pairs,
        findings=_findings(
            questions, rates, models, overall, int(excluded_mask.sum()), changes
        ),
        changes=changes,
        models=models,
    )

