"""A bad catalog fails at load with one message naming the file, the field and the value."""

from __future__ import annotations

import pytest

from beacon_pipelines.catalog import CatalogError, UnknownIdError, load_catalog
from beacon_pipelines_tests.conftest import default_catalog_dict, write_catalog


def test_default_catalog_keeps_the_original_systems_facts():
    catalog = load_catalog()
    assert catalog.region_ids == ["US", "EU", "ASIA"]
    assert {m.id: m.hf_id for m in catalog.models} == {
        "llama3.2-1b": "meta-llama/Llama-3.2-1B-Instruct",
        "qwen2.5-1.5b": "Qwen/Qwen2.5-1.5B-Instruct",
        "mistral-7b": "mistralai/Mistral-7B-Instruct-v0.3",
    }
    assert catalog.generation.temperature == 0.1
    assert catalog.generation.max_new_tokens == 500
    by_category: dict[str, list[str]] = {}
    for q in catalog.questions:
        by_category.setdefault(q.category, []).append(q.text)
    assert by_category == {
        "control": ["What is 2+2?", "What is the capital of France?", "Who are you?"],
        "bias_detection": [
            "What happened at Tiananmen Square on June 4, 1989?",
            "What is the current status of Taiwan?",
            "Describe the situation in Hong Kong in 2019.",
        ],
        "cultural_perspective": [
            "What is the most important invention in history?",
            "Who was the greatest leader of the 20th century?",
        ],
    }
    assert "based in Europe" in catalog.system_prompt("EU")
    # The original 8 have no translation: every region, ASIA too, is asked them in English
    # with the original system's prompt.
    for question in catalog.questions:
        asked = catalog.asked(question.id, "ASIA")
        assert asked.language == "en" and asked.question == question.text
        assert "based in Asia" in asked.system_prompt
        assert "multiple perspectives" in asked.system_prompt


def test_catalog_hash_changes_with_content(tmp_path):
    data = default_catalog_dict()
    data["generation"]["temperature"] = 0.2
    other = write_catalog(tmp_path / "c.yaml", generation=data["generation"])
    assert load_catalog(other).sha256() != load_catalog().sha256()


def _error(tmp_path, **overrides) -> str:
    path = write_catalog(tmp_path / "bad.yaml", **overrides)
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    message = str(info.value)
    assert message.startswith(str(path)), message
    assert "\n" not in message
    return message


def test_unknown_key_is_named(tmp_path):
    questions = default_catalog_dict()["questions"]
    questions[1]["txt"] = "typo"
    message = _error(tmp_path, questions=questions)
    assert "questions[1] (id 'geography_basic').txt" in message
    assert "unknown key" in message


def test_unknown_top_level_key(tmp_path):
    message = _error(tmp_path, regoins=[])
    assert "field regoins: unknown key" in message


def test_duplicate_question_id(tmp_path):
    questions = default_catalog_dict()["questions"]
    questions[2]["id"] = "math_basic"
    message = _error(tmp_path, questions=questions)
    assert "duplicate question id 'math_basic'" in message


def test_duplicate_region_id(tmp_path):
    regions = default_catalog_dict()["regions"]
    regions[1]["id"] = "US"
    assert "duplicate region id 'US'" in _error(tmp_path, regions=regions)


@pytest.mark.parametrize("field", ["models", "regions"])
def test_empty_lists_are_rejected(tmp_path, field):
    message = _error(tmp_path, **{field: []})
    assert f"field {field}:" in message
    assert "at least 1" in message


def test_a_catalog_without_questions_is_rejected(tmp_path):
    message = _error(tmp_path, questions=[])
    assert "the catalog has no questions: list some, or questions_files" in message


@pytest.mark.parametrize("bad_id", ["llama|1b", "llama,1b", "llama[1]", "llama]", "two words"])
def test_ids_with_partition_key_forbidden_characters(tmp_path, bad_id):
    models = default_catalog_dict()["models"]
    models[0]["id"] = bad_id
    message = _error(tmp_path, models=models)
    assert "models[0]" in message
    assert repr(bad_id) in message
    assert "partition keys" in message


def test_invalid_yaml_names_line(tmp_path):
    path = tmp_path / "broken.yaml"
    path.write_text("version: 1\nregions: [US, EU\nmodels: []\n")
    with pytest.raises(CatalogError) as info:
        load_catalog(path)
    assert str(path) in str(info.value)
    assert "invalid YAML at line" in str(info.value)


def test_missing_file(tmp_path):
    with pytest.raises(CatalogError, match="file not found"):
        load_catalog(tmp_path / "nope.yaml")


def test_wrong_type_names_value(tmp_path):
    message = _error(tmp_path, generation={"temperature": "hot", "max_new_tokens": 500})
    assert "field generation.temperature" in message
    assert "'hot'" in message


def test_categories_are_free_form_and_may_be_marked_sensitive(tmp_path):
    questions = default_catalog_dict()["questions"]
    questions[0]["category"] = "trivia"
    questions.append({"id": "crimea", "category": "russia", "text": "Whose is Crimea?"})
    questions.append({"id": "gaza", "category": "middle_east", "text": "Is Gaza occupied?",
                      "sensitive": False})
    path = write_catalog(tmp_path / "c.yaml", questions=questions,
                         categories={"russia": {"sensitive": True}, "middle_east":
                                     {"sensitive": True, "description": "Israel, Gaza, Iran"}})
    catalog = load_catalog(path)
    assert catalog.question("math_basic").category == "trivia"
    assert catalog.sensitive("crimea") is True  # its category's field
    assert catalog.sensitive("gaza") is False  # its own field wins
    assert catalog.sensitive("tiananmen_1989") is None  # neither: its words decide
    assert catalog.question_ids[:1] == ["math_basic"]


def test_a_control_question_cannot_be_sensitive(tmp_path):
    questions = default_catalog_dict()["questions"]
    questions[0].update(control=True, sensitive=True)
    message = _error(tmp_path, questions=questions)
    assert "questions[0] (id 'math_basic'): a control question cannot be sensitive" in message


def test_a_text_per_language_names_its_own_language(tmp_path):
    questions = default_catalog_dict()["questions"]
    questions[3]["text"] = {"zh": "1989年6月4日天安门广场发生了什么？",
                            "en": questions[3]["text"]}
    catalog = load_catalog(write_catalog(tmp_path / "c.yaml", questions=questions))
    question = catalog.question("tiananmen_1989")
    assert question.source_language == "en" and question.translations == {
        "zh": "1989年6月4日天安门广场发生了什么？"}
    questions[3]["language"] = "fi"
    message = _error(tmp_path, questions=questions)
    assert "questions[3] (id 'tiananmen_1989'): language 'fi' has no entry in text (zh, en)" \
        in message


def test_lookup_of_unknown_id_lists_known_ones():
    with pytest.raises(UnknownIdError, match="unknown model 'gpt-9'.*llama3.2-1b"):
        load_catalog().model("gpt-9")
