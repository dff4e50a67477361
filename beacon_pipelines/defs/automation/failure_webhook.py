"""Post a JSON notice to a webhook (Slack-style incoming webhooks, a chat bot, a pager).

The URL often carries a token in its path or query, so it is never put in a message or log:
errors name the environment variable that holds it instead.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from urllib.parse import urlsplit

WEBHOOK_URL_ENV = "BEACON_FAILURE_WEBHOOK_URL"
TIMEOUT_S = 10.0


class WebhookError(RuntimeError):
    """The notice could not be delivered; the message never contains the URL."""


def check_webhook_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        # urllib would also open file:// and ftp:// URLs: refuse anything but HTTP(S).
        raise WebhookError(f"{WEBHOOK_URL_ENV} must be an http:// or https:// URL")
    return url


def post_json(url: str, payload: dict, timeout_s: float = TIMEOUT_S) -> int:
    """POST the payload as JSON; returns the HTTP status, raises WebhookError otherwise."""
    check_webhook_url(url)
    request = urllib.request.Request(
        url,
        data=json.dumps(payload).encode("utf-8"),
        headers={"Content-Type": "application/json", "User-Agent": "beacon-failure-webhook"},
        method="POST",
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout_s) as response:  # noqa: S310
            return response.status
    except urllib.error.HTTPError as exc:
        raise WebhookError(f"the webhook in {WEBHOOK_URL_ENV} answered HTTP {exc.code}") from None
    except (urllib.error.URLError, OSError) as exc:
        reason = getattr(exc, "reason", exc)
        raise WebhookError(
            f"the webhook in {WEBHOOK_URL_ENV} could not be reached: {reason}"
        ) from None
