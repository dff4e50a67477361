"""Region verification: the catalog's cloud regions per region, and the verdict per attempt."""

from __future__ import annotations

import pytest
import yaml

from beacon_pipelines.backends.base import ErrorKind, InferenceResult
from beacon_pipelines.backends.modal.backend import ModalBackend
from beacon_pipelines.catalog import CatalogError, load_catalog
from beacon_pipelines.execution import run_partition
from beacon_pipelines.plan import AuditPlan
from beacon_pipelines.region_verification import verify_served_region
from beacon_pipelines.store import ExecutionStore
from beacon_pipelines_tests.conftest import default_catalog_dict
from beacon_pipelines_tests.support.fake_modal import FakeDeployment
from beacon_pipelines_tests.support.requests_factory import partition

CATALOG = load_catalog()


@pytest.mark.parametrize(
    ("cloud_region", "region"),
    [
        ("us-east-1", "US"), ("us-ashburn-1", "US"), ("US-CENTRAL1", "US"), ("us", "US"),
        ("eu-west-1", "EU"), ("europe-west4", "EU"), ("eu-frankfurt-1", "EU"),
        ("ap-northeast-1", "ASIA"), ("asia-east1", "ASIA"), ("ap-tokyo-1", "ASIA"),
        ("sa-east-1", None), ("westeurope", None), ("usa-1", None),
    ],
)
def test_default_cloud_regions_of_the_catalog(cloud_region, region):
    assert CATALOG.region_of_cloud_region(cloud_region) == region


def test_a_catalog_may_list_its_own_cloud_regions_and_server_urls(tmp_path):
    data = default_catalog_dict()
    data["regions"][1]["cloud_regions"] = ["eu-central-*", "westeurope"]
    data["regions"][1]["openai_base_url"] = "http://10.0.0.5:11434/v1"
    path = tmp_path / "catalog.yaml"
    path.write_text(yaml.safe_dump(data))
    catalog = load_catalog(path)
    eu = catalog.region("EU")
    assert eu.contains_cloud_region("westeurope") and eu.contains_cloud_region("eu-central-1")
    assert not eu.contains_cloud_region("eu-west-1")  # listed: the defaults no longer apply
    assert eu.openai_base_url == "http://10.0.0.5:11434/v1"
    # Optional fields left out keep the hash of existing catalogs (stored audits resume).
    assert load_catalog().sha256() == CATALOG.sha256()

    data["regions"][1]["cloud_regions"] = []
    path.write_text(yaml.safe_dump(data))
    with pytest.raises(CatalogError, match="cloud_regions"):
        load_catalog(path)


def _answer(region: str, cloud_region: str | None) -> InferenceResult:
    request = partition("llama3.2-1b", region)[0]
    extra = {"cloud_region": cloud_region} if cloud_region else {}
    return InferenceResult(request, 1.0, 2.0, served_region=region, text="ok", extra=extra,
                           prompt_tokens=10, completion_tokens=2)


def test_the_verdict_of_each_answer():
    assert verify_served_region(_answer("US", "us-east-1"), CATALOG).extra[
        "region_verified"] == "yes"
    unverified = verify_served_region(_answer("US", None), CATALOG)
    assert unverified.ok and unverified.extra["region_verified"] == "unverified"

    mismatch = verify_served_region(_answer("EU", "us-east-1"), CATALOG)
    assert not mismatch.ok and mismatch.text is None  # never analysed as EU's answer
    assert mismatch.error_kind is ErrorKind.REGION_MISMATCH and mismatch.error_kind.retryable
    assert mismatch.served_region == "US"  # where it did run
    assert mismatch.extra["region_verified"] == "no"
    assert mismatch.completion_tokens == 2  # billed all the same
    assert "'us-east-1'" in mismatch.error_message and "EU" in mismatch.error_message


def test_a_modal_container_outside_its_region_fails_over_like_an_outage(tmp_path):
    plan = AuditPlan(
        audit_id="mismatch-1", catalog_sha256=CATALOG.sha256(), backend="modal",
        models=("llama3.2-1b",), regions=("EU",), questions=("math_basic", "taiwan_status"),
        created_at=1.0,
    )
    store = ExecutionStore(f"sqlite:///{tmp_path / 'beacon.db'}").create()
    store.register_audit(plan)
    # The EU class's containers report running in us-east-1.
    deployment = FakeDeployment(Beacon_llama3_2_1b_EU={"container_region": "us-east-1"})
    modal = ModalBackend(lookup=deployment)

    first = run_partition(store, modal, CATALOG, plan, "llama3.2-1b", "EU")
    assert not first.complete and not first.permanent_failures
    assert first.error_counts() == {"region_mismatch": 2}
    assert first.region_verdicts() == {"no": 2}
    retry = run_partition(store, modal, CATALOG, plan, "llama3.2-1b", "EU", target_region="ASIA")
    assert retry.complete and retry.region_verdicts() == {"yes": 2}

    rows = store.executions_frame(plan.audit_id).sort_values(["question_id", "attempt"])
    assert rows["status"].tolist() == ["failed", "succeeded"] * 2
    assert rows["error_type"].tolist()[::2] == ["region_mismatch"] * 2
    assert rows["served_cloud_region"].tolist() == ["us-east-1", "ap-northeast-1"] * 2
    assert rows["region_verified"].tolist() == ["no", "yes"] * 2
    assert rows["response"].isna().tolist() == [True, False] * 2
    store.dispose()
