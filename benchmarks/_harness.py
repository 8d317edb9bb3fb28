"""Shared benchmark plumbing: run one fold in a fresh process, summarise folds as a table.

Each fold runs in its own spawned process so its peak resident memory (``VmHWM``) is the
fold's own, not the running maximum of the whole benchmark. (``ru_maxrss`` would not do: a
spawned child starts from its parent's, fork and exec keep the high-water mark.)
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import multiprocessing
import resource
import subprocess
import sys
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd
from _lifetime import exit_with_parent

import sklearn_dynapro
from sklearn_dynapro.metrics import pearson_r2_score, spearman_score

METRICS = ("r2_pearson", "R2", "spearman", "rmse", "mae")
#: Columns read back as text: a commit such as ``3e05843`` would otherwise read as infinity.
TEXT_COLUMNS = {"code": str, "valid_split": str}


def peak_rss_mib() -> float:
    """Peak resident memory of this process in MiB (VmHWM, else ru_maxrss).

    ``VmHWM`` starts afresh in a spawned process; ``ru_maxrss`` carries the parent's peak
    over (fork and exec keep it), so it is only the fallback where ``/proc`` is missing.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 1024**2 if sys.platform == "darwin" else peak / 1024


@functools.cache
def code_version() -> str:
    """The commit of the code being benchmarked (``+dirty`` with local edits), for each row.

    Results kept across sessions must say which code made them; outside a git checkout this
    is the package version.
    """
    package = Path(sklearn_dynapro.__file__).parent.parent
    try:
        described = subprocess.run(
            ["git", "-C", package, "describe", "--always", "--dirty=+dirty", "--abbrev=7"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        described = ""
    return described or f"sklearn_dynapro {sklearn_dynapro.__version__}"


def score_all(y_true: np.ndarray, y_pred: np.ndarray) -> dict[str, float]:
    """Every reported score, labelled (r2_pearson = squared Pearson, R2 = coefficient of det.)."""
    from sklearn.metrics import mean_absolute_error, r2_score, root_mean_squared_error

    return {
        "r2_pearson": pearson_r2_score(y_true, y_pred),
        "R2": float(r2_score(y_true, y_pred)),
        "spearman": spearman_score(y_true, y_pred),
        "rmse": float(root_mean_squared_error(y_true, y_pred)),
        "mae": float(mean_absolute_error(y_true, y_pred)),
    }


def group_fit_params(estimator, groups) -> dict:
    """Fit parameters that hold out whole ``groups`` for a neural model's early stopping.

    Empty for models without an early-stopping split (their ``fit`` takes no ``groups``) and
    when ``groups`` is None.
    """
    if groups is None:
        return {}
    name, model = estimator.steps[-1] if hasattr(estimator, "steps") else ("", estimator)
    if "groups" not in inspect.signature(model.fit).parameters:
        return {}
    return {f"{name}__groups" if name else "groups": groups}


def fit_and_score(
    make_estimator: Callable,
    X,
    y,
    train,
    test,
    threads: int = 2,
    return_pred: bool = False,
    groups: np.ndarray | None = None,
) -> dict:
    """Fit on ``train``, score on ``test``; return scores, timings and peak memory (MiB).

    With ``groups``, a neural model's early-stopping split holds out whole groups of the
    training rows (``valid_split`` says which split a neural model's row used).
    """
    import torch

    torch.set_num_threads(threads)
    X_train = X.iloc[train] if isinstance(X, pd.DataFrame) else X[train]
    X_test = X.iloc[test] if isinstance(X, pd.DataFrame) else X[test]
    estimator = make_estimator()
    fit_params = group_fit_params(estimator, None if groups is None else groups[train])
    start = time.perf_counter()
    estimator.fit(X_train, y[train], **fit_params)
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = estimator.predict(X_test)
    predict_seconds = time.perf_counter() - start
    row = score_all(y[test], y_pred)
    row.update(
        fit_seconds=fit_seconds,
        predictions_per_second=len(test) / predict_seconds,
        peak_mib=peak_rss_mib(),
        n_train=len(train),
        n_test=len(test),
    )
    times = training_times(estimator)
    row.update(times)
    if times:
        row["valid_split"] = "groups" if fit_params else "rows"
    if return_pred:
        row["y_pred"] = y_pred
    return row


def _call_and_release(fn: Callable, args: tuple, kwargs: dict):
    try:
        return fn(*args, **kwargs)
    finally:
        # joblib's reusable loky workers (folding) idle for 300 s before exiting, and the pool's
        # worker process waits for them at shutdown; stop them now.
        from joblib.externals.loky import get_reusable_executor

        get_reusable_executor().shutdown(wait=True, kill_workers=True)


@contextlib.contextmanager
def isolated_worker():
    """Yield ``run(fn, *args, **kwargs)``, which calls ``fn`` in one fresh spawned process.

    Successive calls share the process, so its imports are paid once; its peak memory then
    covers every call made so far. The process exits when the calling process dies.
    """
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(
        max_workers=1, mp_context=context, initializer=exit_with_parent
    ) as pool:

        def run(fn: Callable, *args, **kwargs):
            return pool.submit(_call_and_release, fn, args, kwargs).result()

        yield run


def run_isolated(fn: Callable, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` in a fresh spawned process and return its result."""
    with isolated_worker() as run:
        return run(fn, *args, **kwargs)


def restored_seconds(net) -> float:
    """Seconds of the epochs a resumed fit took from its checkpoint (0 when none)."""
    resumed = getattr(net, "resumed_from_epoch_", 0) or 0
    return float(sum(net.history_[:resumed, "dur"])) if resumed else 0.0


def training_times(estimator) -> dict:
    """Epochs and their seconds of a fitted neural model (or pipeline); empty for others.

    ``epoch_seconds_total`` counts every epoch in the history, restored ones too (a restored
    history keeps its epochs' durations). A resumed fit's ``fit_seconds`` covers only the
    epochs after ``resumed_from_epoch``; ``restored_epoch_seconds`` is what it leaves out.
    """
    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    history = getattr(model, "history_", None)
    if history is None:
        return {}
    return {
        "epochs": len(history),
        "epoch_seconds_total": float(sum(history[:, "dur"])),
        "resumed_from_epoch": getattr(model, "resumed_from_epoch_", 0),
        "restored_epoch_seconds": restored_seconds(model),
    }


def fit_seconds(rows: pd.DataFrame) -> pd.Series:
    """Fit time of each row, with the restored epochs of a fit resumed from a checkpoint.

    A resumed fit's ``fit_seconds`` covers its features and the epochs it ran itself;
    ``restored_epoch_seconds`` adds the epochs it took from the checkpoint. Rows written
    before that column existed fall back to ``epoch_seconds_total`` (every epoch, without
    the features).
    """
    seconds = rows["fit_seconds"].astype(float)
    if "resumed_from_epoch" not in rows:
        return seconds
    resumed = rows["resumed_from_epoch"].fillna(0) > 0
    restored = rows.get("restored_epoch_seconds", pd.Series(np.nan, index=rows.index))
    fallback = rows.get("epoch_seconds_total", pd.Series(np.nan, index=rows.index))
    total = (seconds + restored).fillna(fallback)
    return seconds.where(~resumed, total)


def summarise(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean ± sd of the scores per group, with mean timings and the largest peak memory.

    A fold measured twice (a rerun that gave a finished checkpoint back) counts once, with
    its last row. A resumed fold's fit time adds its restored epochs (:func:`fit_seconds`).
    """
    if "target" in rows:
        rows = rows.fillna({"target": "-"})  # single-target data sets
    rows = rows.assign(fit_seconds=fit_seconds(rows))
    identity = (
        *by,
        "task",
        "dataset",
        "experiment",
        "model",
        "fold",
        "seed",
        "target",
        "valid_split",
    )
    if "fold" in rows:
        keys = list(dict.fromkeys(c for c in identity if c in rows))
        rows = rows.drop_duplicates(subset=keys, keep="last")
    out = []
    for key, group in rows.groupby(by, sort=False, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        entry = dict(zip(by, key, strict=True))
        entry["folds"] = len(group)
        for metric in METRICS:
            values = group[metric]
            entry[metric] = (
                f"{values.mean():.3f} ± {values.std(ddof=1) if len(values) > 1 else 0:.3f}"
            )
        entry["fit s/fold"] = f"{group['fit_seconds'].mean():.0f}"
        entry["pred/s"] = f"{group['predictions_per_second'].mean():.0f}"
        entry["peak MiB"] = f"{group['peak_mib'].max():.0f}"
        out.append(entry)
    return pd.DataFrame(out)


class Dataset:
    """One benchmark data set with its fixed splits.

    Parameters
    ----------
    name : str
        Label in the tables.
    X, y : array-like
        Sequences (or a DataFrame) and target(s).
    splits : list of (train, test) index arrays
        The folds every model sees.
    max_len : int or None
        Padded length for fixed-length encoders.
    targets : tuple of str or None
        Names of the columns of a 2-D ``y``, scored one by one.
    groups : ndarray of shape (n_samples,) or None
        The labels the folds are grouped by; neural models hold out whole groups of them
        for early stopping too.
    """

    def __init__(self, name, X, y, splits, max_len=None, targets=None, groups=None):
        self.name, self.X, self.y, self.splits = name, X, y, splits
        self.max_len, self.targets, self.groups = max_len, targets, groups


def mrl_random50(n: int | None = None, folds: int = 5) -> Dataset:
    """The 20,000 random 50-nt UTRs, seeded shuffled k-fold (the sequences are unique)."""
    from sklearn.model_selection import KFold

    from sklearn_dynapro.datasets import load_mpra_random50

    X, y = load_mpra_random50()
    if n:
        X, y = X[:n], y[:n]
    assert len(set(X)) == len(X), "identical sequences would straddle folds"
    return Dataset("random50", X, y, list(KFold(folds, shuffle=True, random_state=0).split(X)), 50)


def mrl_varlen(folds: int = 5) -> Dataset:
    """The 7,600 random 25–100-nt UTRs, folds stratified by length (each fold has every length)."""
    from sklearn.model_selection import StratifiedKFold

    from sklearn_dynapro.datasets import load_mpra_varlen_random

    X, y = load_mpra_varlen_random()
    lengths = np.fromiter(map(len, X), dtype=np.int64)
    splitter = StratifiedKFold(folds, shuffle=True, random_state=0)
    return Dataset("varlen_random", X, y, list(splitter.split(X, lengths)), 100)


def cao_te(cell_line: str, folds: int = 10) -> Dataset:
    """Cao 2021 windows of one cell line; log TE and log expression; folds grouped by transcript."""
    from sklearn.model_selection import GroupKFold

    from sklearn_dynapro.datasets import load_cao2021_te

    X, y = load_cao2021_te(cell_line=cell_line, target="both")
    groups = X["transcript_id"].to_numpy()
    splits = list(GroupKFold(folds).split(X, groups=groups))
    targets = ("log_te", "log_expression")
    return Dataset(f"cao2021_{cell_line}", X, y.to_numpy(), splits, 101, targets, groups)


def run_folds(
    task: str,
    dataset: Dataset,
    model: str,
    make: Callable,
    *,
    folds_to_run=None,
    threads: int = 2,
    csv: str | None = None,
    extra: dict | None = None,
    valid_groups: bool = True,
) -> list[dict]:
    """Fit ``make()`` on each fold of ``dataset`` in a fresh process; print and save rows.

    With several target columns, each target gets its own row (scores of that column).
    ``valid_groups=False`` gives neural models a row-wise early-stopping split even where
    the dataset has groups (to measure what grouping it changes).
    """
    rows = []
    multi = dataset.targets is not None
    groups = dataset.groups if valid_groups else None
    for fold, (train, test) in enumerate(dataset.splits):
        if folds_to_run is not None and fold not in folds_to_run:
            continue
        row = run_isolated(
            fit_and_score, make, dataset.X, dataset.y, train, test, threads, multi, groups
        )
        per_target = [row]
        if multi:
            y_pred = row.pop("y_pred")
            per_target = []
            for j, target in enumerate(dataset.targets):
                r = {**row, **score_all(dataset.y[test][:, j], y_pred[:, j]), "target": target}
                per_target.append(r)
        for r in per_target:
            r.update(task=task, dataset=dataset.name, model=model, fold=fold, **(extra or {}))
            r["code"] = code_version()
            rows.append(r)
            label = f" {r['target']}" if multi else ""
            print(
                f"{task} {dataset.name} {model}{label} fold {fold}: "
                f"r2_pearson={r['r2_pearson']:.3f} spearman={r['spearman']:.3f} "
                f"fit={r['fit_seconds']:.0f}s",
                flush=True,
            )
            if csv:
                append_row(csv, r)
    return rows


def append_row(csv: str, row: dict) -> None:
    """Add ``row`` to ``csv``, widening the header when it brings new columns.

    Rows differ in their columns (neural models add ``epochs``), so a plain append would
    misalign them; the file is small, so it is rewritten with the union of columns.
    """
    from pathlib import Path

    path = Path(csv)
    table = pd.DataFrame([row])
    if path.exists():
        table = pd.concat([pd.read_csv(path, dtype=TEXT_COLUMNS), table], ignore_index=True)
    table.to_csv(path, index=False)
