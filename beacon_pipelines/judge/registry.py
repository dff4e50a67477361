"""The judge backends by name, built from one JudgeConfig (the resource and the CLI both).

As the inference backends' registry does, a name maps to an import path, so `--judge openai`
never imports Modal's SDK. The API key is never in the config: only the NAME of the environment
variable holding it, read when the judge is built.
"""

from __future__ import annotations

import importlib
import os
from collections.abc import Mapping
from dataclasses import dataclass

from beacon_pipelines.backends.modal.deployment import DEFAULT_APP_NAME
from beacon_pipelines.judge.client import JudgeClient

NONE = "none"
JUDGES: dict[str, str] = {
    "openai": "beacon_pipelines.judge.openai_judge:OpenAIJudge",
    "modal": "beacon_pipelines.judge.modal_judge:ModalJudge",
}
JUDGE_KINDS = (NONE, *JUDGES)


class JudgeConfigError(ValueError):
    """A judge that cannot be built; one message naming the setting and its value."""


@dataclass(frozen=True)
class JudgeConfig:
    kind: str = NONE  # "none" | "openai" | "modal"
    base_url: str = ""  # openai: e.g. http://127.0.0.1:11434/v1
    model: str = ""  # openai: the served model name; modal: the Hugging Face id (default one)
    api_key_env: str = ""  # NAME of the env var holding the key; the key itself never here
    timeout_s: float = 60.0
    max_retries: int = 4  # for 429 / timeouts / 5xx
    batch_size: int = 32
    modal_app_name: str = DEFAULT_APP_NAME

    def check(self) -> None:
        if self.kind not in JUDGE_KINDS:
            raise JudgeConfigError(
                f"unknown judge {self.kind!r}; expected one of {', '.join(JUDGE_KINDS)}"
            )
        if not self.timeout_s > 0:
            raise JudgeConfigError(f"judge timeout_s {self.timeout_s!r} must be > 0")
        if self.max_retries < 0:
            raise JudgeConfigError(f"judge max_retries {self.max_retries!r} must be >= 0")
        if self.batch_size < 1:
            raise JudgeConfigError(f"judge batch_size {self.batch_size!r} must be >= 1")
        if self.kind == "openai":
            if not self.base_url:
                raise JudgeConfigError(
                    "the openai judge needs a base URL (--judge-base-url), e.g. "
                    "http://127.0.0.1:11434/v1"
                )
            if not self.model:
                raise JudgeConfigError("the openai judge needs a model name (--judge-model)")

    def api_key(self, environ: Mapping[str, str] = os.environ) -> str | None:
        """The key from the named variable; a name given but unset is an error (naming the
        variable, never a value)."""
        if not self.api_key_env:
            return None
        value = environ.get(self.api_key_env)
        if not value:
            raise JudgeConfigError(
                f"the judge's API key variable {self.api_key_env} (--judge-api-key-env) is "
                "not set or empty"
            )
        return value


def build_judge(
    config: JudgeConfig, *, modal_client=None, environ: Mapping[str, str] = os.environ
) -> JudgeClient | None:
    """The judge the config names, or None for kind "none" (no judge: an audit as before).
    `modal_client`: a lookup shaped like backends/modal/backend.py's ModalClient (tests inject
    a fake); without one, Modal's token is read from the environment."""
    config.check()
    if config.kind == NONE:
        return None
    module_name, class_name = JUDGES[config.kind].split(":")
    judge_class = getattr(importlib.import_module(module_name), class_name)
    return judge_class.from_config(config, modal_client=modal_client, environ=environ)
