"""`beacon audit --judge ...`: the judge settings, checked before anything starts, as run config.

The API key never enters run config or a file: only the NAME of its environment variable,
read by the judge client inside each run.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Mapping
from dataclasses import dataclass

from beacon_pipelines.cli.arguments import positive_float, positive_int

JUDGE_CHOICES = ("none", "openai", "modal")
DEFAULT_JUDGE_BATCH_SIZE = 32


@dataclass(frozen=True)
class JudgeSettings:
    kind: str = "none"
    base_url: str | None = None
    model: str | None = None
    api_key_env: str | None = None  # the variable's name; its value is never kept here
    batch_size: int | None = None
    timeout_s: float | None = None
    modal_app_name: str | None = None

    @property
    def enabled(self) -> bool:
        return self.kind != "none"

    def config(self):
        from beacon_pipelines.judge.registry import JudgeConfig

        given = {
            "base_url": self.base_url,
            "model": self.model,
            "api_key_env": self.api_key_env,
            "batch_size": self.batch_size,
            "timeout_s": self.timeout_s,
            "modal_app_name": self.modal_app_name,
        }
        return JudgeConfig(kind=self.kind, **{k: v for k, v in given.items() if v is not None})

    def build(self, environ: Mapping[str, str] = os.environ):
        """The judge the runs will build, built here first: a missing model or URL, or the
        key's variable unset, is one JudgeConfigError before anything starts. None: no judge."""
        from beacon_pipelines.judge.registry import build_judge

        return build_judge(self.config(), environ=environ)

    def resource_config(self) -> dict:
        """Fields of JudgeResource (the api key's variable by name only)."""
        return dataclasses.asdict(self.config())  # JudgeResource has JudgeConfig's fields


# Options that only mean something with a judge: given without one they would be ignored.
_JUDGE_ONLY_OPTIONS = {
    "judge_base_url": "--judge-base-url",
    "judge_model": "--judge-model",
    "judge_api_key_env": "--judge-api-key-env",
    "judge_batch_size": "--judge-batch-size",
    "judge_timeout": "--judge-timeout",
    "judge_modal_app": "--judge-modal-app",
}


def add_judge_arguments(
    parser: argparse.ArgumentParser,
    title: str = "LLM judge (default: none)",
    judge_help: str = "classify every answer with an LLM judge too, in the gpu pool (same "
    "cap as inference); its class is used where it has one. none: the classifier only",
):
    """The --judge options (`beacon audit`, `beacon eval-refusals`); their argument group."""
    judge = parser.add_argument_group(title)
    judge.add_argument("--judge", choices=JUDGE_CHOICES, default="none", help=judge_help)
    judge.add_argument("--judge-base-url", metavar="URL",
                       help="--judge openai: the OpenAI-compatible endpoint, e.g. .../v1")
    judge.add_argument("--judge-model", metavar="NAME",
                       help="the judge model (openai: its served name; modal: default one)")
    judge.add_argument(
        "--judge-api-key-env", metavar="NAME",
        help="environment variable holding the judge's API key (the key itself is never a flag)",
    )
    judge.add_argument(
        "--judge-batch-size", type=positive_int, metavar="N",
        help=f"answers per judge call, each batch stored as it ends (default "
        f"{DEFAULT_JUDGE_BATCH_SIZE})",
    )
    judge.add_argument("--judge-timeout", type=positive_float, metavar="S",
                       help="seconds one judge request may take (default 60)")
    judge.add_argument("--judge-modal-app", metavar="NAME",
                       help="--judge modal: the deployed app (default: beacon-inference)")
    return judge


def judge_settings(args) -> JudgeSettings:
    return JudgeSettings(
        kind=args.judge,
        base_url=args.judge_base_url,
        model=args.judge_model,
        api_key_env=args.judge_api_key_env,
        batch_size=args.judge_batch_size,
        timeout_s=args.judge_timeout,
        modal_app_name=args.judge_modal_app,
    )


def conflicting_judge_option(args) -> str | None:
    if args.judge != "none":
        return None
    for dest, flag in _JUDGE_ONLY_OPTIONS.items():
        if getattr(args, dest) is not None:
            return f"{flag} is an option of --judge openai or --judge modal (no --judge given)"
    return None
