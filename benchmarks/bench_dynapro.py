"""Cross-validate DynaPro on the bundled data: tuned CPU setting, paper defaults, ablations.

MRL task: 5-fold CV (fixed, seeded folds) on the 20,000 random 50-nt UTRs. TE/EL task: 10-fold
CV grouped by transcript on the Cao 2021 HEK293 and PC3 windows, log TE and log expression
predicted together (two outputs), scored by Spearman ρ per target.

Each fold runs in its own process (peak memory is per fold). Rows are appended to ``--csv`` as
folds finish, so a long run can be split over several calls with ``--folds-to-run``.

Examples
--------
python benchmarks/bench_dynapro.py --configs tuned --folds-to-run 0
python benchmarks/bench_dynapro.py --configs tuned,paper,no_experts --task mrl
python benchmarks/bench_dynapro.py --task te --configs tuned
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.model_selection import GroupKFold, KFold

sys.path.insert(0, str(Path(__file__).parent))
from _harness import fit_and_score, run_isolated, score_all, summarise

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline
from sklearn_dynapro.datasets import load_cao2021_te, load_mpra_random50

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
    return params


def build(params: dict, seed: int, max_len: int | None, n_jobs: int):
    return make_dynapro_pipeline(max_len=max_len, n_jobs=n_jobs, random_state=seed, **params)


def run_task(task: str, args: argparse.Namespace) -> pd.DataFrame:
    if task == "mrl":
        X, y = load_mpra_random50()
        if args.n:
            X, y = X[: args.n], y[: args.n]
        splits = list(KFold(args.folds, shuffle=True, random_state=0).split(X))
        datasets = [("random50", X, y, splits, None)]
    else:
        datasets = []
        for cell_line in ("HEK293", "PC3"):
            X, y = load_cao2021_te(cell_line=cell_line, target="both")
            y = y.to_numpy()
            splits = list(GroupKFold(10).split(X, y, groups=X["transcript_id"]))
            datasets.append((f"cao2021_{cell_line}", X, y, splits, 101))
    rows = []
    for name in args.configs:
        params = config_params(name, args)
        for dataset, X, y, splits, max_len in datasets:
            for fold, (train, test) in enumerate(splits):
                if args.folds_to_run is not None and fold not in args.folds_to_run:
                    continue
                make = functools.partial(build, params, args.seed, max_len, args.n_jobs)
                row = run_isolated(
                    fit_and_score, make, X, y, train, test, args.threads, task == "te"
                )
                if task == "te":
                    # Score each target on its own: Spearman ρ is the metric Cao et al. report.
                    row = _te_rows(y[test], row)
                for r in row if isinstance(row, list) else [row]:
                    r.update(task=task, dataset=dataset, config=name, fold=fold, seed=args.seed)
                    rows.append(r)
                    print(
                        f"{task} {dataset} {name} fold {fold}: r2_pearson={r['r2_pearson']:.3f} "
                        f"spearman={r['spearman']:.3f} fit={r['fit_seconds']:.0f}s",
                        flush=True,
                    )
                    if args.csv:
                        pd.DataFrame([r]).to_csv(
                            args.csv, mode="a", header=not Path(args.csv).exists(), index=False
                        )
    return pd.DataFrame(rows)


def _te_rows(y_true: np.ndarray, joint_row: dict) -> list[dict]:
    """Per-target scores (log TE, log expression) of one fold's joint two-output model."""
    out = []
    for j, target in enumerate(("log_te", "log_expression")):
        r = {k: v for k, v in joint_row.items() if k != "y_pred"}
        r.update(score_all(y_true[:, j], joint_row["y_pred"][:, j]))
        r["target"] = target
        out.append(r)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--task", choices=["mrl", "te", "all"], default="mrl")
    parser.add_argument("--configs", default="tuned,paper," + ",".join(ABLATIONS))
    parser.add_argument("--folds", type=int, default=5, help="MRL folds (TE/EL always 10)")
    parser.add_argument("--folds-to-run", default=None, help="comma list of fold indices")
    parser.add_argument("--n", type=int, default=None, help="use the first N MRL sequences")
    parser.add_argument("--epochs", type=int, default=None, help="override tuned epochs")
    parser.add_argument("--paper-epochs", type=int, default=50)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fold")
    parser.add_argument("--n-jobs", type=int, default=2, help="folding processes")
    parser.add_argument("--csv", default=None, help="append per-fold rows here")
    args = parser.parse_args()
    args.configs = [c for c in args.configs.split(",") if c]
    unknown = sorted(set(args.configs) - set(CONFIGS))
    if unknown:
        parser.error(f"unknown configs {unknown}; choose from {CONFIGS}")
    if args.folds_to_run is not None:
        args.folds_to_run = {int(f) for f in args.folds_to_run.split(",")}

    tasks = ["mrl", "te"] if args.task == "all" else [args.task]
    rows = pd.concat([run_task(task, args) for task in tasks], ignore_index=True)
    by = ["task", "dataset", "config"] + (["target"] if "target" in rows else [])
    print()
    print(summarise(rows, by).to_markdown(index=False))


if __name__ == "__main__":
    main()
