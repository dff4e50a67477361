"""The deployable Modal app: one vLLM GPU class per (model, region) of the catalog, and the
judge: one vLLM class serving an open judge model (BeaconJudge, see "The judge" below).

Deploy with `beacon modal deploy` or `modal deploy beacon_pipelines/backends/modal/app.py`
(needs a Modal account and a `huggingface-secret` holding HF_TOKEN; see README, "Deploying to
Modal").
BEACON_CATALOG, BEACON_MODAL_APP and BEACON_MODAL_HF_SECRET change what a deploy builds.

Why a class per (model, region): Modal pins a function to a region when it is deployed, and GPU
type, timeouts and container limits are per class as well. One app then holds every deployment
an audit needs; the backend calls `Beacon_<model>_<region>` for a partition (model, region) and,
on a failover retry, the same model's class in the next region.

Locally (deploy, tests) the classes come from the catalog through `backends/modal/deployment.py`.
Modal ships only this file into the container, so the same spec travels in the image's
environment as JSON, and the container rebuilds the identical classes from it. Importing this
module needs no credentials and makes no network call; `modal deploy` does the rest.

The judge (`beacon audit --judge modal`) is Qwen/Qwen2.5-7B-Instruct by default: an open,
ungated instruct model that follows a JSON reply format reliably, reads Chinese as well as
English (Beacon's questions are asked in both), and fits one 24 GB GPU (L4 or A10G) in bf16;
a 9B-class open judge agrees with people about 0.74 on SpeechMap-style classes, frontier judges
0.88-0.93, so `--judge openai` can point at a stronger one. BEACON_MODAL_JUDGE_MODEL deploys
another Hugging Face id. The class is not pinned to a region (a judge reads answers, it does not
answer for a region), so it pays no regional multiplier. The client sends whole chat messages
(the versioned prompt and the answer as data: beacon_pipelines/judge/prompt.py) and parses the
replies itself; the container only generates, at temperature 0, a batch per call.
"""

import hashlib
import json
import os
import time

import modal

SPEC_ENV = "BEACON_MODAL_SPEC"
PROTOCOL = 1  # version of the request/reply dicts below; the backend checks it

VLLM_VERSION = "0.10.1.1"  # pinned: the last line that still falls back to V0 on T4 (sm75)
HF_HUB_VERSION = "0.34.4"
HF_CACHE_DIR = "/root/.cache/huggingface"
VLLM_CACHE_DIR = "/root/.cache/vllm"
# Short prompts and 500 new tokens: a small context keeps the KV cache within a T4's 16 GB.
MAX_MODEL_LEN = 4096
# Weights in two layouts are in some repos (consolidated + sharded); download one.
IGNORE_PATTERNS = ["*.pth", "*.pt", "*.bin", "original/*", "consolidated*"]


# The judge (the client in beacon_pipelines/judge/modal_judge.py has the same names; a test
# checks them).
JUDGE_CLASS_NAME = "BeaconJudge"
JUDGE_PROTOCOL = 1
DEFAULT_JUDGE_HF_ID = "Qwen/Qwen2.5-7B-Instruct"
JUDGE_MODEL_ENV = "BEACON_MODAL_JUDGE_MODEL"
# 7B in bf16 is 15 GB of weights: a 24 GB GPU; a T4's 16 GB cannot hold it.
JUDGE_GPU = ["L4", "A10G"]
# The versioned prompt (~600 tokens) and an answer capped at 12,000 characters (up to ~12,000
# tokens of Chinese), with room to spare.
JUDGE_MAX_MODEL_LEN = 16384
JUDGE_MAX_REPLY_TOKENS = 1024
JUDGE_TIMEOUT_S = 600
JUDGE_STARTUP_TIMEOUT_S = 900
JUDGE_SCALEDOWN_WINDOW_S = 600
JUDGE_MAX_CONTAINERS = 1  # the instance's GPU pool is the cap across classes


