"""An audit's plan: which models, regions, questions and samples it must answer, and how.

The plan is stored when an audit starts, so every partition and the analysis agree on what
"complete" means, whether the audit was launched from the CLI, the UI or a schedule.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from beacon_pipelines.catalog import Catalog

ExecutionKey = tuple[str, str, str, int]  # (model, requested region, question, sample)

# What one plan may hold. Completion checks build the set of expected keys (about 100 bytes
# each: 10 million is ~1 GB), and an unbounded --samples once built every key of a dry run
# until it was killed at 24 GB. Intervals gain little past a few dozen samples.
MAX_SAMPLES = 1000
MAX_EXECUTIONS = 10_000_000

_AUDIT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._\-]{0,127}")


class AuditIdError(ValueError):
    pass


def check_audit_id(audit_id: str) -> str:
    # fullmatch: `$` in match() would accept a trailing newline.
    if not isinstance(audit_id, str) or not _AUDIT_ID.fullmatch(audit_id):
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

    @property
    def execution_count(self) -> int:
        """How many executions the plan expects, counted without listing them."""
        return len(self.models) * len(self.regions) * len(self.questions) * self.samples

    def size_text(self) -> str:
        """'3 models x 3 regions x 8 questions x 5 samples = 360 executions' (no samples if 1)."""
        samples = f" x {self.samples} samples" if self.samples > 1 else ""
        return (
            f"{len(self.models)} models x {len(self.regions)} regions x "
            f"{len(self.questions)} questions{samples} = {self.execution_count} executions"
        )

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


class AuditInputError(ValueError):
    """Options that cannot make a plan; the message is shown to the user as is."""


def select(requested: Sequence[str] | None, known: Sequence[str], what: str) -> tuple[str, ...]:
    """The requested ids in the catalog's order; all of `known` when none are requested."""
    if not requested:
        return tuple(known)
    unknown = [r for r in requested if r not in known]
    if unknown:
        raise AuditInputError(
            f"unknown {what} {', '.join(map(repr, unknown))}; the catalog has: {', '.join(known)}"
        )
    if len(set(requested)) != len(requested):
        raise AuditInputError(f"{what} listed twice in {','.join(requested)}")
    # Keep the catalog's order whatever order they were given in.
    return tuple(k for k in known if k in requested)


def build_plan(
    catalog: Catalog,
    *,
    audit_id: str,
    backend: str,
    models: Sequence[str] | None = None,
    regions: Sequence[str] | None = None,
    questions: Sequence[str] | None = None,
    samples: int = 1,
    created_at: float | None = None,
    categories: Sequence[str] | None = None,
) -> AuditPlan:
    """The one way a plan is made (CLI, a run launched from the UI, the schedule): every id is
    checked against the catalog; None selects the catalog's whole list. `categories` narrows
    the questions to those categories (and `questions`, if given too, to those ids)."""
    if not isinstance(samples, int) or isinstance(samples, bool) or samples < 1:
        raise AuditInputError(f"samples must be a positive integer, got {samples!r}")
    if samples > MAX_SAMPLES:
        raise AuditInputError(f"samples must be at most {MAX_SAMPLES}, got {samples}")
    plan = AuditPlan(
        audit_id=check_audit_id(audit_id),
        catalog_sha256=catalog.sha256(),
        backend=backend,
        models=select(models, catalog.model_ids, "model"),
        regions=select(regions, catalog.region_ids, "region"),
        questions=_select_questions(catalog, questions, categories),
        samples=samples,
        created_at=time.time() if created_at is None else created_at,
    )
    if plan.execution_count > MAX_EXECUTIONS:
        raise AuditInputError(
            f"the audit would have {plan.size_text()}; at most {MAX_EXECUTIONS:,} executions "
            "are allowed"
        )
    return plan


def _select_questions(
    catalog: Catalog, questions: Sequence[str] | None, categories: Sequence[str] | None
) -> tuple[str, ...]:
    chosen = select(questions, catalog.question_ids, "question")
    if not categories:
        return chosen
    wanted = set(select(categories, catalog.category_ids, "category"))
    outside = [q for q in chosen if catalog.question(q).category not in wanted] if questions \
        else []
    if outside:
        raise AuditInputError(
            f"question {', '.join(map(repr, outside))} is not in category "
            f"{', '.join(categories)}"
        )
    return tuple(q for q in chosen if catalog.question(q).category in wanted)


def describe_missing(missing: Sequence[ExecutionKey], limit: int = 20) -> str:
    """'(model, region, question), ... and N more'."""
    listed = ", ".join(f"({m}, {r}, {q})" for m, r, q, _ in missing[:limit])
    more = len(missing) - limit
    return listed + (f" and {more} more" if more > 0 else "")


def incomplete_message(plan: AuditPlan, missing: Sequence[ExecutionKey], limit: int = 20) -> str:
    """The one sentence every part of Beacon says of an audit with executions missing."""
    return (
        f"audit {plan.audit_id!r} is incomplete: {len(missing)} of {plan.execution_count} "
        f"executions missing: {describe_missing(missing, limit)}; resume it with "
        f"`beacon audit --audit-id {plan.audit_id}`"
    )
