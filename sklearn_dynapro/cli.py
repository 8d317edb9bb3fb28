"""The ``dynapro`` command line: fit, predict, tune and benchmark from the shell.

::

    dynapro fit --data utrs.csv --target mrl --out model.joblib
    dynapro predict --model model.joblib --data new_utrs.fasta --out predictions.csv
    dynapro tune --data utrs.csv --target mrl --storage tune.journal --out best.json
    dynapro fit --data utrs.csv --target mrl --params best.json --out tuned.joblib
    dynapro benchmark --quick

Input files are read with :func:`~sklearn_dynapro.datasets.load_sequences` (CSV, TSV or
FASTA, optionally gzipped); ``predict`` streams them with
:func:`~sklearn_dynapro.datasets.iter_sequences`, so its memory does not grow with the file.
Missing files, unknown columns and invalid sequences end the command with
``dynapro: error: ...`` on stderr and exit status 2. Every subcommand has
``--help``. Run it as ``dynapro`` (the console script) or ``python -m sklearn_dynapro.cli``.
"""

from __future__ import annotations

import argparse
import importlib
import math
import sys
import time
import warnings
from collections.abc import Sequence
from pathlib import Path

__all__ = ["build_parser", "main"]

PROG = "dynapro"
_BENCHMARK_HELP = (
    "compare DynaPro with every baseline on identical folds of the bundled data "
    "(runs benchmarks/compare.py of a source checkout; 'dynapro benchmark --help' lists "
    "its options, '--quick' is the short run)"
)


# ----------------------------------------------------------------------------- helpers
def _output_path(value: str, flag: str) -> Path:
    """Check, before any long work, that an output file can be created."""
    path = Path(value).expanduser()
    if path.is_dir():
        raise ValueError(f"{flag} must be a file name, got the folder {str(path)!r}.")
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder of {flag} must exist, got {str(path.parent)!r} for {str(path)!r}."
        )
    return path


def _check_column(X, column: str | None, flag: str, path: str) -> None:
    if column is not None and column not in X.columns:
        names = [c for c in X.columns if c not in ("id", "sequence")]
        raise ValueError(
            f"{flag} must name a column of {path!r} other than its sequence, id and target "
            f"columns ({names if names else 'it has none'}), got {column!r}."
        )


def _check_input_sequences(
    X,
    path: str,
    *,
    max_len: int | None,
    truncate: bool,
    truncate_flag: str | None = None,
    warn: bool = False,
):
    """Validate sequences up front so that the error names the file and the rows.

    ``truncate_flag`` is the command's option that truncates; without one, the message does
    not suggest truncating. Warnings (ambiguous bases, truncation) are left to the model,
    which names the same rows, unless ``warn``: in ``tune`` the model only sees inner folds,
    whose row numbers are not the file's.
    """
    from ._validation import check_sequences

    try:
        with warnings.catch_warnings():
            if not warn:
                warnings.simplefilter("ignore")
            return check_sequences(
                X, sequence_column="sequence", max_len=max_len, truncate=truncate
            )
    except ValueError as exc:
        hint = " (pass truncate=True to keep the 3' end)"
        text = str(exc).replace(
            hint, hint.replace("truncate=True", truncate_flag) if truncate_flag else ""
        )
        raise ValueError(f"{path}: {text} (Rows count the records of the file from 0.)") from None


def _check_file_sequences(chunks, path: str, chunk_size: int) -> int:
    """Check the alphabet of every record, one chunk in memory at a time; count the records."""
    from sklearn.preprocessing import FunctionTransformer

    from .streaming import iter_predictions

    # iter_predictions renumbers the rows named in errors and warnings over the whole file.
    checker = FunctionTransformer(
        _check_input_sequences, kw_args={"path": path, "max_len": None, "truncate": False}
    )
    checked = iter_predictions(checker, chunks, chunk_size=chunk_size, method="transform")
    return sum(len(sequences) for sequences in checked)


def _read(path: str, args: argparse.Namespace, *, target: str | None = None):
    from .datasets import load_sequences

    return load_sequences(
        path,
        sequence_column=args.sequence_col,
        target_column=target,
        id_column=getattr(args, "id_col", None),
    )


def _load_model(path: str):
    import joblib

    file = Path(path).expanduser()
    if file.is_dir():
        # A folder written by sklearn_dynapro.save (--format safe): checked, never unpickled.
        from .persistence import load

        return load(file)
    if not file.is_file():
        raise FileNotFoundError(f"No such model file: {str(file)!r}.")
    try:
        model = joblib.load(file)
    except Exception as exc:  # unpickling fails in many ways; report them all the same way
        raise ValueError(
            f"--model must be a file written by 'dynapro fit' (joblib), could not read "
            f"{str(file)!r}: {type(exc).__name__}: {exc}"
        ) from None
    if not hasattr(model, "predict"):
        raise TypeError(
            f"--model must hold a fitted model with a predict method, got "
            f"{type(model).__name__} in {str(file)!r}."
        )
    return model


