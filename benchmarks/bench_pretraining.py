"""Fine-tune DynaPro with and without a pre-trained backbone on the random50 MRL folds.

A :class:`~sklearn_dynapro.pretraining.UTRLanguageModel` is pre-trained once, without labels,
on every bundled sequence (the 20,000 random 50-nt UTRs, the 7,600 random 25-100-nt UTRs and
the Cao 2021 windows of both cell lines; duplicates dropped) with masked-token, MFE and
structure objectives. DynaPro (``FAST_CPU_PARAMS`` plus a backbone of the same shape) is then
fine-tuned from those weights and, for comparison, from a random initialisation, on 10% and
100% of the training part of the fixed, seeded 5 folds of random50 that the other benchmarks
use (the 10% subset is drawn once per fold and shared by both arms), and scored on the whole
test part.

The unlabelled corpus holds the test sequences too (never their labels), as a language model
pre-trained on every known UTR would; the comparison measures what the objectives add.

Examples
--------
python benchmarks/bench_pretraining.py --folds-to-run 0 --csv benchmarks/results/x.csv
python benchmarks/bench_pretraining.py --n 600 --pretrain-epochs 1 --epochs 1
python benchmarks/bench_pretraining.py --save-backbone lm.pt --folds-to-run 0
python benchmarks/bench_pretraining.py --load-backbone lm.pt --folds-to-run 1,2,3,4
python benchmarks/bench_pretraining.py --load-backbone lm.pt --fractions 1.0 --checkpoint-dir ckpt

With ``--checkpoint-dir DIR`` every fine-tuning fit saves its state after each epoch and resumes
from it when run again, so a 100% fold (about an hour on one CPU thread per arm) survives an
interrupted call. A checkpoint names the pre-trained weights by their content, so the
pre-trained arm starts over, instead of resuming, when other weights are written to the same path.
"""

from __future__ import annotations

import argparse
import functools
import math
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).parent))
from _harness import Dataset, mrl_random50, run_folds, summarise

from sklearn_dynapro import FAST_CPU_PARAMS, make_dynapro_pipeline
from sklearn_dynapro.datasets import (
    load_cao2021_te,
    load_mpra_random50,
    load_mpra_varlen_random,
)


def pretraining_corpus(n: int | None) -> np.ndarray:
    """Unique bundled sequences, labels dropped (the first ``n`` of each source when given)."""
    random50, _ = load_mpra_random50()
    varlen, _ = load_mpra_varlen_random()
    cao, _ = load_cao2021_te()
    sources = [np.asarray(random50), np.asarray(varlen), cao["sequence"].to_numpy()]
    if n:
        sources = [source[:n] for source in sources]
    return np.asarray(list(dict.fromkeys(np.concatenate(sources))), dtype=object)


