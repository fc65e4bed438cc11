"""`mlgate team start|stop`: the team's tracking server (what `make team-server` runs)."""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

from mlgate.monitoring.arguments import port_number, positive_int
from mlgate.team import server as team

DEFAULT_FOLDER = Path(".team")


def _server(args: argparse.Namespace) -> team.TeamServer:
    return team.TeamServer(args.folder.resolve(), args.port, args.postgres_port, args.workers)


def _start(args: argparse.Namespace) -> int:
    server = _server(args)
    started = time.monotonic()
    team.start(server)
    print(
        f"team server on {server.url} ({time.monotonic() - started:.1f} s): PostgreSQL on "
        f"{team.HOST}:{server.postgres_port}, artifacts in {server.artifacts}, log in {server.log}\n"
        f"point the gates at it:  export MLFLOW_TRACKING_URI={server.url}\n"
        f"stop it:                make team-server-stop  (or mlgate team stop --folder {args.folder})"
    )
    return 0


def _stop(args: argparse.Namespace) -> int:
    team.stop(_server(args))
    print(f"team server of {args.folder} stopped; its registry and artifacts stay in {args.folder}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="mlgate team", description="the team's MLflow server on PostgreSQL")
    commands = parser.add_subparsers(dest="command", required=True)
    for name, run, text in (("start", _start, "start PostgreSQL and `mlflow server`"), ("stop", _stop, "stop both")):
        command = commands.add_parser(name, help=text)
        command.add_argument("--folder", type=Path, default=DEFAULT_FOLDER, help=f"state folder (default: {DEFAULT_FOLDER})")
        command.add_argument("--port", type=port_number, default=team.DEFAULT_PORT, help="MLflow server port")
        command.add_argument(
            "--postgres-port", type=port_number, default=team.DEFAULT_POSTGRES_PORT, help="PostgreSQL port"
        )
        command.add_argument("--workers", type=positive_int, default=team.DEFAULT_WORKERS, help="server workers")
        command.set_defaults(run=run)
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.run(args)
    except team.TeamServerError as error:
        print(f"mlgate team {args.command}: {error}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
