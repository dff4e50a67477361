"""manifest.json and `beacon verify`: intact, tampered, missing-file and wrong-key folders."""

from __future__ import annotations

import json

import pytest

from beacon_pipelines.cli import main as cli
from beacon_pipelines.report.folder import report_files, write_audit_report
from beacon_pipelines.report.manifest import MANIFEST_NAME, file_sha256, receipts_sha256
from beacon_pipelines.report.manifest_check import ManifestError, check_folder
from beacon_pipelines_tests.support import audit_factory as af

KEY = "beacon-test-signing-key-0b7e"
OTHER_KEY = "not-the-key"


@pytest.fixture
def folder(tmp_path):
    write_audit_report(af.inputs(), tmp_path / "report", signing_key=KEY)
    return tmp_path / "report"


def verify(folder, monkeypatch, capsys, key=None) -> tuple[int, str, str]:
    if key is None:
        monkeypatch.delenv("BEACON_SIGNING_KEY", raising=False)
    else:
        monkeypatch.setenv("BEACON_SIGNING_KEY", key)
    code = cli.main(["verify", str(folder)])
    out = capsys.readouterr()
    return code, out.out, out.err


def test_the_manifest_describes_the_folder(folder):
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    listed = sorted(n for n in report_files(af.MODELS) if n != MANIFEST_NAME)
    assert sorted(manifest["files"]) == listed
    for name, sha in manifest["files"].items():
        assert file_sha256(folder / name) == sha
    inputs = af.inputs()
    assert manifest["audit_id"] == inputs.plan.audit_id
    assert manifest["catalog_sha256"] == inputs.plan.catalog_sha256
    assert manifest["plan"]["models"] == list(inputs.plan.models)
    assert manifest["beacon_version"] == "9.9.9"
    assert manifest["receipts"] == {
        "attempts": len(inputs.executions), "sha256": receipts_sha256(inputs.executions)
    }
    assert "run-llama3.2-1b-US" in manifest["dagster_run_ids"]
    assert manifest["signature"]["algorithm"] == "HMAC-SHA256"
    for path in folder.iterdir():  # the key itself is written nowhere
        assert KEY.encode() not in path.read_bytes(), path


def test_the_receipts_hash_changes_with_any_receipt():
    executions = af.inputs().executions
    before = receipts_sha256(executions)
    assert receipts_sha256(executions.sample(frac=1, random_state=3)) == before  # order-free
    changed = executions.astype({"served_cloud_region": object})
    changed.loc[0, "served_cloud_region"] = "eu-west-1"
    assert receipts_sha256(changed) != before


def test_an_intact_folder_verifies(folder, monkeypatch, capsys):
    code, out, _ = verify(folder, monkeypatch, capsys, key=KEY)
    assert code == 0
    assert "intact: 9 files match manifest.json" in out and "signature: valid" in out
    # Without the key the files are still checked, and the signature is said to be unchecked.
    code, out, _ = verify(folder, monkeypatch, capsys)
    assert code == 0 and "set BEACON_SIGNING_KEY to check its signature" in out


def test_a_changed_file_and_a_missing_file_are_each_named(folder, monkeypatch, capsys):
    with open(folder / "executions.csv", "a") as handle:
        handle.write("forged,row\n")
    (folder / "analysis.parquet").unlink()
    code, out, err = verify(folder, monkeypatch, capsys, key=KEY)
    assert code == 1
    assert "changed: executions.csv" in out and "missing: analysis.parquet" in out
    assert "report.html" not in out  # only what differs
    assert "NOT intact (2 problem(s))" in err


def test_a_wrong_key_or_a_rewritten_manifest_fails_the_signature(folder, monkeypatch, capsys):
    code, out, _ = verify(folder, monkeypatch, capsys, key=OTHER_KEY)
    assert code == 1 and "signature: does not match BEACON_SIGNING_KEY" in out

    # Someone edits a file and rewrites its hash in the manifest: only the signature catches it.
    (folder / "report.html").write_text("<p>all fine</p>")
    manifest = json.loads((folder / MANIFEST_NAME).read_text())
    manifest["files"]["report.html"] = file_sha256(folder / "report.html")
    (folder / MANIFEST_NAME).write_text(json.dumps(manifest))
    assert check_folder(folder).intact  # unsigned check: the hashes agree
    code, out, _ = verify(folder, monkeypatch, capsys, key=KEY)
    assert code == 1 and "signature: does not match" in out


def test_an_unsigned_folder_fails_when_a_key_is_expected(tmp_path, monkeypatch, capsys):
    write_audit_report(af.inputs(), tmp_path, signing_key=None)
    assert "signature" not in json.loads((tmp_path / MANIFEST_NAME).read_text())
    assert verify(tmp_path, monkeypatch, capsys)[0] == 0
    code, out, _ = verify(tmp_path, monkeypatch, capsys, key=KEY)
    assert code == 1 and "manifest.json is not signed" in out


def test_no_manifest_or_a_crafted_one_is_refused(tmp_path, monkeypatch, capsys):
    code, _, err = verify(tmp_path, monkeypatch, capsys)
    assert code == 2 and "has no manifest.json" in err
    (tmp_path / MANIFEST_NAME).write_text("{not json")
    assert verify(tmp_path, monkeypatch, capsys)[0] == 2
    (tmp_path / "secret.txt").write_text("outside")
    crafted = {"files": {"../secret.txt": "0" * 64, "/etc/passwd": "0" * 64}}
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / MANIFEST_NAME).write_text(json.dumps(crafted))
    check = check_folder(tmp_path / "sub")
    assert not check.intact and all(p.startswith("not a file of this folder") for p in
                                    check.problems)
    with pytest.raises(ManifestError):
        check_folder(tmp_path / "missing")


def test_a_receipt_with_a_lone_surrogate_or_a_nul_is_hashed():
    """Receipts are server text, kept exactly by the store: a lone surrogate cannot be UTF-8
    and once made the manifest raise, failing the report."""
    executions = af.inputs().executions.astype({"model_revision": object})
    before = receipts_sha256(executions)
    executions.loc[0, "model_revision"] = "rev-\ud800"
    with_surrogate = receipts_sha256(executions)
    executions.loc[0, "model_revision"] = "rev-\x00"
    assert len({before, with_surrogate, receipts_sha256(executions)}) == 3
