"""Durable execution records: one row per attempt, written the moment that attempt ends.

SQLAlchemy Core over SQLite (the default, under $DAGSTER_HOME) or any SQLAlchemy URL
(Postgres in production). Untrusted text is kept exactly on both, NUL bytes and lone surrogates
included (stored_text.py). The database enforces the promises the orchestration relies on:
one row per (execution, attempt), and at most one succeeded attempt per execution.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError, ProgrammingError

from beacon_pipelines.backends.base import InferenceResult
from beacon_pipelines.backends.receipt import (
    REGION_VERIFIED,
    UNVERIFIED,
    VERIFIED_NO,
    VERIFIED_YES,
    receipt_of,
)
from beacon_pipelines.plan import AuditPlan, ExecutionKey
from beacon_pipelines.stored_text import UntrustedText

if TYPE_CHECKING:  # pandas is imported where a frame is built: not by every worker at start
    import pandas as pd

SUCCEEDED = "succeeded"
FAILED = "failed"
REGION_VERDICTS = (VERIFIED_YES, VERIFIED_NO, UNVERIFIED)

EXECUTION_COLUMNS = [
    "audit_id",
    "model",
    "region",
    "question_id",
    "sample",
    "attempt",
    "requested_region",
    "served_region",
    "status",
    "started_at",
    "finished_at",
    "latency_s",
    "response",
    "error_type",
    "error_message",
    "response_sha256",
    "backend",
    "simulated",
    "prompt_tokens",
    "completion_tokens",
    "run_id",
    # Added by issue 17 (provenance); stores of earlier versions gain them at create().
    "served_cloud_region",
    "region_verified",
    "served_cloud_provider",
    "served_task_id",
    "served_gpu",
    "model_revision",
    "finish_reason",
    "prompt_sha256",
    "call_id",
    # Added by issue 19: the language the question was asked in (NULL: before languages, en).
    "language",
]

metadata = sa.MetaData()

audits = sa.Table(
    "beacon_audits",
    metadata,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("catalog_sha256", sa.String(64), nullable=False),
    sa.Column("backend", sa.String(50), nullable=False),
    sa.Column("models", sa.Text, nullable=False),  # JSON lists: small, read whole
    sa.Column("regions", sa.Text, nullable=False),
    sa.Column("questions", sa.Text, nullable=False),
    sa.Column("samples", sa.Integer, nullable=False, default=1),
)

executions = sa.Table(
    "beacon_executions",
    metadata,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),  # the requested region: whose answer
    sa.Column("question_id", sa.String(200), nullable=False),
    sa.Column("sample", sa.Integer, nullable=False, default=0),
    sa.Column("attempt", sa.Integer, nullable=False),
    sa.Column("requested_region", sa.String(100), nullable=False),
    sa.Column("served_region", sa.String(100)),
    sa.Column("status", sa.String(20), nullable=False),
    sa.Column("started_at", sa.Float, nullable=False),
    sa.Column("finished_at", sa.Float, nullable=False),
    sa.Column("latency_s", sa.Float, nullable=False),
    # Text a model or its server sent: UntrustedText keeps NUL bytes and lone surrogates,
    # which Postgres text (NUL) and UTF-8 (surrogates) cannot hold as they are.
    sa.Column("response", UntrustedText),
    sa.Column("error_type", sa.String(50)),
    sa.Column("error_message", UntrustedText),
    sa.Column("response_sha256", sa.String(64)),
    sa.Column("backend", sa.String(50), nullable=False),
    sa.Column("simulated", sa.Boolean, nullable=False, default=False),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("run_id", sa.String(64)),
    # What the serving side reported (untrusted, bounded text) and Beacon's verdict on it.
    # Nullable and without server defaults: ALTER TABLE ADD COLUMN can add them to old stores.
    sa.Column("served_cloud_region", UntrustedText),
    sa.Column("region_verified", sa.String(20)),  # yes, no, unverified
    sa.Column("served_cloud_provider", UntrustedText),
    sa.Column("served_task_id", UntrustedText),
    sa.Column("served_gpu", UntrustedText),
    sa.Column("model_revision", UntrustedText),
    sa.Column("finish_reason", UntrustedText),
    sa.Column("prompt_sha256", sa.String(64)),
    sa.Column("call_id", UntrustedText),  # the backend call that produced (or failed) this attempt
    sa.Column("language", sa.String(35)),  # the language asked in (en, zh, ...)
    sa.UniqueConstraint(
        "audit_id",
        "model",
        "region",
        "question_id",
        "sample",
        "attempt",
        name="uq_beacon_execution_attempt",
    ),
)
# At most one succeeded attempt per execution, whatever races or re-runs happen.
sa.Index(
    "uq_beacon_execution_succeeded",
    executions.c.audit_id,
    executions.c.model,
    executions.c.region,
    executions.c.question_id,
    executions.c.sample,
    unique=True,
    sqlite_where=executions.c.status == SUCCEEDED,
    postgresql_where=executions.c.status == SUCCEEDED,
)
# Who is answering a partition now: one holder per (audit, model, region), so two workers of
# the same audit never ask the backend the same questions (see partition_lease.py).
partition_leases = sa.Table(
    "beacon_partition_leases",
    metadata,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("region", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),  # unique per acquisition
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("renewed_at", sa.Float, nullable=False),
)
# Backend calls that may still be running (Modal): written before waiting on them, so a
# retry collects a late reply instead of calling (and paying) again. See backend_calls.py.
backend_calls = sa.Table(
    "beacon_backend_calls",
    metadata,
    sa.Column("call_id", sa.String(200), primary_key=True),
    sa.Column("audit_id", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),  # the partition's (requested) region
    sa.Column("target_region", sa.String(100), nullable=False),  # where the call runs
    sa.Column("backend", sa.String(50), nullable=False),
    sa.Column("keys", sa.Text, nullable=False),  # JSON [[question_id, sample], ...]
    sa.Column("spawned_at", sa.Float, nullable=False),
    sa.Column("budget_until", sa.Float, nullable=False),
    sa.Column("state", sa.String(20), nullable=False),  # open, or how it was closed
    sa.Column("closed_at", sa.Float),
    sa.Column("run_id", sa.String(64)),
)
sa.Index(
    "ix_beacon_backend_calls_partition",
    backend_calls.c.audit_id,
    backend_calls.c.model,
    backend_calls.c.region,
    backend_calls.c.state,
)
sa.Index(
    "ix_beacon_executions_audit", executions.c.audit_id, executions.c.model, executions.c.region
)
# Progress polls count an audit's succeeded executions every 0.5 s: from this index alone
# (covering), not from 90,000 rows of a big audit (200 ms a poll on SQLite without it).
sa.Index("ix_beacon_executions_audit_status", executions.c.audit_id, executions.c.status)
# The text each question of an audit had (its sha256, and the text): audits of different
# catalogs are compared on the questions they share by id *and* text. Older audits have no
# rows here; they are matched by id alone.
audit_questions = sa.Table(
    "beacon_audit_questions",
    metadata,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("question_id", sa.String(200), primary_key=True),
    sa.Column("text_sha256", sa.String(64), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
)
# How an audit is being driven and whether someone asked it to stop. A table of its own (not
# columns on beacon_audits) so a store made by an earlier Beacon gains it by create_all, with
# no ALTER: an audit without a row was never cancelled and has no known driver.
audit_control = sa.Table(
    "beacon_audit_control",
    metadata,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    # Set by `beacon cancel`, Ctrl-C or a run terminated in the UI; cleared when resumed.
    sa.Column("cancel_requested_at", sa.Float),
    sa.Column("cancel_reason", sa.Text),
    # The `beacon audit` process driving the audit now (None when none is).
    sa.Column("driver_host", sa.String(255)),
    sa.Column("driver_pid", sa.Integer),
    sa.Column("updated_at", sa.Float, nullable=False),
)
# The judge an audit is judged by (issue 16): its judgements are read under this key (model,
# prompt sha256), so the audit's analysis and `beacon report` use the judgements its run made.
# A table of its own, like beacon_audit_control: older stores gain it by create_all. An audit
# without a row has no judge.
audit_judges = sa.Table(
    "beacon_audit_judges",
    metadata,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("judge_kind", sa.String(20), nullable=False),
    sa.Column("judge_model", sa.String(200), nullable=False),
    sa.Column("judge_prompt_sha256", sa.String(64), nullable=False),
    sa.Column("recorded_at", sa.Float, nullable=False),
)


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message names the database (without secrets)."""


