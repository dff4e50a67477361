"""Run a whole audit from the command line through the Dagster instance.

Plan the audit in the store, start one Dagster run per (model, region) partition, report
progress from the store, and start the analysis run the moment every partition succeeded.
"""

from __future__ import annotations

import importlib
import multiprocessing
import os
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing.connection import wait as wait_for_exit
from pathlib import Path

from beacon_pipelines.analysis.answer_labels import AnswerLabels, read_labels
from beacon_pipelines.backends.batches import check_batch_size
from beacon_pipelines.backends.openai_compatible import check_base_url
from beacon_pipelines.catalog import Catalog, audit_environment, load_catalog
from beacon_pipelines.cli import collector
from beacon_pipelines.cli.backend_options import BackendSettings
from beacon_pipelines.cli.judge_options import JudgeSettings
from beacon_pipelines.cli.progress import AuditProgress, ProgressLine
from beacon_pipelines.instance.creation_lock import instance_creation_lock
from beacon_pipelines.instance.errors import explain as explain_instance_error
from beacon_pipelines.instance.errors import instance_errors
from beacon_pipelines.instance.pool_granularity import pools_enforced_per_run
from beacon_pipelines.instance.postgres_probe import probe_instance_postgres
from beacon_pipelines.plan import (
    AuditInputError,
    AuditPlan,
    build_plan,
    missing_keys,
    new_audit_id,
    select,
)
from beacon_pipelines.report.output_folder import check_output_folder, report_folder
from beacon_pipelines.store import (
    ExecutionStore,
    configured_store_url,
    resolve_store_url,
    store_exists,
)

# The first wave of partition workers runs alone until its steps hold the GPU slots, for at
# most this long; then the rest are forked (see _start_workers).
HEAD_START_S = 5.0
# Each look costs a query: at 0.05 s they took ~0.15 s of CPU from the first wave's set-up. The
# second wave is not needed before the first wave's calls end, so a late look costs nothing.
HEAD_START_POLL_S = 0.25
# What the analysis run imports (pandas, numpy, scipy, the report): imported here while the
# partitions run, not when the barrier opens (see _preload_analysis).
ANALYSIS_MODULES = (
    "beacon_pipelines.report.stored_audit",
    "beacon_pipelines.report.folder",
    "beacon_pipelines.report.inputs",
    "beacon_pipelines.report.summary_markdown",
    "beacon_pipelines.analysis.kpis",
)


@dataclass
class AuditOptions:
    catalog_path: Path | None = None
    models: list[str] | None = None
    regions: list[str] | None = None
    questions: list[str] | None = None
    categories: list[str] | None = None  # only the questions of these categories
    # Question files whose questions replace the catalog's (JSONL, CSV, YAML).
    questions_files: list[Path] | None = None
    language_mode: str | None = None  # native or source; None: the catalog's (native)
    samples: int = 1  # each question asked this many times (distinct executions)
    backend: str = "simulated"
    sim_config: Path | None = None
    audit_id: str | None = None
    out_dir: Path | None = None
    store_url: str | None = None
    backend_settings: BackendSettings = field(default_factory=BackendSettings)
    gpu_cap: int | None = None  # persisted on the instance; None keeps the instance's limit
    execution_timeout_s: float | None = None  # None: the backend resource's default
    cold_start_timeout_s: float | None = None
    failover_order: list[str] | None = None  # None: the catalog's region order
    labels: Path | None = None  # a reviewer's labels file for the analysis (answer_labels.py)
    batch_size: int | None = None  # None: the backend resource's default
    judge: JudgeSettings = field(default_factory=JudgeSettings)  # default: no judge


@dataclass
class AuditOutcome:
    audit_id: str
    plan: AuditPlan
    succeeded: bool
    report_path: Path | None = None
    failed_partitions: list[str] = field(default_factory=list)
    missing: list[tuple] = field(default_factory=list)
    log_dir: Path | None = None
    cancelled: str | None = None  # why, when the audit was cancelled
    status: str = ""  # the audit's status when beacon audit ended (audit_status.py)


def plan_audit(options: AuditOptions, catalog: Catalog) -> AuditPlan:
    return build_plan(
        catalog,
        audit_id=options.audit_id or new_audit_id(),
        backend=options.backend,
        models=options.models,
        regions=options.regions,
        questions=options.questions,
        categories=options.categories,
        samples=options.samples,
    )


