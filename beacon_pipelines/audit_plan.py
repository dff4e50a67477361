"""An audit's plan: which models, regions, questions and samples it must answer, and how.

The plan is stored when an audit starts, so every partition and the analysis agree on what
"complete" means, whether the audit was launched from the CLI, the UI or a schedule.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass

ExecutionKey = tuple[str, str, str, int]  # (model, requested region, question, sample)

_AUDIT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,127}$")


class AuditIdError(ValueError):
    pass


def check_audit_id(audit_id: str) -> str:
    if not _AUDIT_ID.match(audit_id):
        raise AuditIdError(
            f"audit id {audit_id!r} is not valid: use 1-128 letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    return audit_id


def new_audit_id(now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return f"audit-{stamp}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class AuditPlan:
    audit_id: str
    catalog_sha256: str
    backend: str
    models: tuple[str, ...]
    regions: tuple[str, ...]
    questions: tuple[str, ...]
    samples: int = 1
    created_at: float = 0.0

    def expected_keys(self) -> set[ExecutionKey]:
        return {
            (m, r, q, s)
            for m in self.models
            for r in self.regions
            for q in self.questions
            for s in range(self.samples)
        }

    def same_plan(self, other: AuditPlan) -> bool:
        fields = ("catalog_sha256", "backend", "models", "regions", "questions", "samples")
        return all(getattr(self, f) == getattr(other, f) for f in fields)


def missing_keys(plan: AuditPlan, succeeded: Iterable[ExecutionKey]) -> list[ExecutionKey]:
    return sorted(plan.expected_keys() - set(succeeded))