class AuditConflictError(ValueError):
    """An audit id reused with a different plan."""


class AuditJudgeConflictError(ValueError):
    """An audit already judged by another judge model or prompt."""


@dataclass(frozen=True)
class AuditJudge:
    kind: str  # openai, modal
    model: str
    prompt_sha256: str

    @property
    def key(self) -> tuple[str, str]:
        """What judgements are stored under (the kind only says how they were reached)."""
        return self.model, self.prompt_sha256

    @classmethod
    def of(cls, client) -> AuditJudge:
        """The record of a judge client (judge.client.JudgeClient)."""
        return cls(client.kind, client.model, client.prompt_sha256)

    def describe(self) -> str:
        return f"{self.kind} judge {self.model!r} (prompt sha256 {self.prompt_sha256[:12]}…)"

    def check_same(self, audit_id: str, given: AuditJudge) -> None:
        """AuditJudgeConflictError unless `given` stores its judgements under this key: an
        audit judged partly by one judge and partly by another would not analyse as one."""
        if given.key != self.key:
            raise AuditJudgeConflictError(
                f"audit {audit_id!r} is judged by {self.describe()}, not {given.describe()}: "
                "resume it with the same judge, or start a new audit"
            )


@dataclass(frozen=True)
class StoredAnswer:
    question_id: str
    sample: int
    response: str | None
    response_sha256: str | None