# ---------------------------------------------------------------------------- commands
def _cmd_fit(args: argparse.Namespace) -> int:
    if args.format == "safe":
        out = Path(args.out).expanduser()
        if out.exists():
            raise ValueError(f"--out must be a new folder for --format safe, got {str(out)!r}.")
        if not out.parent.is_dir():
            raise FileNotFoundError(
                f"The folder of --out must exist, got {str(out.parent)!r} for {str(out)!r}."
            )
    else:
        out = _output_path(args.out, "--out")
    X, y = _read(args.data, args, target=args.target)

    from .models import FAST_CPU_PARAMS, make_dynapro_pipeline
    from .tuning import load_params

    params = dict(FAST_CPU_PARAMS) if args.preset == "fast" else {}
    if args.params is not None:
        params.update(load_params(args.params))
    overrides = {
        "library_column": args.library_col,
        "max_len": args.max_len,
        "max_epochs": args.epochs,
        "n_jobs": args.n_jobs,
    }
    params.update({k: v for k, v in overrides.items() if v is not None})
    if args.truncate:
        params["truncate"] = True
    params["random_state"] = args.seed
    params["verbose"] = 0 if args.quiet else 1
    _check_column(X, params.get("library_column"), "--library-col", args.data)
    _check_column(X, args.group_col, "--group-col", args.data)
    _check_input_sequences(
        X,
        args.data,
        max_len=params.get("max_len"),
        truncate=params.get("truncate", False),
        truncate_flag="--truncate",
    )

    pipeline = make_dynapro_pipeline(**params)
    if not args.quiet:
        print(f"Fitting DynaPro on {len(X)} sequences of {args.data!r} (target {args.target!r})")
    start = time.perf_counter()
    if args.group_col is None:
        pipeline.fit(X, y)
    else:
        pipeline.fit(X, y, model__groups=X[args.group_col].to_numpy())
    seconds = time.perf_counter() - start
    if pipeline[-1].interrupted_:
        # skorch ends training quietly on Ctrl-C and keeps the weights so far; a command
        # must not save that half-trained model as if the fit had run.
        raise KeyboardInterrupt

    if args.format == "safe":
        from .persistence import save

        save(pipeline, out)
    else:
        import joblib

        joblib.dump(pipeline, out)
    print(f"Fitted in {seconds:.1f} s; model written to {str(out)!r}")
    return 0


def _cmd_predict(args: argparse.Namespace) -> int:
    out = _output_path(args.out, "--out")
    model = _load_model(args.model)

    from .datasets import iter_sequences
    from .streaming import predict_file

    columns = {"sequence_column": args.sequence_col, "id_column": args.id_col}
    first = next(iter_sequences(args.data, chunk_size=1, **columns))
    encoder = model[0] if hasattr(model, "steps") else None
    library = getattr(encoder, "library_column", None)
    _check_column(first, library, "the model's library column", args.data)
    # The alphabet is checked for the whole file before predicting (a first pass over it);
    # lengths by the model, chunk by chunk.
    chunks = iter_sequences(args.data, chunk_size=args.chunk_size, **columns)
    n_records = _check_file_sequences(chunks, args.data, args.chunk_size)
    predict_file(
        model,
        args.data,
        out=out,
        chunk_size=args.chunk_size,
        progress=not args.quiet,
        **columns,
    )
    print(f"{n_records} predictions written to {str(out)!r}")
    return 0


def _cmd_tune(args: argparse.Namespace) -> int:
    from .tuning import make_storage

    out = _output_path(args.out, "--out")
    # Opened first: a storage that cannot be opened is reported before the data is read.
    storage = make_storage(args.storage)
    X, y = _read(args.data, args, target=args.target)
    _check_column(X, args.library_col, "--library-col", args.data)
    _check_column(X, args.group_col, "--group-col", args.data)
    _check_input_sequences(X, args.data, max_len=args.max_len, truncate=False, warn=True)

    import optuna

    from .tuning import DynaProSearchSpace, tune_dynapro, write_best_params

    if args.quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    fixed = {"features": None if args.features == "none" else "biophysical"}
    optional = {"library_column": args.library_col, "max_len": args.max_len, "n_jobs": args.n_jobs}
    fixed.update({k: v for k, v in optional.items() if v is not None})
    study = tune_dynapro(
        X,
        y,
        groups=X[args.group_col] if args.group_col else None,
        space=DynaProSearchSpace.tiny() if args.tiny else DynaProSearchSpace(),
        pipeline_params=fixed,
        scoring=args.scoring,
        inner_folds=args.inner_folds,
        n_trials=args.n_trials,
        max_trials=args.max_trials,
        timeout=args.timeout,
        storage=storage,
        study_name=args.study_name,
        seed=args.seed,
        cv_seed=args.cv_seed,
        show_progress_bar=not args.quiet,
    )
    path = write_best_params(study, out)
    best = study.best_trial
    print(
        f"Study {study.study_name!r}: {len(study.trials)} trials; best {args.scoring} = "
        f"{best.value:.4f} (trial {best.number}); parameters written to {str(path)!r}"
    )
    return 0


