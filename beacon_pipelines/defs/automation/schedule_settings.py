"""Settings of the recurring audit, read from the environment of the code location.

BEACON_SCHEDULE_CRON       when it runs (cron, default Mondays 03:00)
BEACON_SCHEDULE_TIMEZONE   the cron's timezone (default UTC)
BEACON_SCHEDULE_QUESTIONS  comma-separated question ids (default: every catalog question)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime

from beacon_pipelines.catalog import Catalog

CRON_ENV = "BEACON_SCHEDULE_CRON"
TIMEZONE_ENV = "BEACON_SCHEDULE_TIMEZONE"
QUESTIONS_ENV = "BEACON_SCHEDULE_QUESTIONS"
DEFAULT_CRON = "0 3 * * 1"
DEFAULT_TIMEZONE = "UTC"
SCHEDULED_AUDIT_PREFIX = "sched-"


class ScheduleSettingsError(ValueError):
    """A schedule setting that cannot be used; the message names the variable and value."""


@dataclass(frozen=True)
class ScheduleSettings:
    cron: str
    timezone: str
    questions: tuple[str, ...]  # in catalog order


def schedule_settings(catalog: Catalog, env: Mapping[str, str] | None = None) -> ScheduleSettings:
    env = os.environ if env is None else env
    cron = (env.get(CRON_ENV) or DEFAULT_CRON).strip()
    # The cron itself is checked by Dagster when the schedule is built (automation/).
    tz = (env.get(TIMEZONE_ENV) or DEFAULT_TIMEZONE).strip()
    try:
        from zoneinfo import ZoneInfo

        ZoneInfo(tz)
    except (KeyError, ValueError) as exc:
        raise ScheduleSettingsError(f"{TIMEZONE_ENV}={tz!r} is not a known timezone") from exc
    raw = env.get(QUESTIONS_ENV, "").strip()
    requested = [q.strip() for q in raw.split(",") if q.strip()] if raw else []
    unknown = [q for q in requested if q not in catalog.question_ids]
    if unknown:
        raise ScheduleSettingsError(
            f"{QUESTIONS_ENV}={raw!r}: unknown question(s) {', '.join(map(repr, unknown))}; "
            f"the catalog has: {', '.join(catalog.question_ids)}"
        )
    questions = tuple(q for q in catalog.question_ids if not requested or q in requested)
    return ScheduleSettings(cron=cron, timezone=tz, questions=questions)


def scheduled_audit_id(tick: datetime) -> str:
    """One audit per tick, named after it, so re-evaluating a tick names the same audit."""
    utc = tick.astimezone(UTC) if tick.tzinfo else tick
    return f"{SCHEDULED_AUDIT_PREFIX}{utc.strftime('%Y%m%d-%H%M%S')}"
