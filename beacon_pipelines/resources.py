"""Dagster resources: configuration in, domain objects out (store, backend)."""

import os

from dagster import ConfigurableResource, EnvVar, Failure
from pydantic import Field

from beacon_pipelines.backends.base import BackendError, InferenceBackend
from beacon_pipelines.backends.modal_deployment import DEFAULT_APP_NAME
from beacon_pipelines.backends.simulated import SimulatedBackend, load_sim_config
from beacon_pipelines.store import ExecutionStore, default_store_url

BACKEND_KINDS = ("simulated", "modal", "openai")
MODAL_TOKEN_ID_ENV = "MODAL_TOKEN_ID"
MODAL_TOKEN_SECRET_ENV = "MODAL_TOKEN_SECRET"


class ExecutionStoreResource(ConfigurableResource):
    """Where executions are stored. Empty url: SQLite in $DAGSTER_HOME/beacon.db."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg2://user@host/db. Set it with "
        "EnvVar('BEACON_STORE_URL') so credentials never appear in config.",
    )

    def get_store(self) -> ExecutionStore:
        return ExecutionStore(self.url or default_store_url()).create()


class InferenceBackendResource(ConfigurableResource):
    """Which backend answers, with its timeouts, failover order and per-backend settings.

    Secrets (Modal token, API key) are given as environment variables only: EnvVar in code, or
    `{env: NAME}` in run config; never as literal values.
    """

    kind: str = Field(default="simulated", description=f"One of {', '.join(BACKEND_KINDS)}.")
    sim_config: str = Field(
        default="",
        description="Path of the simulated backend's YAML config (seed, latency, faults).",
    )
    execution_timeout_s: float = Field(
        default=600.0, gt=0, description="Budget of one call's execution, queue time excluded."
    )
    cold_start_timeout_s: float = Field(
        default=900.0, gt=0, description="Budget for a container to become ready."
    )
    failover_order: list[str] = Field(
        default_factory=list,
        description="Regions a retry moves through, in order. Empty: the catalog's order.",
    )
    # -- modal ---------------------------------------------------------------------------------
    modal_app_name: str = Field(
        default=DEFAULT_APP_NAME, description="The deployed Modal app (beacon modal deploy)."
    )
    modal_environment: str = Field(default="", description="Modal environment; empty: default.")
    modal_token_id: str | None = Field(
        default=None, description=f"Set as {{env: {MODAL_TOKEN_ID_ENV}}}, never a literal."
    )
    modal_token_secret: str | None = Field(
        default=None, description=f"Set as {{env: {MODAL_TOKEN_SECRET_ENV}}}, never a literal."
    )
    # -- openai-compatible ---------------------------------------------------------------------
    openai_base_url: str = Field(
        default="", description="e.g. http://127.0.0.1:11434/v1 (Ollama); used for every region."
    )
    openai_region_base_urls: dict[str, str] = Field(
        default_factory=dict, description="Per-region base URLs, overriding openai_base_url."
    )
    openai_model_map: dict[str, str] = Field(
        default_factory=dict,
        description="Catalog model id -> served model name, e.g. llama3.2-1b: 'llama3.2:1b'.",
    )
    openai_api_key: str | None = Field(
        default=None, description="Set as {env: NAME} (sent as a bearer token), never a literal."
    )
    openai_concurrency: int = Field(default=4, ge=1, description="Requests in flight per call.")
    openai_request_timeout_s: float = Field(
        default=120.0, gt=0, description="Timeout of one HTTP request (connect and each read)."
    )

    def get_backend(self) -> InferenceBackend:
        try:
            return self._build()
        except BackendError as exc:
            # Missing credentials or settings: retrying cannot help.
            raise Failure(str(exc), allow_retries=False) from None

    def _build(self) -> InferenceBackend:
        if self.kind == "simulated":
            return SimulatedBackend(
                load_sim_config(self.sim_config or None),
                execution_timeout_s=self.execution_timeout_s,
                cold_start_timeout_s=self.cold_start_timeout_s,
            )
        if self.kind == "modal":
            from beacon_pipelines.backends.modal_backend import ModalBackend

            return ModalBackend(
                app_name=self.modal_app_name,
                token_id=self.modal_token_id,
                token_secret=self.modal_token_secret,
                environment_name=self.modal_environment or None,
                execution_timeout_s=self.execution_timeout_s,
                cold_start_timeout_s=self.cold_start_timeout_s,
            )
        if self.kind == "openai":
            from beacon_pipelines.backends.openai_compatible import OpenAICompatibleBackend

            return OpenAICompatibleBackend(
                base_url=self.openai_base_url or None,
                region_base_urls=self.openai_region_base_urls,
                model_map=self.openai_model_map,
                api_key=self.openai_api_key,
                concurrency=self.openai_concurrency,
                request_timeout_s=self.openai_request_timeout_s,
            )
        raise ValueError(
            f"unknown backend kind {self.kind!r}; expected one of {', '.join(BACKEND_KINDS)}"
        )


def backend_resource_from_environment() -> InferenceBackendResource:
    """The default backend resource. Modal credentials are bound with EnvVar when the code
    location's environment has them, so a UI-launched run choosing `kind: modal` finds them;
    binding them when unset would fail every run, simulated ones included."""
    if os.environ.get(MODAL_TOKEN_ID_ENV) and os.environ.get(MODAL_TOKEN_SECRET_ENV):
        return InferenceBackendResource(
            modal_token_id=EnvVar(MODAL_TOKEN_ID_ENV),
            modal_token_secret=EnvVar(MODAL_TOKEN_SECRET_ENV),
        )
    return InferenceBackendResource()
