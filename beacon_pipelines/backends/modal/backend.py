"""The Modal backend: one call per batch of a partition to the deployed class of its target
region (see backends/batches.py), the batches one after another to the same warm container.

The class serving (model, region) is looked up by name in the deployed app (see
deployment.py); the call is spawned, its id written to the partition's call ledger, and it is
awaited with a client-side deadline of the cold-start budget plus the execution timeout. When
the deadline passes the attempt fails as a timeout, but a call still within its budget is not
cancelled: the partition's next attempt collects its reply if it has arrived (paid for once)
and calls again only for what it did not answer. Without a ledger the call is cancelled.
Modal's errors are mapped to retryable or permanent ErrorKinds. Credentials are checked when
the backend is built and the deployment by `preflight()`, both before any GPU is asked for.

`lookup(app_name, class_name)` returns a class handle shaped like `modal.Cls.from_name(...)`:
`.hydrate()`, and calling it gives an object whose `.generate.spawn(batch)` returns a call with
`.object_id`, `.get(timeout=...)` and `.cancel()`; `lookup.call_from_id(id)` (or the
`call_from_id` argument) finds a call again, as `modal.FunctionCall.from_id(id)` does. Tests
inject a small fake of both.
"""

from __future__ import annotations

import builtins
import hashlib
import time
from collections.abc import Callable, Iterable, Iterator, Sequence

import modal.exception as modal_errors

from beacon_pipelines.backends.base import (
    BackendError,
    ErrorKind,
    InferenceRequest,
    InferenceResult,
)
from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE, CallBatch, chunked
from beacon_pipelines.backends.call_ledger import (
    CANCELLED,
    COLLECTED,
    FAILED,
    SUPERSEDED,
    CallLedger,
    OpenCall,
)
from beacon_pipelines.backends.modal.credentials import TOKEN_ID_ENV, TOKEN_SECRET_ENV
from beacon_pipelines.backends.modal.deployment import (
    DEFAULT_APP_NAME,
    EXECUTION_TIMEOUT_S,
    PROTOCOL,
    STARTUP_TIMEOUT_S,
    class_name,
)
from beacon_pipelines.backends.receipt import (
    CALL_ID,
    CLOUD_PROVIDER,
    CLOUD_REGION,
    FINISH_REASON,
    GPU,
    MODEL_REVISION,
    TASK_ID,
)
from beacon_pipelines.backends.registry import BackendConfig

Lookup = Callable[[str, str], object]

# First match wins: subclasses before their bases (FunctionTimeoutError is a modal TimeoutError,
# ConflictError an InvalidError, the built-in TimeoutError an OSError).
_ERROR_KINDS: tuple[tuple[tuple[type[BaseException], ...], ErrorKind], ...] = (
    ((modal_errors.AuthError, modal_errors.PermissionDeniedError), ErrorKind.AUTH),
    ((modal_errors.NotFoundError,), ErrorKind.NOT_FOUND),
    ((modal_errors.ResourceExhaustedError,), ErrorKind.RATE_LIMITED),
    ((modal_errors.TimeoutError, builtins.TimeoutError), ErrorKind.TIMEOUT),
    ((modal_errors.ConflictError,), ErrorKind.UNAVAILABLE),
    (
        (modal_errors.InvalidError, modal_errors.RequestSizeError, ValueError, TypeError),
        ErrorKind.BAD_REQUEST,
    ),
    ((modal_errors.DeserializationError, modal_errors.SerializationError), ErrorKind.MALFORMED),
    (
        (
            modal_errors.InternalFailure,
            modal_errors.InternalError,
            modal_errors.ServiceError,
            modal_errors.ConnectionError,
            builtins.ConnectionError,
            OSError,
        ),
        ErrorKind.UNAVAILABLE,
    ),
)


def classify_modal_error(exc: BaseException) -> ErrorKind:
    """Retryable or permanent, by type. Anything else (an error raised by vLLM or CUDA in the
    container, an unlisted Modal error) is UNAVAILABLE: another attempt, elsewhere, may work."""
    for types, kind in _ERROR_KINDS:
        if isinstance(exc, types):
            return kind
    return ErrorKind.UNAVAILABLE


