"""Any OpenAI-compatible server: Ollama, vLLM, llama.cpp server, LM Studio, hosted APIs.

Each request is one POST {base_url}/chat/completions (the base URL includes the API prefix,
e.g. http://127.0.0.1:11434/v1). The requests of a partition run on a small thread pool and
results are yielded as they finish. 429 and 5xx are retried here, honouring Retry-After up to a
bound; what is still failing after that, timeouts and unreachable servers come back as
retryable results for the orchestrator (which retries, failing over to the next region); other
4xx are permanent. The API key, when there is one, is sent as a bearer token and never logged.

Each region may have its own server (`region_base_urls`). A server can name the cloud region
that served a reply in a response header (`region_header`); the answer is then verified
against the catalog's region, and without one it is `unverified`.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import socket
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed

from beacon_pipelines.backends.base import (
    BackendError,
    ErrorKind,
    InferenceRequest,
    InferenceResult,
)
from beacon_pipelines.backends.receipt import CALL_ID, CLOUD_REGION, FINISH_REASON, MODEL_REVISION
from beacon_pipelines.backends.registry import BackendConfig

DEFAULT_CONCURRENCY = 4
DEFAULT_REQUEST_TIMEOUT_S = 120.0
DEFAULT_MAX_ATTEMPTS = 3  # HTTP attempts per request for 429/5xx, before the orchestrator's retry
DEFAULT_MAX_RETRY_AFTER_S = 30.0  # wait at most this long here; longer waits go to the orchestrator
_BACKOFF_BASE_S = 1.0  # when a 429/5xx has no Retry-After: 1 s, 2 s, 4 s, ...
_EXCERPT = 200


class HttpReply:
    def __init__(self, status: int, headers: Mapping[str, str], body: bytes):
        self.status = status
        self.headers = headers
        self.body = body

    def excerpt(self) -> str:
        text = self.body[:_EXCERPT].decode("utf-8", "replace").strip()
        return text.replace("\n", " ") or "(empty body)"


def parse_model_map(text: str) -> dict[str, str]:
    """'llama3.2-1b=llama3.2:1b,qwen2.5-1.5b=qwen2.5:1.5b' -> {catalog id: served name}."""
    mapping: dict[str, str] = {}
    for part in text.split(","):
        part = part.strip()
        if not part:
            continue
        model, sep, served = part.partition("=")
        if not sep or not model.strip() or not served.strip():
            raise ValueError(f"model map entry {part!r} is not of the form catalog_id=served_name")
        mapping[model.strip()] = served.strip()
    return mapping


def check_base_url(
    url: str, where: str = "base URL", key_flag: str = "--openai-api-key-env"
) -> str:
    """The URL without a trailing slash, or BackendError saying what is wrong (`key_flag`:
    the option that gives the API key instead)."""
    parsed = _split(url)
    if parsed is None or parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise BackendError(
            ErrorKind.BAD_REQUEST,
            f"{where} {display_url(url)!r} is not an http(s) URL; expected e.g. "
            "http://127.0.0.1:11434/v1",
        )
    if "@" in parsed.netloc or parsed.query or parsed.fragment:
        # They cannot work (urllib sends no user info; each request appends its path after
        # the query), and refused here they never reach run config, the store or a log.
        raise BackendError(
            ErrorKind.BAD_REQUEST,
            f"{where} {display_url(url)!r} cannot carry user info, a query or a fragment "
            f"(each request appends its path to it); give an API key with {key_flag} NAME",
        )
    return url.rstrip("/")


def display_url(url: str) -> str:
    """The URL as shown in errors and output: user info and query values masked, since they
    are where credentials hide (http://user:secret@host/v1?key=...)."""
    try:
        parsed = urllib.parse.urlsplit(url)
    except ValueError:  # an unbalanced IPv6 bracket: nothing can be shown safely
        return "(an unreadable URL)"
    netloc = parsed.netloc
    if "@" in netloc:
        netloc = "***@" + netloc.rpartition("@")[2]
    return urllib.parse.urlunsplit(
        (parsed.scheme, netloc, parsed.path, _masked_query(parsed.query),
         "***" if parsed.fragment else "")
    )


def _split(url: str) -> urllib.parse.SplitResult | None:
    """The URL's parts, or None when they cannot be read (a bracket or port that is wrong)."""
    try:
        parsed = urllib.parse.urlsplit(url)
        parsed.port  # noqa: B018 - raises ValueError for a port that is not a number
    except ValueError:
        return None
    return parsed


def _masked_query(query: str) -> str:
    def masked(part: str) -> str:
        name, sep, _value = part.partition("=")
        return f"{name}=***" if sep else "***"

    return "&".join(masked(part) for part in query.split("&")) if query else ""


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Retry-After as seconds: delta-seconds or an HTTP date; None when absent or unreadable."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


class OpenAICompatibleBackend:
    name = "openai"

    @classmethod
    def from_config(cls, config: BackendConfig) -> OpenAICompatibleBackend:
        return cls(**config.settings_for("openai_"))

    def __init__(
        self,
        base_url: str | None = None,
        region_base_urls: Mapping[str, str] | None = None,
        model_map: Mapping[str, str] | None = None,
        api_key: str | None = None,
        region_header: str | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        request_timeout_s: float = DEFAULT_REQUEST_TIMEOUT_S,
        max_attempts: int = DEFAULT_MAX_ATTEMPTS,
        max_retry_after_s: float = DEFAULT_MAX_RETRY_AFTER_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ):
        if not base_url and not region_base_urls:
            raise BackendError(
                ErrorKind.BAD_REQUEST,
                "the openai backend needs a base URL (--openai-base-url), e.g. "
                "http://127.0.0.1:11434/v1 for a local Ollama",
            )
        if concurrency < 1:
            raise BackendError(ErrorKind.BAD_REQUEST, f"concurrency {concurrency} must be >= 1")
        if max_attempts < 1:
            raise BackendError(ErrorKind.BAD_REQUEST, f"max_attempts {max_attempts} must be >= 1")
        self.base_url = check_base_url(base_url) if base_url else None
        self.region_base_urls = {
            region: check_base_url(url, f"base URL of region {region}")
            for region, url in (region_base_urls or {}).items()
        }
        self.model_map = dict(model_map or {})
        self.region_header = (region_header or "").strip() or None
        self.concurrency = concurrency
        self.request_timeout_s = request_timeout_s
        self.max_attempts = max_attempts
        self.max_retry_after_s = max_retry_after_s
        self._api_key = api_key or None
        self._sleep = sleep
        self._clock = clock

    def __repr__(self) -> str:  # never show the key
        key = "set" if self._api_key else "none"
        return f"OpenAICompatibleBackend(base_url={self.base_url!r}, api_key={key})"

    # -- public ------------------------------------------------------------------------------

    def served_model(self, model_id: str) -> str:
        return self.model_map.get(model_id, model_id)

    def base_url_for(self, region: str) -> str:
        url = self.region_base_urls.get(region) or self.base_url
        if not url:
            # Like a region that is down: a failover retry moves on to a region with a server.
            raise BackendError(
                ErrorKind.UNAVAILABLE,
                f"no OpenAI-compatible server for region {region}: give one with "
                f"--openai-region-url {region}=URL or the catalog's openai_base_url",
            )
        return url

    def preflight(self, models: Sequence[str], regions: Sequence[str]) -> list[str]:
        """Each server is reachable, accepts the key, and (if it lists models) serves ours.

        Regions without a server are skipped (the CLI checks that the audited ones have one).
        Returns warnings: a server whose model list cannot be read is not checked for models,
        and the audit goes on."""
        wanted = [self.served_model(m) for m in models]
        warnings: list[str] = []
        urls = {self.region_base_urls.get(r) or self.base_url for r in regions}
        for url in sorted(u for u in urls if u):
            try:
                timeout = min(10.0, self.request_timeout_s)
                reply = self._request("GET", f"{url}/models", None, timeout)
            except (TimeoutError, OSError, http.client.HTTPException) as exc:
                raise BackendError(
                    ErrorKind.UNAVAILABLE,
                    f"cannot reach the OpenAI-compatible server at {url}: {_reason(exc)}",
                ) from None
            if reply.status in (401, 403):
                hint = "" if self._api_key else " (no API key given: --openai-api-key-env NAME)"
                raise BackendError(
                    ErrorKind.AUTH, f"{url} refused the request: HTTP {reply.status}{hint}"
                )
            served, why_not = _listed_models(reply)
            if served is None:
                warnings.append(
                    f"{url} does not list its models usably ({why_not}); the served model "
                    "names are not checked before the audit"
                )
                continue
            missing = [m for m in wanted if m not in served]
            if missing:
                raise BackendError(
                    ErrorKind.NOT_FOUND,
                    f"{url} does not serve {', '.join(map(repr, missing))} (it lists: "
                    f"{', '.join(sorted(served)) or 'nothing'}); map catalog ids to served names "
                    "with --openai-model-map catalog_id=served_name,...",
                )
        return warnings

    def generate(self, requests: Iterable[InferenceRequest]) -> Iterator[InferenceResult]:
        batch = list(requests)
        if not batch:
            return
        pool = ThreadPoolExecutor(
            max_workers=min(self.concurrency, len(batch)), thread_name_prefix="beacon-openai"
        )
        futures = [pool.submit(self._answer, request) for request in batch]
        try:
            for future in as_completed(futures):
                yield future.result()
        finally:
            pool.shutdown(wait=True, cancel_futures=True)

    # -- one request -------------------------------------------------------------------------

    def _answer(self, request: InferenceRequest) -> InferenceResult:
        url = f"{self.base_url_for(request.target_region)}/chat/completions"
        model = self.served_model(request.model_id)
        body = json.dumps(
            {
                "model": model,
                "messages": [
                    {"role": "system", "content": request.system_prompt},
                    {"role": "user", "content": request.question},
                ],
                "temperature": request.params.temperature,
                "max_tokens": request.params.max_new_tokens,
                "stream": False,
            }
        ).encode()
        started = self._clock()

        def failed(kind: ErrorKind, message: str) -> InferenceResult:
            return InferenceResult.failure(
                request, kind, message, started, self._clock(), served_region=None
            )

        attempt = 0
        while True:
            attempt += 1
            try:
                reply = self._request("POST", url, body, self.request_timeout_s)
            except TimeoutError:
                return failed(
                    ErrorKind.TIMEOUT,
                    f"no reply from {url} within {self.request_timeout_s:g} s",
                )
            except (OSError, http.client.HTTPException) as exc:
                return failed(ErrorKind.UNAVAILABLE, f"cannot reach {url}: {_reason(exc)}")
            if 200 <= reply.status < 300:
                result = self._parse(request, reply, url, model, attempt, started)
                if self.region_header:
                    region = reply.headers.get(self.region_header)
                    result.extra[CLOUD_REGION] = region
                return result
            kind = _status_kind(reply.status)
            message = f"HTTP {reply.status} from {url} (model {model}): {reply.excerpt()}"
            if not kind.retryable:
                return failed(kind, message)
            if attempt >= self.max_attempts:
                return failed(kind, f"{message}; still failing after {attempt} attempts")
            wait = retry_after_seconds(reply.headers.get("Retry-After"))
            if wait is None:
                wait = min(_BACKOFF_BASE_S * 2 ** (attempt - 1), self.max_retry_after_s)
            elif wait > self.max_retry_after_s:
                return failed(
                    kind,
                    f"{message}; the server asks to retry after {wait:g} s, longer than the "
                    f"{self.max_retry_after_s:g} s this backend waits",
                )
            self._sleep(wait)

    def _parse(
        self,
        request: InferenceRequest,
        reply: HttpReply,
        url: str,
        model: str,
        attempts: int,
        started: float,
    ) -> InferenceResult:
        finished = self._clock()
        try:
            data = json.loads(reply.body)
        except (ValueError, UnicodeDecodeError) as exc:
            return InferenceResult.failure(
                request,
                ErrorKind.MALFORMED,
                f"malformed JSON from {url}: {exc}; body starts {reply.excerpt()!r}",
                started,
                finished,
            )
        text, problem = completion_text(data)
        if problem:
            return InferenceResult.failure(
                request, ErrorKind.MALFORMED, f"reply from {url}: {problem}", started, finished
            )
        usage = data.get("usage") if isinstance(data.get("usage"), dict) else {}
        choice = data["choices"][0]
        return InferenceResult(
            request=request,
            started_at=started,
            finished_at=finished,
            served_region=request.target_region,
            text=text,
            prompt_tokens=_int_or_none(usage.get("prompt_tokens")),
            completion_tokens=_int_or_none(usage.get("completion_tokens")),
            extra={
                "base_url": url.removesuffix("/chat/completions"),
                "served_model": model,
                "reply_model": data.get("model"),
                FINISH_REASON: choice.get("finish_reason"),
                # OpenAI's fingerprint of the serving configuration: the closest it has to a
                # model revision. The completion's id names the call.
                MODEL_REVISION: data.get("system_fingerprint"),
                CALL_ID: data.get("id"),
                "http_attempts": attempts,
            },
        )

    def _request(self, method: str, url: str, body: bytes | None, timeout: float) -> HttpReply:
        return http_request(method, url, body, timeout, self._api_key)


def http_request(
    method: str, url: str, body: bytes | None, timeout: float, api_key: str | None = None
) -> HttpReply:
    """One JSON request; any HTTP status comes back as an HttpReply. Raises TimeoutError for a
    timeout (at connect or read) and ConnectionError/OSError when the server cannot be reached.
    The key goes in the Authorization header only."""
    headers = {"Accept": "application/json"}
    if body is not None:
        headers["Content-Type"] = "application/json"
    if api_key:
        headers["Authorization"] = f"Bearer {api_key}"
    req = urllib.request.Request(url, data=body, method=method, headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as response:
            return HttpReply(response.status, response.headers, response.read())
    except urllib.error.HTTPError as error:
        with error:
            return HttpReply(error.code, error.headers, error.read())
    except urllib.error.URLError as error:
        # urllib wraps connect-time failures; unwrap so timeouts stay timeouts.
        reason = error.reason
        if isinstance(reason, (TimeoutError, socket.timeout)):
            raise TimeoutError(str(reason)) from None
        text = _reason(reason) if isinstance(reason, BaseException) else str(reason)
        raise ConnectionError(text) from None


def _status_kind(status: int) -> ErrorKind:
    if status == 429:
        return ErrorKind.RATE_LIMITED
    if status == 408:  # the server timed out waiting for us: a timeout, retryable
        return ErrorKind.TIMEOUT
    if status >= 500:
        return ErrorKind.UNAVAILABLE
    if status in (401, 403):
        return ErrorKind.AUTH
    if status == 404:
        return ErrorKind.NOT_FOUND
    return ErrorKind.BAD_REQUEST


def completion_text(data: object) -> tuple[str | None, str]:
    if not isinstance(data, dict):
        return None, f"expected a JSON object, got {type(data).__name__}"
    if "error" in data and "choices" not in data:
        return None, f"error instead of a completion: {str(data['error'])[:_EXCERPT]}"
    choices = data.get("choices")
    if not isinstance(choices, list) or not choices or not isinstance(choices[0], dict):
        return None, "missing field choices[0]"
    message = choices[0].get("message")
    if not isinstance(message, dict):
        return None, "missing field choices[0].message"
    content = message.get("content")
    if isinstance(content, str):
        return content, ""
    refusal = message.get("refusal")  # OpenAI puts a refusal here instead of in content
    if isinstance(refusal, str):
        return refusal, ""
    return None, "missing field choices[0].message.content"


def _listed_models(reply: HttpReply) -> tuple[set[str] | None, str]:
    """The ids a GET /models lists, or None and why, when the server does not list them
    usably: no such route, a body that is not a model list, or an empty list (some servers
    serve models they do not list)."""
    if reply.status != 200:
        return None, f"GET /models: HTTP {reply.status}"
    try:
        data = json.loads(reply.body)
    except (ValueError, UnicodeDecodeError):
        return None, "GET /models: the body is not JSON"
    items = data.get("data") if isinstance(data, dict) else None
    if not isinstance(items, list):
        return None, "GET /models: no list under 'data'"
    ids = {item.get("id") for item in items if isinstance(item, dict)}
    ids = {i for i in ids if isinstance(i, str)}
    if not ids:
        return None, "GET /models: an empty list"
    return ids, ""


def _reason(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _int_or_none(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None