class DuplicateAttemptError(StoreError):
    """Another worker already recorded this attempt, or a success of this execution: a bug
    in who may answer a partition (see partition_lease.py), never a regional failure."""


# The one variable that points Beacon at another store (Postgres in production); read only here.
STORE_URL_ENV = "BEACON_STORE_URL"


def default_store_url(dagster_home: str | os.PathLike | None = None) -> str:
    home = Path(dagster_home or os.environ.get("DAGSTER_HOME") or ".dagster_home")
    return f"sqlite:///{(home / 'beacon.db').resolve()}"


def configured_store_url() -> str | None:
    """The store URL set in the environment ($BEACON_STORE_URL), if any."""
    return os.environ.get(STORE_URL_ENV) or None


def resolve_store_url(dagster_home: str | os.PathLike | None = None) -> str:
    """Where executions are stored: $BEACON_STORE_URL, else SQLite beside the instance."""
    return configured_store_url() or default_store_url(dagster_home)


def store_exists(url: str) -> bool:
    """False only for a SQLite store whose file is not there: opening it would create it.
    Whether a server's database exists is found out by reaching it."""
    try:
        parsed = sa.engine.make_url(url)
    except sa.exc.ArgumentError:
        return True  # ExecutionStore refuses it, without echoing it
    if parsed.get_backend_name() != "sqlite" or parsed.database in (None, "", ":memory:"):
        return True
    return Path(parsed.database).is_file()


def display_store_url(url: str) -> str:
    """The URL as shown to people: the password masked."""
    return sa.engine.make_url(url).render_as_string(hide_password=True)


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


def _one_line(exc: BaseException) -> str:
    """The driver's message on one line (psycopg2's span several), without the SQL."""
    orig = getattr(exc, "orig", None) or exc
    return " ".join(str(orig).split()) or type(orig).__name__


def _is_transient(exc: DBAPIError) -> bool:
    """A dropped connection or a server going away (restart, pg_terminate_backend, failover),
    or SQLite busy: worth retrying. Constraint violations and bad SQL are not."""
    return exc.connection_invalidated or isinstance(exc, OperationalError)


# Key of the Postgres advisory lock that serializes table creation across processes.
_CREATE_LOCK_KEY = 0x6265_6163_6F6E  # "beacon"


def create_tables(
    engine, tables: sa.MetaData, name: str, retry_s: float, lock_key: int, upgrade=None
) -> None:
    """Create `tables` if missing (then `upgrade(conn)` in the same transaction); safe when
    many processes start at once.

    On Postgres an advisory lock serializes the check-and-create (DDL is transactional there,
    so the lock is held until the tables are committed). SQLite has no such lock: a process
    that loses the race sees "already exists" and checks again. An unreachable database fails
    at once, with one line naming the store (`name`) and its URL without the password.
    """
    deadline = time.monotonic() + retry_s
    attempt = 0
    while True:
        attempt += 1
        try:
            with engine.begin() as conn:
                if conn.dialect.name == "postgresql":
                    conn.execute(
                        sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": lock_key}
                    )
                tables.create_all(conn, checkfirst=True)
                if upgrade is not None:
                    upgrade(conn)
            return
        except (IntegrityError, ProgrammingError, OperationalError) as exc:
            # "duplicate column": another process upgraded an old store at the same time.
            lost_race = (
                any(s in str(exc) for s in ("already exists", "duplicate column"))
                or isinstance(exc, IntegrityError)
            )
            # An established connection that dropped, unlike a refused one, is retried.
            dropped = exc.connection_invalidated
            if not (lost_race or dropped) or time.monotonic() > deadline:
                raise StoreError(
                    f"cannot use the {name} at {_safe_url(engine)}: {_one_line(exc)}"
                ) from None
            time.sleep(min(0.1 * attempt, 2.0))