def describe_error(exc: BaseException, limit: int = 500) -> str:
    """An exception from Modal as one bounded line: its type and the start of its message."""
    text = str(exc).strip() or "(no message)"
    return f"{type(exc).__name__}: {text[:limit]}"


class ModalClient:
    """The real lookup: one Modal client from the given credentials, created on first use.
    Called as lookup(app_name, class_name); `call_from_id` finds a call spawned earlier."""

    def __init__(self, token_id: str, token_secret: str, environment_name: str | None = None):
        self._credentials = (token_id, token_secret)
        self._environment_name = environment_name or None
        self._client = None

    def _connected(self):
        import modal

        if self._client is None:
            self._client = modal.Client.from_credentials(*self._credentials)
        return self._client

    def __call__(self, app_name: str, name: str):
        import modal

        return modal.Cls.from_name(
            app_name, name, environment_name=self._environment_name, client=self._connected()
        )

    def call_from_id(self, call_id: str):
        import modal

        return modal.FunctionCall.from_id(call_id, client=self._connected())


def modal_lookup(
    token_id: str, token_secret: str, environment_name: str | None = None
) -> ModalClient:
    return ModalClient(token_id, token_secret, environment_name)


class ModalBackend:
    name = "modal"

    @classmethod
    def from_config(cls, config: BackendConfig) -> ModalBackend:
        settings = config.settings_for("modal_")
        # Modal's SDK calls it environment_name; the resource field is modal_environment.
        settings["environment_name"] = settings.pop("environment", None)
        timeouts = {
            "execution_timeout_s": config.execution_timeout_s,
            "cold_start_timeout_s": config.cold_start_timeout_s,
        }
        return cls(**settings, **timeouts)

    def __init__(
        self,
        app_name: str = DEFAULT_APP_NAME,
        token_id: str | None = None,
        token_secret: str | None = None,
        environment_name: str | None = None,
        execution_timeout_s: float = EXECUTION_TIMEOUT_S,
        cold_start_timeout_s: float = STARTUP_TIMEOUT_S,
        call_budget_s: float = STARTUP_TIMEOUT_S + EXECUTION_TIMEOUT_S,
        lookup: Lookup | None = None,
        call_from_id: Callable[[str], object] | None = None,
        clock: Callable[[], float] = time.time,
    ):
        if lookup is None:
            missing = [
                env
                for env, value in ((TOKEN_ID_ENV, token_id), (TOKEN_SECRET_ENV, token_secret))
                if not value
            ]
            if missing:
                raise BackendError(
                    ErrorKind.AUTH,
                    f"Modal credentials missing: {' and '.join(missing)} not set. Create a token "
                    "with `modal token new` (it is also in ~/.modal.toml) and export "
                    f"{TOKEN_ID_ENV} and {TOKEN_SECRET_ENV}",
                )
            lookup = modal_lookup(token_id, token_secret, environment_name)
        self.app_name = app_name
        self.execution_timeout_s = execution_timeout_s
        self.cold_start_timeout_s = cold_start_timeout_s
        # What the deployed class lets one call run: its startup and execution timeouts.
        self.call_budget_s = call_budget_s
        self._lookup = lookup
        self._call_from_id = call_from_id or getattr(lookup, "call_from_id", None)
        self._clock = clock
        self._handles: dict[str, object] = {}

    @property
    def deadline_s(self) -> float:
        """How long a call may take, seen from here: cold start plus execution."""
        return self.cold_start_timeout_s + self.execution_timeout_s

    def budget_until(self, spawned_at: float) -> float:
        """Until when a call spawned at `spawned_at` may still be running on Modal. Modal counts
        the class's budget from when a container takes the call; the time it queued before
        that is not counted and not visible here, so as much queue time as one client deadline
        is allowed for."""
        return spawned_at + self.deadline_s + self.call_budget_s

    def preflight(self, models: Sequence[str], regions: Sequence[str]) -> None:
        """Every class the audit may call (failover included) is deployed and reachable.

        Looks classes up by name and hydrates them: metadata only, no container starts.
        Raises BackendError with one message naming what to do.
        """
        for model in models:
            for region in regions:
                self._handle(model, region)

    def generate(self, requests: Iterable[InferenceRequest]) -> Iterator[InferenceResult]:
        """Without a ledger nobody can collect a late reply: a call past its deadline is
        cancelled. The requests go in one call."""
        yield from self.generate_tracked(requests, None)

    def generate_tracked(
        self, requests: Iterable[InferenceRequest], ledger: CallLedger | None
    ) -> Iterator[InferenceResult]:
        """As generate_batches, in one batch, yielding results and raising a failed call's
        BackendError after the results that came before it."""
        batch = list(requests)
        for call_batch in self.generate_batches(batch, ledger, max(1, len(batch))):
            yield from call_batch.results
            if call_batch.error is not None:
                raise call_batch.error

    def generate_batches(
        self,
        requests: Sequence[InferenceRequest],
        ledger: CallLedger | None,
        batch_size: int = DEFAULT_BATCH_SIZE,
    ) -> Iterator[CallBatch]:
        """First the replies of the partition's earlier calls that arrived after their deadline
        (already paid for), then one call per batch of `batch_size` for what they did not
        answer, one after another to the same class: a warm container (kept for the class's
        scaledown window) answers every batch after the first without a cold start. A batch
        whose call fails ends the partition's attempt; its later batches are not sent."""
        pending = list(requests)
        if not pending:
            return
        model, target = pending[0].model_id, pending[0].target_region
        if any(r.model_id != model or r.target_region != target for r in pending):
            raise ValueError("one batched call serves one model in one region")
        tracking = ledger is not None and self._call_from_id is not None
        if tracking:
            late = list(self._collect_late_replies(pending, ledger))
            if late:
                answered = {r.request.key for r in late}
                yield CallBatch([r.request for r in late], late)
                pending = [r for r in pending if r.key not in answered]
        unanswered: set[tuple[str, int]] = set()
        for chunk in chunked(pending, batch_size):
            call_batch = CallBatch(chunk)
            try:
                call_batch.results = self._answer(model, target, chunk, ledger)
            except BackendError as exc:
                call_batch.error = exc
            yield call_batch
            if call_batch.error is not None:
                return
            answered = {r.request.key for r in call_batch.results if r.ok}
            unanswered |= {(r.question_id, r.sample) for r in chunk if r.key not in answered}
        if tracking:
            self._retire_superseded(ledger, unanswered)

    # -- internals ---------------------------------------------------------------------------

    def _answer(
        self, model: str, target: str, chunk: list[InferenceRequest], ledger: CallLedger | None
    ) -> list[InferenceResult]:
        """One call for `chunk`: its results, or BackendError for a failure of the whole call."""
        payload = request_batch(chunk)
        handle = self._handle(model, target)
        started = self._clock()
        reply, call_id = self._call(handle, payload, chunk, ledger, started)
        finished = self._clock()
        return list(
            results_from_reply(
                chunk, payload, reply, started, finished, call_receipt={CALL_ID: call_id}
            )
        )

    def _handle(self, model: str, region: str):
        name = class_name(model, region)
        if name in self._handles:
            return self._handles[name]
        try:
            handle = self._lookup(self.app_name, name)
            handle.hydrate()
        except Exception as exc:  # every failure becomes one typed message
            kind = classify_modal_error(exc)
            if kind is ErrorKind.NOT_FOUND:
                message = (
                    f"Modal app {self.app_name!r} has no deployed class {name!r} (model {model}, "
                    f"region {region}): deploy it with `beacon modal deploy` using this catalog "
                    f"({describe_error(exc)})"
                )
            elif kind is ErrorKind.AUTH:
                message = (
                    f"Modal rejected the credentials in {TOKEN_ID_ENV}/{TOKEN_SECRET_ENV} while "
                    f"looking up {self.app_name}/{name}: {describe_error(exc)}"
                )
            else:
                message = (
                    f"cannot look up Modal class {self.app_name}/{name}: {describe_error(exc)}"
                )
            raise BackendError(kind, message) from None
        self._handles[name] = handle
        return handle

    def _call(
        self,
        handle,
        payload: dict,
        batch: list[InferenceRequest],
        ledger: CallLedger | None,
        started: float,
    ) -> tuple[dict, str | None]:
        model, target = batch[0].model_id, batch[0].target_region
        try:
            call = handle().generate.spawn(payload)
        except Exception as exc:
            raise BackendError(
                classify_modal_error(exc),
                f"cannot start {model} in {target}: {describe_error(exc)}",
            ) from None
        call_id = _call_id(call)
        receipt = {CALL_ID: call_id} if call_id else {}
        budget_until = self.budget_until(started)
        tracked = ledger is not None and call_id is not None
        if tracked:
            # Before waiting: whatever happens next (deadline, crash), the call can be found.
            ledger.call_started(
                OpenCall(
                    call_id=call_id,
                    target_region=target,
                    keys=tuple((r.question_id, r.sample) for r in batch),
                    spawned_at=started,
                    budget_until=budget_until,
                )
            )
        try:
            reply = call.get(timeout=self.deadline_s)
        except builtins.TimeoutError:
            deadline = (
                f"no reply from {model} in {target} within the client deadline of "
                f"{self.deadline_s:g} s (cold start {self.cold_start_timeout_s:g} s + execution "
                f"{self.execution_timeout_s:g} s)"
            )
            if tracked and self._clock() < budget_until:
                # Still within its budget: the GPU time is spent either way, so the reply is
                # left to arrive and the next attempt collects it.
                message = (
                    f"{deadline}; call {call_id} keeps running within its budget, and the "
                    "next attempt collects its reply if it has arrived"
                )
            else:
                cancel_call(call)
                if tracked:
                    ledger.call_closed(call_id, CANCELLED)
                message = f"{deadline}; the call was cancelled"
            raise BackendError(ErrorKind.TIMEOUT, message, extra=receipt) from None
        except Exception as exc:
            if tracked:
                ledger.call_closed(call_id, FAILED)
            raise BackendError(
                classify_modal_error(exc),
                f"{model} in {target} failed: {describe_error(exc)}",
                extra=receipt,
            ) from None
        except BaseException:
            # Interrupted (the audit was cancelled, Ctrl-C): nobody will collect this reply, so
            # the GPU time it would still bill is stopped.
            cancel_call(call)
            if tracked:
                ledger.call_closed(call_id, CANCELLED)
            raise
        if tracked:
            ledger.call_closed(call_id, COLLECTED)
        return reply, call_id

    def _collect_late_replies(
        self, batch: list[InferenceRequest], ledger: CallLedger
    ) -> Iterator[InferenceResult]:
        """The answers that earlier calls of this partition delivered after their deadline.

        Each open call is polled without waiting (get(timeout=0)): arrived, its answers are
        this attempt's, served where that call ran; not yet, it is left running while its
        budget lasts (a new call asks its questions); past its budget, or no longer needed,
        it is cancelled."""
        wanted = {(r.question_id, r.sample): r for r in batch}
        for open_call in ledger.open_calls():
            now = self._clock()
            asked = [wanted[k] for k in open_call.keys if k in wanted]
            if not asked:
                self._cancel_by_id(open_call.call_id)
                ledger.call_closed(open_call.call_id, SUPERSEDED)
                continue
            try:
                reply = self._call_from_id(open_call.call_id).get(timeout=0)
            except builtins.TimeoutError:  # not arrived yet (modal's expiry is not this)
                if now >= open_call.budget_until:
                    self._cancel_by_id(open_call.call_id)
                    ledger.call_closed(open_call.call_id, CANCELLED)
                continue
            except Exception:  # it failed, timed out at Modal, or its output expired
                ledger.call_closed(open_call.call_id, FAILED)
                continue
            ledger.call_closed(open_call.call_id, COLLECTED)
            receipt = {CALL_ID: open_call.call_id, "collected_late": True}
            results = results_from_reply(
                asked,
                None,
                reply,
                open_call.spawned_at,
                now,
                served_region=open_call.target_region,
                call_receipt=receipt,
            )
            for result in results:
                # A reply that fails its checks is asked again in the new call instead.
                if result.ok:
                    del wanted[(result.request.question_id, result.request.sample)]
                    yield result

    def _retire_superseded(self, ledger: CallLedger, unanswered: set[tuple[str, int]]) -> None:
        """Cancel the earlier calls whose every question is now answered: their replies can
        never be used, and cancelling stops the GPU time they would still bill."""
        for open_call in ledger.open_calls():
            if not unanswered.intersection(open_call.keys):
                self._cancel_by_id(open_call.call_id)
                ledger.call_closed(open_call.call_id, SUPERSEDED)

    def _cancel_by_id(self, call_id: str) -> None:
        try:
            cancel_call(self._call_from_id(call_id))
        except Exception:  # best effort: finding the call failed
            pass