def options_catalog(options: AuditOptions) -> Catalog:
    """The catalog an audit with these options asks from: the file, its question files (or
    --questions-file instead), its language mode (or --language-mode)."""
    return load_catalog(
        options.catalog_path, options.questions_files or None, options.language_mode
    )


def check_audit_input(options: AuditOptions, catalog: Catalog) -> AuditPlan:
    """The plan, after checking every option against the catalog: the real run and --dry-run
    both call this, so a dry run that passes is an audit that starts."""
    planned = plan_audit(options, catalog)
    if options.backend == "openai":
        options.backend_settings = options.backend_settings.with_catalog(catalog)
        for region, url in options.backend_settings.openai_region_base_urls.items():
            select([region], catalog.region_ids, "region of --openai-region-url")
            check_base_url(url, f"base URL of region {region}")
        missing = options.backend_settings.openai_region_without_server(planned.regions)
        if missing:
            raise AuditInputError(
                f"--backend openai needs --openai-base-url, or a server for region {missing} "
                f"(--openai-region-url {missing}=URL, or openai_base_url in the catalog)"
            )
    if options.failover_order:
        select(options.failover_order, catalog.region_ids, "failover region")
    if options.gpu_cap is not None and options.gpu_cap < 1:
        raise AuditInputError(f"--gpu-cap must be at least 1, got {options.gpu_cap}")
    if options.batch_size is not None:
        try:
            check_batch_size(options.batch_size)
        except ValueError as exc:
            raise AuditInputError(f"--batch-size: {exc}") from None
    if options.sim_config:
        from beacon_pipelines.backends.simulated import check_sim_regions, load_sim_config

        config = load_sim_config(options.sim_config)
        check_sim_regions(config, options.sim_config, catalog.region_ids)
    return planned


def checked_labels(options: AuditOptions, plan: AuditPlan) -> AnswerLabels | None:
    """The labels file, parsed and checked against the plan's executions (LabelFileError
    otherwise): a bad file is refused before anything starts."""
    if options.labels is None:
        return None
    labels = read_labels(options.labels)
    labels.check_plan(plan)  # no pandas in the parent the workers fork from
    return labels


def backend_run_config(options: AuditOptions) -> dict:
    backend = {"kind": options.backend}
    if options.sim_config:
        backend["sim_config"] = str(Path(options.sim_config).resolve())
    backend.update(options.backend_settings.resource_config(options.backend))
    if options.execution_timeout_s is not None:
        backend["execution_timeout_s"] = options.execution_timeout_s
    if options.cold_start_timeout_s is not None:
        backend["cold_start_timeout_s"] = options.cold_start_timeout_s
    if options.failover_order:
        backend["failover_order"] = list(options.failover_order)
    if options.batch_size is not None:
        backend["batch_size"] = options.batch_size
    resources = {"backend": {"config": backend}}
    if options.judge.enabled:
        resources["judge"] = {"config": options.judge.resource_config()}
    return {"resources": resources}


def partition_job(options: AuditOptions) -> str:
    """The job each partition runs: inference alone, or inference then its judgements."""
    from beacon_pipelines.defs.jobs import INFERENCE_JOB, JUDGED_INFERENCE_JOB

    return JUDGED_INFERENCE_JOB if options.judge.enabled else INFERENCE_JOB


def checked_judge(options: AuditOptions):
    """The judge, built as each run will build it (JudgeConfigError before anything starts:
    no model or URL, the key's variable unset); None without one."""
    if not options.judge.enabled:
        return None
    return options.judge.build()


def _check_resumed_judge(store, store_url, audit_id: str, judge) -> None:
    from beacon_pipelines.instance.home import dagster_home

    if store is not None:
        check_audit_judge(store, audit_id, judge)
        return
    url = resolve_store_url(dagster_home())
    if store_exists(url):  # no store yet: no audit, no judge (and nothing is created here)
        existing = ExecutionStore(url)
        try:
            check_audit_judge(existing, audit_id, judge)
        finally:
            existing.dispose()


def check_audit_judge(store: ExecutionStore, audit_id: str, judge) -> None:
    """An audit keeps the judge it was judged by: resuming it with another judge, or with
    none, would analyse answers judged partly by one and partly by another (or not at all)."""
    from beacon_pipelines.store import AuditJudge, AuditJudgeConflictError

    recorded = store.audit_judge(audit_id)
    if recorded is None:
        return
    if judge is None:
        raise AuditJudgeConflictError(
            f"audit {audit_id!r} is judged by {recorded.describe()}: resume it with the same "
            f"--judge {recorded.kind} --judge-model {recorded.model}"
        )
    recorded.check_same(audit_id, AuditJudge.of(judge))