class ExecutionStore:
    """`retry_s`: how long an operation keeps retrying a dropped connection before it fails
    with a StoreError (a database restart or failover takes seconds)."""

    def __init__(
        self,
        url: str,
        retry_s: float = 30.0,
        name: str = "execution store",
        url_source: str = f" ({STORE_URL_ENV})",
    ):
        """`name` and `url_source` (where the URL came from) are what errors call the store:
        the judgement store is this store under another name."""
        self.retry_s = retry_s
        self.name = name
        try:
            parsed = sa.engine.make_url(url)
        except sa.exc.ArgumentError:
            # The URL may hold a password: never echo it.
            raise StoreError(
                f"the {name} URL{url_source} is not a SQLAlchemy URL; expected "
                "e.g. postgresql+psycopg2://user:password@host:5432/db or sqlite:///path.db"
            ) from None
        safe = parsed.render_as_string(hide_password=True)
        try:
            dialect = parsed.get_dialect()  # an unknown scheme ("pg://") fails here
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"cannot use the {name} at {safe}: {_one_line(exc)}; expected "
                "postgresql+psycopg2://... or sqlite:///..."
            ) from None
        kwargs: dict = {}
        if dialect.name == "sqlite":
            if parsed.database and parsed.database != ":memory:":
                try:
                    Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
                except OSError as exc:
                    raise StoreError(
                        f"cannot create the folder of the {name} {parsed.database}: "
                        f"{exc.strerror}"
                    ) from None
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True  # a connection the server dropped is replaced
            if dialect.driver == "psycopg2":
                # An unreachable host fails in seconds, not at the TCP timeout.
                kwargs["connect_args"] = {"connect_timeout": 10}
        try:
            self.engine = sa.create_engine(parsed, **kwargs)
        except (sa.exc.NoSuchModuleError, ImportError) as exc:
            raise StoreError(
                f"cannot use the {name} at {safe}: {_one_line(exc)}"
                + ("; use postgresql+psycopg2://..." if "psycopg" in str(exc) else "")
            ) from None
        if parsed.get_backend_name() == "sqlite":
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._created = False

    @property
    def display_url(self) -> str:
        return _safe_url(self.engine)

    def create(self) -> ExecutionStore:
        """Create the tables if missing, and add the columns and indexes a store created by an
        earlier version lacks; safe when many processes start at once (`create_tables`)."""
        if self._created:
            return self

        def upgrade(conn) -> None:
            _add_missing_columns(conn)
            _add_missing_indexes(conn)

        create_tables(
            self.engine, metadata, self.name, self.retry_s, _CREATE_LOCK_KEY, upgrade
        )
        self._created = True
        return self

    def _retrying(self, what: str, operation):
        """Run `operation` (which opens its own connection), retrying a dropped connection
        with backoff for up to `retry_s`; then fail with a StoreError naming what failed."""
        deadline = time.monotonic() + self.retry_s
        delay = 0.1
        while True:
            try:
                return operation()
            except DBAPIError as exc:
                if not _is_transient(exc) or time.monotonic() + delay > deadline:
                    if isinstance(exc, IntegrityError):
                        raise
                    raise StoreError(
                        f"{self.name} at {self.display_url}: {what} failed: {_one_line(exc)}"
                    ) from None
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- audits ------------------------------------------------------------------------------

    def register_audit(self, plan: AuditPlan) -> AuditPlan:
        """Store the plan, or return the stored one if it matches; another plan is an error."""
        self.create()
        existing = self.get_audit(plan.audit_id)
        if existing is None:
            row = {
                "audit_id": plan.audit_id,
                "created_at": plan.created_at or time.time(),
                "catalog_sha256": plan.catalog_sha256,
                "backend": plan.backend,
                "models": json.dumps(list(plan.models)),
                "regions": json.dumps(list(plan.regions)),
                "questions": json.dumps(list(plan.questions)),
                "samples": plan.samples,
            }

            def insert() -> None:
                with self.engine.begin() as conn:
                    conn.execute(audits.insert().values(**row))

            try:
                self._retrying(f"registering audit {plan.audit_id!r}", insert)
            except IntegrityError:
                pass  # registered concurrently (or by our own lost-ack retry): compare below
            existing = self.get_audit(plan.audit_id)
        assert existing is not None
        if not existing.same_plan(plan):
            raise AuditConflictError(
                f"audit {plan.audit_id!r} already exists with a different plan "
                f"(models {list(existing.models)}, regions {list(existing.regions)}, "
                f"questions {list(existing.questions)}, samples {existing.samples}, "
                f"backend {existing.backend}); use a new --audit-id"
            )
        return existing

    def record_question_texts(self, audit_id: str, texts: dict[str, str]) -> None:
        """Keep the text of each question as the audit asked it (first writer wins)."""
        self.create()
        known = self.question_hashes(audit_id)
        rows = [
            {"audit_id": audit_id, "question_id": q, "text": t,
             "text_sha256": hashlib.sha256(t.encode()).hexdigest()}
            for q, t in texts.items() if q not in known
        ]
        if not rows:
            return

        def insert() -> None:
            with self.engine.begin() as conn:
                conn.execute(audit_questions.insert(), rows)

        try:
            self._retrying(f"recording the questions of audit {audit_id!r}", insert)
        except IntegrityError:
            pass  # recorded concurrently by another worker of the same audit

    def question_hashes(self, audit_id: str) -> dict[str, str]:
        """question id -> sha256 of its text as this audit asked it ({} for older audits)."""
        self.create()
        c = audit_questions.c
        query = sa.select(c.question_id, c.text_sha256).where(c.audit_id == audit_id)

        def read():
            with self.engine.connect() as conn:
                return dict(conn.execute(query).all())

        return self._retrying(f"reading the questions of audit {audit_id!r}", read)

    def get_audit(self, audit_id: str) -> AuditPlan | None:
        self.create()

        def read():
            with self.engine.connect() as conn:
                return conn.execute(sa.select(audits).where(audits.c.audit_id == audit_id)).first()

        row = self._retrying(f"reading audit {audit_id!r}", read)
        return None if row is None else _plan_from_row(row)

    def list_audits(self) -> list[AuditPlan]:
        self.create()

        def read():
            with self.engine.connect() as conn:
                return conn.execute(sa.select(audits).order_by(audits.c.created_at)).all()

        return [_plan_from_row(r) for r in self._retrying("listing audits", read)]

    # -- executions --------------------------------------------------------------------------

    def record(self, result: InferenceResult, backend: str, run_id: str | None = None) -> None:
        """Persist one attempt now, in its own transaction (see record_many)."""
        self.record_many([result], backend, run_id)

    def record_many(
        self, results: list[InferenceResult], backend: str, run_id: str | None = None
    ) -> None:
        """Persist attempts (one backend call's) now, together in one transaction, so a crash
        loses nothing stored before it and a batch costs one commit, not one per answer.

        A dropped connection is retried (see `retry_s`). If the drop hid whether the commit
        happened, the retry finds the first row it wrote and stops: the transaction wrote all
        or none, so attempts are written once, and a write that cannot be made raises
        StoreError rather than vanish."""
        if not results:
            return
        self.create()
        rows = [_execution_row(result, backend, run_id) for result in results]
        tries = 0

        def write() -> None:
            nonlocal tries
            tries += 1
            with self.engine.begin() as conn:
                if tries > 1 and _already_recorded(conn, rows[0]):
                    return
                conn.execute(executions.insert(), rows)

        req = results[0].request
        what = (
            f"attempt {req.attempt} of ({req.model_id}, {req.requested_region}, "
            f"{req.question_id}, sample {req.sample})"
        )
        if len(rows) > 1:
            what = f"{len(rows)} attempts from {what} on"
        try:
            self._retrying(f"recording {what}", write)
        except IntegrityError:
            raise DuplicateAttemptError(
                f"execution store at {self.display_url}: {what} of audit {req.audit_id!r} was "
                "already recorded by another worker"
            ) from None

    def attempts_so_far(
        self, audit_id: str, model: str, region: str
    ) -> dict[ExecutionKey, tuple[int, bool]]:
        """key -> (highest attempt number, whether any attempt succeeded)."""
        self.create()
        c = executions.c
        query = (
            sa.select(
                c.model,
                c.region,
                c.question_id,
                c.sample,
                sa.func.max(c.attempt),
                sa.func.max(sa.case((c.status == SUCCEEDED, 1), else_=0)),
            )
            .where(c.audit_id == audit_id, c.model == model, c.region == region)
            .group_by(c.model, c.region, c.question_id, c.sample)
        )

        def read():
            with self.engine.connect() as conn:
                return {(m, r, q, s): (a, bool(ok)) for m, r, q, s, a, ok in conn.execute(query)}

        return self._retrying(f"reading attempts of ({model}, {region})", read)

    def succeeded_keys(self, audit_id: str) -> set[ExecutionKey]:
        self.create()
        c = executions.c
        query = sa.select(c.model, c.region, c.question_id, c.sample).where(
            c.audit_id == audit_id, c.status == SUCCEEDED
        )

        def read():
            with self.engine.connect() as conn:
                return {tuple(r) for r in conn.execute(query)}

        return self._retrying(f"reading succeeded executions of {audit_id!r}", read)

    def executions_frame(self, audit_id: str, succeeded_only: bool = False) -> pd.DataFrame:
        self.create()
        query = sa.select(*[executions.c[name] for name in EXECUTION_COLUMNS]).where(
            executions.c.audit_id == audit_id
        )
        if succeeded_only:
            query = query.where(executions.c.status == SUCCEEDED)
        query = query.order_by(executions.c.id)

        def read():
            with self.engine.connect() as conn:
                return conn.execute(query).all()

        rows = self._retrying(f"reading executions of {audit_id!r}", read)
        import pandas as pd

        return pd.DataFrame(rows, columns=EXECUTION_COLUMNS)

    # -- backend calls -----------------------------------------------------------------------

    def record_call(self, row: dict) -> None:
        """Note a call that has started, before anyone waits on it."""
        self.create()

        def write() -> None:
            with self.engine.begin() as conn:
                exists = conn.execute(
                    sa.select(backend_calls.c.call_id).where(
                        backend_calls.c.call_id == row["call_id"]
                    )
                ).first()
                if exists is None:  # a retried write whose commit went through
                    conn.execute(backend_calls.insert().values(**row))

        self._retrying(f"recording call {row['call_id']!r}", write)

    def open_calls(self, audit_id: str, model: str, region: str) -> list[dict]:
        self.create()
        c = backend_calls.c
        query = (
            sa.select(backend_calls)
            .where(c.audit_id == audit_id, c.model == model, c.region == region)
            .where(c.state == "open")
            .order_by(c.spawned_at)
        )

        def read():
            with self.engine.connect() as conn:
                return [dict(r._mapping) for r in conn.execute(query)]

        return self._retrying(f"reading open calls of ({model}, {region})", read)

    def close_call(self, call_id: str, state: str, now: float) -> None:
        c = backend_calls.c

        def close() -> None:
            with self.engine.begin() as conn:
                conn.execute(
                    backend_calls.update()
                    .where(c.call_id == call_id, c.state == "open")
                    .values(state=state, closed_at=now)
                )

        self._retrying(f"closing call {call_id!r}", close)

    def calls_frame(self, audit_id: str) -> pd.DataFrame:
        self.create()
        query = (
            sa.select(backend_calls)
            .where(backend_calls.c.audit_id == audit_id)
            .order_by(backend_calls.c.spawned_at)
        )

        def read():
            with self.engine.connect() as conn:
                return conn.execute(query).all()

        rows = self._retrying(f"reading calls of {audit_id!r}", read)
        import pandas as pd

        return pd.DataFrame(rows, columns=[c.name for c in backend_calls.columns])

    def succeeded_counts(self, audit_ids: list[str] | None = None) -> dict[str, int]:
        """audit id -> executions with a succeeded attempt, for these audits (default: every
        audit at once). Counted in the database: progress polls need no list of keys."""
        self.create()
        c = executions.c
        query = (
            sa.select(c.audit_id, sa.func.count())
            .where(c.status == SUCCEEDED)
            .group_by(c.audit_id)
        )
        if audit_ids is not None:
            query = query.where(c.audit_id.in_(audit_ids))

        def read():
            with self.engine.connect() as conn:
                return {audit_id: int(n) for audit_id, n in conn.execute(query)}

        return self._retrying("counting succeeded executions", read)

    def succeeded_count(self, audit_id: str) -> int:
        return self.succeeded_counts([audit_id]).get(audit_id, 0)

    # -- audit control: cancel requests and the driving process ------------------------------

    def _set_control(self, audit_id: str, what: str, **values) -> None:
        values["updated_at"] = time.time()

        where = audit_control.c.audit_id == audit_id

        def write() -> None:
            with self.engine.begin() as conn:
                if conn.execute(audit_control.update().where(where).values(**values)).rowcount:
                    return
                conn.execute(audit_control.insert().values(audit_id=audit_id, **values))

        self.create()
        try:
            self._retrying(f"{what} of audit {audit_id!r}", write)
        except IntegrityError:  # another process inserted the row in between: update it
            self._retrying(f"{what} of audit {audit_id!r}", write)

    def request_cancel(self, audit_id: str, reason: str) -> float:
        """Ask every process working on the audit to stop; returns when it was first asked."""
        current = self.audit_control(audit_id)
        if current and current["cancel_requested_at"] is not None:
            return current["cancel_requested_at"]
        now = time.time()
        self._set_control(
            audit_id, "recording a cancel request", cancel_requested_at=now, cancel_reason=reason
        )
        return now

    def clear_cancel(self, audit_id: str) -> None:
        """A resumed audit is no longer cancelled."""
        if self.audit_control(audit_id) is not None:
            self._set_control(
                audit_id, "clearing a cancel request", cancel_requested_at=None, cancel_reason=None
            )

    def set_driver(self, audit_id: str, host: str | None, pid: int | None) -> None:
        self._set_control(audit_id, "recording the driving process", driver_host=host,
                          driver_pid=pid)

    def audit_control(self, audit_id: str) -> dict | None:
        return self.audit_controls([audit_id]).get(audit_id)

    def audit_controls(self, audit_ids: list[str] | None = None) -> dict[str, dict]:
        """audit id -> its control row (cancel request, driver), for audits that have one."""
        self.create()
        query = sa.select(audit_control)
        if audit_ids is not None:
            query = query.where(audit_control.c.audit_id.in_(audit_ids))

        def read():
            with self.engine.connect() as conn:
                return {r.audit_id: dict(r._mapping) for r in conn.execute(query)}

        return self._retrying("reading audit control", read)

    # -- the audit's judge -------------------------------------------------------------------

    def audit_judge(self, audit_id: str) -> AuditJudge | None:
        """The judge the audit is judged by; None for an audit without one."""
        self.create()
        c = audit_judges.c
        query = sa.select(c.judge_kind, c.judge_model, c.judge_prompt_sha256).where(
            c.audit_id == audit_id
        )

        def read():
            with self.engine.connect() as conn:
                return conn.execute(query).first()

        row = self._retrying(f"reading the judge of audit {audit_id!r}", read)
        return None if row is None else AuditJudge(*row)

    def set_audit_judge(self, audit_id: str, judge: AuditJudge) -> AuditJudge:
        """Record the audit's judge (first writer wins); AuditJudgeConflictError when the audit
        is already judged by another model or prompt, whose judgements its analysis reads."""
        existing = self.audit_judge(audit_id)
        if existing is None:
            row = {
                "audit_id": audit_id,
                "judge_kind": judge.kind,
                "judge_model": judge.model,
                "judge_prompt_sha256": judge.prompt_sha256,
                "recorded_at": time.time(),
            }

            def insert() -> None:
                with self.engine.begin() as conn:
                    conn.execute(audit_judges.insert().values(**row))

            try:
                self._retrying(f"recording the judge of audit {audit_id!r}", insert)
            except IntegrityError:
                pass  # recorded concurrently by another partition of the same audit
            existing = self.audit_judge(audit_id)
        if existing is None:
            return judge
        existing.check_same(audit_id, judge)
        return existing

    def partition_answers(self, audit_id: str, model: str, region: str) -> list[StoredAnswer]:
        """The succeeded executions of one (model, region) of an audit, without pandas (the
        judge step runs in the partition's worker, which never imports it)."""
        self.create()
        c = executions.c
        query = (
            sa.select(c.question_id, c.sample, c.response, c.response_sha256)
            .where(
                c.audit_id == audit_id,
                c.model == model,
                c.region == region,
                c.status == SUCCEEDED,
            )
            .order_by(c.question_id, c.sample)
        )

        def read():
            with self.engine.connect() as conn:
                return conn.execute(query).all()

        rows = self._retrying(f"reading the answers of {model} in {region} of {audit_id!r}", read)
        return [StoredAnswer(*row) for row in rows]

    def response_sha256s(self, audit_id: str) -> set[str]:
        """The sha256 of every succeeded answer of an audit (the key its judgements are under)."""
        self.create()
        c = executions.c
        query = sa.select(c.response_sha256).where(
            c.audit_id == audit_id, c.status == SUCCEEDED, c.response_sha256.is_not(None)
        )

        def read():
            with self.engine.connect() as conn:
                return {r[0] for r in conn.execute(query)}

        return self._retrying(f"reading the answers of audit {audit_id!r}", read)

    # -- partition leases --------------------------------------------------------------------

    def claim_lease(self, row: dict, replaces: str | None = None) -> dict | None:
        """Take the lease of (audit_id, model, region) for row["holder"]: insert it, or, when
        `replaces` names the current holder, swap that holder out (compare-and-set: of two
        claimants of a dead holder's lease, one wins). None when the lease is now ours, else
        the row of whoever holds it."""
        self.create()
        c = partition_leases.c
        where = _lease_key(row)

        def claim() -> bool:
            with self.engine.begin() as conn:
                if replaces is not None:
                    update = partition_leases.update().where(where, c.holder == replaces)
                    return conn.execute(update.values(**row)).rowcount == 1
                try:
                    conn.execute(partition_leases.insert().values(**row))
                    return True
                except IntegrityError:
                    return False

        def holder() -> dict | None:
            with self.engine.connect() as conn:
                current = conn.execute(sa.select(partition_leases).where(where)).first()
            return None if current is None else dict(current._mapping)

        what = f"leasing ({row['model']}, {row['region']}) of {row['audit_id']!r}"
        if self._retrying(what, claim):
            return None
        held = self._retrying(what, holder)
        if held is None:  # released in between: try again
            return self.claim_lease(row)
        # A retried insert whose first commit went through finds our own row.
        return None if held["holder"] == row["holder"] else held

    def renew_lease(self, row: dict, now: float) -> bool:
        """Refresh our lease; False when it is no longer ours (taken over as stale)."""
        ours = _our_lease(row)

        def renew() -> bool:
            with self.engine.begin() as conn:
                update = partition_leases.update().where(ours).values(renewed_at=now)
                return conn.execute(update).rowcount == 1

        return self._retrying(f"renewing the lease of ({row['model']}, {row['region']})", renew)

    def release_lease(self, row: dict) -> None:
        ours = _our_lease(row)

        def release() -> None:
            with self.engine.begin() as conn:
                conn.execute(partition_leases.delete().where(ours))

        self._retrying(f"releasing the lease of ({row['model']}, {row['region']})", release)

    def dispose(self) -> None:
        self.engine.dispose()


