"""Materialize one partition the way a plain Dagster user would: no Beacon tag, no CLI.

Run as `python -m beacon_pipelines_tests.support.untagged_partition MODEL REGION SIM`,
with DAGSTER_HOME and BEACON_STORE_URL set; exits 0 when the partition materialized.
"""

import sys

from dagster import DagsterInstance, materialize

from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.partitions import partition_key
from beacon_pipelines.defs.resources import InferenceBackendResource

defs = build_definitions(load_catalog())


def main(model: str, region: str, sim_config: str) -> int:
    asset = defs.get_assets_def("inference_responses")
    store = defs.resources["store"]
    with DagsterInstance.get() as instance:
        result = materialize(
            [asset],
            partition_key=partition_key(model, region),
            instance=instance,
            resources={"store": store, "backend": InferenceBackendResource(sim_config=sim_config)},
            raise_on_error=False,
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:4]))