def run_audit(
    options: AuditOptions, progress: Callable[[str], None] = print, poll_s: float = 0.5
) -> AuditOutcome:
    from beacon_pipelines.instance.home import dagster_home, ensure_dagster_home

    # Everything the user typed is checked before anything is created or launched.
    catalog_path = Path(options.catalog_path).resolve() if options.catalog_path else None
    catalog = options_catalog(options)
    planned = check_audit_input(options, catalog)
    labels = checked_labels(options, planned)
    judge = checked_judge(options)
    # A file in the home's place, or an unreachable Postgres instance (Dagster's own retries
    # take 15 s to say so), is refused before anything is written, the store included.
    probe_instance_postgres(dagster_home())
    if pools_enforced_per_run(dagster_home()):
        raise AuditInputError(
            f"the instance in {dagster_home()} enforces its pools per run, in the daemon's run "
            "queue (dagster.yaml: concurrency.pools.granularity: run, as on Kubernetes); "
            "beacon audit executes its partition runs itself, outside that queue, so the GPU "
            "cap would not hold. Launch the audit through the queue instead (the UI, the "
            "recurring schedule, or `dagster job launch`), or use an instance with "
            "granularity: op"
        )
    # Credentials, deployment, server: checked before the store, so a bad setup writes nothing.
    # Every catalog region, since a failover retry may go to any of them.
    for warning in options.backend_settings.preflight(
        options.backend, planned.models, catalog.region_ids
    ):
        progress(f"warning: {warning}")
    # Run workers and the definitions they load must see the same catalog.
    os.environ.update(
        audit_environment(catalog_path, options.questions_files, options.language_mode)
    )

    out_dir = check_output_folder(report_folder(planned.audit_id, options.out_dir))
    # An explicit store is reached before the instance is touched: a wrong URL writes nothing.
    store_url = options.store_url or configured_store_url()
    store = ExecutionStore(store_url).create() if store_url else None
    if options.audit_id:  # a resumed audit keeps its judge: checked before the instance opens
        _check_resumed_judge(store, store_url, planned.audit_id, judge)

    home = ensure_dagster_home()
    # One instance for the whole audit, its forked workers included (see execute_partition).
    instance, free_slots = open_instance(home, options.gpu_cap, progress)
    try:
        store = store or ExecutionStore(resolve_store_url(home)).create()
        plan = store.register_audit(planned)
        texts = {q: catalog.question(q).text for q in plan.questions}
        store.record_question_texts(plan.audit_id, texts)  # what `beacon compare` matches on
        # Running it again resumes it: a cancelled audit is cancelled no more. This process
        # drives it until it returns (its status is "running" or "finalizing" while it lives).
        store.clear_cancel(plan.audit_id)
        store.set_driver(plan.audit_id, socket.gethostname(), os.getpid())
        try:
            return _drive(
                options, catalog, plan, store, home, instance, free_slots, out_dir, progress,
                poll_s, labels,
            )
        finally:
            store.set_driver(plan.audit_id, None, None)
            _show_final_status(instance, store, plan)
            store.dispose()
    finally:
        instance.dispose()


