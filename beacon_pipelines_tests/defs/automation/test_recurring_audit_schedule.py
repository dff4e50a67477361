"""The recurring audit: one audit id per tick, every partition, the configured questions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from dagster import build_schedule_context

from beacon_pipelines.defs.audit_graph import build_definitions
from beacon_pipelines.defs.automation.schedule_settings import (
    ScheduleSettings,
    ScheduleSettingsError,
    schedule_settings,
)
from beacon_pipelines.defs.jobs import INFERENCE_JOB
from beacon_pipelines.defs.tags import AUDIT_ID_TAG, LAUNCHED_BY_TAG

TICK = datetime(2026, 1, 5, 3, 0, tzinfo=UTC)


def _requests(beacon, defs, tick=TICK):
    schedule = defs.resolve_schedule_def("recurring_audit")
    with build_schedule_context(
        instance=beacon.instance,
        scheduled_execution_time=tick,
        resources=defs.resources,
        repository_def=defs.get_repository_def(),
    ) as context:
        return list(schedule.evaluate_tick(context).run_requests)


def _settings(**env):
    return {f"BEACON_SCHEDULE_{k.upper()}": v for k, v in env.items()}


def test_settings_default_to_weekly_utc_and_every_question(beacon):
    settings = schedule_settings(beacon.catalog, env={})
    assert settings == ScheduleSettings("0 3 * * 1", "UTC", tuple(beacon.catalog.question_ids))


def test_settings_keep_catalog_order_and_name_a_bad_value(beacon):
    env = _settings(questions="tiananmen_1989, math_basic", cron="*/30 * * * *")
    settings = schedule_settings(beacon.catalog, env=env)
    assert settings.questions == ("math_basic", "tiananmen_1989")
    assert settings.cron == "*/30 * * * *"
    with pytest.raises(ScheduleSettingsError) as error:
        schedule_settings(beacon.catalog, env=_settings(questions="math_basic,nope"))
    assert "BEACON_SCHEDULE_QUESTIONS='math_basic,nope'" in str(error.value)
    assert "'nope'" in str(error.value) and "tiananmen_1989" in str(error.value)
    with pytest.raises(ScheduleSettingsError, match="BEACON_SCHEDULE_TIMEZONE='Mars/Olympus'"):
        schedule_settings(beacon.catalog, env=_settings(timezone="Mars/Olympus"))


def test_a_bad_cron_fails_the_definitions_naming_the_variable(beacon):
    bad = ScheduleSettings("61 3 * * 1", "UTC", tuple(beacon.catalog.question_ids))
    with pytest.raises(ScheduleSettingsError, match="BEACON_SCHEDULE_CRON='61 3 \\* \\* 1'"):
        build_definitions(beacon.catalog, schedule=bad)


def test_schedule_is_stopped_by_default(beacon):
    from dagster import DefaultScheduleStatus

    schedule = beacon.defs.resolve_schedule_def("recurring_audit")
    assert schedule.default_status == DefaultScheduleStatus.STOPPED
    assert schedule.job_name == INFERENCE_JOB


def test_a_tick_plans_one_audit_and_requests_every_partition_under_it(beacon):
    settings = ScheduleSettings("0 3 * * 1", "UTC", ("tiananmen_1989",))
    defs = build_definitions(beacon.catalog, schedule=settings)
    requests = _requests(beacon, defs)
    expected = {f"{m}|{r}" for m, r in beacon.partitions}
    assert {r.partition_key for r in requests} == expected and len(requests) == 9
    assert {r.tags[AUDIT_ID_TAG] for r in requests} == {"sched-20260105-030000"}
    assert {r.tags[LAUNCHED_BY_TAG] for r in requests} == {"schedule"}
    assert len({r.run_key for r in requests}) == 9
    plan = beacon.store.get_audit("sched-20260105-030000")
    assert plan.questions == ("tiananmen_1989",)
    assert plan.models == tuple(beacon.catalog.model_ids)
    # Re-evaluating the same tick (daemon recovery) names the same audit and runs.
    assert [r.run_key for r in _requests(beacon, defs)] == [r.run_key for r in requests]
    # The next tick is another audit.
    later = _requests(beacon, defs, datetime(2026, 1, 12, 3, 0, tzinfo=UTC))
    assert {r.tags[AUDIT_ID_TAG] for r in later} == {"sched-20260112-030000"}


def test_a_scheduled_audit_is_analysed_by_the_barrier_after_its_last_partition(tiny_beacon):
    beacon = tiny_beacon
    settings = ScheduleSettings("0 3 * * 1", "UTC", ("math_basic",))
    beacon.defs = build_definitions(beacon.catalog, schedule=settings)
    requests = _requests(beacon, beacon.defs)
    ticks = []
    for request in requests:
        result = beacon.defs.resolve_job_def(INFERENCE_JOB).execute_in_process(
            instance=beacon.instance, partition_key=request.partition_key, tags=request.tags
        )
        assert result.success
        ticks.append(beacon.tick())
    assert [len(t.requests) for t in ticks] == [0, 1]
    [analysis_request] = ticks[-1].requests
    assert analysis_request.tags[AUDIT_ID_TAG] == "sched-20260105-030000"
    result = beacon.run_analysis(analysis_request.tags)
    [analysis] = result.asset_materializations_for_node("bias_analysis")
    assert analysis.metadata["executions"].value == 2  # 2 partitions x the one scheduled question
