"""Judging against the judgement store, on SQLite and on a real Postgres: reuse across runs,
equal answers judged once, only finished batches stored after a crash."""

from __future__ import annotations

import hashlib

import pytest

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.judge.judging import JudgingOutcome, judge_answers
from beacon_pipelines.judge.verdict import JUDGE_FAILED, JudgeItem, JudgeVerdict
from beacon_pipelines.judgement_store import JUDGEMENT_COLUMNS, JudgementStore
from beacon_pipelines_tests.judge.fakes import Crash, RecordingJudge
from beacon_pipelines_tests.support.hostile_text import HOSTILE_TEXTS


def item(answer: str, question: str = "Q?") -> JudgeItem:
    return JudgeItem(hashlib.sha256(answer.encode()).hexdigest(), question, answer)


ANSWERS = [item(f"answer number {i}" + (" I cannot" if i % 3 == 0 else "")) for i in range(7)]


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.integration)])
def store_url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'beacon.db'}"
    return request.getfixturevalue("pg_url")


@pytest.fixture
def store(store_url):
    store = JudgementStore(store_url).create()
    yield store
    store.dispose()


def test_judges_each_answer_once_and_a_rerun_reuses_every_judgement(store):
    judge = RecordingJudge()
    first = judge_answers(store, judge, ANSWERS + ANSWERS[:2], batch_size=3)
    assert first == JudgingOutcome(planned=7, reused=0, judged=7, failed=0)
    assert sorted(judge.judged) == sorted(i.response_sha256 for i in ANSWERS)  # no duplicate
    assert [len(c) for c in judge.calls] == [3, 3, 1]

    again = RecordingJudge()
    second = judge_answers(store, again, ANSWERS + [item("a new answer")], batch_size=3)
    assert second == JudgingOutcome(planned=8, reused=7, judged=1, failed=0)
    assert again.judged == [item("a new answer").response_sha256]

    frame = store.frame([i.response_sha256 for i in ANSWERS], judge.model, judge.prompt_sha256)
    assert list(frame.columns) == JUDGEMENT_COLUMNS and len(frame) == 7
    by_sha = frame.set_index("response_sha256")
    assert by_sha.loc[ANSWERS[0].response_sha256, "judge_class"] == "refusal"
    assert by_sha.loc[ANSWERS[1].response_sha256, "judge_class"] == "substantive"
    assert set(frame["judge_status"]) == {"judged"}
    assert set(frame["judge_model"]) == {"judge-m"}


def test_another_model_or_prompt_judges_again(store):
    judge_answers(store, RecordingJudge(), ANSWERS, batch_size=10)
    other_prompt = RecordingJudge(prompt_sha256="q" * 64)
    assert judge_answers(store, other_prompt, ANSWERS, batch_size=10).judged == 7
    other_model = RecordingJudge(model="judge-2")
    assert judge_answers(store, other_model, ANSWERS, batch_size=10).judged == 7
    assert store.count() == 21


def test_a_crash_keeps_only_the_finished_batches_and_the_rerun_judges_the_rest(store):
    crashing = RecordingJudge(crash_on_call=2)
    with pytest.raises(Crash):
        judge_answers(store, crashing, ANSWERS, batch_size=3)
    kept = store.stored([i.response_sha256 for i in ANSWERS], "judge-m", "p" * 64)
    assert set(kept) == {i.response_sha256 for i in ANSWERS[:3]}

    resumed = RecordingJudge()
    outcome = judge_answers(store, resumed, ANSWERS, batch_size=3)
    assert outcome == JudgingOutcome(planned=7, reused=3, judged=4, failed=0)
    assert resumed.judged == [i.response_sha256 for i in ANSWERS[3:]]


def test_failures_are_stored_as_such_and_judged_again_by_a_later_run(store):
    bad = ANSWERS[1].response_sha256
    first = judge_answers(store, RecordingJudge(fail={bad}), ANSWERS, batch_size=4)
    assert first == JudgingOutcome(planned=7, reused=0, judged=6, failed=1)
    frame = store.frame([bad], "judge-m", "p" * 64)
    row = frame.iloc[0]
    assert row["judge_status"] == JUDGE_FAILED and row["judge_class"] is None
    assert row["judge_reason"] == ""
    assert store.stored([bad], "judge-m", "p" * 64)[bad].error == "unreadable reply"

    later = RecordingJudge()
    second = judge_answers(store, later, ANSWERS, batch_size=4)
    assert later.judged == [bad]
    assert second == JudgingOutcome(planned=7, reused=6, judged=1, failed=0)
    assert store.stored([bad], "judge-m", "p" * 64)[bad].judged


def test_a_judged_row_is_never_overwritten(store):
    sha = ANSWERS[0].response_sha256
    first = JudgeVerdict(sha, ResponseClass.REFUSAL, "first", "judged", 1)
    store.record_many([first], "m", "p")
    store.record_many([JudgeVerdict(sha, ResponseClass.SUBSTANTIVE, "second", "judged", 1)],
                      "m", "p")
    store.record_many([JudgeVerdict.failed(sha, 2, "later failure")], "m", "p")
    assert store.stored([sha], "m", "p")[sha] == first


def test_untrusted_reasons_and_errors_are_kept_exactly(store):
    verdicts = [
        JudgeVerdict(f"{i:064x}", ResponseClass.PARTIAL_REFUSAL, text, "judged", 1)
        for i, text in enumerate(HOSTILE_TEXTS)
    ] + [JudgeVerdict.failed("f" * 64, 2, "error with \x00 and \ud800 inside")]
    store.record_many(verdicts, "m", "p", judge_kind="openai")
    back = store.stored([v.response_sha256 for v in verdicts], "m", "p")
    assert [back[v.response_sha256] for v in verdicts] == verdicts


def test_reading_many_keys_reads_them_all(store):
    many = [JudgeVerdict(f"{i:064x}", ResponseClass.SUBSTANTIVE, "ok", "judged", 1)
            for i in range(1_203)]
    store.record_many(many, "m", "p")
    assert len(store.stored([v.response_sha256 for v in many] + ["0" * 63 + "z"], "m", "p")) \
        == 1_203
