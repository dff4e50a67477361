"""A small fake of what `modal.Cls.from_name(app, name)` returns, for the Modal backend's tests.

It answers with the deployed app's own contract code (modal_app.check_batch and build_reply),
so the backend is tested against the container's real request checks and reply shape; only
vLLM is replaced, by a deterministic text. Each spawned call has an id; `call_from_id` finds
it again as `modal.FunctionCall.from_id` does. A class made with `late=True` replies only once
`arrive()` is called: before that, `get` raises TimeoutError as Modal's does when the deadline
(or, with timeout=0, the poll) finds no output.
"""

from __future__ import annotations

import builtins
import itertools

from beacon_pipelines.backends.modal import app as modal_app

# Where each catalog region's containers report running (MODAL_REGION), by default.
CLOUD_REGION_OF = {"US": "us-east-1", "EU": "eu-west-1", "ASIA": "ap-northeast-1"}
_CALL_IDS = itertools.count(1)


def fake_text(item: dict) -> str:
    context = item["system_prompt"].split("based in ", 1)[-1].split(".", 1)[0]
    return f"From {context}: about {item['question']!r}."


class FakeCall:
    def __init__(self, owner: FakeCls, batch: dict):
        self.owner = owner
        self.batch = batch
        self.object_id = f"fc-{next(_CALL_IDS):04d}"
        self.arrived = not owner.late
        self.cancelled = False

    def arrive(self) -> None:
        self.arrived = True

    def get(self, timeout: float | None = None):
        self.owner.log.append(("get", timeout))
        if self.owner.get_error is not None:
            raise self.owner.get_error
        if self.cancelled:
            import modal.exception

            raise modal.exception.RemoteError("the call was cancelled")
        if not self.arrived:
            raise builtins.TimeoutError()
        items = modal_app.check_batch(self.owner.entry, self.batch)  # raises as the remote would
        generations = [
            {
                "text": fake_text(item),
                "prompt_tokens": 40,
                "completion_tokens": len(fake_text(item).split()),
                "finish_reason": "stop",
            }
            for item in items
        ]
        timings = {"cold": True, "load_s": 95.0, "received_at": 0.0, "generation_s": 4.2}
        container = {
            **modal_app.container_facts(self.owner.environ),
            "gpu": "Tesla T4",
            "dtype": "float16",
        }
        reply = modal_app.build_reply(
            self.owner.entry, "0123abc", items, generations, timings, container
        )
        if self.owner.tamper is not None:
            self.owner.tamper(reply)
        return reply

    def cancel(self) -> None:
        self.owner.log.append(("cancel",))
        self.cancelled = True


class FakeMethod:
    def __init__(self, owner: FakeCls):
        self.owner = owner

    def spawn(self, batch: dict) -> FakeCall:
        self.owner.log.append(("spawn", batch))
        if self.owner.spawn_error is not None:
            raise self.owner.spawn_error
        call = FakeCall(self.owner, batch)
        self.owner.calls.append(call)
        return call


class FakeObj:
    def __init__(self, owner: FakeCls):
        self.generate = FakeMethod(owner)


class FakeCls:
    def __init__(
        self,
        entry: dict,
        container_region: str | None = None,
        hydrate_error: BaseException | None = None,
        spawn_error: BaseException | None = None,
        get_error: BaseException | None = None,
        tamper=None,
        late: bool = False,
    ):
        self.entry = entry
        if container_region is None:  # where the class's region really is
            container_region = CLOUD_REGION_OF.get(entry.get("region_id"), "us-east-1")
        self.environ = {
            "MODAL_REGION": container_region,
            "MODAL_CLOUD_PROVIDER": "CLOUD_PROVIDER_AWS",
            "MODAL_TASK_ID": "ta-test",
        }
        self.hydrate_error = hydrate_error
        self.spawn_error = spawn_error
        self.get_error = get_error
        self.tamper = tamper
        self.late = late
        self.calls: list[FakeCall] = []
        self.log: list[tuple] = []

    def hydrate(self) -> FakeCls:
        self.log.append(("hydrate",))
        if self.hydrate_error is not None:
            raise self.hydrate_error
        return self

    def __call__(self) -> FakeObj:
        return FakeObj(self)


class FakeDeployment:
    """The lookup: the classes of modal_app.SPEC, with per-class overrides."""

    def __init__(self, **per_class_kwargs):
        self.entries = {e["class_name"]: e for e in modal_app.SPEC["classes"]}
        self.per_class_kwargs = per_class_kwargs
        self.handles: dict[str, FakeCls] = {}
        self.looked_up: list[tuple[str, str]] = []

    def __call__(self, app_name: str, name: str) -> FakeCls:
        import modal.exception

        self.looked_up.append((app_name, name))
        if app_name != modal_app.SPEC["app_name"] or name not in self.entries:
            handle = FakeCls(
                {"class_name": name},
                hydrate_error=modal.exception.NotFoundError(
                    f"Lookup failed for Cls '{name}' from the '{app_name}' app"
                ),
            )
        else:
            handle = self.handles.get(name) or FakeCls(
                self.entries[name], **self.per_class_kwargs.get(name, {})
            )
        self.handles[name] = handle
        return handle

    def call_from_id(self, call_id: str) -> FakeCall:
        for handle in self.handles.values():
            for call in handle.calls:
                if call.object_id == call_id:
                    return call
        import modal.exception

        raise modal.exception.NotFoundError(f"no function call {call_id}")

    @property
    def spawned(self) -> list[FakeCall]:
        """Every call spawned: each is billed GPU time."""
        return [call for handle in self.handles.values() for call in handle.calls]
