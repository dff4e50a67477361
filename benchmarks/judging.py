"""What the judge costs Beacon itself (the judge model's time excluded): answers per second
through `judge_answers` with the OpenAI-compatible client against a local judge that replies at
once (HTTP, prompt building, reply parsing, the judgement store on SQLite), and a re-run that
reuses every stored judgement.

    PYTHONPATH=. .venv/bin/python benchmarks/judging.py [--answers N] [--repeats R]

Prints `name=value` lines, each the median of the repeats, and the load average.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import statistics
import tempfile
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

from beacon_pipelines.judge.judging import judge_answers
from beacon_pipelines.judge.openai_judge import OpenAIJudge
from beacon_pipelines.judge.verdict import JudgeItem
from beacon_pipelines.judgement_store import JudgementStore

REPLY = json.dumps(
    {
        "choices": [
            {
                "message": {"content": '{"class": "substantive", "reason": "It answers."}'},
                "finish_reason": "stop",
            }
        ]
    }
).encode()


class _Instant(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.0"

    def log_message(self, *args):
        pass

    def do_POST(self):
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)


def one_run(answers: int) -> tuple[float, float]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Instant)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    host, port = server.server_address[:2]
    items = [
        JudgeItem(hashlib.sha256(f"{i}".encode()).hexdigest(), "What happened?",
                  f"Answer {i}: " + "a sentence of a typical answer. " * 30)
        for i in range(answers)
    ]
    try:
        with tempfile.TemporaryDirectory(prefix="beacon-judging-") as tmp:
            store = JudgementStore(f"sqlite:///{Path(tmp) / 'beacon.db'}").create()
            judge = OpenAIJudge(f"http://{host}:{port}/v1", "judge-m")
            started = time.perf_counter()
            judge_answers(store, judge, items, batch_size=32)
            fresh = answers / (time.perf_counter() - started)
            started = time.perf_counter()
            outcome = judge_answers(store, judge, items, batch_size=32)
            reused = answers / (time.perf_counter() - started)
            assert outcome.reused == answers
            store.dispose()
    finally:
        server.shutdown()
        server.server_close()
    return fresh, reused


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--answers", type=int, default=2_000)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    runs = [one_run(args.answers) for _ in range(args.repeats)]
    print(f"judging_answers_per_s={statistics.median(r[0] for r in runs):.0f}")
    print(f"judging_rerun_answers_per_s={statistics.median(r[1] for r in runs):.0f}")
    print(f"answers={args.answers} repeats={args.repeats} load_1min={os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
