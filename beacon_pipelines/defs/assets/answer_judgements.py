"""answer_judgements: an LLM judge classifies one (model, region) partition's answers.

Runs after the partition's inference, in the same run (the judged inference job), in the `gpu`
pool: judge calls and inference calls count against one cap. Every judgement is stored in the
judgement store as its batch ends, keyed by (answer sha256, judge model, prompt sha256), so an
answer is never judged twice, across audits, re-runs and resumes. Without a judge (the
default) the step returns at once and calls nothing.
"""

from collections import Counter

from dagster import (
    AssetDep,
    AssetExecutionContext,
    AssetsDefinition,
    Backoff,
    DagsterExecutionInterruptedError,
    Failure,
    IdentityPartitionMapping,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.assets.audit_context import run_audit_id
from beacon_pipelines.defs.gpu_pool import GPU_POOL
from beacon_pipelines.defs.partitions import MODEL_DIM, REGION_DIM, audit_partitions
from beacon_pipelines.defs.resources import ExecutionStoreResource, JudgeResource
from beacon_pipelines.defs.run_cancel import mark_run_canceling
from beacon_pipelines.store import AuditJudge, AuditJudgeConflictError

# A judge server down or refusing connections after the client's own retries (429, timeouts):
# the step is retried with backoff; stored judgements make each retry start where it stopped.
JUDGEMENT_RETRY_POLICY = RetryPolicy(
    max_retries=2, delay=2.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def build_judgements_asset(catalog: Catalog, inference: AssetsDefinition) -> AssetsDefinition:
    @asset(
        name="answer_judgements",
        deps=[AssetDep(inference, partition_mapping=IdentityPartitionMapping())],
        partitions_def=audit_partitions(catalog),
        pool=GPU_POOL,
        retry_policy=JUDGEMENT_RETRY_POLICY,
        group_name="audit",
        kinds={"python"},
        description="An LLM judge's class (substantive, refusal, evasion) of every answer of "
        "one model in one region, stored per (answer sha256, judge model, prompt sha256) and "
        "reused across audits. No judge configured: nothing is judged.",
    )
    def answer_judgements(
        context: AssetExecutionContext, store: ExecutionStoreResource, judge: JudgeResource
    ) -> MaterializeResult:
        audit_id = run_audit_id(context)
        client = judge.get_judge()
        if client is None:
            return MaterializeResult(
                metadata={"audit_id": audit_id, "judge_kind": "none",
                          "skipped": "no judge configured: answers keep the classifier's class"}
            )
        keys = context.partition_key.keys_by_dimension
        model, region = keys[MODEL_DIM], keys[REGION_DIM]
        execution_store = store.get_store()
        plan = execution_store.get_audit(audit_id)
        if plan is None:
            raise Failure(
                f"no audit {audit_id!r} in {execution_store.display_url}: materialize its "
                "inference_responses first", allow_retries=False,
            )
        if model not in plan.models or region not in plan.regions:
            return MaterializeResult(
                metadata={"audit_id": audit_id, "skipped": "partition not in this audit"}
            )
        if plan.catalog_sha256 != catalog.sha256():
            raise Failure(
                f"audit {audit_id!r} was planned with another catalog than the one loaded: the "
                "questions sent to the judge would not be the ones asked", allow_retries=False,
            )
        audit_judge = AuditJudge.of(client)
        try:
            execution_store.set_audit_judge(audit_id, audit_judge)
        except AuditJudgeConflictError as exc:
            raise Failure(str(exc), allow_retries=False) from None
        try:
            metadata = _judge_partition(
                context, execution_store, client, judge.batch_size,
                catalog, plan, model, region,
            )
        except (DagsterExecutionInterruptedError, KeyboardInterrupt):
            # As inference does: a cancelled audit stops, it does not retry; every judgement
            # stored so far is kept and reused when the audit resumes.
            mark_run_canceling(context.instance, context.run.run_id)
            raise Failure(
                f"cancelled: judging {model} in {region} of audit {audit_id!r} stopped; "
                "judgements stored so far are kept", allow_retries=False,
            ) from None
        return MaterializeResult(metadata={"audit_id": audit_id, **metadata})

    return answer_judgements


def _judge_partition(
    context, execution_store, client, batch_size, catalog, plan, model, region
) -> dict:
    # The judge package pulls numpy (the classifier's final-answer cut): imported in the step.
    from beacon_pipelines.judge.client import JudgePermanentError
    from beacon_pipelines.judge.judging import judge_answers
    from beacon_pipelines.judged_answers import partition_judge_items
    from beacon_pipelines.judgement_store import JudgementStore

    items, technical_failures = partition_judge_items(
        execution_store, catalog, plan, model, region
    )
    judgements = JudgementStore.over(execution_store).create()

    def on_batch(progress, _verdicts) -> None:  # counts only: reasons are untrusted text
        context.log.info(
            f"judgements stored: {progress.judged} judged, {progress.failed} failed, "
            f"{progress.reused} reused of {progress.planned} answers"
        )

    try:
        outcome = judge_answers(judgements, client, items, batch_size, on_batch=on_batch)
    except JudgePermanentError as exc:
        raise Failure(f"judge {client.model!r}: {exc}", allow_retries=False) from None
    classes = Counter(
        v.judge_class.value if v.judge_class is not None else v.status
        for v in outcome.verdicts.values()
    )
    return {
        "judge_kind": client.kind,
        "judge_model": client.model,
        "judge_prompt_sha256": client.prompt_sha256,
        "planned": outcome.planned,
        "reused": outcome.reused,
        "judged": outcome.judged,
        "failed": outcome.failed,
        "technical_failures_not_judged": technical_failures,
        "class_counts": MetadataValue.json(dict(sorted(classes.items()))),
    }