def _drive(
    options, catalog, plan, store, home, instance, free_slots, out_dir, progress, poll_s,
    labels=None,
) -> AuditOutcome:
    from beacon_pipelines.cli.interrupts import cli_interrupts

    run_config = backend_run_config(options)
    job_name = partition_job(options)
    log_dir = home / "logs" / plan.audit_id
    log_dir.mkdir(parents=True, exist_ok=True)

    partitions = [(m, r) for m in plan.models for r in plan.regions]
    # Built once here, after the environment above is final (catalog, store URL), and inherited
    # by every forked worker: no worker imports Dagster or builds definitions again.
    defs = _audit_definitions(catalog)
    store.dispose()  # pooled connections must not be inherited by the workers
    progress(
        f"audit {plan.audit_id}: {plan.size_text()} on the {plan.backend} backend; "
        f"Dagster instance {home}"
    )
    started = time.monotonic()
    with cli_interrupts() as interrupted:
        workers = _start_workers(
            defs, instance, partitions, plan.audit_id, run_config, log_dir, free_slots,
            interrupted, job_name,
        )
        _preload_analysis()
        failed, cancelled = _wait(
            workers, instance, store, plan, started, progress, poll_s, interrupted
        )
        if cancelled is None:
            cancelled = _cancel_reason(store, plan.audit_id, interrupted)
            if cancelled is not None:
                _stop_audit(instance, store, plan.audit_id, cancelled, {}, progress)
        if cancelled is not None:
            return AuditOutcome(
                plan.audit_id, plan, False, log_dir=log_dir, cancelled=cancelled,
                missing=missing_keys(plan, store.succeeded_keys(plan.audit_id)),
            )
        missing = missing_keys(plan, store.succeeded_keys(plan.audit_id))
        if failed or missing:
            return AuditOutcome(
                plan.audit_id, plan, False, failed_partitions=failed, missing=missing,
                log_dir=log_dir,
            )

        progress(
            f"[{time.monotonic() - started:6.1f}s] every execution is in"
            + (" and judged" if options.judge.enabled else "") + "; analysing"
        )
        report, error = _run_analysis(
            defs, instance, plan.audit_id, out_dir, run_config, labels
        )
    if error:
        progress(f"analysis failed: {error}")
    return AuditOutcome(
        plan.audit_id, plan, report is not None, report_path=report, log_dir=log_dir
    )


def _cancel_reason(store, audit_id: str, interrupted) -> str | None:
    """Why the audit must stop now, if it must: Ctrl-C here, or a request in the store
    (`beacon cancel`, or another process that saw a run terminated in the UI)."""
    if interrupted.is_set():
        return "Ctrl-C (SIGINT) to beacon audit"
    control = store.audit_control(audit_id)
    if control and control["cancel_requested_at"] is not None:
        return control["cancel_reason"] or "cancel requested"
    return None


def _terminated_run(instance, audit_id: str, worker_pids: set[int]) -> str | None:
    """A run of this `beacon audit` that someone marked CANCELING or CANCELED (the UI's
    Terminate does that to an in-process run it cannot reach), as a reason to stop the audit."""
    from dagster import DagsterRunStatus

    from beacon_pipelines.defs.audit_runs import audit_run_records
    from beacon_pipelines.defs.gpu_pool import worker_pid_here

    for record in audit_run_records(instance, audit_id):
        run = record.dagster_run
        if worker_pid_here(run.tags) in worker_pids and run.status in (
            DagsterRunStatus.CANCELING, DagsterRunStatus.CANCELED
        ):
            return f"run {run.run_id[:8]} was terminated (Dagster UI)"
    return None


# How long workers get to stop after a cancel before they are killed (the whole cancel must
# take under 10 s: a worker's interrupt and Dagster's clean-up take about 1 s).
CANCEL_GRACE_S = 6.0


def _stop_audit(instance, store, audit_id: str, reason: str, workers: dict, progress) -> None:
    """Stop the whole audit: record the request (other processes of the audit stop on it),
    interrupt every run, kill what did not stop in time, mark leftovers canceled, free slots."""
    from beacon_pipelines.defs.run_cancel import finish_cancel, stop_audit_runs

    store.request_cancel(audit_id, reason)
    progress(f"cancelling audit {audit_id}: {reason}")
    deadline = time.monotonic() + CANCEL_GRACE_S
    # Again and again: a worker forked a moment ago creates its run only now.
    while True:
        stop_audit_runs(instance, audit_id, reason)
        alive = [p for p in workers.values() if p.exitcode is None]
        if not alive or time.monotonic() > deadline:
            break
        wait_for_exit([p.sentinel for p in alive], timeout=0.2)
    for process in workers.values():
        if process.exitcode is None:
            process.kill()
        process.join()
    finish_cancel(instance, audit_id, reason)


def _show_final_status(instance, store, plan) -> None:
    """Tag the audit's runs and its bias_analysis partition with its status now."""
    from beacon_pipelines.defs.audit_runs import audit_status, show_status

    try:
        show_status(instance, plan.audit_id, audit_status(instance, store, plan))
    except Exception as exc:  # the status is derived again whenever asked; only the UI lags
        print(f"beacon audit: warning: could not show the audit's status in Dagster: {exc}")


