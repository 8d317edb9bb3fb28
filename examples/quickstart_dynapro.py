"""Train the UTR-DynaPro network on bundled MPRA data and score it on held-out sequences.

Uses the documented fast CPU setting (AdamW, one-cycle schedule, width 64). With the defaults
(16,000 training sequences, 25 epochs) it takes over an hour on a 2-core CPU (the same fit ran
at about 180 s an epoch on an idle 2-core AMD EPYC: ``benchmarks/measured/bench_dynapro/
reshuffle.csv``); ``--n 3000 --epochs 5`` gives a first result in about 2 minutes (118 s there,
``benchmarks/time_examples.py``).

Run: ``python examples/quickstart_dynapro.py [--n 20000] [--epochs 25]``
"""

import argparse
import time

import joblib
import numpy as np

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.metrics import pearson_r2_score


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="sequences to use (80%% train)")
    parser.add_argument("--epochs", type=int, default=FAST_CPU_PARAMS["max_epochs"])
    parser.add_argument("--out", default=None, help="save the fitted pipeline with joblib")
    args = parser.parse_args()

    X, y = load_mpra_random50()
    rng = np.random.default_rng(0)
    order = rng.permutation(len(X))[: args.n]
    split = int(0.8 * len(order))
    train, test = order[:split], order[split:]

    pipe = make_dynapro_pipeline(
        n_jobs=2, random_state=0, **{**FAST_CPU_PARAMS, "max_epochs": args.epochs}
    )
    start = time.perf_counter()
    pipe.fit(X[train], y[train])
    print(f"trained on {len(train)} sequences in {time.perf_counter() - start:.0f} s")
    pred = pipe.predict(X[test])
    r2 = pearson_r2_score(y[test], pred)
    print(f"held-out r2 (squared Pearson) on {len(test)} sequences: {r2:.3f}")
    if args.out:
        joblib.dump(pipe, args.out)
        print(f"saved to {args.out}")


if __name__ == "__main__":
    main()