def _judge_entry(environ=os.environ) -> dict:
    return {
        "class_name": JUDGE_CLASS_NAME,
        "hf_id": environ.get(JUDGE_MODEL_ENV) or DEFAULT_JUDGE_HF_ID,
        "options": {
            "gpu": list(JUDGE_GPU),
            "timeout": JUDGE_TIMEOUT_S,
            "startup_timeout": JUDGE_STARTUP_TIMEOUT_S,
            "scaledown_window": JUDGE_SCALEDOWN_WINDOW_S,
            "max_containers": JUDGE_MAX_CONTAINERS,
        },
    }


def _load_spec() -> dict:
    shipped = os.environ.get(SPEC_ENV)
    if shipped:
        return json.loads(shipped)
    # Deploying (or testing): the catalog decides. Never reached inside a container.
    from beacon_pipelines.backends.modal.deployment import spec_from_environment

    spec = json.loads(spec_from_environment().to_json())
    spec["judge"] = _judge_entry()
    return spec


SPEC: dict = _load_spec()

app = modal.App(SPEC["app_name"])

image = (
    modal.Image.debian_slim(python_version="3.12")
    .uv_pip_install(f"vllm=={VLLM_VERSION}", f"huggingface_hub[hf_transfer]=={HF_HUB_VERSION}")
    .env({"HF_HUB_ENABLE_HF_TRANSFER": "1", SPEC_ENV: json.dumps(SPEC, sort_keys=True)})
)
hf_cache = modal.Volume.from_name("beacon-hf-cache", create_if_missing=True)
vllm_cache = modal.Volume.from_name("beacon-vllm-cache", create_if_missing=True)
secrets = [modal.Secret.from_name(SPEC["hf_secret"])] if SPEC["hf_secret"] else []


# -- the request/reply contract (pure: the backend's tests run it without a GPU) -------------


def batch_items(batch: dict, fields: tuple[str, ...], kind: str) -> list[dict]:
    """The batch's non-empty list of items, each with a string in every field; ValueError
    naming the first item that lacks one (`kind`: "" or "judge ", as the messages say)."""
    items = batch.get("items")
    if not isinstance(items, list) or not items:
        raise ValueError(f"a {kind}batch needs a non-empty list of items")
    for index, item in enumerate(items):
        missing = [k for k in fields if not isinstance(item.get(k), str)]
        if missing:
            raise ValueError(f"{kind}item {index} lacks string field(s) {', '.join(missing)}")
    return items


def check_batch(entry: dict, batch: dict) -> list[dict]:
    """The batch's items, or ValueError naming what is wrong (a bad request: never retried)."""
    if batch.get("protocol") != PROTOCOL:
        raise ValueError(f"protocol {batch.get('protocol')!r} is not {PROTOCOL}; redeploy the app")
    if batch.get("hf_id") != entry["hf_id"]:
        raise ValueError(
            f"class {entry['class_name']} serves {entry['hf_id']}, the request asks for "
            f"{batch.get('hf_id')!r}; redeploy the app from the catalog the audit uses"
        )
    items = batch_items(batch, ("key", "system_prompt", "question"), kind="")
    temperature, max_new_tokens = batch.get("temperature"), batch.get("max_new_tokens")
    if not isinstance(temperature, (int, float)) or not 0 <= temperature <= 2:
        raise ValueError(f"temperature {temperature!r} is not a number in [0, 2]")
    limit = MAX_MODEL_LEN // 2
    if not isinstance(max_new_tokens, int) or not 1 <= max_new_tokens <= limit:
        raise ValueError(f"max_new_tokens {max_new_tokens!r} is not an int in [1, {limit}]")
    return items


def chat_messages(system_prompt: str, question: str, system_role: bool) -> list[dict]:
    if system_role:
        return [
            {"role": "system", "content": system_prompt},
            {"role": "user", "content": question},
        ]
    # Chat templates without a system role get the regional prompt ahead of the question.
    return [{"role": "user", "content": f"{system_prompt}\n\n{question}"}]


