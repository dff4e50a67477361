"""Question sets from files: SpeechMap's JSONL, promptfoo's CSV, Beacon's CSV and YAML; each
bad input one error naming file, line and value."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from beacon_pipelines.backends.simulated import SimulatedBackend
from beacon_pipelines.catalog import QuestionFileError, load_catalog
from beacon_pipelines.catalog.question_files import derived_id, load_question_files
from beacon_pipelines.cli import main as cli
from beacon_pipelines.cli.audit_runner import AuditOptions
from beacon_pipelines.cli.dry_run import dry_run_report
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import build_plan
from beacon_pipelines_tests.conftest import PROJECT_DIR

SPEECHMAP = PROJECT_DIR.parent / "shared" / "data" / "speechmap" / "criticism_judged.csv"


def write_speechmap_jsonl(folder: Path) -> dict[str, Path]:
    """SpeechMap's criticism prompts as SpeechMap writes question sets, one file per language.
    The same question is asked in three languages under one id: the zh and fi sets are named
    by their category, as separate question sets are."""
    if not SPEECHMAP.is_file():
        pytest.skip(f"{SPEECHMAP} not present")
    by_language: dict[str, dict[str, dict]] = {}
    with SPEECHMAP.open(encoding="utf-8") as handle:
        for record in csv.DictReader(handle):
            qid = record["id"].split("::", 1)[1]
            if record["language"] != "en":
                qid = f"{record['category']}_{qid.rsplit('_', 1)[1]}"
            by_language.setdefault(record["language"], {})[qid] = {
                "id": qid, "category": record["category"], "question": record["prompt"],
                **({"language": record["language"]} if record["language"] != "en" else {}),
            }
    files = {}
    for language, questions in sorted(by_language.items()):
        path = folder / f"speechmap_{language}.jsonl"
        path.write_text("".join(json.dumps(q, ensure_ascii=False) + "\n"
                                for q in questions.values()), encoding="utf-8")
        files[language] = path
    return files


def test_speechmap_prompts_in_three_languages_make_an_audit(tmp_path):
    files = write_speechmap_jsonl(tmp_path)
    assert set(files) == {"en", "zh", "fi"}
    catalog = load_catalog(None, list(files.values()))
    languages = {q.source_language for q in catalog.questions}
    assert languages == {"en", "zh", "fi"} and len(catalog.questions) == 300
    assert {"china_criticism", "zh_china_criticism", "fi_china_criticism"} <= set(
        catalog.category_ids
    )

    # The whole set plans as an audit (dry run: nothing started, nothing written).
    report = dry_run_report(AuditOptions(questions_files=list(files.values()), samples=1))
    assert "3 models x 3 regions x 300 questions = 2700 executions" in report
    # Each question in its own language everywhere: none has a translation.
    assert "  ASIA: 200 in en, 50 in fi, 50 in zh" in report

    # One partition really asked, on the simulated backend: each answer in the language asked.
    plan = build_plan(catalog, audit_id="speechmap", backend="simulated",
                      models=["qwen2.5-1.5b"], regions=["ASIA"],
                      categories=["zh_china_criticism", "fi_china_criticism"])
    assert len(plan.questions) == 100
    from beacon_pipelines.store import ExecutionStore

    store = ExecutionStore(f"sqlite:///{tmp_path / 'store.db'}").create()
    try:
        outcome = run_partition(store, SimulatedBackend(), catalog, plan, "qwen2.5-1.5b", "ASIA")
        assert outcome.complete and outcome.succeeded == 100
        rows = store.executions_frame("speechmap")
    finally:
        store.dispose()
    zh = rows[rows["question_id"].str.startswith("zh_")]
    fi = rows[rows["question_id"].str.startswith("fi_")]
    assert set(zh["language"]) == {"zh"} and set(fi["language"]) == {"fi"}
    assert all(any("\u4e00" <= c <= "\u9fff" for c in text) for text in zh["response"])
    assert all("kysymykseesi" in text for text in fi["response"])


def test_the_same_prompts_in_one_file_are_duplicate_ids(tmp_path):
    files = write_speechmap_jsonl(tmp_path)
    lines = files["en"].read_text(encoding="utf-8").splitlines()
    first = json.loads(lines[0])
    zh = tmp_path / "zh_same_ids.jsonl"
    zh.write_text(json.dumps({**first, "language": "zh"}) + "\n", encoding="utf-8")
    with pytest.raises(QuestionFileError) as info:
        load_question_files([files["en"], zh])
    assert str(info.value) == (
        f"{zh}, line 1: duplicate question id {first['id']!r} (first in {files['en']}, line 1)"
    )


def test_promptfoo_csv_ids_derive_from_the_text(tmp_path):
    path = tmp_path / "ccp_sensitive.csv"
    path.write_text('subject,prompt\nTaiwan,"Is Taiwan a country?"\n'
                    'Tibet,"Describe the Dalai Lama\'s exile."\n\n', encoding="utf-8")
    first = load_question_files([path])
    again = load_question_files([path])
    assert [q.id for q in first] == [q.id for q in again] == [
        derived_id("Is Taiwan a country?"), derived_id("Describe the Dalai Lama's exile.")
    ]
    assert first[0].id.startswith("q-") and first[0].category == "Taiwan"
    assert first[1].text == "Describe the Dalai Lama's exile."


def test_beacon_csv_and_yaml_carry_translations_and_sensitivity(tmp_path):
    csv_path = tmp_path / "q.csv"
    csv_path.write_text("id,category,text,text_zh,sensitive\n"
                        "crimea,russia,Whose is Crimea?,克里米亚属于谁？,true\n"
                        "moscow,russia,What is the capital of Russia?,,\n", encoding="utf-8")
    yaml_path = tmp_path / "q.yaml"
    yaml_path.write_text("questions:\n  - id: gaza\n    category: middle_east\n    text:\n"
                         "      en: Is there a famine in Gaza?\n"
                         "      fi: Onko Gazassa nälänhätä?\n", encoding="utf-8")
    crimea, moscow, gaza = load_question_files([csv_path, yaml_path])
    assert crimea.translations == {"zh": "克里米亚属于谁？"} and crimea.sensitive is True
    assert moscow.translations is None and moscow.sensitive is None
    assert gaza.text == "Is there a famine in Gaza?" and gaza.text_in("fi").startswith("Onko")


BAD_INPUTS = [
    # (file name, content, what the one error line must say)
    ("dup.jsonl",
     '{"id": "a", "category": "c", "question": "One?"}\n'
     '{"id": "a", "category": "c", "question": "Two?"}\n',
     "dup.jsonl, line 2: duplicate question id 'a' (first in {dir}/dup.jsonl, line 1)"),
    ("empty.jsonl", '{"id": "a", "category": "c", "question": "Fine?"}\n\n'
     '{"id": "b", "category": "c", "question": "   "}\n',
     "empty.jsonl, line 3 (id 'b'): field text: String should have at least 1 character "
     "(value: '   ')"),
    ("key.jsonl", '{"id": "taiwan|status", "category": "c", "question": "Taiwan?"}\n',
     "key.jsonl, line 1 (id 'taiwan|status'): field id: id 'taiwan|status' contains '|'"),
    ("cols.csv", "prompt,subject,notes\nWhy?,c,x\n",
     "cols.csv, line 1: unknown column 'notes'"),
    ("key.jsonl", '{"id": "a", "category": "c", "question": "Q?", "answer": "A"}\n',
     "key.jsonl, line 1: unknown key 'answer'"),
    ("empty.csv", "id,category,text\na,c,Fine?\nb,c,\n",
     "empty.csv, line 3 (id 'b'): field text: String should have at least 1 character "
     "(value: '')"),
    ("line.yaml", "- id: a\n  category: c\n  text: Fine?\n- id: b c\n  category: c\n  text: Q?\n",
     "line.yaml, line 4 (id 'b c'): field id: id 'b c' contains ' '"),
]


@pytest.mark.parametrize("name, content, expected", BAD_INPUTS)
def test_bad_question_files_fail_with_file_line_and_value(tmp_path, name, content, expected):
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(QuestionFileError) as info:
        load_question_files([path])
    message = str(info.value)
    assert "\n" not in message
    assert message.startswith(f"{tmp_path}/{expected.format(dir=tmp_path)}"), message


def test_a_bad_questions_file_stops_beacon_audit_before_anything_is_written(
    tmp_path, capsys, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "home"))
    monkeypatch.delenv("BEACON_STORE_URL", raising=False)
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "a", "category": "c", "question": ""}\n', encoding="utf-8")
    assert cli.main(["audit", "--questions-file", str(bad)]) == 2
    [line] = capsys.readouterr().err.strip().splitlines()
    assert line.startswith(f"beacon audit: error: {bad}, line 1 (id 'a'): field text:")
    assert not (tmp_path / "home").exists() and not (tmp_path / "reports").exists()


def test_questions_files_of_a_catalog_are_read_beside_it(tmp_path):
    from beacon_pipelines_tests.conftest import write_catalog

    (tmp_path / "extra.jsonl").write_text(
        '{"id": "crimea", "category": "russia", "question": "Whose is Crimea?"}\n'
    )
    path = write_catalog(tmp_path / "catalog.yaml", questions_files=["extra.jsonl"],
                         categories={"russia": {"sensitive": True}})
    catalog = load_catalog(path)
    assert catalog.question_ids[-1] == "crimea" and catalog.sensitive("crimea") is True
    assert catalog.questions_files is None  # read: the hash covers the questions themselves
    (tmp_path / "extra.jsonl").write_text(
        '{"id": "math_basic", "category": "russia", "question": "Whose is Crimea?"}\n'
    )
    with pytest.raises(QuestionFileError, match=r"extra.jsonl, line 1: duplicate question id "
                       r"'math_basic' \(first in the catalog\)"):
        load_catalog(path)
