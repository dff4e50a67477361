"""Dagster resources: configuration in, domain objects out (store, backend, judge, signing key)."""

import os

from dagster import ConfigurableResource, EnvVar, Failure
from pydantic import Field

from beacon_pipelines.backends.base import BackendError, InferenceBackend
from beacon_pipelines.backends.batches import DEFAULT_BATCH_SIZE, MAX_BATCH_SIZE
from beacon_pipelines.backends.modal.credentials import TOKEN_ID_ENV, TOKEN_SECRET_ENV
from beacon_pipelines.backends.modal.deployment import DEFAULT_APP_NAME
from beacon_pipelines.backends.registry import (
    BACKEND_NAMES,
    BackendConfig,
    UnknownBackendError,
    build_backend,
)
from beacon_pipelines.catalog import Catalog
from beacon_pipelines.report.signing_key import SIGNING_KEY_ENV
from beacon_pipelines.store import (
    STORE_URL_ENV,
    ExecutionStore,
    configured_store_url,
    default_store_url,
)


class ExecutionStoreResource(ConfigurableResource):
    """Where executions are stored. Empty url: SQLite in $DAGSTER_HOME/beacon.db."""

    url: str | None = Field(
        default=None,
        description="SQLAlchemy URL, e.g. postgresql+psycopg2://user@host/db. Set it with "
        f"EnvVar('{STORE_URL_ENV}') so credentials never appear in config.",
    )

    def get_store(self) -> ExecutionStore:
        return ExecutionStore(self.url or default_store_url()).create()


def store_resource_from_environment() -> ExecutionStoreResource:
    """The store resource: bound to $BEACON_STORE_URL with EnvVar when it is set, so the URL
    (and its password) never enters config or the UI."""
    if configured_store_url():
        return ExecutionStoreResource(url=EnvVar(STORE_URL_ENV))
    return ExecutionStoreResource()


