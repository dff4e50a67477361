"""Beacon's own question set in the packaged catalog: 60 questions on 10 sensitive topics with
controls and Chinese translations, the original 8 kept, each region asked in its language,
and the simulated backend answering in the language asked."""

from __future__ import annotations

from collections import Counter

import pytest

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import DEFAULT_CATALOG_PATH, load_catalog
from beacon_pipelines.execution import partition_requests, run_partition
from beacon_pipelines.plan import build_plan
from beacon_pipelines_tests.conftest import default_catalog_dict

ORIGINAL = ("control", "bias_detection", "cultural_perspective")


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= c <= "\u9fff" for c in text)


@pytest.fixture(scope="module")
def catalog():
    return load_catalog(DEFAULT_CATALOG_PATH)


def test_sixty_questions_on_ten_sensitive_topics_each_with_controls(catalog):
    topics = [c for c in catalog.category_ids if c not in ORIGINAL]
    assert len(topics) >= 10
    assert {"china", "russia", "united_states", "european_union", "middle_east", "india",
            "elections", "lgbtq_rights", "religion", "protest_movements"} <= set(topics)
    new = [q for q in catalog.questions if q.category in topics]
    assert len(new) >= 60 and len(catalog.questions) == len(new) + 8
    for topic in topics:
        questions = [q for q in new if q.category == topic]
        controls = [q for q in questions if q.control]
        sensitive = [q for q in questions if catalog.sensitive(q.id)]
        assert controls and sensitive and len(controls) + len(sensitive) == len(questions), topic
        assert all(catalog.sensitive(q.id) is False for q in controls)
        # Every sensitive question has a Chinese translation.
        assert all(q.text_in("zh") and _has_chinese(q.text_in("zh")) for q in sensitive), topic


def test_the_original_eight_are_kept_in_their_own_categories(catalog):
    original = [q for q in catalog.questions if q.category in ORIGINAL]
    assert [(q.id, q.category, q.text) for q in original] == [
        (q["id"], q["category"], q["text"]) for q in default_catalog_dict()["questions"]
    ]
    assert len(original) == 8 and all(q.translations is None for q in original)
    # Their sensitivity is still read from their words, as the original system did.
    assert all(catalog.sensitive(q.id) is None for q in original)


def test_each_region_is_asked_in_its_language(catalog):
    assert {r.id: r.asked_in for r in catalog.regions} == {"US": "en", "EU": "en", "ASIA": "zh"}
    plan = build_plan(catalog, audit_id="lang", backend="simulated", models=["qwen2.5-1.5b"],
                      categories=["china"])
    asia, _ = partition_requests(catalog, plan, "qwen2.5-1.5b", "ASIA", "ASIA", {})
    us, _ = partition_requests(catalog, plan, "qwen2.5-1.5b", "US", "US", {})
    assert {r.language for r in asia} == {"zh"} and {r.language for r in us} == {"en"}
    assert all(_has_chinese(r.question) and "亚洲" in r.system_prompt for r in asia)
    assert all("based in the US" in r.system_prompt for r in us)

    source = load_catalog(DEFAULT_CATALOG_PATH, language_mode="source")
    assert source.sha256() != catalog.sha256()  # a resumed audit cannot switch modes silently
    asia_en, _ = partition_requests(source, plan, "qwen2.5-1.5b", "ASIA", "ASIA", {})
    assert {r.language for r in asia_en} == {"en"}
    assert all("based in Asia" in r.system_prompt for r in asia_en)


def test_the_simulated_backend_answers_in_the_language_asked(catalog, store):
    plan = build_plan(catalog, audit_id="sim-lang", backend="simulated",
                      categories=["china", "control"])
    for model in plan.models:
        for region in plan.regions:
            run_partition(store, SimulatedBackend(), catalog, plan, model, region)
    rows = store.executions_frame("sim-lang")
    assert len(rows) == 3 * 3 * 9
    asked = Counter(zip(rows["region"], rows["language"], strict=True))
    assert asked == {("US", "en"): 27, ("EU", "en"): 27, ("ASIA", "zh"): 18, ("ASIA", "en"): 9}
    zh = rows[rows["language"] == "zh"]["response"]
    en = rows[rows["language"] == "en"]["response"]
    assert all(_has_chinese(t) for t in zh) and not any(_has_chinese(t) for t in en)
    # Plausibly: Qwen declines Xinjiang in Chinese in ASIA, answers it in English elsewhere.
    xinjiang = rows[(rows["model"] == "qwen2.5-1.5b") & (rows["question_id"] == "china_xinjiang")]
    by_region = dict(zip(xinjiang["region"], xinjiang["response"], strict=True))
    from beacon_pipelines.backends.simulated_answers import REFUSALS_ZH

    assert by_region["ASIA"] in REFUSALS_ZH
    assert "Uyghurs" in by_region["US"]
