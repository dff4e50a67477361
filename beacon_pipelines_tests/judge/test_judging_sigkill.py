"""A judging process killed with SIGKILL mid-batch: the finished batches are in the store, the
batch in flight is not, and the next run judges only what is missing."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time

import pytest

from beacon_pipelines.judge.judging import JudgingOutcome, judge_answers
from beacon_pipelines.judge.openai_judge import OpenAIJudge
from beacon_pipelines.judge.prompt import load_prompt
from beacon_pipelines.judge.verdict import JudgeItem
from beacon_pipelines.judgement_store import JudgementStore
from beacon_pipelines_tests.conftest import PROJECT_DIR
from beacon_pipelines_tests.judge.judge_server import by_words, data_of, judge_server

ANSWERS = [f"answer {i}" + (" I cannot" if i % 2 else "") for i in range(6)]
ITEMS = [JudgeItem(hashlib.sha256(a.encode()).hexdigest(), "Q?", a) for a in ANSWERS]

_CHILD = textwrap.dedent(
    """
    import json, sys
    from beacon_pipelines.judge.judging import judge_answers
    from beacon_pipelines.judge.openai_judge import OpenAIJudge
    from beacon_pipelines.judge.verdict import JudgeItem
    from beacon_pipelines.judgement_store import JudgementStore

    url, base_url, items = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
    judge_answers(JudgementStore(url), OpenAIJudge(base_url, "judge-m"),
                  [JudgeItem(*i) for i in items], batch_size=2)
    """
)


def _wait_for(condition, what: str, limit_s: float = 60.0) -> None:
    deadline = time.monotonic() + limit_s
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.05)


@pytest.mark.integration
def test_sigkill_mid_batch_keeps_the_finished_batches_and_a_rerun_judges_the_rest(tmp_path):
    url = f"sqlite:///{tmp_path / 'beacon.db'}"
    store = JudgementStore(url).create()
    release = threading.Event()
    asked: list[str] = []

    def gated(payload: dict) -> str:
        asked.append(data_of(payload)["answer"])
        if len(asked) > 2:  # the second batch hangs until the worker is dead
            release.wait(60)
        return by_words(payload)

    with judge_server(answer=gated) as server:
        items = json.dumps([[i.response_sha256, i.question, i.answer] for i in ITEMS])
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, url, server.base_url, items],
            env={**os.environ, "PYTHONPATH": str(PROJECT_DIR)},
            stderr=subprocess.PIPE,
        )
        try:
            _wait_for(lambda: store.count() == 2 and len(asked) >= 3, "the second batch")
            child.send_signal(signal.SIGKILL)
            assert child.wait(timeout=30) == -signal.SIGKILL
        finally:
            release.set()
            if child.poll() is None:
                child.kill()
        stored = store.stored([i.response_sha256 for i in ITEMS], "judge-m", load_prompt().sha256)
        assert set(stored) == {i.response_sha256 for i in ITEMS[:2]}

        before = len(asked)
        outcome = judge_answers(store, OpenAIJudge(server.base_url, "judge-m"), ITEMS, 2)
        assert outcome == JudgingOutcome(planned=6, reused=2, judged=4, failed=0)
        assert sorted(asked[before:]) == sorted(ANSWERS[2:])  # the first batch is not re-asked
    store.dispose()
