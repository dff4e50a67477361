"""Partitions: inference by (model, region), one GPU container answering the question set;
analysis and report by audit."""

from dagster import (
    DynamicPartitionsDefinition,
    MultiPartitionKey,
    MultiPartitionsDefinition,
    StaticPartitionsDefinition,
)

from beacon_pipelines.catalog import Catalog

MODEL_DIM = "model"
REGION_DIM = "region"


def audit_partitions(catalog: Catalog) -> MultiPartitionsDefinition:
    return MultiPartitionsDefinition(
        {
            MODEL_DIM: StaticPartitionsDefinition(catalog.model_ids),
            REGION_DIM: StaticPartitionsDefinition(catalog.region_ids),
        }
    )


def partition_key(model: str, region: str) -> MultiPartitionKey:
    return MultiPartitionKey({MODEL_DIM: model, REGION_DIM: region})


# One partition of the analysis and the report per audit, added when an audit is analysed:
# each audit's analysis is its own stored value with its own lineage, so audits analysed at
# once never read each other's.
AUDIT_PARTITIONS = DynamicPartitionsDefinition(name="audit")


def ensure_audit_partition(instance, audit_id: str) -> None:
    """Add the audit's analysis partition unless it exists (two launchers may race)."""
    if instance.has_dynamic_partition(AUDIT_PARTITIONS.name, audit_id):
        return
    try:
        instance.add_dynamic_partitions(AUDIT_PARTITIONS.name, [audit_id])
    except Exception:
        if not instance.has_dynamic_partition(AUDIT_PARTITIONS.name, audit_id):
            raise
