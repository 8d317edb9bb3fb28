"""Per-epoch training history of checkpointed fits, as a CSV and a Markdown summary.

A benchmark row keeps a fit's scores and total epoch seconds; how the validation loss moved
from epoch to epoch is in the fit's checkpoint (``--checkpoint-dir`` of ``bench_dynapro.py``
and ``compare.py``), which is not kept in git. This writes that history out: one row per
epoch with its seconds, training loss and validation loss (Huber on the standardised
target for DynaPro), labelled by the name given to each checkpoint.

Usage::

    python benchmarks/checkpoint_history.py \\
        benchmarks/results/ckpt_paper/checkpoint-1283bcfc8a3acad3.pt=fold2 --csv history.csv
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import pandas as pd

from sklearn_dynapro.models._checkpoint import load_checkpoint

COLUMNS = ("epoch", "dur", "train_loss", "valid_loss")


def history_rows(path: str | Path, label: str) -> pd.DataFrame:
    """The epochs of one checkpoint, labelled; a ValueError for a missing file."""
    state = load_checkpoint(path)
    if state is None or Path(path).is_dir():
        raise ValueError(f"{str(path)!r} must be a checkpoint file.")
    history = json.loads(state["history"])
    rows = pd.DataFrame([{key: epoch.get(key) for key in COLUMNS} for epoch in history])
    rows.insert(0, "label", label)
    rows["finished"] = bool(state.get("finished"))
    return rows


def summary(rows: pd.DataFrame) -> pd.DataFrame:
    """One line per checkpoint: epochs, seconds, validation loss first / last, last drops."""
    out = []
    for label, fit in rows.groupby("label", sort=False):
        loss = fit["valid_loss"].to_numpy()
        drops = -pd.Series(loss).diff().iloc[-5:]
        out.append(
            {
                "checkpoint": label,
                "epochs": len(fit),
                "finished": bool(fit["finished"].iloc[0]),
                "epoch seconds": round(fit["dur"].sum()),
                "valid loss, epoch 1": loss[0],
                "valid loss, last": loss[-1],
                "last 5 epochs' drops": f"{drops.min():.4f}–{drops.max():.4f}",
            }
        )
    return pd.DataFrame(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "checkpoints", nargs="+", metavar="PATH=LABEL", help="checkpoint files and their labels"
    )
    parser.add_argument("--csv", default=None, help="write the per-epoch rows here")
    args = parser.parse_args(argv)
    tables = []
    for item in args.checkpoints:
        path, _, label = item.partition("=")
        try:
            tables.append(history_rows(path, label or Path(path).stem))
        except ValueError as exc:
            parser.error(str(exc))
    rows = pd.concat(tables, ignore_index=True)
    if args.csv:
        rows.to_csv(args.csv, index=False)
    print(summary(rows).to_markdown(index=False, floatfmt=",.4f"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
