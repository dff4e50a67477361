"""The judge on Modal: the BeaconJudge class of the deployed app (backends/modal/app.py),
serving an open judge model with vLLM, a whole batch of answers per call.

The client is called the way the Modal inference backend calls its classes: `lookup(app_name,
"BeaconJudge")` gives a handle shaped like `modal.Cls.from_name(...)` (`.hydrate()`; calling it
gives an object whose `.judge.spawn(batch)` returns a call with `.get(timeout=...)` and
`.cancel()`). Tests inject a fake lookup; without one, Modal's token is read from
MODAL_TOKEN_ID / MODAL_TOKEN_SECRET.

Per call: the versioned prompt and each answer as data (prompt.py) go in, the raw replies come
back and are parsed here (reply.py). A reply that is not a verdict is asked again once, in the
next call, then judge_failed. A call that times out, is throttled or meets an outage is retried
with backoff up to `max_retries`, then every answer in it is judge_failed. A rejected token, an
undeployed class or a class serving another model raise JudgePermanentError.
"""

from __future__ import annotations

import builtins
import os
import time
from collections.abc import Callable, Mapping, Sequence

from beacon_pipelines.backends.base import ErrorKind
from beacon_pipelines.backends.modal.backend import (
    ModalClient,
    cancel_call,
    classify_modal_error,
    describe_error,
)
from beacon_pipelines.backends.modal.credentials import TOKEN_ID_ENV, TOKEN_SECRET_ENV
from beacon_pipelines.backends.modal.deployment import (
    DEFAULT_APP_NAME,
    EXECUTION_TIMEOUT_S,
    STARTUP_TIMEOUT_S,
)
from beacon_pipelines.judge.client import JudgePermanentError
from beacon_pipelines.judge.prompt import JudgePrompt, data_block, load_prompt
from beacon_pipelines.judge.registry import JudgeConfig, JudgeConfigError
from beacon_pipelines.judge.reply import ReplyError, parse_reply
from beacon_pipelines.judge.verdict import JUDGED, JudgeItem, JudgeVerdict

# The deployed app's names (app.py has the same; a test checks).
JUDGE_CLASS_NAME = "BeaconJudge"
JUDGE_PROTOCOL = 1
DEFAULT_JUDGE_HF_ID = "Qwen/Qwen2.5-7B-Instruct"
MAX_REPLY_TOKENS = 256
REPLY_RETRIES = 1
BACKOFF_BASE_S = 2.0
MAX_WAIT_S = 60.0
# A call may wait for a cold start (weights from the volume, vLLM load) and then its run:
# the class's startup_timeout plus its timeout.
CALL_DEADLINE_S = STARTUP_TIMEOUT_S + EXECUTION_TIMEOUT_S
_PERMANENT = (ErrorKind.AUTH, ErrorKind.NOT_FOUND, ErrorKind.BAD_REQUEST)


