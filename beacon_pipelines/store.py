"""Durable execution records: one row per attempt, written the moment that attempt ends.

SQLAlchemy Core over SQLite (the default, under $DAGSTER_HOME) or any SQLAlchemy URL
(Postgres in production). The database enforces the promises the orchestration relies on:
one row per (execution, attempt), and at most one succeeded attempt per execution.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pandas as pd
import sqlalchemy as sa
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError

from beacon_pipelines.audit_plan import AuditPlan, ExecutionKey
from beacon_pipelines.backends.base import InferenceResult

SUCCEEDED = "succeeded"
FAILED = "failed"

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
    sa.Column("response", sa.Text),
    sa.Column("error_type", sa.String(50)),
    sa.Column("error_message", sa.Text),
    sa.Column("response_sha256", sa.String(64)),
    sa.Column("backend", sa.String(50), nullable=False),
    sa.Column("simulated", sa.Boolean, nullable=False, default=False),
    sa.Column("prompt_tokens", sa.Integer),
    sa.Column("completion_tokens", sa.Integer),
    sa.Column("run_id", sa.String(64)),
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
sa.Index(
    "ix_beacon_executions_audit", executions.c.audit_id, executions.c.model, executions.c.region
)


class StoreError(RuntimeError):
    """The store cannot be reached or used; the message names the database (without secrets)."""


class AuditConflictError(ValueError):
    """An audit id reused with a different plan."""


def default_store_url(dagster_home: str | os.PathLike | None = None) -> str:
    home = Path(dagster_home or os.environ.get("DAGSTER_HOME") or ".dagster_home")
    return f"sqlite:///{(home / 'beacon.db').resolve()}"


def _safe_url(engine: Engine) -> str:
    return engine.url.render_as_string(hide_password=True)


class ExecutionStore:
    def __init__(self, url: str):
        kwargs: dict = {"future": True}
        if url.startswith("sqlite"):
            path = url.split("///", 1)[-1]
            if path and path != ":memory:":
                Path(path).parent.mkdir(parents=True, exist_ok=True)
            kwargs["connect_args"] = {"timeout": 30}
        else:
            kwargs["pool_pre_ping"] = True  # survive a restarted database server
        self.engine = sa.create_engine(url, **kwargs)
        if url.startswith("sqlite"):
            sa.event.listen(self.engine, "connect", _sqlite_pragmas)
        self._created = False

    @property
    def display_url(self) -> str:
        return _safe_url(self.engine)

    def create(self) -> ExecutionStore:
        """Create the tables if missing; safe when several processes start at once."""
        if self._created:
            return self
        for _ in range(3):
            try:
                metadata.create_all(self.engine, checkfirst=True)
                break
            except (IntegrityError, ProgrammingError):
                # Another process created the same table between our check and our CREATE.
                time.sleep(0.2)
            except OperationalError as exc:
                if "already exists" in str(exc):
                    time.sleep(0.2)
                    continue
                raise StoreError(
                    f"cannot use the execution store at {self.display_url}: {exc.orig}"
                ) from None
        self._created = True
        return self

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
            try:
                with self.engine.begin() as conn:
                    conn.execute(audits.insert().values(**row))
            except IntegrityError:
                pass  # registered concurrently by another partition of the same audit
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

    def get_audit(self, audit_id: str) -> AuditPlan | None:
        self.create()
        with self.engine.connect() as conn:
            row = conn.execute(sa.select(audits).where(audits.c.audit_id == audit_id)).first()
        return None if row is None else _plan_from_row(row)

    def list_audits(self) -> list[AuditPlan]:
        self.create()
        with self.engine.connect() as conn:
            rows = conn.execute(sa.select(audits).order_by(audits.c.created_at)).all()
        return [_plan_from_row(r) for r in rows]

    # -- executions --------------------------------------------------------------------------

    def record(self, result: InferenceResult, backend: str, run_id: str | None = None) -> None:
        """Persist one attempt now, in its own transaction, so a crash loses nothing before it."""
        req = result.request
        row = {
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
        }
        with self.engine.begin() as conn:
            conn.execute(executions.insert().values(**row))

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
        with self.engine.connect() as conn:
            return {(m, r, q, s): (a, bool(ok)) for m, r, q, s, a, ok in conn.execute(query)}

    def succeeded_keys(self, audit_id: str) -> set[ExecutionKey]:
        self.create()
        c = executions.c
        query = sa.select(c.model, c.region, c.question_id, c.sample).where(
            c.audit_id == audit_id, c.status == SUCCEEDED
        )
        with self.engine.connect() as conn:
            return {tuple(r) for r in conn.execute(query)}

    def executions_frame(self, audit_id: str, succeeded_only: bool = False) -> pd.DataFrame:
        self.create()
        query = sa.select(*[executions.c[name] for name in EXECUTION_COLUMNS]).where(
            executions.c.audit_id == audit_id
        )
        if succeeded_only:
            query = query.where(executions.c.status == SUCCEEDED)
        query = query.order_by(executions.c.id)
        with self.engine.connect() as conn:
            rows = conn.execute(query).all()
        return pd.DataFrame(rows, columns=EXECUTION_COLUMNS)

    def dispose(self) -> None:
        self.engine.dispose()


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
