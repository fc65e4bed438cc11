"""`mlgate` (and `python -m mlgate`): thin commands over the library.

  init          write what a team's repository needs: [tool.mlgate], gates/, model/pipeline.py, ...
  expectations  draft a data-gate suite from a reference dataset
  validate      check a dataset against its suite
  serve         serve a registered model over MLflow's scoring protocol, with /metrics
  score         score a CSV or Parquet file with the champion in chunks; report the batch's drift
  import-champion  make a green bundle's model the @champion of this store
  history       write a report of every registered version: crowned or refused, scores, latency, trends
  sidecar       proxy an MLflow-protocol endpoint and export mlgate's metrics
  team          start or stop the team's tracking server (PostgreSQL + `mlflow server`)
  slices        pin a segment the slice gates found into [tool.mlgate] slices
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path

from mlgate import __version__
from mlgate.data import DataError
from mlgate.session.bundle import BundleError
from mlgate.settings import SettingsError, importable_from, load_settings
from mlgate.monitoring.arguments import port_number, positive_int


def _expectations(args: argparse.Namespace) -> int:
    from mlgate.data import check_target, load_dataset
    from mlgate.expectations import draft_suite, write_suite

    settings = load_settings(
        pyproject=Path("pyproject.toml"), overrides={"dataset": args.dataset, "target": args.target}
    )
    check_target(settings)
    dataset = load_dataset(settings.dataset, settings.target)
    path = Path(args.out) if args.out else settings.suite_path
    from mlgate.task import task_of

    write_suite(draft_suite(dataset, settings.dataset_name, task_of(settings).task), path)
    print(f"wrote {path}: review it, then commit it with your data")
    return 0


def _validate(args: argparse.Namespace) -> int:
    from mlgate.data import load_dataset, read_bytes
    from mlgate.expectations import read_suite, validate_frame

    if args.stdin and args.suite:
        # The gate session read the file once and pipes its bytes: the file may be gone by
        # now, so nothing here may look for it (load_settings checks that it exists).
        dataset = load_dataset(args.dataset, args.target, sys.stdin.buffer.read())
        suite = Path(args.suite)
    else:
        settings = load_settings(
            pyproject=Path("pyproject.toml"), overrides={"dataset": args.dataset, "target": args.target}
        )
        content = sys.stdin.buffer.read() if args.stdin else read_bytes(settings.dataset)
        dataset = load_dataset(settings.dataset, settings.target, content)
        suite = Path(args.suite) if args.suite else settings.suite_path
    if not suite.is_file():
        raise DataError(f"no suite at {suite}; draft one with: mlgate expectations")
    validation = validate_frame(dataset.frame, read_suite(suite))
    if args.out:
        Path(args.out).write_text(validation.to_json(), encoding="utf-8")
    for outcome in validation.outcomes.values():
        if not outcome.success:
            print(outcome.explain())
    print(f"{sum(o.success for o in validation.outcomes.values())}/{len(validation.outcomes)} expectations hold")
    return 0 if validation.success else 1


class CommandError(RuntimeError):
    """The command cannot do its work (a server cannot start, a store refused); the message says why."""


def _serve(args: argparse.Namespace) -> int:
    from mlgate import tracking
    from mlgate.serving import runner as server
    from mlgate.serving.predict import engine_of
    from mlgate.tracking import TrackingError, load_servable
    from mlgate.monitoring.metrics import ExporterError

    settings = load_settings(pyproject=Path("pyproject.toml"))
    model_uri = args.model_uri or settings.champion_uri
    tracking.quiet_progress_bars()  # a download bar in a server's log is noise
    try:
        servable = load_servable(model_uri, settings.tracking_uri, tracking.user_code(settings))
        # Checked before any socket opens: a signature we cannot serve is a start-up error.
        server.check_servable(servable)
    except (TrackingError, ValueError) as error:
        raise CommandError(str(error)) from None
    print(
        f"loaded {servable.name or model_uri} version {servable.version or '-'}, predicting with "
        f"{engine_of(servable)}; "
        f"starting {args.workers} worker(s) on http://{args.host}:{args.port}",
        flush=True,
    )
    try:
        server.run(servable, settings, args.host, args.port, args.workers)
    except ExporterError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot listen on {args.host}:{args.port}: {error.strerror or error}") from None
    return 0


def _score(args: argparse.Namespace) -> int:
    from mlgate import tracking
    from mlgate.score_output import ProgressLine, summary_lines
    from mlgate.scoring import score_file
    from mlgate.tables import TableError
    from mlgate.tracking import TrackingError, load_servable

    settings = load_settings(pyproject=Path("pyproject.toml"))
    model_uri = args.model_uri or settings.champion_uri
    tracking.quiet_progress_bars()
    progress = ProgressLine(sys.stderr)
    try:
        servable = load_servable(
            model_uri, settings.tracking_uri, tracking.user_code(settings), sklearn_if_compiled=args.engine != "compiled"
        )
        if args.engine == "scikit-learn":
            servable = dataclasses.replace(servable, compiled=None)
        scored = score_file(
            servable, Path(args.input), Path(args.output), chunk_rows=args.chunk_rows or settings.score_chunk_rows,
            probabilities=args.probabilities, progress=progress,
        )
    except (TrackingError, TableError) as error:
        raise CommandError(str(error)) from None
    finally:
        progress.end()
    for line in summary_lines(scored, servable.name or model_uri, servable.version, settings.max_serving_drift_psi):
        print(line)
    return 0


def _import_champion(args: argparse.Namespace) -> int:
    from mlgate.data import read_columns
    from mlgate.session.bundle import check_columns, import_champion, read_bundle
    from mlgate.tracking import TrackingError

    settings = load_settings(
        pyproject=Path("pyproject.toml"),
        overrides={"dataset": args.dataset, "target": args.target, "model_name": args.model_name},
    )
    folder = Path(args.path)
    bundle = read_bundle(folder)
    features = [c for c in read_columns(settings.dataset) if c != settings.target]
    check_columns(bundle, settings.dataset_shown, features)
    source = args.source or str(folder.resolve())
    try:
        version = import_champion(settings, bundle, source)
    except TrackingError as error:
        raise CommandError(str(error)) from None
    shown = {k: f"{v:.4f}" for k, v in bundle.scores.items()}
    print(
        f"imported {source} as {settings.model_name} version {version}, now @champion in "
        f"{settings.tracking_uri} (gate run {bundle.report.run_id}, version "
        f"{bundle.report.champion_version} where it was gated; "
        + (", ".join(f"{k} {v}" for k, v in shown.items()) or "no scores recorded")
        + ")"
    )
    return 0


def _history(args: argparse.Namespace) -> int:
    from mlgate.session.history import write_history
    from mlgate.tracking import TrackingError

    settings = load_settings(pyproject=Path("pyproject.toml"))
    name = args.model_name or settings.model_name
    try:
        written = write_history(settings.tracking_uri, name, Path(args.out))
    except TrackingError as error:
        raise CommandError(str(error)) from None
    except OSError as error:
        raise CommandError(f"cannot write the history to {args.out}: {error.strerror or error}") from None
    print(
        f"{written.versions} version(s) of {name} read in {written.read_seconds:.1f}s; wrote "
        + ", ".join(str(path) for path in written.files)
    )
    return 0


DELEGATED = {"sidecar": "mlgate.monitoring.sidecar", "team": "mlgate.team.cli", "slices": "mlgate.session.slice_pin_cli"}


def _delegated(command: str):
    """`sidecar`, `team` and `slices` keep their own parsers: their options are theirs to document."""
    import importlib

    return importlib.import_module(DELEGATED[command]).main


def _init(args: argparse.Namespace) -> int:
    from mlgate.scaffold import init_project

    written = init_project(Path.cwd(), args.dataset, args.target, force=args.force)
    for line in written.lines():
        print(line)
    return 0


def _data_options(command: argparse.ArgumentParser, what: str) -> None:
    command.add_argument("--dataset", help=f"a CSV file or sklearn:breast_cancer (default: {what})")
    command.add_argument("--target", help=f"the target column (default: {what})")


def _add_data_commands(commands) -> None:
    draft = commands.add_parser("expectations", help="write a starting data-gate suite from a dataset")
    _data_options(draft, "[tool.mlgate]")
    draft.add_argument("--out", help="where to write the suite (default: <expectations_dir>/<dataset>.json)")
    draft.set_defaults(run=_expectations)
    check = commands.add_parser("validate", help="check a dataset against its data-gate suite")
    _data_options(check, "[tool.mlgate]")
    check.add_argument("--suite", help="the suite (default: <expectations_dir>/<dataset>.json)")
    check.add_argument("--out", help="write the validation result here, as JSON")
    # The gate session pipes the bytes it read, so the gate judges exactly what trains.
    check.add_argument("--stdin", action="store_true", help="read the CSV's bytes from stdin")
    check.set_defaults(run=_validate)


def _add_model_commands(commands) -> None:
    serve = commands.add_parser("serve", help="serve a model over MLflow's scoring protocol, with /metrics")
    serve.add_argument(
        "--model-uri", help="models:/name@alias, models:/name/N, runs:/... or a folder (default: the champion)"
    )
    serve.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1)")
    serve.add_argument("--port", type=port_number, default=8080, help="port to listen on (default: 8080)")
    serve.add_argument("--workers", type=positive_int, default=1, help="worker processes (default: 1)")
    serve.set_defaults(run=_serve)
    score = commands.add_parser("score", help="score a CSV or Parquet file with a model in chunks, with the batch's drift")
    score.add_argument("input", help="the rows to score: a .csv or .parquet file (extra columns are ignored)")
    score.add_argument("output", help="where to write the predictions: .csv or .parquet, written whole or not at all")
    score.add_argument(
        "--model-uri", help="models:/name@alias, models:/name/N, runs:/... or a folder (default: the champion)"
    )
    score.add_argument("--probabilities", action="store_true", help="also write each class's probability")
    score.add_argument(
        "--chunk-rows", type=positive_int, help="rows per chunk; memory grows with it (default: score_chunk_rows)"
    )
    # On a batch of a deep forest scikit-learn was measured faster (benchmarks/scoring.py).
    score.add_argument(
        "--engine", choices=("compiled", "scikit-learn"), default="compiled",
        help="the compiled form (onnxruntime, as served; scikit-learn where it did not compile) or scikit-learn",
    )
    score.set_defaults(run=_score)
    bring = commands.add_parser(
        "import-champion", help="make a green bundle's model the @champion of this store (CI: production's)"
    )
    bring.add_argument("path", help="the folder a green `pytest gates/` wrote (artifacts/, CI's mlgate-bundle)")
    bring.add_argument("--model-name", help="the registered model to crown it in (default: [tool.mlgate])")
    _data_options(bring, "[tool.mlgate]; its columns are checked against the bundle")
    bring.add_argument("--source", help="where the bundle came from, recorded on the version (default: its path)")
    bring.set_defaults(run=_import_champion)
    history = commands.add_parser("history", help="report every registered version: crowned or refused, and why")
    history.add_argument("--model-name", help="the registered model (default: model_name in [tool.mlgate])")
    history.add_argument("--out", default="history", help="folder for history.md and its plots (default: history)")
    history.set_defaults(run=_history)


def _add_project_commands(commands) -> None:
    init = commands.add_parser("init", help="write what a team's repository needs to run `pytest gates/`")
    init.add_argument("--dataset", help="the team's CSV (default: sklearn:breast_cancer)")
    init.add_argument("--target", help="its target column (default: target)")
    init.add_argument("--force", action="store_true", help="overwrite files that exist (default: skip them)")
    init.set_defaults(run=_init)
    for name, text in (
        ("sidecar", "proxy an MLflow-protocol endpoint and export mlgate's metrics (mlgate sidecar --help)"),
        ("team", "start or stop the team's tracking server on PostgreSQL (mlgate team --help)"),
        ("slices", "pin a segment the slice gates found as a declared slice (mlgate slices pin --help)"),
    ):
        commands.add_parser(name, help=text, add_help=False)  # listed here, parsed by main()


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="mlgate", description="mlgate: a quality-gated training harness for tabular models"
    )
    parser.add_argument("--version", action="version", version=f"mlgate {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_project_commands(commands)
    _add_data_commands(commands)
    _add_model_commands(commands)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] in DELEGATED:
        return _delegated(argv[0])(argv[1:])
    parser = build_parser()
    args = parser.parse_args(argv)
    importable_from(Path.cwd())  # the project's pipeline module, for models that hold its types
    try:
        return args.run(args)
    except (SettingsError, DataError, CommandError, BundleError) as error:
        parser.exit(2, f"{parser.prog} {args.command}: error: {error}\n")