def _execution_row(result: InferenceResult, backend: str, run_id: str | None) -> dict:
    req = result.request
    return {
        "audit_id": req.audit_id,
        "model": req.model_id,
        "region": req.requested_region,
        "question_id": req.question_id,
        "sample": req.sample,
        "attempt": req.attempt,
        "requested_region": req.requested_region,
        "served_region": result.served_region,
        "status": SUCCEEDED if result.ok else FAILED,
        "started_at": result.started_at,
        "finished_at": result.finished_at,
        "latency_s": result.latency_s,
        "response": result.text,
        "error_type": result.error_kind.value if result.error_kind else None,
        "error_message": result.error_message,
        "response_sha256": result.response_sha256,
        "backend": backend,
        "simulated": result.simulated,
        "prompt_tokens": result.prompt_tokens,
        "completion_tokens": result.completion_tokens,
        "run_id": run_id,
        "language": req.language,
        **_receipt_columns(result),
    }


def _receipt_columns(result: InferenceResult) -> dict:
    receipt = receipt_of(result.extra)
    verdict = result.extra.get(REGION_VERIFIED)
    return {
        "served_cloud_region": receipt.cloud_region,
        "region_verified": verdict if verdict in REGION_VERDICTS else UNVERIFIED,
        "served_cloud_provider": receipt.cloud_provider,
        "served_task_id": receipt.task_id,
        "served_gpu": receipt.gpu,
        "model_revision": receipt.model_revision,
        "finish_reason": receipt.finish_reason,
        "prompt_sha256": result.request.prompt_sha256,
        "call_id": receipt.call_id,
    }


