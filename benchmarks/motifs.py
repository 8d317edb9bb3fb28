"""Train Optimus 5-Prime on the random 50-nt UTRs and read motifs out of its first convolution.

Follows Basset / MTtrans (``sklearn_dynapro.interpret.find_motifs``): every filter's windows
that reach half its maximum activation over the training UTRs are stacked into a position
probability matrix, and filters are ranked by influence (the root mean square change of the
predictions when the filter is silenced; ``--rank-by sites_ic`` is the free alternative).
Writes one logo PNG per top motif, a panel of all of them and a MEME file to ``--out``,
prints the top motifs as a Markdown table, and reports whether an upstream AUG (ATG) and a
stop codon (TAA, TAG, TGA) are among their consensus sequences, the two signals Sample et al.
(2019) found to dominate mean ribosome load.

A stop codon matters in context (it ends the ORF of an upstream ATG in its frame), which one
short filter cannot hold. So the script also measures the trained model's response to stop
codons directly: in held-out UTRs with exactly one ATG whose ORF runs into the coding sequence
(no stop in its frame), each stop codon is written once in that frame, after the ATG, and once
one base later (out of frame, the control), and the predicted change in MRL is averaged.

Examples
--------
python benchmarks/motifs.py --n 4000 --epochs 3 --threads 1
python benchmarks/motifs.py --epochs 10 --top 20 --out benchmarks/results/motifs
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import numpy as np
import pandas as pd

STOPS = ("TAA", "TAG", "TGA")


def best_match(pwm: np.ndarray, word: str) -> float:
    """Highest probability of reading ``word`` at any offset of a probability matrix."""
    index = ["ACGT".index(b) for b in word]
    span = len(word)
    probs = [np.prod(pwm[o + np.arange(span), index]) for o in range(pwm.shape[0] - span + 1)]
    return float(max(probs, default=0.0))


def stop_codon_effects(pipe, sequences, *, seed: int = 0) -> pd.DataFrame:
    """Predicted MRL change from writing a stop codon in frame with a UTR's only upstream ATG.

    For every UTR with exactly one ATG and no stop codon in its frame downstream (an ORF that
    runs into the coding sequence), one codon position after the ATG is drawn (from the
    second codon on, so the ATG's +4 context stays), and each of
    TAA, TAG and TGA is written there (in frame: the ORF now ends in the UTR) and one base
    later (out of frame: the ORF still runs on). Mutants that create or destroy an ATG, or put
    a stop in frame by accident, are skipped.

    Returns
    -------
    DataFrame
        One row per stop codon and frame: ``n`` UTRs, mean, standard error and median of the
        change (mutant minus original prediction) and the share of UTRs whose prediction rose.
    """
    rng = np.random.default_rng(seed)
    originals, mutants, labels = [], [], []
    for seq in sequences:
        starts = [i for i in range(len(seq) - 2) if seq[i : i + 3] == "ATG"]
        if len(starts) != 1:
            continue
        atg = starts[0]
        # From the second codon after the ATG on, so neither copy touches its Kozak +4 base;
        # room left for the shifted copy.
        frame = range(atg + 6, len(seq) - 3, 3)
        if not frame or any(seq[i : i + 3] in STOPS for i in range(atg + 3, len(seq) - 2, 3)):
            continue
        site = int(rng.choice(frame))
        for stop in STOPS:
            for in_frame, at in ((True, site), (False, site + 1)):
                mutant = seq[:at] + stop + seq[at + 3 :]
                stops = [mutant[i : i + 3] in STOPS for i in range(atg + 3, len(seq) - 2, 3)]
                if mutant.count("ATG") != 1 or any(stops) != in_frame:
                    continue
                originals.append(seq)
                mutants.append(mutant)
                labels.append((stop, "in frame" if in_frame else "out of frame (+1)"))
    if not mutants:
        columns = ["stop", "frame", "n", "mean_change", "sem", "median_change", "share_up"]
        return pd.DataFrame(columns=columns)
    change = pipe.predict(mutants) - pipe.predict(originals)
    frame = pd.DataFrame(labels, columns=["stop", "frame"]).assign(change=change)
    return (
        frame.groupby(["stop", "frame"])["change"]
        .agg(
            n="size",
            mean_change="mean",
            sem="sem",
            median_change="median",
            share_up=lambda c: (c > 0).mean(),
        )
        .reset_index()
    )


def markdown(table: pd.DataFrame) -> str:
    """A plain Markdown table (no extra dependency)."""
    cells = table.astype(str)
    lines = [
        "| " + " | ".join(cells.columns) + " |",
        "| " + " | ".join("---" for _ in cells.columns) + " |",
    ]
    lines += ["| " + " | ".join(row) + " |" for row in cells.to_numpy()]
    return "\n".join(lines)


def write_logos(motifs: pd.DataFrame, out: Path) -> list[Path]:
    """One PNG per motif and a panel with all of them; returns the paths written."""
    from matplotlib.figure import Figure

    from sklearn_dynapro.interpret import plot_logo

    paths = []
    for row in motifs.itertuples():
        title = f"#{row.rank} filter {row.filter} ({row.n_sites} sites)"
        ax = plot_logo(row.pwm, title=title)
        path = out / f"logo_rank{row.rank:02d}_filter{row.filter}.png"
        ax.figure.savefig(path, dpi=120)
        paths.append(path)
    n_cols = 4
    n_rows = max(1, int(np.ceil(len(motifs) / n_cols)))
    panel = Figure(figsize=(4 * n_cols, 1.8 * n_rows), layout="constrained")
    axes = panel.subplots(n_rows, n_cols, squeeze=False).ravel()
    for ax, row in zip(axes, motifs.itertuples(), strict=False):
        plot_logo(row.pwm, ax=ax, title=f"#{row.rank} filter {row.filter}: {row.consensus}")
    for ax in axes[len(motifs) :]:
        ax.set_visible(False)
    path = out / "logos.png"
    panel.savefig(path, dpi=110)
    paths.append(path)
    return paths


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="use the first N random50 UTRs")
    parser.add_argument("--epochs", type=int, default=10, help="most training epochs")
    parser.add_argument("--threads", type=int, default=1, help="torch threads")
    parser.add_argument("--top", type=int, default=12, help="motifs to report")
    parser.add_argument("--threshold", type=float, default=0.5, help="fraction of filter max")
    parser.add_argument("--min-sites", type=int, default=10)
    parser.add_argument(
        "--rank-by",
        default="influence",
        choices=("influence", "sites_ic", "n_sites", "information_content"),
    )
    parser.add_argument(
        "--influence-samples", type=int, default=500, help="UTRs used to measure influence"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path("benchmarks/results/motifs"))
    args = parser.parse_args(argv)

    import torch

    from sklearn_dynapro.baselines import make_optimus_pipeline
    from sklearn_dynapro.datasets import load_mpra_random50
    from sklearn_dynapro.interpret import find_motifs, to_meme
    from sklearn_dynapro.metrics import pearson_r2_score

    torch.set_num_threads(args.threads)
    args.out.mkdir(parents=True, exist_ok=True)
    X, y = load_mpra_random50()
    X, y = X[: args.n], y[: args.n]
    order = np.random.default_rng(args.seed).permutation(len(X))
    cut = int(0.9 * len(X))
    train, test = order[:cut], order[cut:]

    start = time.perf_counter()
    pipe = make_optimus_pipeline(max_len=50, max_epochs=args.epochs, random_state=args.seed)
    pipe.fit(X[train], y[train])
    fit_seconds = time.perf_counter() - start
    r2 = pearson_r2_score(y[test], pipe.predict(X[test]))
    print(
        f"Optimus 5-Prime: {len(train)} training UTRs, {len(pipe[-1].history_)} epochs, "
        f"{fit_seconds:.0f} s; held-out r² (squared Pearson) = {r2:.3f} on {len(test)} UTRs"
    )

    start = time.perf_counter()
    motifs = find_motifs(
        pipe,
        X[train],
        threshold=args.threshold,
        top=args.top,
        min_sites=args.min_sites,
        rank_by=args.rank_by,
        influence_samples=args.influence_samples,
    )
    motif_seconds = time.perf_counter() - start
    to_meme(motifs, args.out / "motifs.meme")
    written = write_logos(motifs, args.out)

    motifs["P(ATG)"] = [best_match(p, "ATG") for p in motifs["pwm"]]
    motifs["P(stop)"] = [max(best_match(p, s) for s in STOPS) for p in motifs["pwm"]]
    motifs["uATG"] = motifs["consensus"].str.contains("ATG")
    motifs["stop"] = motifs["consensus"].str.contains("|".join(STOPS))
    columns = ["rank", "filter", "n_sites", "consensus", "information_content"]
    if args.rank_by == "influence":
        columns += ["influence", "effect"]
    table = motifs[[*columns, "P(ATG)", "P(stop)"]].round(3)
    table["uATG"] = motifs["uATG"].map({True: "yes", False: ""})
    table["stop"] = motifs["stop"].map({True: "yes", False: ""})
    print(
        f"\nTop {len(motifs)} filters of layer {motifs.attrs['layer']!r} "
        f"(threshold {args.threshold} of each filter's max, ranked by {args.rank_by}; "
        f"{motif_seconds:.1f} s):\n"
    )
    print(markdown(table))
    print(
        "\ninfluence: RMS change of the output when the filter is silenced; effect: mean of "
        "output minus silenced output (negative: the motif lowers MRL); both in standard "
        "deviations of MRL.\nP(ATG) / P(stop): highest probability of reading ATG / a stop "
        "codon at any offset of the motif; uATG / stop: the consensus (majority base per "
        "position, N where none has p >= 0.5) contains it."
    )
    print(f"upstream AUG (ATG) among the top motifs: {'yes' if motifs['uATG'].any() else 'no'}")
    print(
        f"stop codon (TAA/TAG/TGA) among the top motifs: {'yes' if motifs['stop'].any() else 'no'}"
    )

    effects = stop_codon_effects(pipe, X[test], seed=args.seed)
    print(
        "\nStop codons in the frame of the only upstream ATG (held-out UTRs; change of the "
        "predicted MRL, mutant minus original, in MRL units):\n"
    )
    print(markdown(effects.round(3)))
    print(f"\nwrote {args.out / 'motifs.meme'} and {len(written)} PNG files to {args.out}")


if __name__ == "__main__":
    main()