def _call_id(call) -> str | None:
    """The id Modal gives a spawned call (FunctionCall.object_id)."""
    call_id = getattr(call, "object_id", None)
    return call_id if isinstance(call_id, str) and call_id else None


def cancel_call(call) -> None:
    """Cancel a spawned call, best effort (its deadline or an interrupt already gave it up)."""
    try:
        call.cancel()
    except Exception:  # best effort
        pass


def _key(request: InferenceRequest) -> str:
    return f"{request.requested_region}|{request.question_id}|{request.sample}"


def request_batch(batch: list[InferenceRequest]) -> dict:
    """The dict the deployed class's `generate` takes (checked there by check_batch)."""
    first = batch[0]
    return {
        "protocol": PROTOCOL,
        "hf_id": first.hf_id,
        "temperature": first.params.temperature,
        "max_new_tokens": first.params.max_new_tokens,
        "items": [
            {"key": _key(r), "system_prompt": r.system_prompt, "question": r.question}
            for r in batch
        ],
    }


def results_from_reply(
    batch: list[InferenceRequest],
    payload: dict | None,
    reply: object,
    started: float,
    finished: float,
    served_region: str | None = None,
    call_receipt: dict | None = None,
) -> Iterator[InferenceResult]:
    """One result per request; a reply not in the agreed shape fails as MALFORMED (retryable).
    `served_region`: where the call ran (default: the batch's target)."""
    target = served_region or batch[0].target_region

    def malformed(request: InferenceRequest, why: str) -> InferenceResult:
        return InferenceResult.failure(
            request,
            ErrorKind.MALFORMED,
            f"malformed reply from Modal: {why}",
            started,
            finished,
            extra=call_receipt,
        )

    problem = _reply_problem(reply)
    if problem:
        for request in batch:
            yield malformed(request, problem)
        return
    answers = {a.get("key"): a for a in reply["answers"] if isinstance(a, dict)}
    container = reply["container"]
    receipt = {
        "hf_id": reply["model"].get("hf_id"),
        MODEL_REVISION: reply["model"].get("revision"),
        "modal_class": reply.get("deployment", {}).get("class_name"),
        # As Modal reports them inside the container (MODAL_REGION, ...): where it really ran.
        CLOUD_REGION: container.get("region"),
        CLOUD_PROVIDER: container.get("cloud"),
        TASK_ID: container.get("task_id"),
        GPU: container.get("gpu"),
        "cold_start": reply["timings"].get("cold"),
        "load_s": reply["timings"].get("load_s"),
        "generation_s": reply["timings"].get("generation_s"),
        **(call_receipt or {}),
    }
    for request in batch:
        answer = answers.get(_key(request))
        if answer is None:
            yield malformed(request, f"no answer for {request.question_id}")
            continue
        text = answer.get("text")
        if not isinstance(text, str):
            yield malformed(request, f"answer for {request.question_id} has no text")
            continue
        if answer.get("sha256") != hashlib.sha256(text.encode()).hexdigest():
            yield malformed(request, f"answer for {request.question_id} fails its sha256 check")
            continue
        yield InferenceResult(
            request=request,
            started_at=started,
            finished_at=finished,
            served_region=target,
            text=text,
            prompt_tokens=_int_or_none(answer.get("prompt_tokens")),
            completion_tokens=_int_or_none(answer.get("completion_tokens")),
            extra={**receipt, FINISH_REASON: answer.get("finish_reason")},
        )


def _reply_problem(reply: object) -> str:
    if not isinstance(reply, dict):
        return f"expected a dict, got {type(reply).__name__}"
    if reply.get("protocol") != PROTOCOL:
        return f"protocol {reply.get('protocol')!r}, expected {PROTOCOL}: redeploy the app"
    for field in ("model", "container", "timings"):
        if not isinstance(reply.get(field), dict):
            return f"field {field!r} missing"
    if not isinstance(reply.get("answers"), list):
        return "field 'answers' missing"
    return ""


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
