"""Tune DynaPro with Optuna, then fit the best setting: the ``dynapro tune`` workflow in Python.

Each trial scores one setting by inner cross-validation; unpromising trials are pruned from
their validation-loss curve while they train. The study lives in a journal file, so rerunning
this script resumes it (finished trials are kept), and several processes given the same file
share it. The best parameters go to a JSON file that ``dynapro fit --params`` reads too.

Run: ``python examples/tune_dynapro.py [--n 3000] [--trials 8] [--storage tune.journal]``
"""

import argparse

from sklearn.model_selection import train_test_split

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.metrics import pearson_r2_score
from sklearn_dynapro.tuning import (
    DynaProSearchSpace,
    load_params,
    tune_dynapro,
    write_best_params,
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=3000, help="use the first N sequences")
    parser.add_argument("--trials", type=int, default=8, help="trials of this run")
    parser.add_argument(
        "--max-epochs", type=int, default=8, help="most epochs per trial (searched from 3, or less)"
    )
    parser.add_argument("--storage", default="tune.journal", help="journal file or DB URL")
    parser.add_argument("--params-out", default="best_params.json")
    args = parser.parse_args()

    X, y = load_mpra_random50()
    X_train, X_test, y_train, y_test = train_test_split(
        X[: args.n], y[: args.n], test_size=0.2, random_state=0
    )
    if args.max_epochs < 1:
        parser.error(f"--max-epochs must be at least 1, got {args.max_epochs}")
    epochs = (min(3, args.max_epochs), args.max_epochs)
    space = DynaProSearchSpace(n_layers=(1, 2), d_model=(32, 64), max_epochs=epochs)
    study = tune_dynapro(
        X_train,
        y_train,
        space=space,
        pipeline_params={"features": None},
        n_trials=args.trials,
        storage=args.storage,
        study_name="example",
        seed=0,
    )
    path = write_best_params(study, args.params_out)
    states = [t.state.name for t in study.trials]
    print(
        f"{len(states)} trials in the study ({states.count('COMPLETE')} complete, "
        f"{states.count('PRUNED')} pruned); best inner-CV r2 {study.best_value:.3f}"
    )
    print(f"best parameters written to {path}")

    pipe = make_dynapro_pipeline(**load_params(path), random_state=0).fit(X_train, y_train)
    r2 = pearson_r2_score(y_test, pipe.predict(X_test))
    print(f"held-out r2 (squared Pearson) of the best setting: {r2:.3f}")


if __name__ == "__main__":
    main()