def build_reply(
    entry: dict,
    revision: str,
    items: list[dict],
    generations: list[dict],
    timings: dict,
    container: dict,
) -> dict:
    """One receipt per answer: text, its sha256, token counts; model, region and timings once."""
    answers = []
    for item, generation in zip(items, generations, strict=True):
        text = generation["text"]
        answers.append(
            {
                "key": item["key"],
                "text": text,
                "sha256": hashlib.sha256(text.encode()).hexdigest(),
                "prompt_tokens": generation["prompt_tokens"],
                "completion_tokens": generation["completion_tokens"],
                "finish_reason": generation["finish_reason"],
            }
        )
    return {
        "protocol": PROTOCOL,
        "model": {"model_id": entry["model_id"], "hf_id": entry["hf_id"], "revision": revision},
        "deployment": {"class_name": entry["class_name"], "region_id": entry["region_id"]},
        "container": container,
        "timings": timings,
        "answers": answers,
    }


def container_facts(environ=os.environ) -> dict:
    """Where this container runs, as Modal reports it inside the container."""
    return {
        "region": environ.get("MODAL_REGION"),
        "cloud": environ.get("MODAL_CLOUD_PROVIDER"),
        "task_id": environ.get("MODAL_TASK_ID"),
    }


# -- the judge's request/reply contract (pure, as above) -------------------------------------


def check_judge_batch(entry: dict, batch: dict) -> list[dict]:
    """The judge batch's items, or ValueError naming what is wrong (never retried)."""
    if batch.get("protocol") != JUDGE_PROTOCOL:
        raise ValueError(
            f"judge protocol {batch.get('protocol')!r} is not {JUDGE_PROTOCOL}; redeploy the app"
        )
    if batch.get("hf_id") != entry["hf_id"]:
        raise ValueError(
            f"class {entry['class_name']} serves {entry['hf_id']}, the request asks for "
            f"{batch.get('hf_id')!r}; redeploy with {JUDGE_MODEL_ENV}={batch.get('hf_id')} or "
            f"judge with {entry['hf_id']}"
        )
    items = batch_items(batch, ("key", "system_prompt", "user"), kind="judge ")
    max_tokens = batch.get("max_tokens")
    if not isinstance(max_tokens, int) or not 1 <= max_tokens <= JUDGE_MAX_REPLY_TOKENS:
        raise ValueError(
            f"max_tokens {max_tokens!r} is not an int in [1, {JUDGE_MAX_REPLY_TOKENS}]"
        )
    return items


def build_judge_reply(
    entry: dict, revision: str, items: list[dict], generations: list[dict], timings: dict,
    container: dict,
) -> dict:
    """The judge's raw reply text per item (the client parses it), and where it ran."""
    return {
        "protocol": JUDGE_PROTOCOL,
        "model": {"hf_id": entry["hf_id"], "revision": revision},
        "container": container,
        "timings": timings,
        "replies": [
            {"key": item["key"], "text": g["text"], "finish_reason": g["finish_reason"]}
            for item, g in zip(items, generations, strict=True)
        ],
    }


# -- the GPU classes -------------------------------------------------------------------------


class _VllmServer:
    """Loads one model with vLLM once per container (a generated class per model sets ENTRY)."""

    ENTRY: dict = {}  # class_name, hf_id (and model_id, region_id for the audited models)
    MAX_LEN = MAX_MODEL_LEN

    @modal.enter()
    def load(self) -> None:
        import torch
        from huggingface_hub import snapshot_download
        from vllm import LLM

        started = time.time()
        hf_id = self.ENTRY["hf_id"]
        local = snapshot_download(hf_id, ignore_patterns=IGNORE_PATTERNS)
        hf_cache.commit()  # the next cold start, in any region, reads the weights from the volume
        self.revision = os.path.basename(local)  # snapshots/<commit sha>
        major, _minor = torch.cuda.get_device_capability(0)
        self.dtype = "bfloat16" if major >= 8 else "float16"  # T4 (sm75) has no bfloat16
        self.gpu = torch.cuda.get_device_name(0)
        self.llm = LLM(
            model=hf_id,
            revision=self.revision,
            tokenizer_revision=self.revision,
            dtype=self.dtype,
            max_model_len=self.MAX_LEN,
            gpu_memory_utilization=0.90,
            enforce_eager=True,  # skip CUDA-graph capture: faster cold starts, small batches
        )
        self.system_role = _template_takes_system_role(self.llm.get_tokenizer())
        self.load_s = time.time() - started
        self.calls = 0

    def _call_facts(self, received_at: float) -> tuple[dict, dict]:
        """(timings, container) of the call that started at `received_at`."""
        cold = self.calls == 0
        self.calls += 1
        timings = {
            "cold": cold,
            "load_s": self.load_s,
            "received_at": received_at,
            "generation_s": time.time() - received_at,
        }
        return timings, {**container_facts(), "gpu": self.gpu, "dtype": self.dtype}