def _benchmark_module():
    """Import ``benchmarks/compare.py`` from the source checkout this package runs from."""
    candidates = [Path(__file__).resolve().parents[1], Path.cwd()]
    for root in candidates:
        script = root / "benchmarks" / "compare.py"
        if script.is_file():
            folder = str(script.parent)
            if folder not in sys.path:
                sys.path.insert(0, folder)  # spawned workers inherit sys.path
            return importlib.import_module("compare")
    raise FileNotFoundError(
        "dynapro benchmark runs benchmarks/compare.py from a source checkout of "
        f"sklearn_dynapro; none found under {[str(c) for c in candidates]}. Run it from the "
        "repository root."
    )


def _cmd_benchmark(argv: Sequence[str]) -> int:
    return int(_benchmark_module().main(list(argv), prog=f"{PROG} benchmark") or 0)


# ------------------------------------------------------------------------------ parser
def _add_input_options(parser: argparse.ArgumentParser, *, ids: bool = False) -> None:
    parser.add_argument(
        "--data", required=True, help="CSV, TSV or FASTA file (optionally .gz) of sequences"
    )
    parser.add_argument(
        "--sequence-col",
        default=None,
        metavar="COL",
        help="column holding the sequences (default: the one named sequence, seq, utr, ...)",
    )
    if ids:
        parser.add_argument(
            "--id-col",
            default=None,
            metavar="COL",
            help="column holding the record ids (default: 'id' if present, else the row number)",
        )


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text!r}")
    return value


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not value > 0 or math.isinf(value):
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """Build the ``dynapro`` argument parser with its subcommands.

    Returns
    -------
    parser : argparse.ArgumentParser
        Subcommands ``fit``, ``predict``, ``tune`` and ``benchmark``; the chosen one's
        handler is ``args.handler``.
    """
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Predict translation (MRL, TE, expression) from 5' UTR sequences.",
        epilog="Run 'dynapro COMMAND --help' for the options of a command.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    commands = parser.add_subparsers(title="commands", dest="command", required=True)

    fit = commands.add_parser(
        "fit",
        help="train DynaPro on a file of sequences and measurements",
        description="Train make_dynapro_pipeline() on a file and save it (a joblib file, or "
        "with --format safe a checked folder). The base setting is --preset (the faster CPU "
        "setting FAST_CPU_PARAMS by default); --params and the options below override it.",
    )
    _add_input_options(fit)
    fit.add_argument("--target", required=True, metavar="COL", help="column to predict")
    fit.add_argument(
        "--library-col", default=None, metavar="COL", help="column of library/assay labels"
    )
    fit.add_argument(
        "--group-col",
        default=None,
        metavar="COL",
        help="rows sharing this label are held out together for early stopping "
        "(e.g. transcript_id)",
    )
    fit.add_argument(
        "--params",
        default=None,
        metavar="JSON",
        help="make_dynapro_pipeline keyword arguments, e.g. from 'dynapro tune' (they "
        "override the preset)",
    )
    fit.add_argument(
        "--preset",
        choices=["fast", "paper"],
        default="fast",
        help="base setting: FAST_CPU_PARAMS (default) or the paper's defaults",
    )
    fit.add_argument("--epochs", type=_positive_int, default=None, help="override max_epochs")
    fit.add_argument("--max-len", type=_positive_int, default=None, help="longest UTR accepted")
    fit.add_argument(
        "--truncate", action="store_true", help="cut longer UTRs from the 5' end, not an error"
    )
    fit.add_argument("--n-jobs", type=int, default=None, help="processes for RNA folding")
    fit.add_argument("--seed", type=int, default=0, help="random seed (default: 0)")
    fit.add_argument(
        "--out", required=True, metavar="MODEL", help="model file (or folder) to write"
    )
    fit.add_argument(
        "--format",
        choices=["joblib", "safe"],
        default="joblib",
        help="joblib: one pickle file, for your own use; safe: a folder written by "
        "sklearn_dynapro.save (safetensors, skops, SHA-256 manifest), for sharing",
    )
    fit.add_argument("--quiet", action="store_true", help="no epoch table or progress bars")
    fit.set_defaults(handler=_cmd_fit)

    predict = commands.add_parser(
        "predict",
        help="predict with a saved model",
        description="Predict one value per input record, in input order, with the input id.",
    )
    predict.add_argument(
        "--model",
        required=True,
        help="model written by 'dynapro fit': a joblib file, or a --format safe folder",
    )
    _add_input_options(predict, ids=True)
    predict.add_argument(
        "--out", required=True, metavar="CSV", help="CSV to write (columns id, prediction)"
    )
    predict.add_argument(
        "--chunk-size",
        type=_positive_int,
        default=10_000,
        help="records predicted at a time (default: 10000)",
    )
    predict.add_argument("--quiet", action="store_true", help="no progress bar")
    predict.set_defaults(handler=_cmd_predict)

    tune = commands.add_parser(
        "tune",
        help="search DynaPro's hyper-parameters with Optuna",
        description="Run or resume an Optuna study over DynaPro's main hyper-parameters, "
        "each trial scored by inner cross-validation (folds grouped by sequence, and by "
        "--group-col) and pruned on its validation loss. Several processes given the same "
        "--storage share the study. The best parameters are written as JSON for "
        "'dynapro fit --params'.",
    )
    _add_input_options(tune)
    tune.add_argument("--target", required=True, metavar="COL", help="column to predict")
    tune.add_argument(
        "--library-col", default=None, metavar="COL", help="column of library/assay labels"
    )
    tune.add_argument(
        "--group-col",
        default=None,
        metavar="COL",
        help="rows sharing this label stay in one inner fold (e.g. transcript_id)",
    )
    tune.add_argument(
        "--storage",
        default=None,
        help="journal file (processes on one machine) or database URL such as "
        "sqlite:///tune.db or postgresql://... (machines); default: in memory",
    )
    tune.add_argument("--study-name", default="dynapro", help="study name (default: dynapro)")
    tune.add_argument("--n-trials", type=_positive_int, default=20, help="trials this process runs")
    tune.add_argument(
        "--max-trials",
        type=_positive_int,
        default=None,
        help="stop when the study holds this many finished trials (resumes an interrupted "
        "study; counts every worker)",
    )
    tune.add_argument(
        "--timeout", type=_positive_float, default=None, help="seconds for this process"
    )
    tune.add_argument(
        "--inner-folds", type=_positive_int, default=3, help="inner CV folds (default: 3)"
    )
    tune.add_argument(
        "--scoring",
        default="r2_pearson",
        choices=["r2_pearson", "R2", "spearman", "rmse", "mae"],
        help="score to maximise (default: r2_pearson, the squared Pearson correlation)",
    )
    tune.add_argument(
        "--features",
        choices=["biophysical", "none"],
        default="biophysical",
        help="biophysical features beside the sequence (needs RNA folding) or none",
    )
    tune.add_argument("--max-len", type=_positive_int, default=None, help="longest UTR accepted")
    tune.add_argument("--n-jobs", type=int, default=None, help="processes for RNA folding")
    tune.add_argument(
        "--seed", type=int, default=0, help="sampler seed; give each parallel worker its own"
    )
    tune.add_argument(
        "--cv-seed",
        type=int,
        default=0,
        help="seed of the inner folds and the networks; the same for every worker of a study",
    )
    tune.add_argument(
        "--tiny",
        action="store_true",
        help="search tiny networks for 1-2 epochs (smoke tests and demos)",
    )
    tune.add_argument(
        "--out", default="best_params.json", metavar="JSON", help="best parameters file"
    )
    tune.add_argument("--quiet", action="store_true", help="no per-trial log or progress bar")
    tune.set_defaults(handler=_cmd_tune)

    commands.add_parser("benchmark", help=_BENCHMARK_HELP, add_help=False)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``dynapro`` command line.

    Parameters
    ----------
    argv : sequence of str or None, default=None
        Arguments without the program name; ``None`` reads ``sys.argv[1:]``.

    Returns
    -------
    int
        Exit status: 0 on success, 2 for bad input (the message goes to stderr as
        ``dynapro: error: ...``), 130 when interrupted. Invalid options exit through
        :class:`SystemExit` with status 2, as argparse does.
    """
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        if argv and argv[0] == "benchmark":
            return _cmd_benchmark(argv[1:])
        args = build_parser().parse_args(argv)
        return args.handler(args)
    except (ValueError, TypeError, OSError) as exc:
        print(f"{PROG}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
