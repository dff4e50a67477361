"""A judge behind any OpenAI-compatible endpoint (a hosted API, vLLM, Ollama, llama.cpp).

One POST {base_url}/chat/completions per answer (the chat API has no batch call), at temperature
0, a few at a time on a small thread pool; verdicts come back in the items' order. Per answer:

- a reply that is not a verdict (empty, cut off, not JSON, an unknown class; see reply.py) is
  asked again once, after a backoff, then the answer is judge_failed;
- 429 (Retry-After honoured up to a bound), 408, 5xx, timeouts and an unreachable server are
  retried with exponential backoff up to `max_retries`, then the answer is judge_failed;
- 401, 403 and 404 (a rejected key, an unknown model or route) raise JudgePermanentError:
  every answer would fail the same way;
- any other status (400: e.g. a context too long for this answer) fails that answer at once.

The key is read from the environment variable the config names, sent only as a bearer token,
and masked out of every message (a server may echo it in an error body).
"""

from __future__ import annotations

import http.client
import json
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor

from beacon_pipelines.backends.base import BackendError
from beacon_pipelines.backends.openai_compatible import (
    HttpReply,
    check_base_url,
    completion_text,
    http_request,
    retry_after_seconds,
)
from beacon_pipelines.judge.client import JudgePermanentError
from beacon_pipelines.judge.prompt import JudgePrompt, load_prompt, messages
from beacon_pipelines.judge.registry import JudgeConfig, JudgeConfigError
from beacon_pipelines.judge.reply import ReplyError, parse_reply
from beacon_pipelines.judge.verdict import JUDGED, JudgeItem, JudgeVerdict

DEFAULT_CONCURRENCY = 4
MAX_REPLY_TOKENS = 256  # {"class": ..., "reason": one sentence} needs well under 100
REPLY_RETRIES = 1  # a reply that is not a verdict is asked again this many times
BACKOFF_BASE_S = 1.0  # 1 s, 2 s, 4 s, ... between retries without a Retry-After
MAX_WAIT_S = 30.0  # no single wait (Retry-After included) is longer than this
_PERMANENT = (401, 403, 404)


class OpenAIJudge:
    kind = "openai"

    @classmethod
    def from_config(
        cls, config: JudgeConfig, *, modal_client=None, environ: Mapping[str, str] | None = None
    ) -> OpenAIJudge:
        import os

        return cls(
            base_url=config.base_url,
            model=config.model,
            api_key=config.api_key(os.environ if environ is None else environ),
            timeout_s=config.timeout_s,
            max_retries=config.max_retries,
        )

    def __init__(
        self,
        base_url: str,
        model: str,
        api_key: str | None = None,
        timeout_s: float = 60.0,
        max_retries: int = 4,
        concurrency: int = DEFAULT_CONCURRENCY,
        prompt: JudgePrompt | None = None,
        max_wait_s: float = MAX_WAIT_S,
        sleep: Callable[[float], None] = time.sleep,
    ):
        try:
            self.base_url = check_base_url(base_url, "judge base URL", "--judge-api-key-env")
        except BackendError as exc:
            raise JudgeConfigError(str(exc)) from None
        if concurrency < 1:
            raise JudgeConfigError(f"judge concurrency {concurrency} must be >= 1")
        self.model = model
        self.prompt = prompt or load_prompt()
        self.prompt_sha256 = self.prompt.sha256
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.concurrency = concurrency
        self.max_wait_s = max_wait_s
        self._api_key = api_key or None
        self._sleep = sleep

    def __repr__(self) -> str:  # never show the key
        key = "set" if self._api_key else "none"
        return f"OpenAIJudge(base_url={self.base_url!r}, model={self.model!r}, api_key={key})"

    @property
    def url(self) -> str:
        return f"{self.base_url}/chat/completions"

    def judge(self, items: Sequence[JudgeItem]) -> list[JudgeVerdict]:
        items = list(items)
        if not items:
            return []
        workers = min(self.concurrency, len(items))
        if workers == 1:
            return [self._judge_one(item) for item in items]
        pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="beacon-judge")
        try:
            futures = [pool.submit(self._judge_one, item) for item in items]
            return [future.result() for future in futures]  # in order; the first error raises
        finally:
            # A permanent error leaves the rest unsent.
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one answer --------------------------------------------------------------------------

    def _judge_one(self, item: JudgeItem) -> JudgeVerdict:
        body = json.dumps(
            {
                "model": self.model,
                "messages": messages(self.prompt, item),
                "temperature": 0,
                "max_tokens": MAX_REPLY_TOKENS,
                "stream": False,
            }
        ).encode()
        attempts = bad_replies = transient = 0
        while True:
            attempts += 1
            try:
                reply = http_request("POST", self.url, body, self.timeout_s, self._api_key)
            except TimeoutError:
                problem, wait = f"no reply from {self.url} within {self.timeout_s:g} s", None
            except (OSError, http.client.HTTPException) as exc:
                problem, wait = f"cannot reach {self.url}: {type(exc).__name__}: {exc}", None
            else:
                if 200 <= reply.status < 300:
                    try:
                        parsed = _parse(reply)
                    except ReplyError as exc:
                        bad_replies += 1
                        if bad_replies > REPLY_RETRIES:
                            return self._failed(item, attempts, f"unreadable reply: {exc}")
                        self._sleep(self._backoff(bad_replies))
                        continue
                    return JudgeVerdict(
                        item.response_sha256, parsed.judge_class, parsed.reason, JUDGED, attempts
                    )
                message = f"HTTP {reply.status} from {self.url} (model {self.model}): "
                message += self._masked(reply.excerpt())
                if reply.status in _PERMANENT:
                    hint = (
                        "check --judge-api-key-env"
                        if reply.status in (401, 403)
                        else "check --judge-base-url and --judge-model"
                    )
                    raise JudgePermanentError(f"the judge refused: {message}; {hint}")
                if reply.status != 429 and reply.status != 408 and reply.status < 500:
                    return self._failed(item, attempts, message)
                problem = message
                wait = retry_after_seconds(reply.headers.get("Retry-After"))
            transient += 1
            if transient > self.max_retries:
                return self._failed(
                    item, attempts, f"{problem}; still failing after {attempts} attempts"
                )
            self._sleep(min(self.max_wait_s, wait if wait is not None else
                            self._backoff(transient)))

    def _backoff(self, retry: int) -> float:
        return min(BACKOFF_BASE_S * 2 ** (retry - 1), self.max_wait_s)

    def _failed(self, item: JudgeItem, attempts: int, error: str) -> JudgeVerdict:
        return JudgeVerdict.failed(item.response_sha256, attempts, self._masked(error))

    def _masked(self, text: str) -> str:
        return text.replace(self._api_key, "***") if self._api_key else text


def _parse(reply: HttpReply):
    try:
        data = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        raise ReplyError(f"the response body is not JSON: {reply.excerpt()!r}") from None
    text, problem = completion_text(data)
    if problem:
        raise ReplyError(problem)
    finish_reason = data["choices"][0].get("finish_reason")
    return parse_reply(text, finish_reason if isinstance(finish_reason, str) else None)
