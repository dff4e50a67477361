"""The simulated backend: deterministic answers, a latency model and injected faults.

It lets anyone run a whole audit with no account, and it is how tests and benchmarks exercise
the orchestration. Every result it yields is marked simulated.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from beacon_pipelines.backends.base import (
    ErrorKind,
    InferenceRequest,
    InferenceResult,
)
from beacon_pipelines.backends.registry import BackendConfig
from beacon_pipelines.backends.simulated_answers import answer_text
from beacon_pipelines.yaml_config import ConfigFileError, load_yaml_model


class SimConfigError(ConfigFileError):
    """A simulated-backend config file that cannot be used."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Latency(_Strict):
    """Per batched call: cold start once per container, then per call and per token."""

    cold_start_s: float = Field(default=0.0, ge=0)
    # Region -> cold start there, overriding cold_start_s (APAC cold starts took 6+ min).
    cold_start_by_region: dict[str, float] = Field(default_factory=dict)
    per_call_s: float = Field(default=0.0, ge=0)
    per_token_s: float = Field(default=0.0, ge=0)

    @model_validator(mode="after")
    def _non_negative_cold_starts(self) -> Latency:
        negative = {r: s for r, s in self.cold_start_by_region.items() if s < 0}
        if negative:
            raise ValueError(f"cold starts must be >= 0, got {negative}")
        return self

    def cold_start_in(self, region: str) -> float:
        return self.cold_start_by_region.get(region, self.cold_start_s)


class Fault(_Strict):
    # auth and bad_request are permanent: no retry or failover can help.
    kind: Literal["outage", "transient", "timeout", "malformed", "auth", "bad_request"]
    region: str | None = None  # where it applies (the region serving the call); None = all
    rate: float = Field(default=1.0, ge=0.0, le=1.0)  # share of calls it hits

    @model_validator(mode="after")
    def _outage_has_region(self) -> Fault:
        if self.kind == "outage" and self.region is None:
            raise ValueError("an outage needs a region")
        return self


class SimConfig(_Strict):
    seed: int = 7
    latency: Latency = Latency()
    faults: tuple[Fault, ...] = ()


def load_sim_config(path: str | Path | None) -> SimConfig:
    if path is None or str(path) == "":
        return SimConfig()
    return load_yaml_model(path, SimConfig, SimConfigError)


def check_sim_regions(config: SimConfig, path: str | Path, region_ids: Sequence[str]) -> None:
    """Every region the config names is one the catalog has. Faults and cold starts match the
    serving region by name, so a misspelt or foreign one (`region: MARS`) never applies and
    the audit silently tests nothing."""
    known = ", ".join(region_ids)
    for index, fault in enumerate(config.faults):
        if fault.region is not None and fault.region not in region_ids:
            raise SimConfigError(
                f"{path}: field faults[{index}] ({fault.kind}): region {fault.region!r} is "
                f"not in the catalog, which has {known}"
            )
    for region in config.latency.cold_start_by_region:
        if region not in region_ids:
            raise SimConfigError(
                f"{path}: field latency.cold_start_by_region: region {region!r} is not in "
                f"the catalog, which has {known}"
            )


def _unit(*parts: object) -> float:
    """A deterministic number in [0, 1) from the parts: same inputs, same draw, any process."""
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _tokens(text: str) -> int:
    # Roughly 1.3 tokens a word for English with a BPE tokenizer, and about one a character for
    # Chinese (no spaces between words); good enough for a latency model.
    cjk = sum(1 for c in text if "\u4e00" <= c <= "\u9fff")
    return max(1, round(len(text.split()) * 1.3) + cjk)