def open_instance(home: Path, gpu_cap: int | None, progress: Callable[[str], None]):
    """Open the instance in `home` (creating its storage on first use) and prepare it for an
    audit; returns it (the caller disposes of it) and the GPU slots free now. Under the
    creation lock: audits started at once on a new home would otherwise create its storage
    together and fail (instance/creation_lock.py). On an existing home the lock only makes the
    few statements below wait their turn."""
    try:
        with instance_creation_lock(home):
            return _prepare_instance(gpu_cap, progress)
    except instance_errors() as exc:
        raise explain_instance_error(exc, home) from None


def _prepare_instance(gpu_cap: int | None, progress: Callable[[str], None]):
    """Create the instance's storage once, here (nine workers creating it at once race), set
    the GPU cap, and free the slots of workers that died (else a crash deadlocks the cap).
    Returns the instance and the GPU slots free now (None: the pool has no limit)."""
    from dagster import DagsterInstance

    instance = DagsterInstance.get()
    try:
        return instance, _prepare(instance, gpu_cap, progress)
    except BaseException:
        instance.dispose()
        raise


def _prepare(instance, gpu_cap: int | None, progress: Callable[[str], None]) -> int | None:
    from beacon_pipelines.defs.gpu_pool import release_dead_workers, set_gpu_cap

    instance.get_runs(limit=1)
    instance.event_log_storage.get_concurrency_keys()
    if instance.schedule_storage is not None:
        instance.schedule_storage.all_instigator_state()
    if gpu_cap is not None:
        set_gpu_cap(instance, gpu_cap)
    released = release_dead_workers(instance)
    if released:
        progress(
            f"released the GPU slots of {len(released)} run(s) whose worker died: "
            + ", ".join(r[:8] for r in released)
        )
    return _free_gpu_slots(instance)


def _audit_definitions(catalog: Catalog):
    """The Definitions of this audit: its catalog (the one `load_catalog()` reads from the
    environment set for the workers, already read once) and this process's environment (the
    module-level `defs` may have been built under another catalog or store URL earlier in the
    same process)."""
    from beacon_pipelines.defs.audit_graph import build_definitions

    return build_definitions(catalog)


def _start_worker(
    defs, instance, model, region, audit_id, run_config, log_path: Path, job_name: str
):
    from beacon_pipelines.cli.workers import run_forked

    # fork, not spawn: the child starts with Dagster imported, the definitions built and the
    # instance open.
    process = multiprocessing.get_context("fork").Process(
        target=run_forked,
        args=(defs, model, region, audit_id, run_config, log_path, job_name, instance),
        name=f"beacon-partition-{model}-{region}",
    )
    with collector.frozen_for_fork():
        process.start()
    return process


def _start_workers(
    defs, instance, partitions, audit_id, run_config, log_dir: Path, free, stop, job_name: str
) -> dict:
    """Fork one worker per partition; those that can have a GPU slot now go first, alone.

    Setting up a run costs each worker ~0.5 s of CPU (its run, events, slot claim). Nine at
    once on two cores shared that CPU evenly, so the first backend call waited for every
    run's setup (5-10 s measured); the others now set up while the first wave is on the GPU.
    """

    def start(model, region):
        log = log_dir / f"{model}_{region}.log"
        worker = _start_worker(
            defs, instance, model, region, audit_id, run_config, log, job_name
        )
        return f"{model}|{region}", worker

    first = len(partitions) if free is None or free == 0 else min(free, len(partitions))
    workers = dict(start(m, r) for m, r in partitions[:first])
    if first < len(partitions):
        _wait_for_full_pool(instance, workers.values(), stop)
        if not stop.is_set():  # cancelled meanwhile: start nothing more
            workers.update(start(m, r) for m, r in partitions[first:])
    collector.resume()  # start-up is over (`beacon` paused it: cli/collector.py)
    return workers


def _preload_analysis() -> threading.Thread:
    """Import the analysis in a thread of this process, now that every worker is forked.

    The workers never need it, and a fork must not copy what they do not need (nor happen while
    another thread holds the import lock), so it is imported after the last fork and before
    the last partition ends: the analysis then starts without ~1 s of imports."""

    def load() -> None:
        try:
            for name in ANALYSIS_MODULES:
                importlib.import_module(name)
        except Exception:  # noqa: BLE001, S110 - the analysis imports it again, and says why
            pass

    thread = threading.Thread(target=load, name="beacon-preload-analysis", daemon=True)
    thread.start()
    return thread


