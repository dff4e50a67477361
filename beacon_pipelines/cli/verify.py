"""`beacon verify DIR`: is a report folder exactly as Beacon wrote it?

Exit 0 when every file listed in manifest.json is there with its sha256 (and, with
BEACON_SIGNING_KEY set, the signature matches); 1 naming each file changed or missing; 2 when
there is no manifest to check against.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def add_arguments(verify: argparse.ArgumentParser) -> None:
    verify.add_argument("folder", metavar="DIR", type=Path, help="a report folder")


def run(args) -> int:
    from beacon_pipelines.report.manifest_check import ManifestError, check_folder
    from beacon_pipelines.report.signing_key import SIGNING_KEY_ENV

    try:
        check = check_folder(args.folder, os.environ.get(SIGNING_KEY_ENV) or None)
    except ManifestError as exc:
        print(f"beacon verify: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    for problem in check.problems:
        print(problem)
    for note in check.notes:
        print(f"note: {note}")
    if not check.intact:
        print(
            f"beacon verify: {args.folder}: NOT intact ({len(check.problems)} problem(s))",
            file=sys.stderr,
        )
        return EXIT_FAILED
    print(f"intact: {check.checked} files match manifest.json")
    return EXIT_OK