class InferenceBackendResource(ConfigurableResource):
    """Which backend answers, with its timeouts, failover order and per-backend settings.

    Secrets (Modal token, API key) are given as environment variables only: EnvVar in code, or
    `{env: NAME}` in run config; never as literal values.
    """

    kind: str = Field(default="simulated", description=f"One of {', '.join(BACKEND_NAMES)}.")
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
    batch_size: int = Field(
        default=DEFAULT_BATCH_SIZE,
        ge=1,
        le=MAX_BATCH_SIZE,
        description="Prompts per backend call: a partition's questions go in batches of this "
        "size, each stored in one transaction as its call ends.",
    )
    # -- modal ---------------------------------------------------------------------------------
    modal_app_name: str = Field(
        default=DEFAULT_APP_NAME, description="The deployed Modal app (beacon modal deploy)."
    )
    modal_environment: str = Field(default="", description="Modal environment; empty: default.")
    modal_token_id: str | None = Field(
        default=None, description=f"Set as {{env: {TOKEN_ID_ENV}}}, never a literal."
    )
    modal_token_secret: str | None = Field(
        default=None, description=f"Set as {{env: {TOKEN_SECRET_ENV}}}, never a literal."
    )
    # -- openai-compatible ---------------------------------------------------------------------
    openai_base_url: str = Field(
        default="", description="e.g. http://127.0.0.1:11434/v1 (Ollama); used for every region."
    )
    openai_region_base_urls: dict[str, str] = Field(
        default_factory=dict,
        description="Per-region base URLs, overriding openai_base_url and the catalog's "
        "openai_base_url of the region.",
    )
    openai_region_header: str = Field(
        default="",
        description="Response header naming the cloud region that served a reply; empty: "
        "answers are 'unverified'.",
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

    def get_backend(self, catalog: Catalog | None = None) -> InferenceBackend:
        try:
            return self._build(catalog)
        except (BackendError, UnknownBackendError) as exc:
            # Missing credentials or settings: retrying cannot help.
            raise Failure(str(exc), allow_retries=False) from None

    def _build(self, catalog: Catalog | None) -> InferenceBackend:
        settings = self.model_dump(exclude={"kind", "failover_order", "batch_size"})
        if catalog is not None:  # the catalog's per-region servers, under the configured ones
            urls = {r.id: r.openai_base_url for r in catalog.regions if r.openai_base_url}
            settings["openai_region_base_urls"] = {**urls, **settings["openai_region_base_urls"]}
        return build_backend(self.kind, BackendConfig(**settings))


def backend_resource_from_environment() -> InferenceBackendResource:
    """The default backend resource. Modal credentials are bound with EnvVar when the code
    location's environment has them, so a UI-launched run choosing `kind: modal` finds them;
    binding them when unset would fail every run, simulated ones included."""
    if os.environ.get(TOKEN_ID_ENV) and os.environ.get(TOKEN_SECRET_ENV):
        return InferenceBackendResource(
            modal_token_id=EnvVar(TOKEN_ID_ENV),
            modal_token_secret=EnvVar(TOKEN_SECRET_ENV),
        )
    return InferenceBackendResource()


class ReportSigningResource(ConfigurableResource):
    """The key that signs each report folder's manifest.json (HMAC-SHA256); empty: unsigned.
    Bound as EnvVar, so the key never enters run config, the UI, a log or metadata."""

    signing_key: str | None = Field(
        default=None, description=f"Set as {{env: {SIGNING_KEY_ENV}}}, never a literal."
    )


def signing_resource_from_environment() -> ReportSigningResource:
    """Bound to $BEACON_SIGNING_KEY with EnvVar when the code location's environment has it;
    binding it when unset would fail every report."""
    if os.environ.get(SIGNING_KEY_ENV):
        return ReportSigningResource(signing_key=EnvVar(SIGNING_KEY_ENV))
    return ReportSigningResource()


# The code location's judge, from its environment: BEACON_JUDGE_KIND (none, openai, modal) and
# the settings below. The API key is never one of them: only the NAME of its variable.
JUDGE_ENV = {
    "kind": "BEACON_JUDGE_KIND",
    "base_url": "BEACON_JUDGE_BASE_URL",
    "model": "BEACON_JUDGE_MODEL",
    "api_key_env": "BEACON_JUDGE_API_KEY_ENV",
}
JUDGE_KINDS = ("none", "openai", "modal")


class JudgeResource(ConfigurableResource):
    """The LLM judge of answers (answer_judgements); kind "none": no judge, nothing is judged.

    The API key is read by the judge client from the environment variable NAMED here
    (api_key_env): neither the key nor a reference to it is ever config, metadata or a log.
    """

    kind: str = Field(default="none", description=f"One of {', '.join(JUDGE_KINDS)}.")
    base_url: str = Field(
        default="", description="OpenAI-compatible endpoint, e.g. https://api.openai.com/v1."
    )
    model: str = Field(default="", description="The judge model; part of every judgement's key.")
    api_key_env: str = Field(
        default="",
        description="NAME of the environment variable holding the judge's API key (sent as a "
        "bearer token); empty: no key.",
    )
    timeout_s: float = Field(default=60.0, gt=0, description="Timeout of one judge request.")
    max_retries: int = Field(
        default=4, ge=0, description="Retries of a throttled (429), timed-out or 5xx request."
    )
    batch_size: int = Field(
        default=32, ge=1, description="Answers per judge call; each batch is stored as it ends."
    )
    modal_app_name: str = Field(
        default=DEFAULT_APP_NAME, description="The deployed Modal app serving the judge class."
    )

    def config(self):
        import dataclasses

        from beacon_pipelines.judge.registry import JudgeConfig

        fields = dataclasses.fields(JudgeConfig)  # JudgeResource has the same fields
        return JudgeConfig(**{f.name: getattr(self, f.name) for f in fields})

    def get_judge(self):
        """The judge client, or None for kind "none". A judge that cannot be built (no model,
        no URL, the key's variable unset) fails the step for good: retrying cannot help."""
        if self.kind == "none":
            return None
        # Imported here: the code location loads this module, and the judge only runs in steps.
        from beacon_pipelines.judge.registry import JudgeConfigError, build_judge

        try:
            return build_judge(self.config())
        except JudgeConfigError as exc:
            raise Failure(str(exc), allow_retries=False) from None


def judge_resource_from_environment(environ=os.environ) -> JudgeResource:
    """The default judge: none, unless the code location's environment names one
    (BEACON_JUDGE_KIND and the other JUDGE_ENV variables), e.g. for the recurring schedule."""
    settings = {field: environ.get(name, "") for field, name in JUDGE_ENV.items()}
    if not settings["kind"] or settings["kind"] == "none":
        return JudgeResource()
    return JudgeResource(**{k: v for k, v in settings.items() if v})
