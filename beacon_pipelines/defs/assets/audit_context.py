"""The audit a Dagster run works on: resolved from its tags, planned in the store."""

from dagster import AssetExecutionContext, Failure

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.tags import audit_id_from_tags
from beacon_pipelines.plan import AuditIdError, AuditPlan, build_plan
from beacon_pipelines.store import AuditConflictError, ExecutionStore


def run_audit_id(context: AssetExecutionContext) -> str:
    return audit_id_from_tags(context.run.tags, context.run.run_id)


def audit_plan_for_run(
    context: AssetExecutionContext, store: ExecutionStore, catalog: Catalog, backend: str
) -> AuditPlan:
    """The stored plan of this run's audit; a run launched outside the CLI plans a full audit."""
    audit_id = run_audit_id(context)
    plan = store.get_audit(audit_id)
    if plan is None:
        try:
            plan = store.register_audit(build_plan(catalog, audit_id=audit_id, backend=backend))
        except (AuditConflictError, AuditIdError) as exc:
            raise Failure(str(exc), allow_retries=False) from None
    if plan.catalog_sha256 == catalog.sha256():
        store.record_question_texts(
            plan.audit_id, {q: catalog.question(q).text for q in plan.questions}
        )
    if plan.catalog_sha256 != catalog.sha256():
        raise Failure(
            f"audit {audit_id!r} was planned with another catalog (sha256 "
            f"{plan.catalog_sha256[:12]}…) than the one loaded ({catalog.sha256()[:12]}…); "
            "start a new audit",
            allow_retries=False,
        )
    return plan
