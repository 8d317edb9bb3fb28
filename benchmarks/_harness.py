"""Shared benchmark plumbing: run one fold in a fresh process, summarise folds as a table.

Each fold runs in its own spawned process so its peak resident memory (``ru_maxrss``) is the
fold's own, not the running maximum of the whole benchmark.
"""

from __future__ import annotations

import multiprocessing
import resource
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor

import numpy as np
import pandas as pd

from sklearn_dynapro.metrics import pearson_r2_score, spearman_score

METRICS = ("r2_pearson", "R2", "spearman", "rmse", "mae")


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


def fit_and_score(
    make_estimator: Callable, X, y, train, test, threads: int = 2, return_pred: bool = False
) -> dict:
    """Fit on ``train``, score on ``test``; return scores, timings and peak memory (MiB)."""
    import torch

    torch.set_num_threads(threads)
    X_train = X.iloc[train] if isinstance(X, pd.DataFrame) else X[train]
    X_test = X.iloc[test] if isinstance(X, pd.DataFrame) else X[test]
    estimator = make_estimator()
    start = time.perf_counter()
    estimator.fit(X_train, y[train])
    fit_seconds = time.perf_counter() - start
    start = time.perf_counter()
    y_pred = estimator.predict(X_test)
    predict_seconds = time.perf_counter() - start
    row = score_all(y[test], y_pred)
    row.update(
        fit_seconds=fit_seconds,
        predictions_per_second=len(test) / predict_seconds,
        peak_mib=resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        n_train=len(train),
        n_test=len(test),
    )
    model = estimator[-1] if hasattr(estimator, "steps") else estimator
    history = getattr(model, "history_", None)
    if history is not None:
        row["epochs"] = len(history)
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


def run_isolated(fn: Callable, *args, **kwargs):
    """Run ``fn(*args, **kwargs)`` in a fresh spawned process and return its result."""
    context = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=1, mp_context=context) as pool:
        return pool.submit(_call_and_release, fn, args, kwargs).result()


def summarise(rows: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Mean ± sd of the scores per group, with mean timings and the largest peak memory."""
    out = []
    for key, group in rows.groupby(by, sort=False):
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
