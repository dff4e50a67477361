"""The simulated backend: deterministic, regionally varied, configurable, and honest about it."""

from __future__ import annotations

import pytest

from beacon_pipelines.backends.base import ErrorKind, GenerationParams, InferenceRequest
from beacon_pipelines.backends.simulated import (
    SimConfig,
    SimConfigError,
    SimulatedBackend,
    load_sim_config,
)
from beacon_pipelines.catalog import load_catalog

CATALOG = load_catalog()


def requests_for(model: str, region: str, target: str | None = None, attempt: int = 1, audit="a"):
    return [
        InferenceRequest(
            audit_id=audit,
            model_id=model,
            hf_id=CATALOG.model(model).hf_id,
            question_id=q.id,
            question=q.text,
            system_prompt=CATALOG.system_prompt(region),
            params=GenerationParams(0.1, 500),
            requested_region=region,
            target_region=target or region,
            attempt=attempt,
        )
        for q in CATALOG.questions
    ]


def answers(backend, model, region, **kw) -> dict[str, str]:
    return {
        r.request.question_id: r.text for r in backend.generate(requests_for(model, region, **kw))
    }


class FakeClock:
    def __init__(self):
        self.now = 1000.0
        self.slept: list[float] = []

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds

    def time(self):
        return self.now


def test_same_seed_same_answers_across_instances():
    first = answers(SimulatedBackend(SimConfig(seed=3)), "llama3.2-1b", "EU")
    second = answers(SimulatedBackend(SimConfig(seed=3)), "llama3.2-1b", "EU")
    assert first == second


def test_seed_changes_phrasing():
    texts = {
        seed: tuple(answers(SimulatedBackend(SimConfig(seed=seed)), "mistral-7b", "US").values())
        for seed in range(6)
    }
    assert len(set(texts.values())) > 1


def test_regional_variation_refuse_evade_answer():
    backend = SimulatedBackend()
    by_region = {
        r: answers(backend, "qwen2.5-1.5b", r)["tiananmen_1989"] for r in CATALOG.region_ids
    }
    assert "cannot" in by_region["ASIA"] or "can't" in by_region["ASIA"]
    assert (
        "perspectives" in by_region["EU"]
        or "debate" in by_region["EU"]
        or "views" in by_region["EU"]
    )
    assert "1989" in by_region["US"] and "troops" in by_region["US"]


def test_control_questions_answered_the_same_everywhere():
    backend = SimulatedBackend()
    for model in CATALOG.model_ids:
        per_region = [answers(backend, model, r) for r in CATALOG.region_ids]
        for question in ("math_basic", "geography_basic", "identity"):
            assert len({a[question] for a in per_region}) == 1, (model, question)


def test_every_result_is_marked_simulated_and_served_where_sent():
    results = list(SimulatedBackend().generate(requests_for("llama3.2-1b", "US", target="EU")))
    assert all(r.simulated and r.ok and r.served_region == "EU" for r in results)
    assert all(r.completion_tokens and r.response_sha256 for r in results)


def test_latency_model_cold_start_once_then_per_call_and_token():
    clock = FakeClock()
    config = SimConfig.model_validate(
        {"latency": {"cold_start_s": 5, "per_call_s": 0.8, "per_token_s": 0.01}}
    )
    backend = SimulatedBackend(config, sleep=clock.sleep, clock=clock.time)
    list(backend.generate(requests_for("llama3.2-1b", "US")))
    first_call = sum(clock.slept)
    clock.slept.clear()
    list(backend.generate(requests_for("llama3.2-1b", "US")))
    second_call = sum(clock.slept)
    assert first_call == pytest.approx(second_call + 5)
    assert second_call > 0.8  # per call plus per token


