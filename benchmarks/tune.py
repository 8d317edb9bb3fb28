"""Tune DynaPro's hyper-parameters with Optuna on the bundled data.

An Optuna study (``sklearn_dynapro.tuning.tune_dynapro``) over width, layers, experts,
dropout, optimizer (SGD / AdamW), learning rate, batch size and epochs. Each trial is scored
by inner cross-validation (GroupKFold grouped by sequence, and by transcript for the TE/EL
data) and pruned during training on its validation loss. The data are the same seeded
subsets ``benchmarks/compare.py`` uses, so the best parameters can go straight into
``compare.py --tuned-params``. Those subsets overlap (``--n 3000`` holds all of the 600
``--quick`` rows, and each fold of a full comparison tests some of them), so such a
comparison scores the tuned model partly on rows it was tuned on: read it as optimistic.
The script and the comparison's summary say so.

Storage decides who can join the study: a journal file (``--storage tune.journal``) for
several processes on this machine, a database URL (``--storage sqlite:///tune.db`` or
``postgresql://...``) for several machines. Rerunning a command resumes its study; with
``--max-trials`` it stops once the study holds that many finished trials, counting every
worker. Give each parallel worker its own ``--seed`` (the sampler's); ``--cv-seed`` (folds
and networks) and a fingerprint of the rows and targets are recorded in the study and must be
the same for every worker; the default study name holds the data, target and row count.

Examples
--------
python benchmarks/tune.py --data random50 --n 3000 --n-trials 20 --storage tune.journal
python benchmarks/tune.py --data random50 --n 3000 --n-trials 20 --storage tune.journal --seed 1
python benchmarks/tune.py --data te_hek293 --target log_te --max-trials 40 --storage tune.journal
python benchmarks/compare.py --quick --tuned-params benchmarks/results/best_params_random50.json
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
from compare import load_source

#: Bundled data sets: name → (source of compare.load_source, column of group labels or None).
DATA = {
    "random50": ("random50", None),
    "varlen": ("varlen", None),
    "te_hek293": ("HEK293", "transcript_id"),
    "te_pc3": ("PC3", "transcript_id"),
}
RESULTS = Path(__file__).parent / "results"


def build_parser() -> argparse.ArgumentParser:
    """The command-line options of this script."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", choices=list(DATA), default="random50")
    parser.add_argument(
        "--target",
        default=None,
        help="TE/EL target column: log_te (default) or log_expression",
    )
    parser.add_argument("--n", type=int, default=3000, help="random subset size (default: 3000)")
    parser.add_argument("--n-trials", type=int, default=20, help="trials this process runs")
    parser.add_argument(
        "--max-trials", type=int, default=None, help="stop once the study has this many"
    )
    parser.add_argument("--timeout", type=float, default=None, help="seconds for this process")
    parser.add_argument("--inner-folds", type=int, default=3)
    parser.add_argument(
        "--scoring",
        default="r2_pearson",
        choices=["r2_pearson", "R2", "spearman", "rmse", "mae"],
        help="score to maximise (default: r2_pearson, squared Pearson r)",
    )
    parser.add_argument("--features", choices=["biophysical", "none"], default="biophysical")
    parser.add_argument("--storage", default=None, help="journal file or database URL")
    parser.add_argument(
        "--study-name", default=None, help="default: dynapro_<data>_<target>_n<rows>"
    )
    parser.add_argument("--seed", type=int, default=0, help="sampler seed, one per worker")
    parser.add_argument(
        "--cv-seed", type=int, default=0, help="folds and network seed, shared by all workers"
    )
    parser.add_argument("--tiny", action="store_true", help="tiny networks, 1-2 epochs")
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--n-jobs", type=int, default=None, help="folding processes")
    parser.add_argument(
        "--out",
        default=None,
        help="best parameters (default: benchmarks/results/best_params_<data>.json)",
    )
    parser.add_argument("--quiet", action="store_true", help="no per-trial log or progress bar")
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run or resume the study, print the best trials and write the best parameters.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (``None``: ``sys.argv[1:]``).

    Returns
    -------
    int
        0 on success.
    """
    args = build_parser().parse_args(argv)
    import optuna
    import torch

    from sklearn_dynapro.tuning import DynaProSearchSpace, tune_dynapro, write_best_params

    torch.set_num_threads(args.threads)
    if args.quiet:
        optuna.logging.set_verbosity(optuna.logging.WARNING)
    source, group_column = DATA[args.data]
    X, y = load_source(source, args.n)
    target = args.target or y.columns[0]
    if target not in y.columns:
        raise SystemExit(f"--target must be one of {list(y.columns)}, got {target!r}")
    fixed = {"features": None if args.features == "none" else "biophysical"}
    if args.n_jobs is not None:
        fixed["n_jobs"] = args.n_jobs
    start = time.perf_counter()
    study = tune_dynapro(
        X,
        y[target].to_numpy(),
        groups=X[group_column] if group_column else None,
        space=DynaProSearchSpace.tiny() if args.tiny else DynaProSearchSpace(),
        pipeline_params=fixed,
        scoring=args.scoring,
        inner_folds=args.inner_folds,
        n_trials=args.n_trials,
        max_trials=args.max_trials,
        timeout=args.timeout,
        storage=args.storage,
        # Named for its data: the study refuses rows or targets other than its own.
        study_name=args.study_name or f"dynapro_{args.data}_{target}_n{len(X)}",
        seed=args.seed,
        cv_seed=args.cv_seed,
        show_progress_bar=not args.quiet,
    )
    out = Path(args.out) if args.out else RESULTS / f"best_params_{args.data}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    write_best_params(study, out)
    print(
        f"Tuned on {len(X)} rows of {args.data} that benchmarks/compare.py scores too: a "
        "comparison with these --tuned-params is optimistic for dynapro_tuned.",
        file=sys.stderr,
    )

    trials = study.trials_dataframe(attrs=("number", "value", "state", "params"))
    finished = trials[trials["state"] == "COMPLETE"].sort_values("value", ascending=False)
    print(f"\nStudy {study.study_name!r}: {len(trials)} trials, best 5 by {args.scoring}:\n")
    print(finished.head(5).to_markdown(index=False, floatfmt=".4g"))
    print(
        f"\nThis run took {time.perf_counter() - start:.0f} s. Best parameters: {str(out)!r} "
        f"(use with 'dynapro fit --params' or 'compare.py --tuned-params')."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
