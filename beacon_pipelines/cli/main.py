"""The `beacon` command line: one subcommand per module of this package."""

from __future__ import annotations

import argparse
import sys

from beacon_pipelines.cli import (
    audit,
    audits,
    cancel,
    compare,
    eval_refusals,
    executions,
    modal,
    report,
    verify,
)

COMMANDS = {
    "audit": (audit, "run a whole audit through the Dagster instance"),
    "audits": (audits, "list audits newest first, with status and KPIs"),
    "cancel": (cancel, "stop a running audit, keeping every stored answer"),
    "compare": (compare, "compare two audits: what changed, and whether it is significant"),
    "modal": (modal, "the Modal deployment"),
    "executions": (executions, "print or export an audit's executions"),
    "report": (report, "re-render an audit's report folder from the store"),
    "eval-refusals": (eval_refusals, "score the classifier or a judge on labelled CSVs"),
    "verify": (verify, "check a report folder against its manifest.json"),
}


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="beacon", description="Audit LLMs for regional bias and censorship."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (module, help_text) in COMMANDS.items():
        module.add_arguments(sub.add_parser(name, help=help_text))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return COMMANDS[args.command][0].run(args)


if __name__ == "__main__":
    sys.exit(main())
