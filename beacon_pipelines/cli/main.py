"""The `beacon` command line: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import importlib
import sys

from beacon_pipelines.cli import collector

# Each subcommand's module, imported by main() once the collector is paused (cli/collector.py).
COMMANDS = {
    "audit": ("audit", "run a whole audit through the Dagster instance"),
    "audits": ("audits", "list audits newest first, with status and KPIs"),
    "cancel": ("cancel", "stop a running audit, keeping every stored answer"),
    "compare": ("compare", "compare two audits: what changed, and whether it is significant"),
    "modal": ("modal", "the Modal deployment"),
    "executions": ("executions", "print or export an audit's executions"),
    "report": ("report", "re-render an audit's report folder from the store"),
    "eval-refusals": ("eval_refusals", "score the classifier or a judge on labelled CSVs"),
    "verify": ("verify", "check a report folder against its manifest.json"),
    "serve": ("serve", "keep Dagster loaded so that audits on this instance start at once"),
}
# It resumes the collector itself, after forking its workers (cli/audit_runner.py).
FORKING_COMMAND = "audit"
# Run by a `beacon serve` of the same Dagster home when one is up (cli/warm_server.py).
SERVED_COMMAND = "audit"


def _module(name: str):
    return importlib.import_module(f"beacon_pipelines.cli.{COMMANDS[name][0]}")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beacon", description="Audit LLMs for regional bias and censorship."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (_, help_text) in COMMANDS.items():
        _module(name).add_arguments(sub.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [SERVED_COMMAND]:
        from beacon_pipelines.cli.warm_client import run_served

        served = run_served(argv)
        if served is not None:
            return served
    return run_command(argv)


def run_command(argv: list[str]) -> int:
    """The command, in this process (`beacon serve`'s audit processes start here)."""
    collector.pause()
    try:
        args = build_parser().parse_args(argv)
        if args.command != FORKING_COMMAND:
            collector.resume()
        return _module(args.command).run(args)
    finally:
        collector.resume()


if __name__ == "__main__":
    sys.exit(main())
