"""Durable judgements: one row per (answer sha256, judge model, judge prompt sha256).

The same database as the execution store (SQLAlchemy Core, SQLite or Postgres; the engine,
its URL checks and its retry of dropped connections are the ExecutionStore's). A judgement is
keyed by the answer's text, not by an audit: an answer any audit already had judged by this
model with this prompt is never sent to the judge again. The reason and the error are untrusted
text and are kept exactly (stored_text.py: NUL bytes, lone surrogates).

Writes are idempotent: a judged row is never overwritten. A judge_failed row may be replaced by
a later judgement of the same key (a re-run gives a throttled or unreadable answer another
chance; see judging.py), never the other way round.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from beacon_pipelines.analysis.response_class import ResponseClass
from beacon_pipelines.judge.verdict import JUDGE_FAILED, JUDGED, JudgeVerdict
from beacon_pipelines.store import ExecutionStore, create_tables
from beacon_pipelines.stored_text import UntrustedText

if TYPE_CHECKING:
    import pandas as pd

JUDGEMENT_COLUMNS = [
    "response_sha256",
    "judge_class",
    "judge_reason",
    "judge_status",
    "judge_model",
    "judge_prompt_sha256",
]
_READ_CHUNK = 500  # keys per IN (...) query: far below SQLite's and Postgres' parameter limits
_CREATE_LOCK_KEY = 0x6A75_6467_6573  # "judges": serializes table creation on Postgres

metadata = sa.MetaData()
judgements = sa.Table(
    "judgements",
    metadata,
    sa.Column("response_sha256", sa.String(64), primary_key=True),
    sa.Column("judge_model", sa.String(200), primary_key=True),
    sa.Column("prompt_sha256", sa.String(64), primary_key=True),
    sa.Column("class", sa.String(20)),  # a ResponseClass value; NULL when failed
    sa.Column("reason", UntrustedText, nullable=False),
    sa.Column("status", sa.String(20), nullable=False),  # judged | judge_failed
    sa.Column("attempts", sa.Integer, nullable=False),
    sa.Column("error", UntrustedText, nullable=False),
    sa.Column("judge_kind", sa.String(20), nullable=False),  # openai | modal
    sa.Column("created_at", sa.Float, nullable=False),
)


class JudgementStore:
    def __init__(self, url: str, retry_s: float = 30.0):
        self._base = ExecutionStore(url, retry_s, name="judgement store", url_source="")
        self.engine = self._base.engine
        self._created = False

    @classmethod
    def over(cls, store: ExecutionStore) -> JudgementStore:
        """The judgements in the execution store's database, through its engine (no second
        connection pool); the execution store's owner disposes of it."""
        judgements = cls.__new__(cls)
        judgements._base = store
        judgements.engine = store.engine
        judgements._created = False
        return judgements

    @property
    def display_url(self) -> str:
        return self._base.display_url

    def dispose(self) -> None:
        self._base.dispose()

    def create(self) -> JudgementStore:
        """Create the table if missing; safe when many processes start at once (as the
        execution store's create: an advisory lock on Postgres, a lost race retried on
        SQLite)."""
        if self._created:
            return self
        create_tables(self.engine, metadata, "judgement store", self._base.retry_s,
                      _CREATE_LOCK_KEY)
        self._created = True
        return self

    # -- reading -----------------------------------------------------------------------------

    def stored(
        self, sha256s: Iterable[str], judge_model: str, prompt_sha256: str
    ) -> dict[str, JudgeVerdict]:
        """The stored verdicts (judged and judge_failed) of these answers, by sha256."""
        self.create()
        keys = sorted(set(sha256s))
        c = judgements.c
        found: dict[str, JudgeVerdict] = {}
        for start in range(0, len(keys), _READ_CHUNK):
            chunk = keys[start : start + _READ_CHUNK]
            query = sa.select(
                c.response_sha256, c["class"], c.reason, c.status, c.attempts, c.error
            ).where(
                c.judge_model == judge_model,
                c.prompt_sha256 == prompt_sha256,
                c.response_sha256.in_(chunk),
            )

            def read(query=query):
                with self.engine.connect() as conn:
                    return conn.execute(query).all()

            for sha, cls, reason, status, attempts, error in self._base._retrying(
                "reading judgements", read
            ):
                found[sha] = JudgeVerdict(
                    sha,
                    ResponseClass(cls) if cls else None,
                    reason or "",
                    status,
                    int(attempts),
                    error or "",
                )
        return found

    def frame(self, sha256s: Iterable[str], judge_model: str, prompt_sha256: str) -> pd.DataFrame:
        """The judgements frame of these answers (one row per stored answer; see the issue-16
        contract): response_sha256, judge_class, judge_reason, judge_status, judge_model,
        judge_prompt_sha256."""
        import pandas as pd

        verdicts = self.stored(sha256s, judge_model, prompt_sha256)
        rows = [
            {
                "response_sha256": sha,
                "judge_class": v.judge_class.value if v.judged and v.judge_class else None,
                "judge_reason": v.reason if v.judged else "",
                "judge_status": v.status,
                "judge_model": judge_model,
                "judge_prompt_sha256": prompt_sha256,
            }
            for sha, v in sorted(verdicts.items())
        ]
        return pd.DataFrame(rows, columns=JUDGEMENT_COLUMNS).astype(
            {"judge_class": object, "judge_reason": str}
        )

    # -- writing -----------------------------------------------------------------------------

    def record_many(
        self,
        verdicts: Sequence[JudgeVerdict],
        judge_model: str,
        prompt_sha256: str,
        judge_kind: str = "",
    ) -> None:
        """One transaction for all of them. A judged row already stored is kept as it is; a
        judge_failed one is replaced by a judged verdict (or a newer failure)."""
        if not verdicts:
            return
        self.create()
        now = time.time()
        rows = {}
        for v in verdicts:
            if v.status not in (JUDGED, JUDGE_FAILED):
                raise ValueError(f"verdict status {v.status!r} is not {JUDGED} or {JUDGE_FAILED}")
            if v.judged and v.judge_class is None:
                raise ValueError(f"a judged verdict of {v.response_sha256} has no class")
            rows[v.response_sha256] = {
                "response_sha256": v.response_sha256,
                "judge_model": judge_model,
                "prompt_sha256": prompt_sha256,
                "class": v.judge_class.value if v.judge_class is not None else None,
                "reason": v.reason,
                "status": v.status,
                "attempts": v.attempts,
                "error": v.error,
                "judge_kind": judge_kind,
                "created_at": now,
            }

        def write() -> None:
            with self.engine.begin() as conn:
                insert = (postgresql if conn.dialect.name == "postgresql" else sqlite).insert
                statement = insert(judgements)
                replaced = {
                    name: statement.excluded[name]
                    for name in ("class", "reason", "status", "attempts", "error",
                                 "judge_kind", "created_at")
                }
                conn.execute(
                    statement.on_conflict_do_update(
                        index_elements=["response_sha256", "judge_model", "prompt_sha256"],
                        set_=replaced,
                        where=judgements.c.status == JUDGE_FAILED,
                    ),
                    list(rows.values()),
                )

        self._base._retrying("recording judgements", write)

    def count(self) -> int:
        self.create()

        def read() -> int:
            with self.engine.connect() as conn:
                return int(conn.execute(sa.select(sa.func.count()).select_from(judgements))
                           .scalar_one())

        return self._base._retrying("counting judgements", read)
