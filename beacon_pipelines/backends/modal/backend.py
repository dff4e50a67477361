"""The Modal backend: one batched call per partition to the deployed class of its target region.

The class serving (model, region) is looked up by name in the deployed app (see
deployment.py); the call is spawned and awaited with a client-side deadline of the
cold-start budget plus the execution timeout, then cancelled if it passes. Modal's errors are
mapped to retryable or permanent ErrorKinds. Credentials are checked when the backend is built
and the deployment by `preflight()`, both before any GPU is asked for.

`lookup(app_name, class_name)` returns a class handle shaped like `modal.Cls.from_name(...)`:
`.hydrate()`, and calling it gives an object whose `.generate.spawn(batch)` returns a call with
`.get(timeout=...)` and `.cancel()`. Tests inject a small fake of it.
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
from beacon_pipelines.backends.modal.credentials import TOKEN_ID_ENV, TOKEN_SECRET_ENV
from beacon_pipelines.backends.modal.deployment import (
    DEFAULT_APP_NAME,
    EXECUTION_TIMEOUT_S,
    PROTOCOL,
    STARTUP_TIMEOUT_S,
    class_name,
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


def _describe(exc: BaseException) -> str:
    text = str(exc).strip() or "(no message)"
    return f"{type(exc).__name__}: {text[:500]}"


def modal_lookup(token_id: str, token_secret: str, environment_name: str | None = None) -> Lookup:
    """The real lookup: one Modal client from the given credentials, created on first use."""
    client = None

    def lookup(app_name: str, name: str):
        nonlocal client
        import modal

        if client is None:
            client = modal.Client.from_credentials(token_id, token_secret)
        return modal.Cls.from_name(
            app_name, name, environment_name=environment_name or None, client=client
        )

    return lookup


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
        lookup: Lookup | None = None,
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
        self._lookup = lookup
        self._clock = clock
        self._handles: dict[str, object] = {}

    @property
    def deadline_s(self) -> float:
        """How long a call may take, seen from here: cold start plus execution."""
        return self.cold_start_timeout_s + self.execution_timeout_s

    def preflight(self, models: Sequence[str], regions: Sequence[str]) -> None:
        """Every class the audit may call (failover included) is deployed and reachable.

        Looks classes up by name and hydrates them: metadata only, no container starts.
        Raises BackendError with one message naming what to do.
        """
        for model in models:
            for region in regions:
                self._handle(model, region)

    def generate(self, requests: Iterable[InferenceRequest]) -> Iterator[InferenceResult]:
        batch = list(requests)
        if not batch:
            return
        model, target = batch[0].model_id, batch[0].target_region
        if any(r.model_id != model or r.target_region != target for r in batch):
            raise ValueError("one batched call serves one model in one region")
        payload = request_batch(batch)
        handle = self._handle(model, target)
        started = self._clock()
        reply = self._call(handle, payload, model, target)
        finished = self._clock()
        yield from results_from_reply(batch, payload, reply, started, finished)

    # -- internals ---------------------------------------------------------------------------

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
                    f"({_describe(exc)})"
                )
            elif kind is ErrorKind.AUTH:
                message = (
                    f"Modal rejected the credentials in {TOKEN_ID_ENV}/{TOKEN_SECRET_ENV} while "
                    f"looking up {self.app_name}/{name}: {_describe(exc)}"
                )
            else:
                message = f"cannot look up Modal class {self.app_name}/{name}: {_describe(exc)}"
            raise BackendError(kind, message) from None
        self._handles[name] = handle
        return handle

    def _call(self, handle, payload: dict, model: str, target: str) -> dict:
        try:
            call = handle().generate.spawn(payload)
        except Exception as exc:
            raise BackendError(
                classify_modal_error(exc), f"cannot start {model} in {target}: {_describe(exc)}"
            ) from None
        try:
            return call.get(timeout=self.deadline_s)
        except builtins.TimeoutError:
            _cancel(call)
            raise BackendError(
                ErrorKind.TIMEOUT,
                f"no reply from {model} in {target} within the client deadline of "
                f"{self.deadline_s:g} s (cold start {self.cold_start_timeout_s:g} s + execution "
                f"{self.execution_timeout_s:g} s); the call was cancelled",
            ) from None
        except Exception as exc:
            raise BackendError(
                classify_modal_error(exc), f"{model} in {target} failed: {_describe(exc)}"
            ) from None


def _cancel(call) -> None:
    try:
        call.cancel()
    except Exception:  # best effort: the deadline already failed the call
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
    batch: list[InferenceRequest], payload: dict, reply: object, started: float, finished: float
) -> Iterator[InferenceResult]:
    """One result per request; a reply not in the agreed shape fails as MALFORMED (retryable)."""
    target = batch[0].target_region

    def malformed(request: InferenceRequest, why: str) -> InferenceResult:
        return InferenceResult.failure(
            request, ErrorKind.MALFORMED, f"malformed reply from Modal: {why}", started, finished
        )

    problem = _reply_problem(reply)
    if problem:
        for request in batch:
            yield malformed(request, problem)
        return
    answers = {a.get("key"): a for a in reply["answers"] if isinstance(a, dict)}
    receipt = {
        "hf_id": reply["model"].get("hf_id"),
        "model_revision": reply["model"].get("revision"),
        "modal_class": reply.get("deployment", {}).get("class_name"),
        "container_region": reply["container"].get("region"),
        "container_cloud": reply["container"].get("cloud"),
        "container_task_id": reply["container"].get("task_id"),
        "gpu": reply["container"].get("gpu"),
        "cold_start": reply["timings"].get("cold"),
        "load_s": reply["timings"].get("load_s"),
        "generation_s": reply["timings"].get("generation_s"),
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
            extra={**receipt, "finish_reason": answer.get("finish_reason")},
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