def _free_gpu_slots(instance) -> int | None:
    """GPU slots free on the instance now; None when the pool has no limit."""
    from beacon_pipelines.defs.gpu_pool import GPU_POOL

    storage = instance.event_log_storage
    info = storage.get_concurrency_info(GPU_POOL)
    # A pool no step has used yet has no slot rows: its limit is the instance's default.
    limit = info.slot_count or storage.get_pool_config().default_pool_limit
    return None if not limit else max(0, limit - len(info.claimed_slots))


def _wait_for_full_pool(instance, first_wave, stop) -> None:
    """Until the first wave's steps hold the free slots, one of them ends, or HEAD_START_S."""
    deadline = time.monotonic() + HEAD_START_S
    while time.monotonic() < deadline and not stop.is_set():
        if _free_gpu_slots(instance) == 0:
            return
        if wait_for_exit([p.sentinel for p in first_wave], timeout=HEAD_START_POLL_S):
            return


def _wait(workers, instance, store, plan, started, progress, poll_s, interrupted):
    """Until every worker exits: (failed partitions, None); or, the moment the audit must stop
    (see _cancel_reason and _terminated_run), stop it and return ([], why)."""
    from beacon_pipelines.cli.workers import EXIT_CANCELLED

    last_counts: tuple = ()
    failed: list[str] = []
    pending = dict(workers)
    pids = {p.pid for p in workers.values()}
    while pending:
        reason = _cancel_reason(store, plan.audit_id, interrupted) or _terminated_run(
            instance, plan.audit_id, pids
        )
        if reason is None and any(p.exitcode == EXIT_CANCELLED for p in pending.values()):
            reason = "a run of the audit was cancelled"
        if reason is not None:
            _stop_audit(instance, store, plan.audit_id, reason, pending, progress)
            return [], reason
        for key, process in list(pending.items()):
            if process.exitcode is not None:
                if process.exitcode != 0:
                    failed.append(key)
                process.join()
                process.close()
                del pending[key]
        status = AuditProgress(
            time.monotonic() - started,
            len(workers) - len(pending),
            len(workers),
            len(failed),
            store.succeeded_count(plan.audit_id),
            plan.execution_count,
        )
        if status.counts != last_counts:
            progress(ProgressLine(status))  # a str: plain callbacks print it as before
            last_counts = status.counts
        if pending:
            # Woken the moment a worker exits (the barrier waits on the last one), else
            # polls the store for progress and for a cancel.
            wait_for_exit([p.sentinel for p in pending.values()], timeout=poll_s)
    return sorted(failed), None


def _run_analysis(
    defs, instance, audit_id: str, out_dir: Path, run_config: dict,
    labels: AnswerLabels | None = None,
) -> tuple[Path | None, str]:
    from beacon_pipelines.defs.gpu_pool import worker_tags
    from beacon_pipelines.defs.jobs import ANALYSIS_JOB
    from beacon_pipelines.defs.partitions import ensure_audit_partition
    from beacon_pipelines.defs.tags import AUDIT_ID_TAG, AUDIT_STATUS_TAG, LAUNCHED_BY_TAG

    ops: dict = {"bias_report": {"config": {"out_dir": str(out_dir)}}}
    if labels is not None:
        # The asset reads the file again and refuses it if its sha256 is not this one.
        ops["bias_analysis"] = {
            "config": {"labels_path": str(labels.path.resolve()), "labels_sha256": labels.sha256}
        }
    config = {
        **run_config,
        "ops": ops,
        # The CLI prints its own progress; the run's full log is in the Dagster UI.
        "loggers": {"console": {"config": {"log_level": "WARNING"}}},
    }
    # The audit's own partition of the analysis and the report (see defs/partitions.py).
    ensure_audit_partition(instance, audit_id)
    result = defs.resolve_job_def(ANALYSIS_JOB).execute_in_process(
        run_config=config,
        instance=instance,
        partition_key=audit_id,
        tags={
            AUDIT_ID_TAG: audit_id,
            AUDIT_STATUS_TAG: "finalizing",
            LAUNCHED_BY_TAG: "cli",
            **worker_tags(),
        },
        raise_on_error=False,
    )
    if not result.success:
        return None, _first_failure(result)
    return out_dir / "report.html", ""


def _first_failure(result) -> str:
    for event in result.all_events:
        if event.is_step_failure and event.step_failure_data.error is not None:
            return event.step_failure_data.error.message.strip()
    return "the analysis run failed (see the Dagster UI)"
