"""Failed runs are recorded in $DAGSTER_HOME and posted to the webhook, whose URL stays secret."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from dagster import build_run_status_sensor_context

from beacon_pipelines.defs.automation.failure_webhook import WebhookError, post_json
from beacon_pipelines.defs.automation.run_failure_log import FAILURE_LOG_NAME, read_failures
from beacon_pipelines.defs.tags import LAUNCHED_BY_TAG

SECRET = "s3cr3t-t0ken"


class Webhook:
    """A real HTTP server on 127.0.0.1 that keeps what it was sent."""

    def __init__(self, status: int = 200):
        received = self.received = []

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 - the http.server API
                body = self.rfile.read(int(self.headers["Content-Length"]))
                received.append((self.path, self.headers["Content-Type"], json.loads(body)))
                self.send_response(status)
                self.end_headers()

            def log_message(self, *args):  # keep the test output quiet
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hooks/{SECRET}?token={SECRET}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def webhook():
    server = Webhook()
    yield server
    server.close()


@pytest.fixture
def failing_webhook():
    server = Webhook(status=500)
    yield server
    server.close()


@pytest.fixture
def failed_analysis(tiny_beacon):
    """A real failed run: the analysis of an audit with one of its two partitions missing."""
    model, region = tiny_beacon.partitions[0]
    tags = tiny_beacon.audit_tags("audit-partial")
    tiny_beacon.run_partition(model, region, tags)
    result = tiny_beacon.run_analysis({**tags, LAUNCHED_BY_TAG: "ui"}, raise_on_error=False)
    assert not result.success
    return tiny_beacon, result


def _alert(beacon, result):
    sensor = beacon.defs.resolve_sensor_def("run_failure_alert")
    context = build_run_status_sensor_context(
        sensor_name="run_failure_alert",
        dagster_event=result.get_run_failure_event(),
        dagster_instance=beacon.instance,
        dagster_run=result.dagster_run,
    ).for_run_failure()
    sensor(context)
    return read_failures(_log_path(beacon))


def _log_path(beacon) -> Path:
    return Path(beacon.instance.root_directory) / FAILURE_LOG_NAME


def test_failure_is_recorded_and_posted_with_what_is_missing(
    failed_analysis, webhook, monkeypatch, caplog, capfd
):
    beacon, result = failed_analysis
    monkeypatch.setenv("BEACON_FAILURE_WEBHOOK_URL", webhook.url)
    [record] = _alert(beacon, result)
    [(path, content_type, posted)] = webhook.received
    assert path == f"/hooks/{SECRET}?token={SECRET}" and content_type == "application/json"
    assert posted["event"] == "beacon.run_failed"
    assert posted["run_id"] == result.run_id and posted["audit_id"] == "audit-partial"
    assert posted["job"] == "audit_analysis" and posted["launched_by"] == "ui"
    [step] = posted["step_failures"]
    assert step["step"] == "bias_analysis"
    missing = beacon.partitions[1]
    assert "incomplete: 2 of 4 executions missing" in step["error"]
    assert f"({missing[0]}, {missing[1]}, math_basic)" in step["error"]
    assert record == {**posted, "webhook": "delivered (HTTP 200)"}
    logged = caplog.text + "".join(capfd.readouterr()) + _log_path(beacon).read_text()
    assert SECRET not in logged


def test_an_undeliverable_notice_is_still_recorded_without_the_url(
    failed_analysis, failing_webhook, monkeypatch, caplog, capfd
):
    beacon, result = failed_analysis
    monkeypatch.setenv("BEACON_FAILURE_WEBHOOK_URL", failing_webhook.url)
    [record] = _alert(beacon, result)
    assert len(failing_webhook.received) == 1
    assert record["webhook"] == (
        "not delivered: the webhook in BEACON_FAILURE_WEBHOOK_URL answered HTTP 500"
    )
    assert record["run_id"] == result.run_id
    logged = caplog.text + "".join(capfd.readouterr()) + _log_path(beacon).read_text()
    assert SECRET not in logged


def test_without_a_webhook_the_failure_is_only_recorded(failed_analysis, monkeypatch):
    beacon, result = failed_analysis
    monkeypatch.delenv("BEACON_FAILURE_WEBHOOK_URL", raising=False)
    [record] = _alert(beacon, result)
    assert "webhook" not in record and record["audit_id"] == "audit-partial"
    # A second failure appends; the first stays.
    second = beacon.run_analysis(beacon.audit_tags("audit-partial"), raise_on_error=False)
    records = _alert(beacon, second)
    assert [r["run_id"] for r in records] == [result.run_id, second.run_id]


@pytest.mark.integration
def test_webhook_refuses_other_schemes_and_reports_unreachable_hosts_without_the_url():
    with pytest.raises(WebhookError, match="must be an http:// or https:// URL") as error:
        post_json(f"file:///etc/passwd?{SECRET}", {"x": 1})
    assert SECRET not in str(error.value)
    server = Webhook()
    url = server.url
    server.close()  # nothing listens on that port any more
    with pytest.raises(WebhookError, match="could not be reached") as error:
        post_json(url, {"x": 1}, timeout_s=5)
    assert SECRET not in str(error.value) and "127.0.0.1" not in str(error.value)
