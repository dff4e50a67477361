"""A fake of the deployed BeaconJudge class, for the Modal judge's tests: it checks each batch
and builds each reply with the app's own contract code (check_judge_batch, build_judge_reply),
so only vLLM is replaced, by `reply_for(system_prompt, user message) -> (text, finish_reason)`.
`get_errors` are raised by the next calls' get(), one each, before replies resume."""

from __future__ import annotations

from collections.abc import Callable

from beacon_pipelines.backends.modal import app as modal_app

Reply = Callable[[str, str], tuple[str, str]]


class FakeJudgeCall:
    def __init__(self, owner: FakeJudgeClass, batch: dict):
        self.owner, self.batch, self.cancelled = owner, batch, False

    def get(self, timeout: float | None = None):
        self.owner.timeouts.append(timeout)
        if self.owner.get_errors:
            raise self.owner.get_errors.pop(0)
        items = modal_app.check_judge_batch(self.owner.entry, self.batch)
        generations = []
        for item in items:
            text, finish = self.owner.reply_for(item["system_prompt"], item["user"])
            generations.append({"text": text, "finish_reason": finish})
        return modal_app.build_judge_reply(
            self.owner.entry, "rev123", items, generations, {"cold": False},
            modal_app.container_facts({}),
        )

    def cancel(self) -> None:
        self.cancelled = True


class _Method:
    def __init__(self, owner: FakeJudgeClass):
        self.owner = owner

    def spawn(self, batch: dict) -> FakeJudgeCall:
        self.owner.batches.append(batch)
        call = FakeJudgeCall(self.owner, batch)
        self.owner.calls.append(call)
        return call


class _Obj:
    def __init__(self, owner: FakeJudgeClass):
        self.judge = _Method(owner)


class FakeJudgeClass:
    def __init__(self, reply_for: Reply, entry: dict | None = None, get_errors=None,
                 hydrate_error: BaseException | None = None):
        self.entry = entry or modal_app.SPEC["judge"]
        self.reply_for = reply_for
        self.get_errors = list(get_errors or [])
        self.hydrate_error = hydrate_error
        self.batches: list[dict] = []
        self.calls: list[FakeJudgeCall] = []
        self.timeouts: list[float | None] = []

    def hydrate(self):
        if self.hydrate_error is not None:
            raise self.hydrate_error
        return self

    def __call__(self) -> _Obj:
        return _Obj(self)


class FakeJudgeLookup:
    """lookup(app_name, class_name), as ModalClient is called."""

    def __init__(self, judge_class: FakeJudgeClass):
        self.judge_class = judge_class
        self.looked_up: list[tuple[str, str]] = []

    def __call__(self, app_name: str, name: str) -> FakeJudgeClass:
        import modal.exception

        self.looked_up.append((app_name, name))
        if app_name != modal_app.SPEC["app_name"] or name != modal_app.JUDGE_CLASS_NAME:
            raise modal.exception.NotFoundError(f"Lookup failed for Cls '{name}'")
        return self.judge_class
