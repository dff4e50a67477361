"""Dagster resources: configuration in, domain objects out (store, backend)."""

from dagster import ConfigurableResource
from pydantic import Field

from beacon_pipelines.backends.base import InferenceBackend
from beacon_pipelines.backends.simulated import SimulatedBackend, load_sim_config
from beacon_pipelines.store import ExecutionStore, default_store_url

BACKEND_KINDS = ("simulated",)


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
    """Which backend answers, with its timeouts and failover order."""

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

    def get_backend(self) -> InferenceBackend:
        if self.kind == "simulated":
            return SimulatedBackend(
                load_sim_config(self.sim_config or None),
                execution_timeout_s=self.execution_timeout_s,
                cold_start_timeout_s=self.cold_start_timeout_s,
            )
        raise ValueError(
            f"unknown backend kind {self.kind!r}; expected one of {', '.join(BACKEND_KINDS)}"
        )