def subsample(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """The same folds with a seeded ``fraction`` of each training part (test parts kept)."""
    if fraction >= 1:
        return dataset
    splits = []
    for fold, (train, test) in enumerate(dataset.splits):
        rng = np.random.default_rng([seed, fold])
        size = max(2, math.ceil(fraction * len(train)))
        splits.append((np.sort(rng.choice(train, size=size, replace=False)), test))
    return Dataset(dataset.name, dataset.X, dataset.y, splits, dataset.max_len)


def backbone_params(args: argparse.Namespace) -> dict:
    """Backbone shape shared by the language model and both fine-tuning arms."""
    return {
        "module__backbone": True,
        "module__backbone_dim": args.backbone_dim,
        "module__backbone_layers": args.backbone_layers,
        "module__backbone_heads": args.backbone_heads,
        "module__backbone_ffn": args.backbone_ffn,
    }


def pretrain(corpus: np.ndarray, args: argparse.Namespace):
    """Fit the language model on the corpus in this process."""
    import torch

    from sklearn_dynapro.pretraining import UTRLanguageModel

    torch.set_num_threads(args.threads)
    lm = UTRLanguageModel(
        k=args.k,
        d_model=args.backbone_dim,
        n_layers=args.backbone_layers,
        n_heads=args.backbone_heads,
        ffn_dim=args.backbone_ffn,
        max_epochs=args.pretrain_epochs,
        batch_size=args.pretrain_batch_size,
        lr=args.pretrain_lr,
        n_jobs=args.n_jobs,
        random_state=args.seed,
        verbose=args.verbose,
    )
    return lm.fit(corpus)


def build(params: dict, pretrained, k: int, seed: int, n_jobs: int):
    """The fine-tuning pipeline (module-level so spawned fold processes can unpickle it)."""
    return make_dynapro_pipeline(
        k=k, n_jobs=n_jobs, random_state=seed, pretrained=pretrained, **params
    )


def main(argv: list[str] | None = None) -> pd.DataFrame:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--folds-to-run", default=None, help="comma list of fold indices")
    parser.add_argument("--fractions", default="0.1,1.0", help="shares of each training part")
    parser.add_argument("--pretrain-epochs", type=int, default=10)
    parser.add_argument("--pretrain-batch-size", type=int, default=128)
    parser.add_argument("--pretrain-lr", type=float, default=1e-3)
    parser.add_argument("--epochs", type=int, default=None, help="fine-tuning epochs")
    parser.add_argument("--freeze-epochs", type=int, default=0, help="backbone frozen first")
    parser.add_argument("--k", type=int, default=1, help="token size (3UTRBERT: 3-6)")
    parser.add_argument("--backbone-dim", type=int, default=64)
    parser.add_argument("--backbone-layers", type=int, default=3)
    parser.add_argument("--backbone-heads", type=int, default=8)
    parser.add_argument("--backbone-ffn", type=int, default=256)
    parser.add_argument("--no-features", action="store_true", help="tokens only, no MFE/uORFs")
    parser.add_argument("--n", type=int, default=None, help="first N sequences of each source")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="torch threads")
    parser.add_argument("--n-jobs", type=int, default=2, help="folding processes")
    parser.add_argument("--save-backbone", default=None, help="keep the pre-trained weights")
    parser.add_argument(
        "--load-backbone",
        default=None,
        help="weights written by --save-backbone with the same backbone options: skip pre-training",
    )
    parser.add_argument("--csv", default=None, help="append per-fold rows here")
    parser.add_argument(
        "--checkpoint-dir", default=None, help="save each epoch here; resume from it when rerun"
    )
    parser.add_argument("--verbose", type=int, default=0)
    args = parser.parse_args(argv)
    folds_to_run = (
        None if args.folds_to_run is None else {int(f) for f in args.folds_to_run.split(",")}
    )
    fractions = [float(f) for f in args.fractions.split(",") if f]
    if not fractions or not all(0 < f <= 1 for f in fractions):
        parser.error(f"--fractions must be shares in (0, 1], got {args.fractions!r}")

    lm, pretrain_seconds = None, float("nan")
    if args.load_backbone is None:
        corpus = pretraining_corpus(args.n)
        start = time.perf_counter()
        lm = pretrain(corpus, args)
        pretrain_seconds = time.perf_counter() - start
        last = lm.history_[-1]
        print(
            f"pre-trained on {len(corpus)} sequences in {pretrain_seconds:.0f} s: "
            f"mlm_accuracy={last['mlm_accuracy']:.3f} mfe_loss={last['mfe_loss']:.3f} "
            f"structure_accuracy={last['structure_accuracy']:.3f}",
            flush=True,
        )

    params = {**FAST_CPU_PARAMS, **backbone_params(args)}
    if args.epochs is not None:
        params["max_epochs"] = args.epochs
    if args.no_features:
        params["features"] = None
    dataset = mrl_random50(args.n)
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        # Fold processes load the weights from a file instead of unpickling the model.
        weights = args.load_backbone or args.save_backbone or str(Path(tmp) / "backbone.pt")
        if lm is not None:
            lm.save_backbone(weights)
        arms = {
            "random_init": dict(params),
            "pretrained": {**params, "freeze_backbone_epochs": args.freeze_epochs},
        }
        if args.checkpoint_dir is not None:
            for arm_params in arms.values():
                arm_params["checkpoint_dir"] = args.checkpoint_dir
        for fraction in fractions:
            subset = subsample(dataset, fraction, args.seed)
            for arm, arm_params in arms.items():
                pretrained = weights if arm == "pretrained" else None
                make = functools.partial(
                    build, arm_params, pretrained, args.k, args.seed, args.n_jobs
                )
                rows += run_folds(
                    "mrl",
                    subset,
                    f"dynapro_{arm}",
                    make,
                    folds_to_run=folds_to_run,
                    threads=args.threads,
                    csv=args.csv,
                    extra={
                        "train_fraction": fraction,
                        "pretrained": arm == "pretrained",
                        "pretrain_epochs": args.pretrain_epochs,
                        "pretrain_seconds": pretrain_seconds,
                        "seed": args.seed,
                    },
                )
    table = summarise(pd.DataFrame(rows), ["train_fraction", "model"])
    print()
    print(
        "r2_pearson = squared Pearson r, R2 = coefficient of determination, "
        "spearman = Spearman rho; mean ± sd over folds."
    )
    print(table.to_markdown(index=False))
    return table


if __name__ == "__main__":
    main()