class ModalJudge:
    kind = "modal"

    @classmethod
    def from_config(
        cls, config: JudgeConfig, *, modal_client=None, environ: Mapping[str, str] | None = None
    ) -> ModalJudge:
        environ = os.environ if environ is None else environ
        if modal_client is None:
            missing = [e for e in (TOKEN_ID_ENV, TOKEN_SECRET_ENV) if not environ.get(e)]
            if missing:
                raise JudgeConfigError(
                    f"the modal judge needs Modal credentials: {' and '.join(missing)} not set "
                    "(`modal token new` creates a token)"
                )
            modal_client = ModalClient(environ[TOKEN_ID_ENV], environ[TOKEN_SECRET_ENV])
        return cls(
            lookup=modal_client,
            model=config.model or DEFAULT_JUDGE_HF_ID,
            app_name=config.modal_app_name or DEFAULT_APP_NAME,
            max_retries=config.max_retries,
        )

    def __init__(
        self,
        lookup: Callable[[str, str], object],
        model: str = DEFAULT_JUDGE_HF_ID,
        app_name: str = DEFAULT_APP_NAME,
        max_retries: int = 4,
        deadline_s: float = CALL_DEADLINE_S,
        prompt: JudgePrompt | None = None,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.model = model
        self.app_name = app_name
        self.max_retries = max_retries
        self.deadline_s = deadline_s
        self.prompt = prompt or load_prompt()
        self.prompt_sha256 = self.prompt.sha256
        self._lookup = lookup
        self._sleep = sleep
        self._handle = None

    def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        items = list(items)
        verdicts: dict[int, JudgeVerdict] = {}
        attempts = dict.fromkeys(range(len(items)), 0)
        bad_replies = dict.fromkeys(range(len(items)), 0)
        pending = list(range(len(items)))
        transient = 0
        while pending:
            for index in pending:
                attempts[index] += 1
            try:
                replies = self._call([items[i] for i in pending], pending)
            except _Transient as exc:
                transient += 1
                if transient > self.max_retries:
                    for i in pending:
                        verdicts[i] = JudgeVerdict.failed(
                            items[i].response_sha256, attempts[i],
                            f"{exc}; still failing after {transient} calls",
                        )
                    break
                self._sleep(min(BACKOFF_BASE_S * 2 ** (transient - 1), MAX_WAIT_S))
                continue
            again = []
            for i in pending:
                reply = replies.get(str(i))
                try:
                    if reply is None:
                        raise ReplyError("no reply for this answer in the call's reply")
                    text, finish = reply.get("text"), reply.get("finish_reason")
                    parsed = parse_reply(
                        text if isinstance(text, str) else None,
                        finish if isinstance(finish, str) else None,
                    )
                except ReplyError as exc:
                    bad_replies[i] += 1
                    if bad_replies[i] > REPLY_RETRIES:
                        verdicts[i] = JudgeVerdict.failed(
                            items[i].response_sha256, attempts[i], f"unreadable reply: {exc}"
                        )
                    else:
                        again.append(i)
                    continue
                verdicts[i] = JudgeVerdict(
                    items[i].response_sha256, parsed.judge_class, parsed.reason, JUDGED,
                    attempts[i],
                )
            pending = again
            if pending:
                self._sleep(BACKOFF_BASE_S)
        return [verdicts[i] for i in range(len(items))]

    # -- one call ----------------------------------------------------------------------------

    def request_batch(self, items: Sequence[JudgeItem], keys: Sequence[int]) -> dict:
        """The dict BeaconJudge.judge takes (checked there by check_judge_batch)."""
        return {
            "protocol": JUDGE_PROTOCOL,
            "hf_id": self.model,
            "max_tokens": MAX_REPLY_TOKENS,
            "items": [
                {"key": str(key), "system_prompt": self.prompt.text, "user": data_block(item)}
                for key, item in zip(keys, items, strict=True)
            ],
        }

    def _class(self):
        if self._handle is None:
            try:
                handle = self._lookup(self.app_name, JUDGE_CLASS_NAME)
                handle.hydrate()
            except Exception as exc:
                self._raise(exc, "looking up")
            self._handle = handle
        return self._handle

    def _call(self, items: Sequence[JudgeItem], keys: Sequence[int]) -> dict[str, dict]:
        batch = self.request_batch(items, keys)
        handle = self._class()
        try:
            call = handle().judge.spawn(batch)
        except Exception as exc:
            self._raise(exc, "starting")
        try:
            reply = call.get(timeout=self.deadline_s)
        except builtins.TimeoutError:
            cancel_call(call)
            raise _Transient(
                f"no reply from the Modal judge within {self.deadline_s:g} s; the call was "
                "cancelled"
            ) from None
        except Exception as exc:
            self._raise(exc, "running")
        except BaseException:
            cancel_call(call)  # interrupted: nobody will collect this reply
            raise
        return self._replies(reply)

    def _replies(self, reply: object) -> dict[str, dict]:
        if not isinstance(reply, dict) or reply.get("protocol") != JUDGE_PROTOCOL:
            protocol = reply.get("protocol") if isinstance(reply, dict) else type(reply).__name__
            raise JudgePermanentError(
                f"the Modal judge {self.app_name}/{JUDGE_CLASS_NAME} replied with protocol "
                f"{protocol!r}, expected {JUDGE_PROTOCOL}: redeploy the app (beacon modal deploy)"
            )
        replies = reply.get("replies")
        if not isinstance(replies, list):
            raise _Transient("malformed reply from the Modal judge: no list 'replies'")
        return {r["key"]: r for r in replies if isinstance(r, dict) and isinstance(r.get("key"),
                                                                                    str)}

    def _raise(self, exc: Exception, doing: str):
        kind = classify_modal_error(exc)
        where = f"{self.app_name}/{JUDGE_CLASS_NAME} (model {self.model})"
        failure = f"the Modal judge {where} failed {doing} the call: {describe_error(exc, 300)}"
        if kind in _PERMANENT:
            hint = {
                ErrorKind.AUTH: f"check {TOKEN_ID_ENV}/{TOKEN_SECRET_ENV}",
                ErrorKind.NOT_FOUND: "deploy it with `beacon modal deploy`",
                ErrorKind.BAD_REQUEST: "redeploy the app, or judge with the model it serves",
            }[kind]
            raise JudgePermanentError(f"{failure}; {hint}") from None
        raise _Transient(failure) from None


class _Transient(Exception):
    """A whole call failed in a way another call may not (timeout, throttling, an outage)."""


