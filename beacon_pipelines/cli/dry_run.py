"""`beacon audit --dry-run`: what an audit would do and, on Modal, cost. No network, no writes."""

from __future__ import annotations

from collections import Counter

from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE
from beacon_pipelines.backends.modal.cost import estimate_audit_cost, format_cost
from beacon_pipelines.backends.modal.deployment import build_spec
from beacon_pipelines.backends.openai_compatible import check_base_url, display_url
from beacon_pipelines.cli.audit_runner import (
    AuditOptions,
    check_audit_input,
    checked_judge,
    checked_labels,
    options_catalog,
)


def dry_run_report(options: AuditOptions) -> str:
    catalog = options_catalog(options)
    plan = check_audit_input(options, catalog)
    labels = checked_labels(options, plan)
    judge = checked_judge(options)
    settings = options.backend_settings
    lines = [
        f"dry run: {plan.size_text()} in {len(plan.models) * len(plan.regions)} partitions "
        f"on the {plan.backend} backend; "
        "nothing started, nothing written"
    ]
    categories = Counter(catalog.question(q).category for q in plan.questions)
    lines.append(
        f"questions by category: {', '.join(f'{c} {n}' for c, n in categories.items())}"
    )
    lines.append(f"languages (--language-mode {catalog.effective_language_mode}):")
    for region in plan.regions:
        asked = Counter(catalog.asked(q, region).language for q in plan.questions)
        lines.append(
            f"  {region}: " + ", ".join(f"{n} in {language}" for language, n in asked.items())
        )
    if labels is not None:
        lines.append(f"labels: {len(labels.labels)} answers from {labels.path} (sha256 "
                     f"{labels.sha256}) replace the classifier's classes")
    if plan.backend == "modal":
        spec = build_spec(catalog, app_name=settings.modal_app_name)
        batch_size = options.batch_size or DEFAULT_BATCH_SIZE
        lines.append(
            f"Modal app {spec.app_name!r}, one call per batch of up to {batch_size} prompts:"
        )
        for model in plan.models:
            for region in plan.regions:
                entry = spec.for_partition(model, region)
                lines.append(
                    f"  {model} / {region}: {entry.class_name} (gpu {entry.options['gpu']}, "
                    f"region {entry.options['region']!r})"
                )
        cost = estimate_audit_cost(spec, plan, catalog.generation.max_new_tokens, batch_size)
        lines.append(format_cost(cost, plan))
    elif plan.backend == "openai":
        for region in plan.regions:
            url = settings.openai_region_base_urls.get(region) or settings.openai_base_url
            url = display_url(check_base_url(url or ""))
            for model in plan.models:
                served = settings.openai_model_map.get(model, model)
                lines.append(
                    f"  {model} / {region}: POST {url}/chat/completions with model {served!r}"
                )
        header = settings.openai_region_header
        lines.append(
            f"  serving region from the response header {header!r}, checked against the "
            "catalog's cloud regions" if header else
            "  no region header (--openai-region-header): answers will be 'unverified'"
        )
        lines.append(
            f"  {settings.openai_concurrency} requests in flight per partition; API key from "
            + (f"${settings.openai_api_key_env}" if settings.openai_api_key_env else "nowhere")
        )
    if judge is not None:
        lines.extend(_judge_lines(options, plan, judge))
    return "\n".join(lines)


def _judge_lines(options: AuditOptions, plan, judge) -> list[str]:
    config = options.judge.config()
    where = (
        f"POST {display_url(judge.url)}" if judge.kind == "openai"
        else f"Modal app {config.modal_app_name!r}"
    )
    partitions = len(plan.models) * len(plan.regions)
    per_partition = plan.execution_count // partitions if partitions else 0
    return [
        f"judge: {judge.kind} model {judge.model!r}, {where} (prompt sha256 "
        f"{judge.prompt_sha256})",
        f"  up to {plan.execution_count} answers judged, {per_partition} per partition after "
        f"its inference, in batches of {config.batch_size}, in the gpu pool with inference; "
        "technical failures are not sent, and an answer this judge already judged with this "
        "prompt (any audit) is reused, not sent",
        "  API key from "
        + (f"${config.api_key_env}" if config.api_key_env else "nowhere (no key sent)"),
    ]
