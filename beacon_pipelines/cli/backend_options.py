"""The backend settings `beacon audit` collects: their run config, their preflight, a dry run.

Secrets never enter run config: only the names of the environment variables that hold them,
in Dagster's `{"env": NAME}` form, resolved by Dagster inside each run.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace

from beacon_pipelines.backends.base import BackendError, ErrorKind
from beacon_pipelines.backends.modal.credentials import TOKEN_ID_ENV, TOKEN_SECRET_ENV
from beacon_pipelines.backends.modal.deployment import DEFAULT_APP_NAME
from beacon_pipelines.backends.openai_compatible import DEFAULT_CONCURRENCY
from beacon_pipelines.backends.registry import BackendConfig, build_backend
from beacon_pipelines.catalog import Catalog


@dataclass
class BackendSettings:
    modal_app_name: str = DEFAULT_APP_NAME
    modal_environment: str | None = None
    openai_base_url: str | None = None
    # region -> base URL: --openai-region-url, over the catalog's openai_base_url
    openai_region_base_urls: dict[str, str] = field(default_factory=dict)
    openai_region_header: str | None = None  # response header naming the serving cloud region
    openai_model_map: dict[str, str] = field(default_factory=dict)
    openai_api_key_env: str | None = None  # the variable's name; its value is never read here
    openai_concurrency: int = DEFAULT_CONCURRENCY

    def resource_config(self, backend: str) -> dict:
        """Fields of InferenceBackendResource for this backend (besides `kind`)."""
        if backend == "modal":
            config = {
                "modal_app_name": self.modal_app_name,
                "modal_token_id": {"env": TOKEN_ID_ENV},
                "modal_token_secret": {"env": TOKEN_SECRET_ENV},
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
            if self.openai_region_base_urls:
                config["openai_region_base_urls"] = dict(self.openai_region_base_urls)
            if self.openai_region_header:
                config["openai_region_header"] = self.openai_region_header
            if self.openai_api_key_env:
                config["openai_api_key"] = {"env": self.openai_api_key_env}
            return config
        return {}

    def build_backend(self, backend: str, environ: Mapping[str, str] = os.environ):
        """The backend the runs will build, from the same settings, for preflight: secrets are
        read from `environ` here as Dagster's EnvVar reads them in the runs."""
        if backend == "simulated":
            return None  # its config file is checked on its own; nothing to reach
        api_key = None
        if backend == "openai" and self.openai_api_key_env:
            api_key = environ.get(self.openai_api_key_env)
            if not api_key:
                raise BackendError(
                    ErrorKind.AUTH,
                    f"environment variable {self.openai_api_key_env} (--openai-api-key-env) "
                    "is not set",
                )
        config = BackendConfig(
            modal_app_name=self.modal_app_name,
            modal_environment=self.modal_environment,
            modal_token_id=environ.get(TOKEN_ID_ENV),
            modal_token_secret=environ.get(TOKEN_SECRET_ENV),
            openai_base_url=self.openai_base_url,
            openai_region_base_urls=self.openai_region_base_urls,
            openai_region_header=self.openai_region_header,
            openai_model_map=self.openai_model_map,
            openai_api_key=api_key,
            openai_concurrency=self.openai_concurrency,
        )
        return build_backend(backend, config)

    def preflight(
        self,
        backend: str,
        models: Sequence[str],
        regions: Sequence[str],
        environ: Mapping[str, str] = os.environ,
    ) -> list[str]:
        """Credentials, deployment, reachability: one clear BackendError before anything runs.
        Returns warnings to show (e.g. a server that does not list its models).

        `regions` should be every region a failover may reach, not only the audit's.
        """
        built = self.build_backend(backend, environ)
        if built is None:
            return []
        return list(built.preflight(models, regions) or [])

    def with_catalog(self, catalog: Catalog) -> BackendSettings:
        """The catalog's per-region servers, under the ones given as flags."""
        urls = {r.id: r.openai_base_url for r in catalog.regions if r.openai_base_url}
        return replace(self, openai_region_base_urls={**urls, **self.openai_region_base_urls})

    def openai_region_without_server(self, regions: Sequence[str]) -> str | None:
        """The first of `regions` that no OpenAI-compatible server answers for."""
        if self.openai_base_url:
            return None
        return next((r for r in regions if r not in self.openai_region_base_urls), None)
