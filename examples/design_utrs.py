"""Design 5' UTRs under constraints with a model fitted on bundled MPRA data as the oracle.

Fits the k-mer ridge baseline (k = 1…4) on the random 50-nt library (seconds), then designs
50-nt UTRs without upstream AUGs and with 40–60 % GC, by greedy in-silico mutagenesis and by a
genetic algorithm, and compares their predicted mean ribosome load (MRL) with the best
training sequences. Designs scored far above the training data are extrapolations of the
model: test them in the lab before trusting the numbers. Takes about 12 s on an idle 2-core
CPU (``benchmarks/time_examples.py``).

Run: ``python examples/design_utrs.py [--n 20000] [--designs 10] [--generations 40]``
"""

import argparse
import time

import numpy as np

from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.design import DesignConstraints, genetic_design, greedy_design
from sklearn_dynapro.metrics import pearson_r2_score

COLUMNS = ["sequence", "prediction", "gc", "n_uaug"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="sequences to use (80%% train)")
    parser.add_argument("--designs", type=int, default=10, help="greedy random starts")
    parser.add_argument("--steps", type=int, default=30, help="greedy substitutions at most")
    parser.add_argument("--population", type=int, default=100, help="genetic population size")
    parser.add_argument("--generations", type=int, default=40)
    parser.add_argument("--top", type=int, default=5, help="designs to print per method")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()

    X, y = load_mpra_random50()
    order = np.random.default_rng(args.seed).permutation(len(X))[: args.n]
    split = int(0.8 * len(order))
    train, test = order[:split], order[split:]
    start = time.perf_counter()
    oracle = make_kmer_baseline(k_range=(1, 4)).fit(X[train], y[train])
    r2 = pearson_r2_score(y[test], oracle.predict(X[test]))
    print(
        f"oracle: k-mer ridge fitted on {len(train)} sequences in "
        f"{time.perf_counter() - start:.1f} s, held-out r2 (squared Pearson) {r2:.3f}"
    )

    rules = DesignConstraints(50, forbid_uaug=True, gc_min=0.4, gc_max=0.6)
    fitted = oracle.predict(X[train])
    best = np.argmax(y[train])
    print(f"constraints: {rules}")
    print(
        f"best measured training UTR: MRL {y[train][best]:.2f}, predicted {fitted[best]:.2f} "
        f"({'valid' if rules.is_valid(X[train][best]) else 'breaks the constraints'})"
    )
    valid = rules.check(X[train])
    print(
        f"highest prediction among the {valid.sum()} training UTRs that satisfy the "
        f"constraints: {fitted[valid].max():.2f}"
    )

    start = time.perf_counter()
    greedy = greedy_design(
        oracle, rules, n_designs=args.designs, n_steps=args.steps, random_state=args.seed
    )
    print(f"\ngreedy design ({time.perf_counter() - start:.1f} s), top {args.top}:")
    print(
        greedy[[*COLUMNS, "step", "start_prediction"]]
        .head(args.top)
        .to_string(index=False, float_format="{:.2f}".format)
    )

    start = time.perf_counter()
    genetic = genetic_design(
        oracle,
        rules,
        population_size=args.population,
        n_generations=args.generations,
        random_state=args.seed,
    )
    print(f"\ngenetic design ({time.perf_counter() - start:.1f} s), top {args.top}:")
    print(
        genetic[[*COLUMNS, "generation"]]
        .head(args.top)
        .to_string(index=False, float_format="{:.2f}".format)
    )

    print(
        f"\nbest predicted MRL: greedy {greedy['prediction'].iloc[0]:.2f}, genetic "
        f"{genetic['prediction'].iloc[0]:.2f}, best valid training UTR "
        f"{fitted[valid].max():.2f}\n(the highest measured training MRL is "
        f"{y[train].max():.2f}; predictions above it are extrapolations)"
    )


if __name__ == "__main__":
    main()