class SimulatedBackend:
    name = "simulated"

    @classmethod
    def from_config(cls, config: BackendConfig) -> SimulatedBackend:
        return cls(
            load_sim_config(config.sim_config or None),
            execution_timeout_s=config.execution_timeout_s,
            cold_start_timeout_s=config.cold_start_timeout_s,
        )

    def __init__(
        self,
        config: SimConfig | None = None,
        execution_timeout_s: float = 600.0,
        cold_start_timeout_s: float = 900.0,
        sleep=time.sleep,
        clock=time.time,
    ):
        self.config = config or SimConfig()
        self.execution_timeout_s = execution_timeout_s
        self.cold_start_timeout_s = cold_start_timeout_s
        self._sleep = sleep
        self._clock = clock
        self._warm: set[tuple[str, str]] = set()  # (model, region) containers already started

    def generate(self, requests: Iterable[InferenceRequest]) -> Iterator[InferenceResult]:
        batch = list(requests)
        if not batch:
            return
        first = batch[0]
        model, target = first.model_id, first.target_region
        if any(r.model_id != model or r.target_region != target for r in batch):
            raise ValueError("one batched call serves one model in one region")
        started = self._clock()

        failure = self._call_fault(first)
        if failure is not None:
            kind, message = failure
            if kind is ErrorKind.TIMEOUT:
                # A timed-out call holds the client until its deadline.
                self._sleep(self.execution_timeout_s)
            yield from self._fail_all(batch, kind, message, started)
            return

        warm = (model, target) in self._warm
        cold = 0.0 if warm else self.config.latency.cold_start_in(target)
        if cold > self.cold_start_timeout_s:
            self._sleep(self.cold_start_timeout_s)
            yield from self._fail_all(
                batch,
                ErrorKind.COLD_START_TIMEOUT,
                f"container for {model} in {target} not ready within the cold-start budget "
                f"({self.cold_start_timeout_s:g} s; simulated cold start {cold:g} s)",
                started,
            )
            return
        self._sleep(cold)
        self._warm.add((model, target))

        texts = [self._answer(r) for r in batch]
        per_answer_s = [
            self.config.latency.per_call_s / len(batch)
            + self.config.latency.per_token_s * _tokens(t)
            for t in texts
        ]
        if sum(per_answer_s) > self.execution_timeout_s:
            self._sleep(self.execution_timeout_s)
            yield from self._fail_all(
                batch,
                ErrorKind.TIMEOUT,
                f"call exceeded the execution timeout ({self.execution_timeout_s:g} s)",
                started,
            )
            return
        malformed = self._hits("malformed", first)
        # Each answer is due at its share of the call's time from the call's start: sleeping
        # each share in turn added every late wake-up to the call (40 of them made a 10 s call
        # 10.1-10.5 s on a busy machine), which a real call does not do.
        due = self._clock()
        for request, text, delay in zip(batch, texts, per_answer_s, strict=True):
            answer_started = self._clock()
            due += delay
            if due > answer_started:  # sleep(0) still yields the CPU: ~0.2 ms an answer
                self._sleep(due - answer_started)
            finished = self._clock()
            if malformed:
                yield InferenceResult.failure(
                    request,
                    ErrorKind.MALFORMED,
                    "simulated malformed reply: no text field",
                    answer_started,
                    finished,
                    served_region=target,
                    simulated=True,
                )
                continue
            yield InferenceResult(
                request=request,
                started_at=answer_started,
                finished_at=finished,
                served_region=target,
                text=text,
                prompt_tokens=_tokens(request.system_prompt + " " + request.question),
                completion_tokens=_tokens(text),
                simulated=True,
                extra={"seed": self.config.seed},
            )

    # -- internals ---------------------------------------------------------------------------

    def _answer(self, request: InferenceRequest) -> str:
        # The variant ignores the region for control questions (answered the same everywhere)
        # and the serving region always: an answer is about where it was asked from.
        variant = int(
            _unit(self.config.seed, request.model_id, request.question_id, request.sample) * 1000
        )
        return answer_text(
            request.model_id,
            request.question_id,
            request.question,
            request.requested_region,
            variant,
            request.language,
        )

    def _hits(self, kind: str, request: InferenceRequest) -> bool:
        for index, fault in enumerate(self.config.faults):
            if fault.kind != kind:
                continue
            if fault.region is not None and fault.region != request.target_region:
                continue
            draw = _unit(
                self.config.seed,
                kind,
                index,
                request.audit_id,
                request.model_id,
                request.requested_region,
                request.target_region,
                request.attempt,
            )
            if draw < fault.rate:
                return True
        return False

    def _call_fault(self, request: InferenceRequest) -> tuple[ErrorKind, str] | None:
        if self._hits("auth", request):
            return ErrorKind.AUTH, "credentials rejected (simulated)"
        if self._hits("bad_request", request):
            return ErrorKind.BAD_REQUEST, f"request for {request.model_id!r} rejected (simulated)"
        if self._hits("outage", request):
            return (
                ErrorKind.UNAVAILABLE,
                f"region {request.target_region} is down (simulated outage)",
            )
        if self._hits("transient", request):
            return ErrorKind.UNAVAILABLE, "transient failure (simulated)"
        if self._hits("timeout", request):
            return (
                ErrorKind.TIMEOUT,
                f"call exceeded the execution timeout ({self.execution_timeout_s:g} s, simulated)",
            )
        return None

    def _fail_all(
        self, batch: list[InferenceRequest], kind: ErrorKind, message: str, started: float
    ) -> Iterator[InferenceResult]:
        finished = self._clock()
        for request in batch:
            yield InferenceResult.failure(
                request,
                kind,
                message,
                started,
                finished,
                served_region=None,
                simulated=True,
            )
