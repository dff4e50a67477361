"""Judge a set of answers against the judgement store: each answer at most once, durably.

The answers already judged by this model with this prompt (in any audit) are reused, not sent
again. Equal answers (the same response sha256) are judged once, with the first one's
question. The rest go to the judge in batches of `batch_size`, and each batch's verdicts are
written in one transaction as its call ends: a crash loses at most the batch in flight. An
answer stored as judge_failed is sent again: its failure was a throttled, timed-out or
unreadable reply, which a later run may get past (the store then replaces the failure).

Known limit: the key is the answer's text alone, so the same text given to two different
questions ("I can't help with that.") is judged once, against the first question.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from beacon_pipelines.judge.client import JudgeClient
from beacon_pipelines.judge.verdict import JudgeItem, JudgeVerdict
from beacon_pipelines.judgement_store import JudgementStore


@dataclass(frozen=True)
class JudgingOutcome:
    """Counted in distinct answers (response sha256s)."""

    planned: int  # distinct answers asked about
    reused: int  # judged before (this run or any earlier one): not sent
    judged: int  # judged by this run
    failed: int  # judge_failed in this run (the local class stands for them)
    # sha256 -> its verdict (the stored one if reused, else this run's); filled at the end only
    verdicts: dict[str, JudgeVerdict] = field(default_factory=dict, repr=False, compare=False)


def chunks(items: Sequence[JudgeItem], size: int) -> list[list[JudgeItem]]:
    return [list(items[i : i + size]) for i in range(0, len(items), size)]


def judge_answers(
    store: JudgementStore,
    client: JudgeClient,
    items: Sequence[JudgeItem],
    batch_size: int,
    on_batch: Callable[[JudgingOutcome, list[JudgeVerdict]], None] | None = None,
) -> JudgingOutcome:
    """`on_batch(progress so far, the batch's verdicts)` after each batch is stored."""
    if batch_size < 1:
        raise ValueError(f"batch_size {batch_size} must be >= 1")
    distinct: dict[str, JudgeItem] = {}
    for item in items:
        distinct.setdefault(item.response_sha256, item)
    stored = store.stored(distinct, client.model, client.prompt_sha256)
    final = {sha: v for sha, v in stored.items() if v.judged}
    reused = len(final)
    pending = [item for sha, item in distinct.items() if sha not in final]
    judged = failed = 0
    for batch in chunks(pending, batch_size):
        verdicts = client.judge(batch)
        if [v.response_sha256 for v in verdicts] != [i.response_sha256 for i in batch]:
            raise RuntimeError(
                f"judge {client.kind}/{client.model} returned verdicts for other answers than "
                "it was given (or in another order)"
            )
        store.record_many(verdicts, client.model, client.prompt_sha256, judge_kind=client.kind)
        final.update((v.response_sha256, v) for v in verdicts)
        judged += sum(1 for v in verdicts if v.judged)
        failed += sum(1 for v in verdicts if not v.judged)
        if on_batch is not None:
            on_batch(JudgingOutcome(len(distinct), reused, judged, failed), verdicts)
    return JudgingOutcome(len(distinct), reused, judged, failed, final)
