"""The report and the exports show where each answer was served, as the server reported it:
revisions and cloud regions per model x region, verified / unverified / refused counts, and
every reported value as the (escaped) text it is."""

from __future__ import annotations

import pandas as pd

from beacon_pipelines.report.answer_pages import model_pages
from beacon_pipelines.report.folder import write_audit_report
from beacon_pipelines.report.html import render_report
from beacon_pipelines.report.serving import serving_summary, verification_counts
from beacon_pipelines_tests.support import audit_factory as af
from beacon_pipelines_tests.support.page_tags import REPORT_TAGS, PageTags

HOSTILE_REGION = "us-east-1<script>document.title='BEACON_XSS_RAN'</script>"
CLOUD = {"US": "us-east-1", "EU": "eu-west-1"}


def receipt_rows() -> list[dict]:
    rows = []
    for r in af.default_rows():
        cloud = CLOUD.get(r["region"])
        r.update(
            served_cloud_region=cloud,
            region_verified="yes" if cloud else "unverified",
            model_revision=f"rev-{r['model']}" if cloud else None,
            served_gpu="Tesla T4" if cloud else None,
            prompt_sha256="p" * 64,
        )
        rows.append(r)
    # llama in EU: the first attempt was served in the US and refused, then asked again.
    refused = af.row("llama3.2-1b", "EU", "math_basic", None, status="failed")
    refused.update(
        error_type="region_mismatch", error_message="sent to EU but served from us-east-1",
        served_region="US", served_cloud_region="us-east-1", region_verified="no",
    )
    for r in rows:
        if (r["model"], r["region"], r["question_id"]) == ("llama3.2-1b", "EU", "math_basic"):
            r["attempt"] = 2
    # A server may say anything about itself.
    rows[0].update(served_cloud_region=HOSTILE_REGION, model_revision="<b>rev</b>")
    return [refused, *rows]


def test_the_serving_summary_counts_verdicts_per_model_and_region():
    executions = af.frame(receipt_rows())
    counts = verification_counts(executions)
    used = int((executions["status"] == "succeeded").sum())
    assert counts["region_mismatches"] == 1
    assert counts["verified"] + counts["unverified"] == used
    assert counts["unverified"] == int((executions["region"] == "ASIA").sum())

    summary = serving_summary(executions).set_index(["model", "region"])
    eu = summary.loc[("llama3.2-1b", "EU")]
    assert eu["answers"] == 2 and eu["verified"] == 2 and eu["region_mismatches"] == 1
    assert eu["cloud_regions"] == "eu-west-1 (2)"
    assert eu["mismatched_cloud_regions"] == "us-east-1 (1)"
    assert eu["model_revisions"] == "rev-llama3.2-1b (2)" and eu["gpus"] == "Tesla T4 (2)"
    asia = summary.loc[("qwen2.5-1.5b", "ASIA")]
    assert asia["unverified"] == 2 and asia["cloud_regions"] == ""


def test_the_report_lists_serving_per_model_and_region_escaped():
    inputs = af.inputs(receipt_rows())
    page = "\n".join([render_report(inputs), *model_pages(inputs).values()])
    tags = PageTags(page)
    assert tags.tag_names <= REPORT_TAGS and "<script" not in page.lower()
    assert HOSTILE_REGION in tags.all_text and "<b>rev</b>" in tags.all_text  # shown as text
    assert "Where the answers were served" in page
    assert "eu-west-1 (2)" in page and "rev-qwen2.5-1.5b" in page
    assert "served from eu-west-1 (verified)" in page  # on the answer cards
    assert "serving region unverified" in page  # ASIA's server named no region
    counts = verification_counts(af.frame(receipt_rows()))
    assert (
        f"{counts['verified']} / {counts['unverified']} / {counts['region_mismatches']}" in page
    )


def test_exports_carry_the_receipts_and_an_old_row_reads_unverified(tmp_path):
    rows = receipt_rows()
    rows[-1].update(region_verified=None, served_cloud_region=None)  # from an older store
    write_audit_report(af.inputs(rows), tmp_path)
    exported = pd.read_csv(tmp_path / "executions.csv", keep_default_na=False)
    for column in ("served_cloud_region", "region_verified", "model_revision", "served_gpu",
                   "finish_reason", "prompt_sha256", "call_id", "served_cloud_provider",
                   "served_task_id"):
        assert column in exported.columns
    assert set(exported["region_verified"]) == {"yes", "no", "unverified"}
    assert exported["region_verified"].iloc[-1] == "unverified"
    assert HOSTILE_REGION in set(exported["served_cloud_region"])  # exports keep it verbatim
    parquet = pd.read_parquet(tmp_path / "executions.parquet")
    assert list(parquet.columns) == list(exported.columns)