def _add_missing_columns(conn) -> None:
    """Bring a store created by an earlier Beacon up to this schema, in place: each column
    this version added is added with ALTER TABLE ADD COLUMN (nullable, no default: old rows
    read as NULL, which every reader takes as "not reported")."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        present = {c["name"] for c in inspector.get_columns(table.name)}
        for column in table.columns:
            if column.name in present:
                continue
            preparer = conn.dialect.identifier_preparer
            definition = sa.schema.CreateColumn(column).compile(dialect=conn.dialect)
            conn.execute(
                sa.text(f"ALTER TABLE {preparer.format_table(table)} ADD COLUMN {definition}")
            )


def _add_missing_indexes(conn) -> None:
    """create_all adds no index to a table that already exists: add those this version
    added (an index is only a speed-up; old rows are indexed as it is built)."""
    inspector = sa.inspect(conn)
    for table in metadata.sorted_tables:
        present = {i["name"] for i in inspector.get_indexes(table.name)}
        for index in table.indexes:
            if index.name not in present:
                index.create(conn)


def _lease_key(row: dict):
    """The lease row of this (audit, model, region), whoever holds it."""
    c = partition_leases.c
    return sa.and_(*(c[k] == row[k] for k in ("audit_id", "model", "region")))


def _our_lease(row: dict):
    """The same lease, only while `row`'s holder still holds it."""
    return sa.and_(_lease_key(row), partition_leases.c.holder == row["holder"])


def _already_recorded(conn, row: dict) -> bool:
    """Whether this very attempt (same key, same outcome and times) is already a row."""
    c = executions.c
    found = conn.execute(
        sa.select(c.status, c.started_at, c.finished_at, c.response_sha256).where(
            c.audit_id == row["audit_id"],
            c.model == row["model"],
            c.region == row["region"],
            c.question_id == row["question_id"],
            c.sample == row["sample"],
            c.attempt == row["attempt"],
        )
    ).first()
    return found is not None and tuple(found) == (
        row["status"],
        row["started_at"],
        row["finished_at"],
        row["response_sha256"],
    )


def _plan_from_row(row) -> AuditPlan:
    return AuditPlan(
        audit_id=row.audit_id,
        catalog_sha256=row.catalog_sha256,
        backend=row.backend,
        models=tuple(json.loads(row.models)),
        regions=tuple(json.loads(row.regions)),
        questions=tuple(json.loads(row.questions)),
        samples=row.samples,
        created_at=row.created_at,
    )


def _sqlite_pragmas(dbapi_connection, _record) -> None:
    # WAL lets partitions in several processes write while others read.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()
