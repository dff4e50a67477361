"""The execution store's tables as Beacon created them before issue 17 (provenance columns),
frozen here so the in-place upgrade is tested against the real previous schema."""

from __future__ import annotations

import time

import sqlalchemy as sa

previous = sa.MetaData()

sa.Table(
    "beacon_audits",
    previous,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("created_at", sa.Float, nullable=False),
    sa.Column("catalog_sha256", sa.String(64), nullable=False),
    sa.Column("backend", sa.String(50), nullable=False),
    sa.Column("models", sa.Text, nullable=False),
    sa.Column("regions", sa.Text, nullable=False),
    sa.Column("questions", sa.Text, nullable=False),
    sa.Column("samples", sa.Integer, nullable=False, default=1),
)
executions = sa.Table(
    "beacon_executions",
    previous,
    sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
    sa.Column("audit_id", sa.String(200), nullable=False),
    sa.Column("model", sa.String(200), nullable=False),
    sa.Column("region", sa.String(100), nullable=False),
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
        "audit_id", "model", "region", "question_id", "sample", "attempt",
        name="uq_beacon_execution_attempt",
    ),
)
sa.Index(
    "uq_beacon_execution_succeeded",
    executions.c.audit_id,
    executions.c.model,
    executions.c.region,
    executions.c.question_id,
    executions.c.sample,
    unique=True,
    sqlite_where=executions.c.status == "succeeded",
    postgresql_where=executions.c.status == "succeeded",
)
sa.Table(
    "beacon_partition_leases",
    previous,
    sa.Column("audit_id", sa.String(200), primary_key=True),
    sa.Column("model", sa.String(200), primary_key=True),
    sa.Column("region", sa.String(100), primary_key=True),
    sa.Column("holder", sa.String(200), nullable=False),
    sa.Column("host", sa.String(255), nullable=False),
    sa.Column("pid", sa.Integer, nullable=False),
    sa.Column("run_id", sa.String(64)),
    sa.Column("acquired_at", sa.Float, nullable=False),
    sa.Column("renewed_at", sa.Float, nullable=False),
)


def create_previous_store(url: str, audit_id: str, plan_row: dict) -> None:
    """A store as the previous version left it: its tables, one audit and one answer."""
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            previous.create_all(conn)
            conn.execute(previous.tables["beacon_audits"].insert().values(**plan_row))
            now = time.time()
            conn.execute(
                executions.insert().values(
                    audit_id=audit_id, model="llama3.2-1b", region="US",
                    question_id="math_basic", sample=0, attempt=1, requested_region="US",
                    served_region="US", status="succeeded", started_at=now, finished_at=now,
                    latency_s=0.0, response="4", response_sha256="x" * 64, backend="simulated",
                    simulated=True, run_id="run-old",
                )
            )
    finally:
        engine.dispose()
