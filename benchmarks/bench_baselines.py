"""Run the reference systems on identical folds of the bundled data and print one table.

Data sets: the 20,000 random 50-nt UTRs (5 seeded folds), the 7,600 random 25–100-nt UTRs
(5 folds stratified by length; Optimus sees them 5'-padded to its fixed length of 100, as
Sample et al. did for this library), and the Cao 2021 HEK293 / PC3 windows (10 folds grouped
by transcript; log TE and log expression scored separately, Spearman ρ being the metric Cao
et al. report). Each fold runs in a fresh process, so peak memory is per fold.

Examples
--------
python benchmarks/bench_baselines.py --models kmer_ridge,rf --data random50
python benchmarks/bench_baselines.py --data all --csv benchmarks/results/baselines.csv
"""

from __future__ import annotations

import argparse
import functools
import sys
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _harness import cao_te, mrl_random50, mrl_varlen, run_folds, summarise

MODELS = ("kmer_ridge", "rf", "optimus", "framepool", "mttrans")
DATA = ("random50", "varlen", "te")


def build(model: str, max_len: int | None, seed: int, n_jobs: int):
    """A fresh, unfitted pipeline for ``model`` (module-level so worker processes can load it)."""
    from sklearn_dynapro import baselines

    if model == "kmer_ridge":
        return baselines.make_kmer_baseline()
    if model == "rf":
        return baselines.make_rf_baseline(n_jobs=n_jobs, random_state=seed)
    if model == "optimus":
        return baselines.make_optimus_pipeline(max_len=max_len, random_state=seed)
    if model == "framepool":
        return baselines.make_framepool_pipeline(random_state=seed)
    if model == "mttrans":
        return baselines.make_mttrans_pipeline(random_state=seed)
    raise ValueError(f"model must be one of {MODELS}, got {model!r}.")


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--data", default="random50", help=f"comma list of {DATA} or 'all'")
    parser.add_argument("--n", type=int, default=None, help="use the first N random50 UTRs")
    parser.add_argument("--folds-to-run", default=None, help="comma list of fold indices")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads per fold")
    parser.add_argument("--n-jobs", type=int, default=2, help="folding processes / RF threads")
    parser.add_argument("--csv", default=None, help="append per-fold rows here")
    args = parser.parse_args(argv)
    models = [m for m in args.models.split(",") if m]
    data = list(DATA) if args.data == "all" else [d for d in args.data.split(",") if d]
    for value, allowed, flag in ((models, MODELS, "--models"), (data, DATA, "--data")):
        unknown = sorted(set(value) - set(allowed))
        if unknown:
            parser.error(f"{flag}: unknown {unknown}; choose from {list(allowed)}")
    folds_to_run = None
    if args.folds_to_run is not None:
        folds_to_run = {int(f) for f in args.folds_to_run.split(",")}

    datasets = []
    if "random50" in data:
        datasets.append(("mrl", mrl_random50(args.n)))
    if "varlen" in data:
        datasets.append(("mrl", mrl_varlen()))
    if "te" in data:
        datasets += [("te", cao_te("HEK293")), ("te", cao_te("PC3"))]

    rows = []
    for task, dataset in datasets:
        for model in models:
            make = functools.partial(build, model, dataset.max_len, args.seed, args.n_jobs)
            rows += run_folds(
                task,
                dataset,
                model,
                make,
                folds_to_run=folds_to_run,
                threads=args.threads,
                csv=args.csv,
                extra={"seed": args.seed},
            )
    table = pd.DataFrame(rows)
    by = ["task", "dataset", "model"] + [c for c in ("target", "valid_split") if c in table]
    print()
    print(summarise(table, by).to_markdown(index=False))


if __name__ == "__main__":
    main()
