"""One partition = one (model, region) pair = one GPU container answering the question set."""

from dagster import MultiPartitionKey, MultiPartitionsDefinition, StaticPartitionsDefinition

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
