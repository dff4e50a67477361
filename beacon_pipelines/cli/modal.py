"""`beacon modal deploy`: deploy the Modal app (beacon_pipelines/backends/modal/app.py)."""

from __future__ import annotations

import argparse
from pathlib import Path


def add_arguments(modal: argparse.ArgumentParser) -> None:
    modal_sub = modal.add_subparsers(dest="modal_command", required=True)
    deploy = modal_sub.add_parser(
        "deploy", help="deploy beacon_pipelines/backends/modal/app.py (runs `modal deploy`)"
    )
    deploy.add_argument("--catalog", type=Path, help="catalog YAML (default: the packaged one)")
    deploy.add_argument("--app", help="Modal app name (default: beacon-inference)")
    deploy.add_argument(
        "--hf-secret",
        help="Modal secret holding HF_TOKEN (default: huggingface-secret; '' for none)",
    )
    deploy.add_argument("--env", help="Modal environment (default: your profile's)")



def run(args) -> int:
    from beacon_pipelines.backends.modal.deploy import deploy

    return deploy(catalog=args.catalog, app_name=args.app, hf_secret=args.hf_secret, env=args.env)
