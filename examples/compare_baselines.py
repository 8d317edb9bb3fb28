"""DynaPro beside the reference systems, on identical folds of the random 50-nt library.

Every model is a scikit-learn estimator on raw sequences, so one ``KFold`` object and
:func:`~sklearn.model_selection.cross_validate` give every model the same train/test splits.
Scores are r² (squared Pearson r, what the papers report) and R² (coefficient of
determination), labelled separately. ``benchmarks/compare.py`` (``dynapro benchmark``) is the
full comparison; this is the short version (about 13 minutes on an idle 2-core CPU,
``benchmarks/time_examples.py``).

Run: ``python examples/compare_baselines.py [--n 4000] [--epochs 8]``
"""

import argparse

from sklearn.model_selection import KFold, cross_validate

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline
from sklearn_dynapro.baselines import (
    make_framepool_pipeline,
    make_kmer_baseline,
    make_optimus_pipeline,
    make_rf_baseline,
)
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.metrics import SCORING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4000, help="use the first N sequences")
    parser.add_argument("--folds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8, help="epochs of the neural models")
    parser.add_argument("--trees", type=int, default=200, help="trees of the random forest")
    args = parser.parse_args()

    X, y = load_mpra_random50()
    X, y = X[: args.n], y[: args.n]
    net = {"max_epochs": args.epochs, "random_state": 0}
    models = {
        "dynapro": make_dynapro_pipeline(**{**FAST_CPU_PARAMS, **net, "patience": args.epochs}),
        "optimus": make_optimus_pipeline(**net),
        "framepool": make_framepool_pipeline(**net),
        "kmer_ridge": make_kmer_baseline(),
        "rf": make_rf_baseline(n_estimators=args.trees, random_state=0, n_jobs=2),
    }
    cv = KFold(args.folds, shuffle=True, random_state=0)
    scoring = {name: SCORING[name] for name in ("r2_pearson", "R2", "spearman")}
    print(f"{args.folds}-fold CV on {len(X)} random 50-nt UTRs (identical folds for every model)")
    print(f"{'model':<11} {'r2 (Pearson^2)':>15} {'R2':>14} {'Spearman':>14} {'fit s':>7}")
    for name, model in models.items():
        s = cross_validate(model, X, y, cv=cv, scoring=scoring)
        cells = [f"{s[f'test_{m}'].mean():.3f} ± {s[f'test_{m}'].std():.3f}" for m in scoring]
        fit_s = s["fit_time"].mean()
        print(f"{name:<11} {cells[0]:>15} {cells[1]:>14} {cells[2]:>14} {fit_s:7.1f}")


if __name__ == "__main__":
    main()
