"""Run one inference partition as its own Dagster run, in its own process.

`beacon audit` starts one of these per (model, region): separate processes keep Dagster's
per-run log capture apart, and the instance's GPU pool, not this launcher, decides when each
one may call the backend.
"""

from __future__ import annotations

import argparse
import json
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m beacon_pipelines.partition_worker")
    parser.add_argument("--model", required=True)
    parser.add_argument("--region", required=True)
    parser.add_argument("--audit-id", required=True)
    parser.add_argument("--run-config", default="{}", help="JSON run config")
    args = parser.parse_args(argv)

    from dagster import DagsterInstance

    from beacon_pipelines.definitions import INFERENCE_JOB, defs
    from beacon_pipelines.gpu_pool import worker_tags
    from beacon_pipelines.partitions import partition_key
    from beacon_pipelines.tags import AUDIT_ID_TAG

    job = defs.resolve_job_def(INFERENCE_JOB)
    with DagsterInstance.get() as instance:
        result = job.execute_in_process(
            run_config=json.loads(args.run_config),
            instance=instance,
            partition_key=partition_key(args.model, args.region),
            tags={AUDIT_ID_TAG: args.audit_id, "beacon/launched_by": "cli", **worker_tags()},
            raise_on_error=False,
        )
    return 0 if result.success else 1


if __name__ == "__main__":
    sys.exit(main())
