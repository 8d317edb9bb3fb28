"""Translation efficiency and expression of endogenous UTRs, with folds grouped by transcript.

A transcript contributes several windows that share its labels, so folds are grouped by
``transcript_id`` (otherwise a model is scored on sequences it has nearly seen), and so is
DynaPro's early-stopping split inside each fold (``model__groups``), for the same reason.
Scores are Spearman ρ, the metric Cao et al. (2021) report, for log TE and log expression
level, of a gradient-boosted model on biophysical features and of DynaPro with
``FAST_CPU_PARAMS``. On these few thousand windows the feature model is the stronger one
(see the README's TE/EL table) and by far the faster to train; ``--epochs 0`` skips DynaPro.

Run: ``python examples/te_el_grouped_folds.py [--cell-line HEK293] [--folds 10] [--epochs 25]``
"""

import argparse

from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.model_selection import GroupKFold, cross_validate
from sklearn.pipeline import make_pipeline

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline
from sklearn_dynapro.datasets import load_cao2021_te
from sklearn_dynapro.features import BiophysicalFeatures
from sklearn_dynapro.metrics import SCORING


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cell-line", default="HEK293", choices=["HEK293", "PC3"])
    parser.add_argument("--folds", type=int, default=10)
    parser.add_argument("--n", type=int, default=None, help="use the first N windows")
    parser.add_argument(
        "--epochs", type=int, default=FAST_CPU_PARAMS["max_epochs"], help="DynaPro's; 0 skips it"
    )
    args = parser.parse_args()

    for target in ("te", "expression"):
        X, y = load_cao2021_te(cell_line=args.cell_line, target=target)
        if args.n is not None:
            X, y = X.iloc[: args.n], y.iloc[: args.n]
        transcripts = X["transcript_id"].to_numpy()
        models = {
            "features + gradient boosting": (
                make_pipeline(
                    BiophysicalFeatures(kmer_range=(1, 3), n_jobs=2),
                    HistGradientBoostingRegressor(random_state=0),
                ),
                {},
            )
        }
        if args.epochs:
            dynapro = make_dynapro_pipeline(
                n_jobs=2, random_state=0, **{**FAST_CPU_PARAMS, "max_epochs": args.epochs}
            )
            # cross_validate hands each fold the labels of its own training rows.
            models["DynaPro"] = (dynapro, {"model__groups": transcripts})
        for name, (pipe, params) in models.items():
            scores = cross_validate(
                pipe,
                X,
                y,
                groups=transcripts,
                cv=GroupKFold(args.folds),
                scoring={"spearman": SCORING["spearman"]},
                params=params,
            )
            rho = scores["test_spearman"]
            print(
                f"{args.cell_line} log {target}, {name}: Spearman rho {rho.mean():.3f} ± "
                f"{rho.std():.3f} ({args.folds} folds grouped by transcript, {len(X)} windows)"
            )


if __name__ == "__main__":
    main()
