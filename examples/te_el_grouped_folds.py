"""Translation efficiency and expression of endogenous UTRs, with folds grouped by transcript.

A transcript contributes several windows that share its labels, so folds are grouped by
``transcript_id`` (otherwise a model is scored on sequences it has nearly seen). Scores are
Spearman ρ, the metric Cao et al. (2021) report, for log TE and log expression level.

Run: ``python examples/te_el_grouped_folds.py [--cell-line HEK293] [--folds 10]``
"""

import argparse

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_dynapro.datasets import load_cao2021_te
from sklearn_dynapro.features import BiophysicalFeatures
from sklearn_dynapro.metrics import SCORING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-line", default="HEK293", choices=["HEK293", "PC3"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--n", type=int, default=None, help="use the first N windows")
    args = parser.parse_args()

    for target in ("te", "expression"):
        X, y = load_cao2021_te(cell_line=args.cell_line, target=target)
        if args.n is not None:
            X, y = X.iloc[: args.n], y.iloc[: args.n]
        pipe = make_pipeline(
            BiophysicalFeatures(kmer_range=(1, 3), n_jobs=2),
            HistGradientBoostingRegressor(random_state=0),
        )
        scores = cross_validate(
            pipe,
            X,
            y,
            groups=X["transcript_id"],
            cv=GroupKFold(args.folds),
            scoring={"spearman": SCORING["spearman"]},
        )
        rho = scores["test_spearman"]
        print(
            f"{args.cell_line} log {target}: Spearman rho {rho.mean():.3f} ± {rho.std():.3f} "
            f"({args.folds} folds grouped by transcript, {len(X)} windows)"
        )


if __name__ == "__main__":
    main()
