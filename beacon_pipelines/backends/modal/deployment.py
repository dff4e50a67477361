"""What Beacon deploys on Modal, derived from the catalog: one GPU class per (model, region).

Modal pins a function to a region when it is deployed (`@app.cls(region=...)`), and GPU type,
timeouts and container limits are per class too. So each (model, region) pair of the catalog is
its own class, named from both ids: the deployable app (app.py) declares exactly these
classes, the Modal backend looks them up by the same names, and the cost estimate prices them.

Plain data, no `modal` or `dagster` import: the deployed container never imports this module;
it receives the spec as JSON (see app.py).
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field

from beacon_pipelines.catalog import Catalog, load_catalog

DEFAULT_APP_NAME = "beacon-inference"
# Version of the request/reply dicts; app.PROTOCOL must equal it (a test checks).
PROTOCOL = 1
# A Modal secret holding HF_TOKEN: Llama 3.2 and Mistral are gated on Hugging Face.
DEFAULT_HF_SECRET = "huggingface-secret"
# Read when deploying (`beacon modal deploy` sets them); the catalog comes from BEACON_CATALOG.
APP_NAME_ENV = "BEACON_MODAL_APP"
HF_SECRET_ENV = "BEACON_MODAL_HF_SECRET"  # empty: no secret (ungated models only)

# Seconds. The client deadline of one call is STARTUP_TIMEOUT_S + EXECUTION_TIMEOUT_S.
EXECUTION_TIMEOUT_S = 600  # one batched call, cold start excluded
STARTUP_TIMEOUT_S = 900  # cold start: image pull, weights from the volume, vLLM load (6+ min seen)
SCALEDOWN_WINDOW_S = 600  # idle containers stay warm this long: retries and re-runs reuse them
# Per class: one partition is one container. Modal has no limit across classes, so the
# instance's GPU pool is the cap; this bounds a class (and the app at classes x this).
MAX_CONTAINERS_PER_CLASS = 1

_NOT_IDENTIFIER = re.compile(r"[^0-9A-Za-z_]")


def class_name(model_id: str, region_id: str) -> str:
    """The Modal class serving `model_id` pinned to `region_id`, e.g. Beacon_llama3_2_1b_US."""
    return "Beacon_" + _NOT_IDENTIFIER.sub("_", f"{model_id}_{region_id}")


@dataclass(frozen=True)
class ModalClassSpec:
    class_name: str
    model_id: str
    hf_id: str
    region_id: str
    # Passed as is to `@app.cls(...)`: gpu (first preferred, then fallbacks), region, timeouts.
    options: dict = field(default_factory=dict)


@dataclass(frozen=True)
class ModalDeploymentSpec:
    app_name: str
    hf_secret: str
    classes: tuple[ModalClassSpec, ...]

    def for_partition(self, model_id: str, region_id: str) -> ModalClassSpec:
        name = class_name(model_id, region_id)
        for entry in self.classes:
            if entry.class_name == name:
                return entry
        raise LookupError(f"no Modal class for model {model_id!r} in region {region_id!r}")

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)


def build_spec(
    catalog: Catalog,
    app_name: str = DEFAULT_APP_NAME,
    hf_secret: str = DEFAULT_HF_SECRET,
    execution_timeout_s: int = EXECUTION_TIMEOUT_S,
    startup_timeout_s: int = STARTUP_TIMEOUT_S,
    scaledown_window_s: int = SCALEDOWN_WINDOW_S,
    max_containers: int = MAX_CONTAINERS_PER_CLASS,
) -> ModalDeploymentSpec:
    if startup_timeout_s < 600:
        raise ValueError(f"startup_timeout_s {startup_timeout_s} < 600: cold starts take minutes")
    if max_containers < 1:
        raise ValueError(f"max_containers {max_containers} must be at least 1")
    classes: list[ModalClassSpec] = []
    owners: dict[str, tuple[str, str]] = {}
    for model in catalog.models:
        for region in catalog.regions:
            name = class_name(model.id, region.id)
            if name in owners:
                raise ValueError(
                    f"models/regions {owners[name]} and {(model.id, region.id)} both map to Modal "
                    f"class {name!r}; rename one id"
                )
            owners[name] = (model.id, region.id)
            classes.append(
                ModalClassSpec(
                    class_name=name,
                    model_id=model.id,
                    hf_id=model.hf_id,
                    region_id=region.id,
                    options={
                        "gpu": list(model.gpu),
                        "region": region.modal_region,
                        "timeout": execution_timeout_s,
                        "startup_timeout": startup_timeout_s,
                        "scaledown_window": scaledown_window_s,
                        "max_containers": max_containers,
                    },
                )
            )
    return ModalDeploymentSpec(app_name=app_name, hf_secret=hf_secret, classes=tuple(classes))


def spec_from_environment(environ: Mapping[str, str] = os.environ) -> ModalDeploymentSpec:
    """The spec a deploy builds: the catalog of BEACON_CATALOG (or the packaged one)."""
    return build_spec(
        load_catalog(),
        app_name=environ.get(APP_NAME_ENV) or DEFAULT_APP_NAME,
        hf_secret=environ.get(HF_SECRET_ENV, DEFAULT_HF_SECRET),
    )
