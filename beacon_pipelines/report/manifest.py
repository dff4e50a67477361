"""manifest.json: what a report folder holds, so anyone can check later that nothing changed.

It lists the sha256 of every file of the folder, the audit's plan, the catalog hash, one hash
over the per-answer receipts (what was asked, what came back, where it was served), the Beacon
version, the Dagster run ids, when a reviewer's labels were applied, their file's sha256, and
when an LLM judge's classes were used, the judge model and its prompt's sha256. With a signing
key it carries an HMAC-SHA256 of itself, so a folder whose files and manifest were both
rewritten is caught too. The key is only ever an argument here: never written, logged or put
in metadata.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import math
from json.encoder import encode_basestring as _encode_string
from pathlib import Path

import pandas as pd

from beacon_pipelines.report.inputs import ReportInputs

MANIFEST_NAME = "manifest.json"
MANIFEST_VERSION = 1
SIGNATURE_ALGORITHM = "HMAC-SHA256"
# The key itself is an argument here; where it comes from: signing_key.py.

# One receipt per attempt: what was asked, what came back, where and by what it was served.
RECEIPT_COLUMNS = [
    "audit_id", "model", "region", "question_id", "sample", "attempt", "status",
    "requested_region", "served_region", "error_type", "prompt_sha256", "response_sha256",
    "served_cloud_region", "region_verified", "served_cloud_provider", "served_task_id",
    "served_gpu", "model_revision", "finish_reason", "call_id", "backend", "run_id",
]
_RECEIPT_ORDER = ["audit_id", "model", "region", "question_id", "sample", "attempt"]
_RECEIPT_BLOCK = 5_000  # receipts hashed per block


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _plain(value: object) -> object:
    """A cell as JSON: missing values (None, NaN, NA) are null, numpy scalars plain."""
    if value is None or value is pd.NA or (isinstance(value, float) and math.isnan(value)):
        return None
    return value.item() if hasattr(value, "item") else value


def receipts_sha256(executions: pd.DataFrame) -> str:
    """sha256 over every attempt's receipt, one canonical JSON line each, in key order."""
    frame = executions.reindex(columns=RECEIPT_COLUMNS)
    if not frame.empty:
        frame = frame.sort_values(_RECEIPT_ORDER, kind="stable")
    # Each line is canonical_json(receipt), written out by column (90,000 json.dumps calls
    # took most of a second), a block of rows at a time (all at once held ~300 MB of text).
    digest = hashlib.sha256()
    names = sorted(RECEIPT_COLUMNS)
    for start in range(0, len(frame), _RECEIPT_BLOCK):
        block = frame.iloc[start : start + _RECEIPT_BLOCK]
        members = [_json_members(name, block[name]) for name in names]
        lines = "".join("{" + ",".join(row) + "}\n" for row in zip(*members, strict=True))
        digest.update(lines.encode("utf-8", "surrogatepass"))
    return digest.hexdigest()


def _json_members(name: str, column: pd.Series) -> list[str]:
    """'"name":value' of each cell, as canonical_json writes it in an object."""
    key = json.dumps(name) + ":"
    return [key + _json_value(_plain(v)) for v in column.tolist()]


def _json_value(value: object) -> str:
    """json.dumps(value, ensure_ascii=False) for the plain values a receipt holds."""
    if type(value) is str:
        return _encode_string(value)
    if value is None:
        return "null"
    if value is True or value is False:
        return "true" if value else "false"
    if type(value) is int:
        return int.__repr__(value)
    return json.dumps(value, ensure_ascii=False)  # floats and anything else: json's own


def canonical_json(value: object) -> bytes:
    text = json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    # A receipt is server text and may hold a lone surrogate (UTF-8 has none): surrogatepass
    # hashes it as its UTF-16 code unit's 3-byte form; other text is plain UTF-8.
    return text.encode("utf-8", "surrogatepass")


def signature(manifest: dict, key: str) -> str:
    """HMAC-SHA256 of the manifest without its signature, as canonical JSON."""
    unsigned = {k: v for k, v in manifest.items() if k != "signature"}
    return hmac.new(key.encode(), canonical_json(unsigned), hashlib.sha256).hexdigest()


def build_manifest(
    inputs: ReportInputs, files: dict[str, str], signing_key: str | None = None
) -> dict:
    """`files`: name -> sha256 of each file written beside the manifest."""
    plan, executions = inputs.plan, inputs.executions
    run_ids = set(executions["run_id"].dropna().astype(str)) if "run_id" in executions else set()
    if inputs.report_run_id:
        run_ids.add(inputs.report_run_id)
    manifest = {
        "manifest_version": MANIFEST_VERSION,
        "audit_id": plan.audit_id,
        "beacon_version": inputs.beacon_version,
        "plan": {
            "backend": plan.backend,
            "models": list(plan.models),
            "regions": list(plan.regions),
            "questions": list(plan.questions),
            "samples": plan.samples,
            "created_at": plan.created_at,
        },
        "catalog_sha256": plan.catalog_sha256,
        "receipts": {"attempts": len(executions), "sha256": receipts_sha256(executions)},
        "dagster_run_ids": sorted(run_ids),
        "files": dict(sorted(files.items())),
    }
    summary = inputs.analysis.summary
    if summary.get("labels_sha256"):
        # A reviewer's labels changed classes: which file, so the report can be reproduced.
        manifest["labels"] = {
            "sha256": summary["labels_sha256"],
            "applied": summary.get("labels_applied", 0),
        }
    judge = summary.get("judge")
    if judge:
        # An LLM judge's classes were used: which model with which prompt.
        manifest["judge"] = {
            "model": judge.get("model", ""),
            "prompt_sha256": judge.get("prompt_sha256", ""),
            "judged": judge.get("judged", 0),
            "failed": judge.get("failed", 0),
        }
    if signing_key:
        manifest["signature"] = {
            "algorithm": SIGNATURE_ALGORITHM,
            "value": signature(manifest, signing_key),
        }
    return manifest


def write_manifest(
    folder: Path, names: list[str], inputs: ReportInputs, signing_key: str | None = None
) -> Path:
    """Hash the files `names` in `folder` and write manifest.json beside them."""
    files = {name: file_sha256(folder / name) for name in names}
    path = folder / MANIFEST_NAME
    manifest = build_manifest(inputs, files, signing_key)
    path.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return path
