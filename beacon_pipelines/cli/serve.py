"""`beacon serve`: keep Dagster and Beacon loaded for this Dagster home, so that every
`beacon audit` on it starts its first partition at once (cli/warm_server.py)."""

from __future__ import annotations

import argparse
import signal
import sys

EXIT_OK, EXIT_USAGE = 0, 2


def add_arguments(serve: argparse.ArgumentParser) -> None:
    serve.description = (
        "Run in the foreground until Ctrl-C. `beacon audit` with the same DAGSTER_HOME runs "
        "in a process forked from this one instead of starting Python anew; set "
        "BEACON_NO_SERVE=1 to run an audit on its own."
    )


def run(args) -> int:
    from beacon_pipelines.cli.warm_server import ServeError, WarmServer, preload
    from beacon_pipelines.instance.errors import InstanceUnavailableError
    from beacon_pipelines.instance.home import ensure_dagster_home

    try:
        home = ensure_dagster_home()
        # Flushed line by line: its output is a log, often a pipe or a file.
        server = WarmServer(
            home, restart_argv=["-m", "beacon_pipelines.cli", "serve"], say=_say
        )
        server.claim()
    except (ServeError, InstanceUnavailableError, OSError) as exc:
        print(f"beacon serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    # Stopped by a process manager as by Ctrl-C: the socket goes with the server.
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    listener = None
    try:
        preload(home)
        # Listening only once loaded: meanwhile, audits run on their own rather than wait.
        listener = server.bind()
        _say(f"beacon serve: ready for audits on {home} ({server.path}); Ctrl-C stops")
        server.serve(listener)
    except (InstanceUnavailableError, OSError) as exc:
        print(f"beacon serve: error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        _say("beacon serve: stopped; the audits it started go on")
    finally:
        if listener is not None:
            server.close(listener)
    return EXIT_OK


def _say(line: str) -> None:
    print(line, flush=True)
