"""Cross-validate DynaPro on the bundled data: tuned CPU setting, paper defaults, ablations.

MRL task: 5-fold CV (fixed, seeded folds) on the 20,000 random 50-nt UTRs. TE/EL task: 10-fold
CV grouped by transcript on the Cao 2021 HEK293 and PC3 windows, log TE and log expression
predicted together (two outputs), scored by Spearman ρ per target. Each fit's early-stopping
split holds out whole transcripts too (``--valid-split rows`` holds out single windows).

Each fold runs in its own process (peak memory is per fold). Rows are appended to ``--csv`` as
folds finish, so a long run can be split over several calls with ``--folds-to-run``. With
``--checkpoint-dir DIR`` every fit saves its training state in DIR after each epoch and, run
again with the same configuration and fold, resumes from it: a paper-default fold (hours on a
CPU) survives an interrupted call. A resumed row's ``resumed_from_epoch`` says how many epochs
its ``fit_seconds`` leaves out.

Examples
--------
python benchmarks/bench_dynapro.py --configs tuned --folds-to-run 0
python benchmarks/bench_dynapro.py --configs tuned,paper,no_experts --task mrl
python benchmarks/bench_dynapro.py --task te --configs tuned
python benchmarks/bench_dynapro.py --configs paper --folds-to-run 0 --checkpoint-dir ckpt
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _harness import cao_te, mrl_random50, run_folds, summarise

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline

#: The paper's training setting (SGD, momentum 0.9, weight decay 1e-4, lr 1e-4, Huber) at the
#: network's full width; epochs are capped by --paper-epochs.
PAPER = {"module__d_model": 128, "module__n_heads": 16}
ABLATIONS = {
    "no_experts": {"module__use_experts": False},
    "no_frame_pooling": {"module__use_frame_pooling": False},
    "no_features": {"features": None},
    "no_conv": {"module__use_conv": False},
    "no_attention": {"module__use_attention": False},
}
CONFIGS = ["tuned", "paper", *ABLATIONS]


def config_params(name: str, args: argparse.Namespace) -> dict:
    """Pipeline parameters of a named configuration."""
    if name == "paper":
        params = {**PAPER, "max_epochs": args.paper_epochs}
    else:
        params = dict(FAST_CPU_PARAMS)
        if args.epochs is not None:
            params["max_epochs"] = args.epochs
        params.update(ABLATIONS.get(name, {}))
    if args.checkpoint_dir is not None:
        params["checkpoint_dir"] = args.checkpoint_dir
    return params


def build(params: dict, seed: int, max_len: int | None, n_jobs: int):
    return make_dynapro_pipeline(max_len=max_len, n_jobs=n_jobs, random_state=seed, **params)


def run_task(task: str, args: argparse.Namespace) -> list[dict]:
    if task == "mrl":
        datasets = [mrl_random50(args.n, args.folds)]
    else:
        datasets = [cao_te(cell_line) for cell_line in args.cell_lines]
    rows = []
    for name in args.configs:
        params = config_params(name, args)
        for dataset in datasets:
            # Optimus-style fixed length is not needed here: let the encoder learn max_len.
            make = functools.partial(build, params, args.seed, None, args.n_jobs)
            rows += run_folds(
                task,
                dataset,
                name,
                make,
                folds_to_run=args.folds_to_run,
                threads=args.threads,
                csv=args.csv,
                extra={"seed": args.seed},
                valid_groups=args.valid_split == "groups",
            )
    return rows


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["mrl", "te", "all"], default="mrl")
    parser.add_argument("--configs", default="tuned,paper," + ",".join(ABLATIONS))
    parser.add_argument("--folds", type=int, default=5, help="MRL folds (TE/EL always 10)")
    parser.add_argument("--folds-to-run", default=None, help="comma list of fold indices")
    parser.add_argument("--n", type=int, default=None, help="use the first N MRL sequences")
    parser.add_argument("--epochs", type=int, default=None, help="override tuned epochs")
    parser.add_argument("--paper-epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--cell-lines", default="HEK293,PC3", help="TE/EL cell lines to run")
    parser.add_argument(
        "--valid-split",
        choices=["groups", "rows"],
        default="groups",
        help="TE/EL early-stopping split: whole transcripts (default) or single rows",
    )
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fold")
    parser.add_argument("--n-jobs", type=int, default=2, help="folding processes")
    parser.add_argument("--csv", default=None, help="append per-fold rows here")
    parser.add_argument(
        "--checkpoint-dir", default=None, help="save each epoch here; resume from it when rerun"
    )
    args = parser.parse_args(argv)
    args.configs = [c for c in args.configs.split(",") if c]
    args.cell_lines = [c for c in args.cell_lines.split(",") if c]
    unknown = sorted(set(args.configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {CONFIGS}")
    if args.folds_to_run is not None:
        args.folds_to_run = {int(f) for f in args.folds_to_run.split(",")}

    tasks = ["mrl", "te"] if args.task == "all" else [args.task]
    rows = pd.DataFrame([row for task in tasks for row in run_task(task, args)])
    by = ["task", "dataset", "model"] + [c for c in ("target", "valid_split") if c in rows]
    print()
    print(summarise(rows, by).to_markdown(index=False))


if __name__ == "__main__":
    main()
