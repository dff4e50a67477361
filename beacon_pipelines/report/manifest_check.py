"""Check a report folder against its manifest.json: every file listed is there and unchanged,
and, given the signing key, the manifest's signature is the one that key makes."""

from __future__ import annotations

import hmac
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from beacon_pipelines.report.manifest import (
    MANIFEST_NAME,
    SIGNATURE_ALGORITHM,
    file_sha256,
    signature,
)
from beacon_pipelines.report.signing_key import SIGNING_KEY_ENV

_SHA256 = re.compile(r"^[0-9a-f]{64}$")


class ManifestError(ValueError):
    """No manifest to check against (no folder, no manifest.json, or not a manifest)."""


@dataclass
class FolderCheck:
    checked: int = 0  # files compared with the manifest
    problems: list[str] = field(default_factory=list)  # each makes the folder not intact
    notes: list[str] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        return not self.problems


def _load(folder: Path) -> dict:
    if not folder.is_dir():
        raise ManifestError(f"{folder} is not a folder")
    path = folder / MANIFEST_NAME
    if not path.is_file():
        raise ManifestError(f"{folder} has no {MANIFEST_NAME}: not a Beacon report folder")
    try:
        manifest = json.loads(path.read_text(encoding="utf-8"))
    except (ValueError, UnicodeDecodeError) as exc:
        raise ManifestError(f"{path} is not valid JSON: {exc}") from None
    files = manifest.get("files") if isinstance(manifest, dict) else None
    if not isinstance(files, dict) or not all(
        isinstance(k, str) and isinstance(v, str) and _SHA256.match(v) for k, v in files.items()
    ):
        raise ManifestError(f"{path} has no 'files' mapping each name to a sha256")
    return manifest


def check_folder(folder: Path, signing_key: str | None = None) -> FolderCheck:
    folder = Path(folder)
    manifest = _load(folder)
    files: dict[str, str] = manifest["files"]
    check = FolderCheck()
    for name, expected in sorted(files.items()):
        # A listed name must be a file of this folder: a crafted manifest reads nothing else.
        if name in ("", ".", "..", MANIFEST_NAME) or Path(name).name != name:
            check.problems.append(f"not a file of this folder: {name!r}")
            continue
        path = folder / name
        if not path.is_file():
            check.problems.append(f"missing: {name}")
        elif file_sha256(path) != expected:
            check.problems.append(f"changed: {name}")
        check.checked += 1
    unlisted = sorted(
        p.name for p in folder.iterdir()
        if p.is_file() and p.name not in files and p.name != MANIFEST_NAME
    )
    if unlisted:
        check.notes.append(f"not in the manifest (not checked): {', '.join(unlisted)}")
    _check_signature(manifest, signing_key, check)
    return check


def _check_signature(manifest: dict, signing_key: str | None, check: FolderCheck) -> None:
    signed = manifest.get("signature")
    if not signing_key:
        if signed:
            check.notes.append(
                f"the manifest is signed; set {SIGNING_KEY_ENV} to check its signature"
            )
        return
    if not isinstance(signed, dict) or signed.get("algorithm") != SIGNATURE_ALGORITHM:
        check.problems.append(f"signature: manifest.json is not signed ({SIGNATURE_ALGORITHM})")
        return
    value = signed.get("value")
    if not isinstance(value, str) or not hmac.compare_digest(
        value, signature(manifest, signing_key)
    ):
        check.problems.append(
            f"signature: does not match {SIGNING_KEY_ENV} (another key, or manifest.json "
            "was changed)"
        )
        return
    check.notes.append("signature: valid")
