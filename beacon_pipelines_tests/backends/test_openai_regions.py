"""OpenAI-compatible servers per region, against real HTTP servers on 127.0.0.1: one base URL
per region, the serving region named in a response header and verified, a server that
reports a region not its own failing over, and servers whose model list is unusable."""

from __future__ import annotations

import contextlib

import pytest

from beacon_pipelines.backends.openai_compatible import OpenAICompatibleBackend
from beacon_pipelines.catalog import load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines_tests.support.openai_server import FakeOpenAIServer

pytestmark = pytest.mark.integration  # local HTTP servers

CATALOG = load_catalog()
HEADER = "X-Served-Region"
MODEL = "llama3.2-1b"


@contextlib.contextmanager
def servers_per_region(**cloud_regions: str | None):
    """One server per region; each names the cloud region given (None: no header)."""
    with contextlib.ExitStack() as stack:
        yield {
            region: stack.enter_context(
                FakeOpenAIServer(
                    models=[MODEL], reply_headers={HEADER: cloud} if cloud else {}
                )
            )
            for region, cloud in cloud_regions.items()
        }


def plan(regions=("US", "EU", "ASIA")) -> AuditPlan:
    return AuditPlan(
        audit_id="oa-regions", catalog_sha256=CATALOG.sha256(), backend="openai",
        models=(MODEL,), regions=regions, questions=("math_basic", "tiananmen_1989"),
        created_at=1.0,
    )


def test_each_region_is_asked_at_its_own_server_and_verified(store):
    # US honest; EU's server says it served from us-west-2 (not EU); ASIA names nothing.
    with servers_per_region(US="us-east-1", EU="us-west-2", ASIA=None) as servers:
        backend = OpenAICompatibleBackend(
            region_base_urls={r: s.base_url for r, s in servers.items()},
            region_header=HEADER,
            sleep=lambda s: None,
        )
        assert backend.preflight([MODEL], ["US", "EU", "ASIA"]) == []
        audit = store.register_audit(plan())
        us = run_partition(store, backend, CATALOG, audit, MODEL, "US")
        eu = run_partition(store, backend, CATALOG, audit, MODEL, "EU")
        asia = run_partition(store, backend, CATALOG, audit, MODEL, "ASIA")
        # EU's retry fails over to ASIA (the catalog's order), whose server names no region.
        eu_retry = run_partition(store, backend, CATALOG, audit, MODEL, "EU", target_region="ASIA")

        # Each server was asked only for its own region's prompts.
        for region, server in servers.items():
            contexts = {r["json"]["messages"][0]["content"] for r in server.chat_requests()}
            # Each question's prompt is in the language it is asked in there (catalog.asked).
            asked_for = ["ASIA", "EU"] if region == "ASIA" else [region]
            expected = {CATALOG.asked(q, r).system_prompt for q in plan().questions
                        for r in asked_for}
            assert contexts == expected

    assert us.complete and us.region_verdicts() == {"yes": 2}
    assert not eu.complete and eu.error_counts() == {"region_mismatch": 2}
    assert not eu.permanent_failures  # retryable: fails over like an outage
    assert asia.complete and asia.region_verdicts() == {"unverified": 2}
    assert eu_retry.complete and eu_retry.region_verdicts() == {"unverified": 2}

    rows = store.executions_frame("oa-regions").set_index(["region", "question_id", "attempt"])
    mismatch = rows.loc[("EU", "math_basic", 1)]
    assert mismatch["status"] == "failed" and mismatch["error_type"] == "region_mismatch"
    assert mismatch["served_cloud_region"] == "us-west-2"
    assert mismatch["served_region"] == "US"  # where that cloud region is
    assert mismatch["region_verified"] == "no" and mismatch["response"] is None
    honest = rows.loc[("US", "math_basic", 1)]
    assert honest["served_cloud_region"] == "us-east-1" and honest["region_verified"] == "yes"
    assert honest["finish_reason"] == "stop" and honest["call_id"] == "chatcmpl-test"
    retried = rows.loc[("EU", "math_basic", 2)]
    assert retried["status"] == "succeeded" and retried["served_region"] == "ASIA"
    assert retried["region_verified"] == "unverified" and retried["served_cloud_region"] is None
    assert retried["prompt_sha256"] == mismatch["prompt_sha256"]  # the same question, asked again


def test_without_a_region_header_every_answer_is_unverified(store):
    with servers_per_region(US="us-east-1") as servers:
        backend = OpenAICompatibleBackend(base_url=servers["US"].base_url)  # no header named
        audit = store.register_audit(plan(regions=("US",)))
        outcome = run_partition(store, backend, CATALOG, audit, MODEL, "US")
    assert outcome.complete and outcome.region_verdicts() == {"unverified": 2}


def test_a_region_without_a_server_is_retryable_so_the_retry_fails_over(store):
    with servers_per_region(US="us-east-1") as servers:
        backend = OpenAICompatibleBackend(region_base_urls={"US": servers["US"].base_url})
        audit = store.register_audit(plan(regions=("EU",)))
        outcome = run_partition(store, backend, CATALOG, audit, MODEL, "EU")
    assert outcome.error_counts() == {"unavailable": 2} and not outcome.permanent_failures
    assert "--openai-region-url EU=URL" in outcome.failures[0].error_message


@pytest.mark.parametrize(
    ("models", "models_body", "why"),
    [
        ([], None, "an empty list"),
        (None, b"<html>not json</html>", "not JSON"),
        (None, b'{"object": "list"}', "no list under 'data'"),
        (None, None, "HTTP 404"),
    ],
)
def test_a_server_whose_model_list_is_unusable_is_a_warning_and_the_audit_goes_on(
    store, models, models_body, why
):
    with FakeOpenAIServer(models=models, models_body=models_body) as server:
        backend = OpenAICompatibleBackend(base_url=server.base_url)
        warnings = backend.preflight([MODEL], ["US"])
        audit = store.register_audit(plan(regions=("US",)))
        outcome = run_partition(store, backend, CATALOG, audit, MODEL, "US")
    assert len(warnings) == 1 and why in warnings[0] and server.base_url in warnings[0]
    assert outcome.complete