class BeaconModelServer(_VllmServer):
    """An audited model; answers a whole partition's batch per call."""

    @modal.method()
    def generate(self, batch: dict) -> dict:
        from vllm import SamplingParams

        received_at = time.time()
        items = check_batch(self.ENTRY, batch)
        params = SamplingParams(
            temperature=float(batch["temperature"]), max_tokens=batch["max_new_tokens"]
        )
        conversations = [
            chat_messages(i["system_prompt"], i["question"], self.system_role) for i in items
        ]
        outputs = self.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        generations = [
            {
                "text": out.outputs[0].text,
                "prompt_tokens": len(out.prompt_token_ids or []),
                "completion_tokens": len(out.outputs[0].token_ids),
                "finish_reason": out.outputs[0].finish_reason,
            }
            for out in outputs
        ]
        timings, container = self._call_facts(received_at)
        return build_reply(self.ENTRY, self.revision, items, generations, timings, container)


class BeaconJudgeServer(_VllmServer):
    """The judge model; judges a batch of answers per call."""

    MAX_LEN = JUDGE_MAX_MODEL_LEN

    @modal.method()
    def judge(self, batch: dict) -> dict:
        from vllm import SamplingParams

        received_at = time.time()
        items = check_judge_batch(self.ENTRY, batch)
        # Temperature 0: the same answer gets the same verdict.
        params = SamplingParams(temperature=0.0, max_tokens=batch["max_tokens"])
        conversations = [
            chat_messages(i["system_prompt"], i["user"], self.system_role) for i in items
        ]
        outputs = self.llm.chat(conversations, sampling_params=params, use_tqdm=False)
        generations = [
            {"text": out.outputs[0].text, "finish_reason": out.outputs[0].finish_reason}
            for out in outputs
        ]
        timings, container = self._call_facts(received_at)
        return build_judge_reply(self.ENTRY, self.revision, items, generations, timings, container)


def _template_takes_system_role(tokenizer) -> bool:
    probe = [{"role": "system", "content": "s"}, {"role": "user", "content": "u"}]
    try:
        tokenizer.apply_chat_template(probe, tokenize=False, add_generation_prompt=True)
    except Exception:  # jinja raises for templates that reject the role
        return False
    return True


# The options each class is declared with, by class name (the tests compare them to the catalog).
DECLARED: dict[str, dict] = {}


def _declare(entry: dict):
    name = entry["class_name"]
    entry_fields = {k: entry[k] for k in ("class_name", "model_id", "hf_id", "region_id")}
    user_cls = type(
        name,
        (BeaconModelServer,),
        # Global scope, under its own name: the container imports it by that name.
        {"ENTRY": entry_fields, "__module__": __name__, "__qualname__": name},
    )
    DECLARED[name] = dict(entry["options"])
    return app.cls(
        image=image,
        volumes={HF_CACHE_DIR: hf_cache, VLLM_CACHE_DIR: vllm_cache},
        secrets=secrets,
        **entry["options"],
    )(user_cls)


for _entry in SPEC["classes"]:
    globals()[_entry["class_name"]] = _declare(_entry)

# The judge's options, as declared (the tests compare them to the constants above).
JUDGE_DECLARED: dict = dict(SPEC["judge"]["options"])


def _declare_judge(entry: dict):
    name = entry["class_name"]
    user_cls = type(
        name,
        (BeaconJudgeServer,),
        {
            "ENTRY": {"class_name": name, "hf_id": entry["hf_id"]},
            "__module__": __name__,
            "__qualname__": name,
        },
    )
    return app.cls(
        image=image,
        volumes={HF_CACHE_DIR: hf_cache, VLLM_CACHE_DIR: vllm_cache},
        secrets=secrets,
        **entry["options"],
    )(user_cls)


globals()[SPEC["judge"]["class_name"]] = _declare_judge(SPEC["judge"])