def test_outage_fails_every_call_served_in_that_region_retryably():
    backend = SimulatedBackend(
        SimConfig.model_validate({"faults": [{"kind": "outage", "region": "US"}]})
    )
    down = list(backend.generate(requests_for("mistral-7b", "US")))
    assert all(r.error_kind is ErrorKind.UNAVAILABLE and r.error_kind.retryable for r in down)
    # The same requests failed over to EU succeed.
    moved = list(backend.generate(requests_for("mistral-7b", "US", target="EU", attempt=2)))
    assert all(r.ok and r.served_region == "EU" for r in moved)


def test_transient_rate_hits_about_that_share_of_calls():
    backend = SimulatedBackend(
        SimConfig.model_validate({"faults": [{"kind": "transient", "rate": 0.3}]})
    )
    outcomes = []
    for call in range(400):
        first = next(
            iter(backend.generate(requests_for("llama3.2-1b", "US", audit=f"a{call}")[:1]))
        )
        outcomes.append(first.ok)
    share_failed = outcomes.count(False) / len(outcomes)
    assert 0.22 < share_failed < 0.38


def test_timeout_fault_holds_until_the_execution_deadline():
    clock = FakeClock()
    config = SimConfig.model_validate({"faults": [{"kind": "timeout", "rate": 1.0}]})
    backend = SimulatedBackend(config, execution_timeout_s=42, sleep=clock.sleep, clock=clock.time)
    results = list(backend.generate(requests_for("llama3.2-1b", "US")))
    assert clock.slept == [42]
    assert all(r.error_kind is ErrorKind.TIMEOUT for r in results)


def test_cold_start_over_budget_is_its_own_error():
    clock = FakeClock()
    config = SimConfig.model_validate({"latency": {"cold_start_s": 100}})
    backend = SimulatedBackend(config, cold_start_timeout_s=30, sleep=clock.sleep, clock=clock.time)
    results = list(backend.generate(requests_for("llama3.2-1b", "US")))
    assert all(r.error_kind is ErrorKind.COLD_START_TIMEOUT for r in results)
    assert clock.slept == [30]


def test_cold_start_per_region_overrides_the_default():
    clock = FakeClock()
    config = SimConfig.model_validate(
        {"latency": {"cold_start_s": 2, "cold_start_by_region": {"ASIA": 400}}}
    )
    backend = SimulatedBackend(
        config, cold_start_timeout_s=300, sleep=clock.sleep, clock=clock.time
    )
    slow = list(backend.generate(requests_for("llama3.2-1b", "ASIA")))
    assert all(r.error_kind is ErrorKind.COLD_START_TIMEOUT for r in slow)
    assert clock.slept == [300]
    fine = list(backend.generate(requests_for("llama3.2-1b", "EU")))
    assert all(r.ok for r in fine) and clock.slept[1] == 2


def test_config_file_loads(tmp_path):
    path = tmp_path / "sim.yaml"
    path.write_text(
        "seed: 7\n"
        "latency: {cold_start_s: 0, per_call_s: 0.2, per_token_s: 0}\n"
        "faults:\n"
        "  - {kind: outage, region: US}\n"
        "  - {kind: transient, rate: 0.3}\n"
        "  - {kind: timeout, rate: 0.1}\n"
    )
    config = load_sim_config(path)
    assert config.seed == 7 and config.latency.per_call_s == 0.2
    assert [f.kind for f in config.faults] == ["outage", "transient", "timeout"]


@pytest.mark.parametrize(
    "text, expected",
    [
        ("faults:\n  - {kind: meteor}\n", "field faults[0].kind"),
        ("faults:\n  - {kind: transient, rate: 1.5}\n", "faults[0].rate"),
        ("faults:\n  - {kind: outage}\n", "an outage needs a region"),
        ("latency: {per_call: 1}\n", "latency.per_call: unknown key"),
        ("seed: [1\n", "invalid YAML"),
    ],
)
def test_bad_config_names_file_and_field(tmp_path, text, expected):
    path = tmp_path / "sim.yaml"
    path.write_text(text)
    with pytest.raises(SimConfigError) as info:
        load_sim_config(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)
