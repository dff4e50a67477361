"""The one list of backends: name -> class, imported only when that backend is built.

As inspect_ai's provider registry does, a name maps to an import path, so choosing the
simulated backend never imports Modal's SDK. The Dagster resource, `beacon audit` (preflight)
and its dry run all build backends here, from one BackendConfig.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field

from beacon_pipelines.backends.base import InferenceBackend

BACKENDS: dict[str, str] = {
    "simulated": "beacon_pipelines.backends.simulated:SimulatedBackend",
    "modal": "beacon_pipelines.backends.modal.backend:ModalBackend",
    "openai": "beacon_pipelines.backends.openai_compatible:OpenAICompatibleBackend",
}
BACKEND_NAMES = tuple(BACKENDS)


class UnknownBackendError(ValueError):
    pass


@dataclass(frozen=True)
class BackendConfig:
    """Every backend's settings; each backend reads its own (`from_config`). Secrets arrive
    resolved (from EnvVar or the environment), never from a file or a flag."""

    execution_timeout_s: float = 600.0
    cold_start_timeout_s: float = 900.0
    # simulated
    sim_config: str | None = None
    # modal
    modal_app_name: str | None = None
    modal_environment: str | None = None
    modal_token_id: str | None = None
    modal_token_secret: str | None = None
    # openai-compatible
    openai_base_url: str | None = None
    openai_region_base_urls: dict[str, str] = field(default_factory=dict)
    openai_model_map: dict[str, str] = field(default_factory=dict)
    openai_api_key: str | None = None
    openai_region_header: str | None = None
    openai_concurrency: int | None = None
    openai_request_timeout_s: float | None = None

    def settings_for(self, prefix: str) -> dict:
        """One backend's settings with its prefix stripped ("openai_base_url" -> "base_url"),
        unset ones (None, "", {}) left out so the backend's own defaults apply."""
        return {
            name.removeprefix(prefix): value
            for name, value in vars(self).items()
            if name.startswith(prefix) and value not in (None, "", {})
        }


def backend_class(name: str) -> type:
    try:
        module_name, class_name = BACKENDS[name].split(":")
    except KeyError:
        raise UnknownBackendError(
            f"unknown backend {name!r}; expected one of {', '.join(BACKEND_NAMES)}"
        ) from None
    return getattr(importlib.import_module(module_name), class_name)


def build_backend(name: str, config: BackendConfig | None = None) -> InferenceBackend:
    return backend_class(name).from_config(config or BackendConfig())
