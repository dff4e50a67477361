"""inference_responses: one (model, region) partition answers the audit's pending questions."""

from dagster import (
    AssetExecutionContext,
    AssetsDefinition,
    Backoff,
    DagsterExecutionInterruptedError,
    Failure,
    Jitter,
    MaterializeResult,
    MetadataValue,
    RetryPolicy,
    asset,
)

from beacon_pipelines.catalog import Catalog
from beacon_pipelines.defs.assets.audit_context import audit_plan_for_run
from beacon_pipelines.defs.gpu_pool import GPU_POOL
from beacon_pipelines.defs.partitions import MODEL_DIM, REGION_DIM, audit_partitions
from beacon_pipelines.defs.resources import ExecutionStoreResource, InferenceBackendResource
from beacon_pipelines.defs.run_cancel import mark_run_canceling
from beacon_pipelines.execution import failover_region, run_partition
from beacon_pipelines.partition_lease import PartitionBusyError
from beacon_pipelines.store import DuplicateAttemptError

# Bounded exponential backoff with jitter; each retry moves to the next region.
INFERENCE_RETRY_POLICY = RetryPolicy(
    max_retries=3, delay=1.0, backoff=Backoff.EXPONENTIAL, jitter=Jitter.PLUS_MINUS
)


def build_inference_asset(catalog: Catalog) -> AssetsDefinition:
    @asset(
        name="inference_responses",
        partitions_def=audit_partitions(catalog),
        pool=GPU_POOL,
        retry_policy=INFERENCE_RETRY_POLICY,
        group_name="audit",
        kinds={"python"},
        description="Every planned question answered by one model in one region; each attempt "
        "is persisted to the execution store the moment it ends.",
    )
    def inference_responses(
        context: AssetExecutionContext,
        store: ExecutionStoreResource,
        backend: InferenceBackendResource,
    ) -> MaterializeResult:
        keys = context.partition_key.keys_by_dimension
        model, region = keys[MODEL_DIM], keys[REGION_DIM]
        execution_store = store.get_store()
        inference_backend = backend.get_backend(catalog)
        plan = audit_plan_for_run(context, execution_store, catalog, inference_backend.name)
        if model not in plan.models or region not in plan.regions:
            return MaterializeResult(
                metadata={"audit_id": plan.audit_id, "skipped": "partition not in this audit"}
            )
        order = backend.failover_order or catalog.region_ids
        target = failover_region(region, context.retry_number, order)
        if target != region:
            context.log.info(f"retry {context.retry_number}: failing over {region} -> {target}")
        try:
            outcome = run_partition(
                execution_store,
                inference_backend,
                catalog,
                plan,
                model,
                region,
                target_region=target,
                run_id=context.run.run_id,
                # Another worker of this partition gets as long as one call may take.
                lease_wait_s=backend.cold_start_timeout_s + backend.execution_timeout_s,
                on_wait=context.log.info,
                batch_size=backend.batch_size,
            )
        except (DuplicateAttemptError, PartitionBusyError) as exc:
            # Not the region's fault: failing over would not help.
            raise Failure(str(exc), allow_retries=False) from None
        except (DagsterExecutionInterruptedError, KeyboardInterrupt):
            # Someone stopped the run (beacon cancel, Ctrl-C, Terminate in the UI). Dagster
            # would turn an interrupt of a step with a retry policy into a retry, i.e. a
            # failover to the next region: stop for good instead, as a cancellation. Every
            # answer stored so far is kept; resuming asks only the others.
            mark_run_canceling(context.instance, context.run.run_id)
            raise Failure(
                f"cancelled: {model} in {region} of audit {plan.audit_id!r} stopped; answers "
                "stored so far are kept", allow_retries=False,
            ) from None
        metadata = {
            "audit_id": plan.audit_id,
            "backend": inference_backend.name,
            "planned": outcome.planned,
            "reused_from_store": outcome.reused,
            "succeeded_now": outcome.succeeded,
            "failed_now": len(outcome.failures),
            "success_rate": (outcome.reused + outcome.succeeded) / outcome.planned
            if outcome.planned
            else 1.0,
            "target_region": target,
            "served_regions": MetadataValue.json(outcome.served_regions()),
            "region_verified": MetadataValue.json(outcome.region_verdicts()),
            **outcome.latency_summary(),
        }
        if outcome.complete:
            return MaterializeResult(metadata=metadata)
        errors = outcome.error_counts()
        first = outcome.failures[0]
        message = (
            f"{len(outcome.failures)} of {outcome.planned} executions failed for {model} in "
            f"{region} (served from {target}): {errors}; first: {first.error_message}"
        )
        if outcome.permanent_failures:
            raise Failure(
                f"permanent error, not retried: {message}", metadata=metadata, allow_retries=False
            )
        raise Failure(message, metadata=metadata)

    return inference_responses
