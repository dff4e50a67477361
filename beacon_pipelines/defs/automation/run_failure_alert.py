"""The run-failure sensor: every failed run gets a line in $DAGSTER_HOME/beacon_run_failures.jsonl
and, when BEACON_FAILURE_WEBHOOK_URL is set, a JSON POST to that webhook."""

from __future__ import annotations

import os
from datetime import UTC, datetime

from dagster import DefaultSensorStatus, RunFailureSensorContext, run_failure_sensor

from beacon_pipelines.defs.automation.failure_webhook import (
    WEBHOOK_URL_ENV,
    WebhookError,
    post_json,
)
from beacon_pipelines.defs.automation.run_failure_log import append_failure, failure_log_path
from beacon_pipelines.defs.tags import LAUNCHED_BY_TAG, audit_id_from_tags

FAILURE_SENSOR_NAME = "run_failure_alert"
PARTITION_TAG = "dagster/partition"
MAX_MESSAGE = 2000  # a webhook is a notice, not the log: the run page has everything


def _clip(text: str | None) -> str:
    text = (text or "").strip()
    return text if len(text) <= MAX_MESSAGE else text[: MAX_MESSAGE - 1] + "…"


def failure_notice(context: RunFailureSensorContext) -> dict:
    run = context.dagster_run
    steps = []
    for event in context.get_step_failure_events():
        error = event.step_failure_data.error if event.step_failure_data else None
        steps.append({"step": event.step_key, "error": _clip(error.message if error else "")})
    return {
        "event": "beacon.run_failed",
        "failed_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run_id": run.run_id,
        "job": run.job_name,
        "audit_id": audit_id_from_tags(run.tags, run.run_id),
        "partition": run.tags.get(PARTITION_TAG),
        "launched_by": run.tags.get(LAUNCHED_BY_TAG),
        "message": _clip(context.failure_event.message),
        "step_failures": steps,
    }


def build_run_failure_sensor():
    @run_failure_sensor(
        name=FAILURE_SENSOR_NAME,
        default_status=DefaultSensorStatus.RUNNING,
        # Runs `beacon audit` executes in process carry no code-location origin; without this
        # their failures would go unseen. Beacon is the only code location of its instance.
        monitor_all_code_locations=True,
        description="Records every failed run in $DAGSTER_HOME/beacon_run_failures.jsonl and "
        f"posts it as JSON to ${WEBHOOK_URL_ENV} when set.",
    )
    def run_failure_alert(context: RunFailureSensorContext) -> None:
        notice = failure_notice(context)
        record = dict(notice)
        url = os.environ.get(WEBHOOK_URL_ENV, "").strip()
        if url:
            try:
                record["webhook"] = f"delivered (HTTP {post_json(url, notice)})"
            except WebhookError as exc:
                # Never fail the tick over the notice: the failure is still recorded below.
                record["webhook"] = f"not delivered: {exc}"
                context.log.warning(str(exc))
        append_failure(failure_log_path(context.instance.root_directory), record)
        context.log.info(f"run {notice['run_id']} of audit {notice['audit_id']} failed; recorded")

    return run_failure_alert
