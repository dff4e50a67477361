"""A judged audit launched outside the CLI: its analysis waits for every partition's
judgements, not only its answers (the barrier sensor and the analysis itself)."""

from __future__ import annotations

import pandas as pd
import pytest

from beacon_pipelines.defs.jobs import INFERENCE_JOB, JUDGED_INFERENCE_JOB
from beacon_pipelines.defs.partitions import partition_key
from beacon_pipelines_tests.support.judge_server import judge_replies, verdict
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer


@pytest.mark.integration
def test_the_analysis_of_a_judged_audit_waits_for_every_partitions_judgements(tiny_beacon):
    beacon = tiny_beacon
    tags = beacon.audit_tags("judged-ui")
    (first_model, first_region), (model, region) = beacon.partitions
    with FakeOpenAIServer(
        answer=judge_replies(lambda q, a: verdict("refusal", "It declines."))
    ) as server:
        judge = {"resources": {"judge": {"config": {
            "kind": "openai", "base_url": server.base_url, "model": "judge-m"}}}}

        def run(job: str, model: str, region: str):
            result = beacon.defs.resolve_job_def(job).execute_in_process(
                instance=beacon.instance, partition_key=partition_key(model, region),
                tags=tags, run_config=judge,
            )
            assert result.success

        run(JUDGED_INFERENCE_JOB, first_model, first_region)
        assert beacon.tick().requests == []
        # The second partition's answers are in, its judgements are not: not complete.
        run(INFERENCE_JOB, model, region)
        tick = beacon.tick()
        assert tick.requests == []
        assert f"1 of 2 partitions complete; waiting for {model}/{region}" in tick.skip_reason
        refused = beacon.run_analysis(tags, raise_on_error=False)
        assert not refused.success
        failure = next(e for e in refused.all_events if e.is_step_failure)
        assert "partitions not judged for this audit" in failure.step_failure_data.error.message

        run(JUDGED_INFERENCE_JOB, model, region)
        [request] = beacon.tick().requests
    assert beacon.run_analysis(request.tags).success
    answers = pd.read_csv(beacon.out_dir / "answers.csv")
    assert set(answers["class_source"]) == {"judge"} and set(answers["class"]) == {"refusal"}
