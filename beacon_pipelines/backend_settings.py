"""The backend settings `beacon audit` collects: their run config, their preflight, a dry run.

Secrets never enter run config: only the names of the environment variables that hold them,
in Dagster's `{"env": NAME}` form, resolved by Dagster inside each run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from beacon_pipelines.backends.base import BackendError, ErrorKind
from beacon_pipelines.backends.modal_deployment import DEFAULT_APP_NAME
from beacon_pipelines.backends.openai_compatible import DEFAULT_CONCURRENCY

BACKENDS = ("simulated", "modal", "openai")
MODAL_TOKEN_ID_ENV = "MODAL_TOKEN_ID"
MODAL_TOKEN_SECRET_ENV = "MODAL_TOKEN_SECRET"


@dataclass
class BackendSettings:
    modal_app_name: str = DEFAULT_APP_NAME
    modal_environment: str | None = None
    openai_base_url: str | None = None
    openai_model_map: dict[str, str] = field(default_factory=dict)
    openai_api_key_env: str | None = None  # the variable's name; its value is never read here
    openai_concurrency: int = DEFAULT_CONCURRENCY

    def resource_config(self, backend: str) -> dict:
        """Fields of InferenceBackendResource for this backend (besides `kind`)."""
        if backend == "modal":
            config = {
                "modal_app_name": self.modal_app_name,
                "modal_token_id": {"env": MODAL_TOKEN_ID_ENV},
                "modal_token_secret": {"env": MODAL_TOKEN_SECRET_ENV},
            }
            if self.modal_environment:
                config["modal_environment"] = self.modal_environment
            return config
        if backend == "openai":
            config = {
                "openai_base_url": self.openai_base_url or "",
                "openai_model_map": dict(self.openai_model_map),
                "openai_concurrency": self.openai_concurrency,
            }
            if self.openai_api_key_env:
                config["openai_api_key"] = {"env": self.openai_api_key_env}
            return config
        return {}

    def build_backend(self, backend: str, environ: Mapping[str, str] = os.environ):
        """The backend the runs will build, from the same settings: for preflight."""
        if backend == "modal":
            from beacon_pipelines.backends.modal_backend import ModalBackend

            return ModalBackend(
                app_name=self.modal_app_name,
                token_id=environ.get(MODAL_TOKEN_ID_ENV),
                token_secret=environ.get(MODAL_TOKEN_SECRET_ENV),
                environment_name=self.modal_environment,
            )
        if backend == "openai":
            from beacon_pipelines.backends.openai_compatible import OpenAICompatibleBackend

            api_key = None
            if self.openai_api_key_env:
                api_key = environ.get(self.openai_api_key_env)
                if not api_key:
                    raise BackendError(
                        ErrorKind.AUTH,
                        f"environment variable {self.openai_api_key_env} (--openai-api-key-env) "
                        "is not set",
                    )
            return OpenAICompatibleBackend(
                base_url=self.openai_base_url,
                model_map=self.openai_model_map,
                api_key=api_key,
                concurrency=self.openai_concurrency,
            )
        return None

    def preflight(
        self,
        backend: str,
        models: Sequence[str],
        regions: Sequence[str],
        environ: Mapping[str, str] = os.environ,
    ) -> None:
        """Credentials, deployment, reachability: one clear BackendError before anything runs.

        `regions` should be every region a failover may reach, not only the audit's.
        """
        built = self.build_backend(backend, environ)
        if built is not None:
            built.preflight(models, regions)
