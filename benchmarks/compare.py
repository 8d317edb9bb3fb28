"""Compare DynaPro with every baseline on identical, sequence-disjoint splits of the bundled data.

Experiments (``--experiments``, default all):

* ``kfold_random50``: k-fold CV within the 20,000 random 50-nt UTRs, GroupKFold grouped by
  sequence (identical sequences never straddle a split).
* ``kfold_varlen``: k-fold CV within the 7,600 random 25-100-nt UTRs, StratifiedGroupKFold
  (stratified by length bin, grouped by sequence); scored overall and per length bin
  (25-49, 50-74, 75-100 nt).
* ``kfold_te_hek293`` / ``kfold_te_pc3``: k-fold CV within the Cao 2021 windows of one cell
  line, GroupKFold grouped by transcript (and by sequence); log TE and log expression are
  predicted together and scored separately.
* ``transfer_random50_to_varlen`` / ``transfer_varlen_to_random50``: library transfer, train on
  one library and test on the other (PredefinedSplit on the ``library`` column of
  ``load_mpra_*(as_frame=True)``; test sequences also present in the training library are
  dropped); the varying-length test set is scored per length bin too.
* ``transfer_hek293_to_pc3``: cell-line transfer, train on HEK293 and test on PC3
  (PredefinedSplit; the two cell lines share no transcript and no sequence).

Every model sees the same folds: k-fold splits are shuffled with the seed, so each seed
(``--seeds``, default 3) gives new folds and new model seeds, identical for all models.
Every model runs through :func:`sklearn.model_selection.cross_validate` with a scoring
callable that predicts each test fold once and applies every scorer of
``sklearn_dynapro.metrics.SCORING`` to it (per target and length bin): r2_pearson (squared
Pearson r), R2 (coefficient of determination), spearman (Spearman rho), rmse and mae.

Timings and memory: fit seconds per fold (cross_validate's ``fit_time``, features
included), predictions per second (test rows over the seconds of one ``predict`` call on
the fold), and peak memory: each model's folds of one experiment and seed run one after
another (one cross_validate call per fold) in a fresh spawned process, whose peak resident
set size so far (``VmHWM`` of ``/proc/self/status``, or ``ru_maxrss`` where that file does
not exist) is reported with each fold. It includes the interpreter and the torch /
scikit-learn imports and excludes RNA-folding worker processes started with ``--n-jobs``
above 1.

Long runs: every finished fold is kept in ``OUT/runs/<experiment>/<model>/`` (its rows, and its
out-of-fold predictions for the first seed). ``--resume`` keeps those and runs only the missing
folds, so a run stopped part-way goes on where it stopped, ``--folds-to-run`` splits one into
shorter calls, and processes running different ``--models`` (or folds, or seeds with
``--seeds-to-run``) can share one ``--out``; the report always covers every fold kept there.
``OUT/runs/settings.json`` records what decides the scores (data size, folds, epochs, trees,
preset, tuned parameters): ``--resume`` with other settings is refused. Without ``--resume``
the folder's earlier folds are deleted first. A fold is kept only when it ends; with
``--checkpoint-dir DIR`` the neural models also save their training state in DIR after every
epoch, so a fold stopped mid-fit goes on from its last epoch when run again (its fit seconds
then count only the epochs run after resuming).

Outputs in ``--out``: ``folds.csv`` (raw rows, one per fold, target and subset, rewritten
as runs finish), ``summary.md`` (mean ± sd; per row, sd over seeds when it has several
seeds with the same folds, over folds otherwise), ``scores.png`` (r2_pearson and Spearman
per model with error bars), ``bins.png`` (r2_pearson per length bin), ``scatter.png`` and
``predictions.csv`` (predicted vs measured for the best model of each experiment, first
seed, out-of-fold).

Examples
--------
python benchmarks/compare.py --quick
python benchmarks/compare.py --experiments kfold_random50,transfer_random50_to_varlen --seeds 3
python benchmarks/compare.py --models dynapro,kmer_ridge --n 2000 --epochs 5
python benchmarks/compare.py --experiments kfold_random50 --models dynapro --folds-to-run 0 --resume
python benchmarks/compare.py --models dynapro --seeds 3 --seeds-to-run 2 --resume
python benchmarks/compare.py --models dynapro --resume --checkpoint-dir benchmarks/results/ckpt
dynapro benchmark --quick
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, RegressorMixin

sys.path.insert(0, str(Path(__file__).parent))
from _harness import (
    TEXT_COLUMNS,
    code_version,
    fit_seconds,
    group_fit_params,
    isolated_worker,
    peak_rss_mib,
    training_times,
)

from sklearn_dynapro.metrics import SCORING
from sklearn_dynapro.tuning import sequence_groups

EXPERIMENTS = {
    "kfold_random50": "k-fold within random50 (grouped by sequence)",
    "kfold_varlen": "k-fold within varlen, stratified by length bin, scored per bin",
    "kfold_te_hek293": "k-fold within HEK293 TE/EL windows, grouped by transcript",
    "kfold_te_pc3": "k-fold within PC3 TE/EL windows, grouped by transcript",
    "transfer_random50_to_varlen": "train random50, test varlen (scored per bin)",
    "transfer_varlen_to_random50": "train varlen, test random50",
    "transfer_hek293_to_pc3": "train HEK293, test PC3",
}
MODELS = ("dynapro", "kmer_ridge", "rf", "optimus", "framepool", "mttrans")
#: Models run only when named: DynaPro with the paper's training setting (SGD, lr 1e-4, width
#: 128, 16 heads; slow on a CPU), and with the parameters of --tuned-params.
EXTRA_MODELS = ("dynapro_paper", "dynapro_tuned")
#: Pipeline settings the comparison itself decides, dropped from --tuned-params files.
_SET_BY_COMPARE = ("library_column", "max_len", "n_jobs", "random_state", "sequence_column")
#: The paper's network width; its training defaults are DynaProRegressor's own defaults.
PAPER_PARAMS = {"module__d_model": 128, "module__n_heads": 16}
METRIC_LABELS = {
    "r2_pearson": "r² (squared Pearson)",
    "R2": "R² (coef. of determination)",
    "spearman": "Spearman ρ",
    "rmse": "RMSE",
    "mae": "MAE",
}
#: SCORING holds these as negated errors (greater is better); the tables show the errors.
NEGATED = ("rmse", "mae")
#: Length-bin edges (left-closed): 25-49, 50-74, 75-100 nt.
LENGTH_BINS = (25, 50, 75, 101)

#: Settings of each preset; options given on the command line win.
PRESETS = {
    "full": {
        "n": None,
        "folds": 5,
        "seeds": 3,
        "epochs": None,
        "trees": 500,
        "n_jobs": 2,
        "models": MODELS,
        "experiments": tuple(EXPERIMENTS),
    },
    "quick": {
        "n": 600,
        "folds": 3,
        "seeds": 1,
        "epochs": 3,
        "trees": 100,
        "n_jobs": 2,
        "models": MODELS,
        "experiments": tuple(EXPERIMENTS),
    },
    "tiny": {
        "n": 120,
        "folds": 2,
        "seeds": 1,
        "epochs": 1,
        "trees": 10,
        "n_jobs": 1,
        "models": ("dynapro", "kmer_ridge"),
        "experiments": tuple(EXPERIMENTS),
    },
}

#: Network sizes of the ``--tiny`` preset (smoke tests).
TINY_NETWORKS = {
    "dynapro": {
        "module__d_model": 16,
        "module__n_heads": 4,
        "module__n_layers": 1,
        "module__ffn_dim": 32,
    },
    "optimus": {"module__n_filters": 4, "module__dense_dim": 4},
    "framepool": {"module__n_filters": 4, "module__dense_dim": 4},
    "mttrans": {"module__conv_channels": (4, 4, 4, 4), "module__tower_hidden": 4},
}


# --------------------------------------------------------------------------------- data
@functools.cache
def load_source(name: str, n: int | None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """One bundled data set as ``(X, y)`` DataFrames, optionally a seeded subset of ``n`` rows.

    ``name`` is ``random50``, ``varlen``, ``HEK293`` or ``PC3``. The subset (seed 0) is the
    same for every model, seed and experiment.
    """
    from sklearn_dynapro.datasets import (
        load_cao2021_te,
        load_mpra_random50,
        load_mpra_varlen_random,
    )

    if name == "random50":
        X, y = load_mpra_random50(as_frame=True)
        y = y.to_frame()
    elif name == "varlen":
        X, y = load_mpra_varlen_random(as_frame=True)
        y = y.to_frame()
    else:
        X, y = load_cao2021_te(cell_line=name, target="both")
    if n is not None and n < len(X):
        rows = np.sort(np.random.default_rng(0).choice(len(X), size=n, replace=False))
        X, y = X.iloc[rows].reset_index(drop=True), y.iloc[rows].reset_index(drop=True)
    return X, y


@dataclass
class Experiment:
    """One comparison: data, the splitter every model shares, and how to score it.

    Parameters
    ----------
    name : str
        Key of :data:`EXPERIMENTS`.
    X : DataFrame of shape (n_samples, n_columns)
        Column ``sequence`` plus metadata (library, cell line, transcript).
    y : ndarray of shape (n_samples,) or (n_samples, n_targets)
        Measurements.
    targets : tuple of str
        Names of the target columns.
    cv : splitter or list of (train, test)
        Passed to ``cross_validate`` as ``cv``.
    groups : ndarray of shape (n_samples,) or None
        Passed to ``cross_validate`` as ``groups``.
    max_len : int
        Padded length of every sequence model (the longest UTR of train and test).
    bins : tuple of int or None
        Length-bin edges for per-bin scores.
    valid_groups : bool
        Whether neural models hold out whole ``groups`` for early stopping too (the TE/EL
        experiments, where the windows of one transcript are related).
    """

    name: str
    X: pd.DataFrame
    y: np.ndarray
    targets: tuple[str, ...]
    cv: object
    groups: np.ndarray | None
    max_len: int
    bins: tuple[int, ...] | None = None
    valid_groups: bool = False

    def splits(self) -> list[tuple[np.ndarray, np.ndarray]]:
        """The (train, test) index pairs of ``cv``."""
        if hasattr(self.cv, "split"):
            return list(self.cv.split(self.X, self.y, self.groups))
        return list(self.cv)

    def check_disjoint(self) -> None:
        """Raise if any split puts one sequence (after normalisation) on both sides."""
        labels = sequence_groups(self.X["sequence"])
        for fold, (train, test) in enumerate(self.splits()):
            shared = np.intersect1d(labels[train], labels[test])
            if shared.size:
                raise RuntimeError(
                    f"{self.name}: fold {fold} has {shared.size} sequences on both sides."
                )


def _targets(y: pd.DataFrame) -> tuple[np.ndarray, tuple[str, ...]]:
    values = y.to_numpy(dtype=np.float64)
    return (values.ravel() if values.shape[1] == 1 else values), tuple(y.columns)


def _kfold(name, source, *, seed, folds, n, max_len, group_column=None, bins=None) -> Experiment:
    from sklearn.model_selection import GroupKFold, StratifiedGroupKFold

    X, y_frame = load_source(source, n)
    y, targets = _targets(y_frame)
    groups = sequence_groups(X["sequence"], X[group_column] if group_column else None)
    if bins is None:
        cv = GroupKFold(folds, shuffle=True, random_state=seed)
    else:
        strata = np.digitize(X["sequence"].str.len().to_numpy(), bins)
        splitter = StratifiedGroupKFold(folds, shuffle=True, random_state=seed)
        cv = list(splitter.split(X, strata, groups))
    return Experiment(name, X, y, targets, cv, groups, max_len, bins, group_column is not None)


def _transfer(name, train_source, test_source, *, n, max_len, bins=None) -> Experiment:
    from sklearn.model_selection import PredefinedSplit

    X_train, y_train = load_source(train_source, n)
    X_test, y_test = load_source(test_source, n)
    labels = sequence_groups(pd.concat([X_train["sequence"], X_test["sequence"]]))
    unseen = ~np.isin(labels[len(X_train) :], labels[: len(X_train)])
    X_test, y_test = X_test[unseen], y_test[unseen]
    X = pd.concat([X_train, X_test], ignore_index=True)
    y, targets = _targets(pd.concat([y_train, y_test], ignore_index=True))
    # -1: in every training set; 0: the one test fold.
    test_fold = np.r_[np.full(len(X_train), -1), np.zeros(len(X_test), dtype=int)]
    return Experiment(name, X, y, targets, PredefinedSplit(test_fold), None, max_len, bins)


def build_experiment(name: str, *, seed: int, folds: int, n: int | None) -> Experiment:
    """Build one experiment of :data:`EXPERIMENTS` for one seed and check its splits."""
    if name == "kfold_random50":
        exp = _kfold(name, "random50", seed=seed, folds=folds, n=n, max_len=50)
    elif name == "kfold_varlen":
        exp = _kfold(name, "varlen", seed=seed, folds=folds, n=n, max_len=100, bins=LENGTH_BINS)
    elif name in ("kfold_te_hek293", "kfold_te_pc3"):
        cell_line = "HEK293" if name.endswith("hek293") else "PC3"
        exp = _kfold(
            name, cell_line, seed=seed, folds=folds, n=n, max_len=101, group_column="transcript_id"
        )
    elif name == "transfer_random50_to_varlen":
        exp = _transfer(name, "random50", "varlen", n=n, max_len=100, bins=LENGTH_BINS)
    elif name == "transfer_varlen_to_random50":
        exp = _transfer(name, "varlen", "random50", n=n, max_len=100)
    elif name == "transfer_hek293_to_pc3":
        exp = _transfer(name, "HEK293", "PC3", n=n, max_len=101)
    else:
        raise ValueError(f"experiment must be one of {list(EXPERIMENTS)}, got {name!r}.")
    exp.check_disjoint()
    return exp


# ------------------------------------------------------------------------------- models
def make_model(
    name: str,
    *,
    seed: int,
    max_len: int,
    epochs: int | None,
    trees: int,
    n_jobs: int,
    tiny: bool,
    tuned_params: dict | None = None,
    checkpoint_dir: str | None = None,
):
    """A fresh, unfitted pipeline taking raw sequences (a DataFrame with ``sequence``).

    ``dynapro`` uses ``FAST_CPU_PARAMS``, ``dynapro_paper`` the paper's setting,
    ``dynapro_tuned`` ``tuned_params`` (pipeline arguments, e.g. read from
    ``dynapro tune``'s JSON); the baselines use their factory defaults. ``epochs`` overrides
    the epochs of every neural model. No model gets a library column: in the transfer
    experiments the test library is one the model never saw, so MTtrans trains one tower.
    With ``checkpoint_dir`` every neural model saves its training state there after each
    epoch and resumes its own fit (same model, parameters and fold) when run again.
    """
    from sklearn_dynapro import baselines
    from sklearn_dynapro.models import FAST_CPU_PARAMS, make_dynapro_pipeline

    network = TINY_NETWORKS.get(name.split("_")[0], {}) if tiny else {}
    if name.startswith("dynapro"):
        if name == "dynapro_tuned":
            if tuned_params is None:
                raise ValueError("dynapro_tuned needs --tuned-params, got None.")
            base = {k: v for k, v in tuned_params.items() if k not in _SET_BY_COMPARE}
        else:
            base = PAPER_PARAMS if name == "dynapro_paper" else FAST_CPU_PARAMS
        params = {**base, **network}
        if epochs is not None:
            params.update(max_epochs=epochs, patience=epochs)
        if checkpoint_dir is not None:
            params["checkpoint_dir"] = checkpoint_dir
        return make_dynapro_pipeline(max_len=max_len, n_jobs=n_jobs, random_state=seed, **params)
    if name == "kmer_ridge":
        return baselines.make_kmer_baseline(k_range=(1, 4) if tiny else (1, 6))
    if name == "rf":
        return baselines.make_rf_baseline(n_estimators=trees, n_jobs=n_jobs, random_state=seed)
    params = {"random_state": seed, **network}
    if epochs is not None:
        params["max_epochs"] = epochs
    if checkpoint_dir is not None:
        params["checkpoint_dir"] = checkpoint_dir
    if name == "optimus":
        return baselines.make_optimus_pipeline(max_len=max_len, **params)
    if name == "framepool":
        return baselines.make_framepool_pipeline(max_len=max_len, **params)
    if name == "mttrans":
        return baselines.make_mttrans_pipeline(max_len=max_len, library_column=None, **params)
    raise ValueError(f"model must be one of {list(MODELS + EXTRA_MODELS)}, got {name!r}.")


class _Replay(RegressorMixin, BaseEstimator):
    """Hands back stored predictions for row positions, so scorers score subsets of a fold."""

    def __init__(self, y_pred=None):
        self.y_pred = y_pred

    def predict(self, rows):
        return self.y_pred[np.asarray(rows, dtype=np.int64)]


class FoldScorer:
    """``scoring`` callable for ``cross_validate``: predict once, apply every SCORING scorer.

    Returns ``{"target|subset|metric": value}`` for each target column, for the whole test
    fold (subset ``all``) and each length bin, plus ``predictions_per_second``. Errors (rmse,
    mae) are returned as positive numbers. Subsets of fewer than 3 rows score NaN. The
    fold's predictions are kept in ``predictions_`` (one array per call, in call order).
    """

    def __init__(self, targets: tuple[str, ...], bins: tuple[int, ...] | None = None):
        self.targets = targets
        self.bins = bins
        self.predictions_: list[np.ndarray] = []

    def _subsets(self, X) -> dict[str, np.ndarray]:
        subsets = {"all": np.arange(len(X))}
        if self.bins is not None:
            lengths = X["sequence"].str.len().to_numpy()
            for low, high in zip(self.bins[:-1], self.bins[1:], strict=True):
                subsets[f"{low}-{high - 1}"] = np.flatnonzero((lengths >= low) & (lengths < high))
        return subsets

    def __call__(self, estimator, X, y) -> dict[str, float]:
        from sklearn.metrics import get_scorer

        start = time.perf_counter()
        y_pred = np.asarray(estimator.predict(X), dtype=np.float64)
        seconds = time.perf_counter() - start
        self.predictions_.append(y_pred)
        y_true = np.asarray(y, dtype=np.float64).reshape(len(y_pred), -1)
        y_pred = y_pred.reshape(len(y_pred), -1)
        scores = {"predictions_per_second": len(y_pred) / max(seconds, 1e-9)}
        for j, target in enumerate(self.targets):
            replay = _Replay(y_pred[:, j])
            for subset, rows in self._subsets(X).items():
                prefix = f"{target}|{subset}|"
                scores[prefix + "n"] = float(len(rows))
                for metric, scoring in SCORING.items():
                    value = np.nan
                    if len(rows) >= 3:
                        value = float(get_scorer(scoring)(replay, rows, y_true[rows, j]))
                    scores[prefix + metric] = -value if metric in NEGATED else value
        return scores


def run_model(
    model: str, experiment: Experiment, seed: int, options: dict, folds: list[int]
) -> dict:
    """Cross-validate one model on some folds of one experiment (in a worker process).

    ``folds`` picks fold indices of ``experiment.splits()``; the result's ``folds`` says
    which ran, in the order of its other lists.
    """
    import warnings

    import torch
    from sklearn.model_selection import cross_validate

    from sklearn_dynapro.features import clear_fold_cache

    # The folds of one worker would share the folding energies cached by the ones before:
    # fold 0 folded its sequences, later folds found theirs computed and timed faster.
    clear_fold_cache()
    torch.set_num_threads(options["threads"])
    splits = experiment.splits()
    estimator = make_model(model, seed=seed, max_len=experiment.max_len, **options["model"])
    scorer = FoldScorer(experiment.targets, experiment.bins)
    # cross_validate hands each fold the labels of its own training rows.
    params = group_fit_params(estimator, experiment.groups) if experiment.valid_groups else {}
    with warnings.catch_warnings():
        # The TE windows hold a few N bases: the encoders mask them and warn on every fold.
        warnings.filterwarnings("ignore", message=".*ambiguous.*")
        result = cross_validate(
            estimator,
            experiment.X,
            experiment.y,
            groups=experiment.groups,
            cv=[splits[i] for i in folds],
            scoring=scorer,
            return_indices=True,
            return_estimator=True,
            error_score="raise",
            params=params,
        )
    # A fit resumed from a checkpoint times only the epochs it ran; keep what it restored.
    times = [training_times(estimator) for estimator in result["estimator"]]
    return {
        "folds": folds,
        "fit_seconds": result["fit_time"].tolist(),
        **{
            key: [t.get(key) for t in times]
            for key in ("resumed_from_epoch", "epoch_seconds_total", "restored_epoch_seconds")
        },
        "scores": {k[5:]: v.tolist() for k, v in result.items() if k.startswith("test_")},
        "train_sizes": [len(t) for t in result["indices"]["train"]],
        "test_indices": result["indices"]["test"],
        "predictions": scorer.predictions_,
        "peak_mib": peak_rss_mib(),
    }


def result_rows(out: dict, experiment: str, model: str, seed: int) -> list[dict]:
    """Long rows (one per fold, target and subset) from :func:`run_model`'s output."""
    rows = []
    scores = out["scores"]
    subsets = {}
    for key in scores:
        if key.count("|") == 2:
            target, subset, _ = key.split("|")
            subsets[(target, subset)] = None
    unknown = [None] * len(out["folds"])  # outputs of an older run_model
    resumed = out.get("resumed_from_epoch", unknown)
    epoch_totals = out.get("epoch_seconds_total", unknown)
    restored = out.get("restored_epoch_seconds", unknown)
    for i, (fold, seconds) in enumerate(zip(out["folds"], out["fit_seconds"], strict=True)):
        for target, subset in subsets:
            prefix = f"{target}|{subset}|"
            row = {
                "experiment": experiment,
                "model": model,
                "seed": seed,
                "fold": fold,
                "target": target,
                "subset": subset,
                "n_train": out["train_sizes"][i],
                "n_test": int(scores[prefix + "n"][i]),
            }
            row.update({metric: scores[prefix + metric][i] for metric in METRIC_LABELS})
            row.update(
                fit_seconds=seconds,
                resumed_from_epoch=resumed[i],
                epoch_seconds_total=epoch_totals[i],
                restored_epoch_seconds=restored[i],
                predictions_per_second=scores["predictions_per_second"][i],
                peak_mib=out["peak_mib"],
                code=code_version(),
            )
            rows.append(row)
    return rows


# ------------------------------------------------------------------------ results on disk
def unit_file(out: Path, experiment: str, model: str, seed: int, fold: int, kind: str) -> Path:
    """Where one fold's ``rows`` or out-of-fold ``predictions`` are kept, under ``out/runs``."""
    return out / "runs" / experiment / model / f"seed{seed}_fold{fold}.{kind}.csv"


def _write_csv(frame: pd.DataFrame, path: Path) -> None:
    _write_text(frame.to_csv(index=False), path)


def _write_text(text: str, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + f".{os.getpid()}.partial")
    partial.write_text(text, encoding="utf-8")
    os.replace(partial, path)  # whole files only, also with another process writing them


def save_run(out: Path, rows: list[dict], predictions: pd.DataFrame | None) -> None:
    """Keep one run's rows (and predictions) fold by fold; a rows file marks a finished fold."""
    for (experiment, model, seed, fold), part in pd.DataFrame(rows).groupby(
        ["experiment", "model", "seed", "fold"]
    ):
        if predictions is not None:
            mine = predictions[(predictions["model"] == model) & (predictions["fold"] == fold)]
            _write_csv(mine, unit_file(out, experiment, model, seed, fold, "predictions"))
        _write_csv(part, unit_file(out, experiment, model, seed, fold, "rows"))


def load_runs(out: Path, kind: str) -> pd.DataFrame:
    """Every fold kept under ``out/runs`` of one kind, in experiment, model, seed, fold order."""
    files = list((out / "runs").glob(f"*/*/seed*_fold*.{kind}.csv"))
    if not files:
        return pd.DataFrame()
    frame = pd.concat([pd.read_csv(f, dtype=TEXT_COLUMNS) for f in files], ignore_index=True)
    order = {
        "experiment": {name: i for i, name in enumerate(EXPERIMENTS)},
        "model": {name: i for i, name in enumerate(MODELS + EXTRA_MODELS)},
    }
    keys = [k for k in ("experiment", "model", "seed", "fold") if k in frame]
    return frame.sort_values(
        keys, key=lambda column: column.map(order[column.name]) if column.name in order else column
    ).reset_index(drop=True)


# ------------------------------------------------------------------------------ reports
_KEYS = ["experiment", "target", "subset", "model"]


def summarise(rows: pd.DataFrame) -> pd.DataFrame:
    """Mean and sd per experiment, target, subset and model (numbers, not strings).

    Decided per row of the table: when it has several seeds, each with the same number of
    folds, each seed's folds are averaged first and the sd is over seeds; otherwise (one
    seed, or a seed still missing folds while a long run is split over several calls) the
    mean and sd are over all its folds. ``spread_over`` says which. Timings are means over
    folds; ``peak_mib`` the maximum.
    """
    values = [*METRIC_LABELS, "fit_seconds", "predictions_per_second"]
    rows = rows.assign(fit_seconds=fit_seconds(rows))  # resumed folds: their epochs' total
    entries = []
    for key, group in rows.groupby(_KEYS, sort=False):
        folds_per_seed = group.groupby("seed").size()
        by_seed = len(folds_per_seed) > 1 and folds_per_seed.nunique() == 1
        units = group.groupby("seed")[values].mean() if by_seed else group[values]
        entry = dict(zip(_KEYS, key, strict=True))
        entry.update(units.mean())
        entry.update(units[list(METRIC_LABELS)].std(ddof=1).add_suffix("_sd"))
        entry.update(
            peak_mib=group["peak_mib"].max(),
            runs=len(group),
            spread_over="seeds" if by_seed else "folds",
        )
        entries.append(entry)
    return pd.DataFrame(entries)


def _mean_sd(mean: float, sd: float) -> str:
    if np.isnan(mean):
        return "n/a"
    return f"{mean:.3f}" if np.isnan(sd) else f"{mean:.3f} ± {sd:.3f}"


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a Markdown table with labelled scores (mean ± sd; no sd for one run)."""
    table = summary[_KEYS].copy()
    for metric, label in METRIC_LABELS.items():
        table[label] = [
            _mean_sd(m, s) for m, s in zip(summary[metric], summary[f"{metric}_sd"], strict=True)
        ]
    table["fit s/fold"] = summary["fit_seconds"].map(lambda v: f"{v:.2f}" if v < 10 else f"{v:.0f}")
    table["pred/s"] = summary["predictions_per_second"].map(lambda v: f"{v:,.0f}")
    table["peak MiB"] = summary["peak_mib"].map(lambda v: f"{v:.0f}")
    table["folds×seeds"] = summary["runs"]
    table["sd over"] = summary["spread_over"]
    return table.to_markdown(index=False)


def best_models(summary: pd.DataFrame) -> dict[str, str]:
    """Per experiment, the model with the highest mean r2_pearson on the first target."""
    best = {}
    for experiment, group in summary[summary["subset"] == "all"].groupby("experiment", sort=False):
        first = group[group["target"] == group["target"].iloc[0]]
        scores = first.set_index("model")["r2_pearson"]
        if scores.notna().any():
            best[experiment] = scores.idxmax()
    return best


def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def plot_scores(summary: pd.DataFrame, path: Path) -> None:
    """Bars of r2_pearson and Spearman ρ per model with sd error bars, one row per panel."""
    plt = _pyplot()
    whole = summary[summary["subset"] == "all"]
    panels = list(whole.groupby(["experiment", "target"], sort=False))
    n_models = whole["model"].nunique()
    fig, axes = plt.subplots(
        len(panels),
        2,
        figsize=(10, (0.9 + 0.28 * n_models) * len(panels)),
        squeeze=False,
    )
    for row, ((experiment, target), group) in enumerate(panels):
        for col, metric in enumerate(("r2_pearson", "spearman")):
            ax = axes[row, col]
            ax.barh(
                group["model"],
                group[metric],
                xerr=group[f"{metric}_sd"].fillna(0.0),
                color="tab:blue" if col == 0 else "tab:green",
                capsize=3,
            )
            ax.invert_yaxis()
            ax.set_xlabel(METRIC_LABELS[metric])
            ax.set_title(f"{experiment} · {target}", fontsize=9)
            ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_bins(summary: pd.DataFrame, path: Path) -> bool:
    """Grouped bars of r2_pearson per length bin and model; False when no experiment has bins."""
    binned = summary[(summary["subset"] != "all") & summary["r2_pearson"].notna()]
    if binned.empty:
        return False
    plt = _pyplot()
    experiments = list(binned.groupby(["experiment", "target"], sort=False))
    fig, axes = plt.subplots(1, len(experiments), figsize=(5.5 * len(experiments), 3.6))
    axes = np.atleast_1d(axes)
    for ax, ((experiment, target), group) in zip(axes, experiments, strict=True):
        bins = list(dict.fromkeys(group["subset"]))
        models = list(dict.fromkeys(group["model"]))
        width = 0.8 / len(models)
        for i, model in enumerate(models):
            part = group[group["model"] == model].set_index("subset").reindex(bins)
            ax.bar(
                np.arange(len(bins)) + i * width,
                part["r2_pearson"],
                width,
                yerr=part["r2_pearson_sd"].fillna(0.0),
                label=model,
                capsize=2,
            )
        ax.set_xticks(np.arange(len(bins)) + 0.4 - width / 2, [f"{b} nt" for b in bins])
        ax.set_ylabel(METRIC_LABELS["r2_pearson"])
        ax.set_title(f"{experiment} · {target}", fontsize=9)
        ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)
    return True


def plot_scatter(predictions: pd.DataFrame, path: Path) -> None:
    """Predicted vs measured (out-of-fold) for the best model of each experiment."""
    plt = _pyplot()
    from sklearn_dynapro.metrics import pearson_r2_score

    panels = list(predictions.groupby(["experiment", "model", "target"], sort=False))
    columns = min(3, len(panels))
    n_rows = int(np.ceil(len(panels) / columns))
    fig, axes = plt.subplots(n_rows, columns, figsize=(4 * columns, 3.8 * n_rows), squeeze=False)
    for ax in axes.ravel()[len(panels) :]:
        ax.set_visible(False)
    for ax, ((experiment, model, target), group) in zip(axes.ravel(), panels, strict=False):
        measured, predicted = group["measured"], group["predicted"]
        ax.scatter(measured, predicted, s=4, alpha=0.3, linewidths=0)
        low, high = np.nanmin([measured, predicted]), np.nanmax([measured, predicted])
        ax.plot([low, high], [low, high], color="grey", lw=0.8)
        finite = np.isfinite(measured) & np.isfinite(predicted)  # the score refuses NaN
        r2 = pearson_r2_score(measured[finite], predicted[finite]) if finite.sum() > 2 else np.nan
        # Over every fold's predictions pooled, unlike the tables' means over folds.
        ax.set_title(f"{experiment}\n{model} · {target}: pooled r² = {r2:.3f}", fontsize=9)
        ax.set_xlabel("measured")
        ax.set_ylabel("predicted (out-of-fold)")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def oof_predictions(out: dict, experiment: Experiment, model: str) -> pd.DataFrame:
    """Out-of-fold predictions of one run as long rows (fold, row, target, measured, predicted)."""
    y = experiment.y.reshape(len(experiment.y), -1)
    frames = []
    runs = zip(out["folds"], out["test_indices"], out["predictions"], strict=True)
    for fold, test, y_pred in runs:
        y_pred = y_pred.reshape(len(test), -1)
        for j, target in enumerate(experiment.targets):
            frames.append(
                pd.DataFrame(
                    {
                        "experiment": experiment.name,
                        "model": model,
                        "fold": fold,
                        "row": test,
                        "target": target,
                        "measured": y[test, j],
                        "predicted": y_pred[:, j],
                    }
                )
            )
    return pd.concat(frames, ignore_index=True)


def write_report(rows: pd.DataFrame, predictions: pd.DataFrame, out: Path, header: str) -> str:
    """Write summary.md and the plots; return the Markdown text."""
    summary = summarise(rows)
    best = best_models(summary)
    lines = [
        header,
        "",
        "Scores are mean ± sd over seeds (each seed's folds averaged first) where a row "
        "has several seeds with the same folds, else over folds (column sd over). r² is the "
        "squared Pearson correlation, R² the coefficient of determination; RMSE and MAE are in the "
        "target's units. fit s/fold includes feature computation; pred/s is test rows per "
        "second of one predict call; peak MiB is the peak resident memory of the fresh "
        "process that ran the model's folds (largest over seeds).",
        "",
        markdown_table(summary),
        "",
        "Best model per experiment (r² on the first target): "
        + ", ".join(f"{e}: {m}" for e, m in best.items()),
        "",
    ]
    if "dynapro_tuned" in set(rows["model"]):
        lines += [
            "dynapro_tuned runs with the --tuned-params file. benchmarks/tune.py tunes on the "
            "same seeded subsets this script scores (its --n rows hold the --quick rows, and "
            "every full fold tests some of them): unless the parameters were tuned on other "
            "data, read that row as optimistic.",
            "",
        ]
    text = "\n".join(lines)
    _write_text(text, out / "summary.md")
    plot_scores(summary, out / "scores.png")
    plot_bins(summary, out / "bins.png")
    if predictions.empty:
        return text
    chosen = predictions.merge(pd.DataFrame(list(best.items()), columns=["experiment", "model"]))
    if not chosen.empty:
        _write_csv(chosen, out / "predictions.csv")
        plot_scatter(chosen, out / "scatter.png")
    return text


# --------------------------------------------------------------------------------- main
def _names(text: str | None, allowed, flag: str, parser: argparse.ArgumentParser, every=None):
    if text is None:
        return None
    names = list(every or allowed) if text == "all" else [t for t in text.split(",") if t]
    unknown = [t for t in names if t not in allowed]
    if unknown or not names:
        parser.error(f"{flag} must be 'all' or a comma list of {list(allowed)}, got {text!r}")
    return names


def _indices(text: str | None, flag: str, what: str, parser: argparse.ArgumentParser):
    """Parse a comma list of non-negative integers (``None`` when the flag is absent)."""
    if text is None:
        return None
    try:
        indices = sorted({int(t) for t in text.split(",") if t})
    except ValueError:
        indices = []
    if not indices or indices[0] < 0:
        parser.error(f"{flag} must be a comma list of {what}, got {text!r}")
    return indices


def build_parser(prog: str | None = None) -> argparse.ArgumentParser:
    """The command-line options of this benchmark."""
    parser = argparse.ArgumentParser(
        prog=prog,
        description=__doc__.splitlines()[0],
        epilog="Presets (options given explicitly win): "
        + "; ".join(
            f"{name}: "
            + ", ".join(f"{k}={v}" for k, v in p.items() if k not in ("models", "experiments"))
            for name, p in PRESETS.items()
        ),
    )
    preset = parser.add_mutually_exclusive_group()
    preset.add_argument(
        "--quick",
        action="store_const",
        const="quick",
        dest="preset",
        help="short run of every model and experiment: 600 sequences per data set, 3 folds, "
        "1 seed, 3 epochs, 100 trees (about 17 minutes on 2 idle CPU cores)",
    )
    preset.add_argument(
        "--tiny",
        action="store_const",
        const="tiny",
        dest="preset",
        help="smoke test: 120 sequences, 2 folds, 1 epoch, tiny networks",
    )
    parser.set_defaults(preset="full")
    parser.add_argument(
        "--experiments", default=None, help=f"'all' or comma list of {list(EXPERIMENTS)}"
    )
    parser.add_argument(
        "--models",
        default=None,
        help=f"'all' ({', '.join(MODELS)}) or a comma list of those and {list(EXTRA_MODELS)}",
    )
    parser.add_argument(
        "--tuned-params",
        default=None,
        metavar="JSON",
        help="pipeline parameters (e.g. from 'dynapro tune'); adds the model dynapro_tuned",
    )
    parser.add_argument("--seeds", type=int, default=None, help="repeats with seeds 0..N-1")
    parser.add_argument("--folds", type=int, default=None, help="folds of k-fold experiments")
    parser.add_argument("--n", type=int, default=None, help="random subset size per data set")
    parser.add_argument("--epochs", type=int, default=None, help="epochs of every neural model")
    parser.add_argument("--trees", type=int, default=None, help="random forest trees")
    parser.add_argument(
        "--threads",
        type=int,
        default=min(2, os.cpu_count() or 1),
        help="torch threads per run (default: 2 or fewer)",
    )
    parser.add_argument("--n-jobs", type=int, default=None, help="folding processes / RF threads")
    parser.add_argument(
        "--folds-to-run",
        default=None,
        metavar="LIST",
        help="comma list of fold indices to run (default: all; a transfer has only fold 0)",
    )
    parser.add_argument(
        "--seeds-to-run",
        default=None,
        metavar="LIST",
        help="comma list of seeds (of 0..SEEDS-1) to run (default: all), so the seeds of one "
        "model can run in parallel processes sharing OUT",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the folds already in OUT/runs and run only the missing ones; the report "
        "covers every fold in OUT/runs (so several processes can share OUT)",
    )
    parser.add_argument(
        "--checkpoint-dir",
        default=None,
        metavar="DIR",
        help="neural models save their training state here after every epoch; a run "
        "stopped mid-fit and started again resumes each fit where it was",
    )
    parser.add_argument(
        "--out",
        default=str(Path(__file__).parent / "results" / "compare"),
        help="output folder (default: benchmarks/results/compare)",
    )
    return parser


def main(argv: list[str] | None = None, prog: str | None = None) -> int:
    """Run the comparison and write the CSV, Markdown and PNG outputs.

    Parameters
    ----------
    argv : list of str or None, default=None
        Command-line arguments (``None``: ``sys.argv[1:]``).
    prog : str or None, default=None
        Program name in messages (``dynapro benchmark`` from the CLI).

    Returns
    -------
    int
        0 on success.
    """
    from tqdm.auto import tqdm

    parser = build_parser(prog)
    args = parser.parse_args(argv)
    preset = PRESETS[args.preset]
    settings = {
        k: getattr(args, k) if getattr(args, k) is not None else v
        for k, v in preset.items()
        if k not in ("models", "experiments")
    }
    models = _names(args.models, MODELS + EXTRA_MODELS, "--models", parser, MODELS) or list(
        preset["models"]
    )
    tuned_params = None
    if args.tuned_params is not None:
        from sklearn_dynapro.tuning import load_params

        tuned_params = load_params(args.tuned_params)
        if "dynapro_tuned" not in models:
            models.append("dynapro_tuned")
    elif "dynapro_tuned" in models:
        parser.error("the model dynapro_tuned needs --tuned-params")
    experiments = _names(args.experiments, EXPERIMENTS, "--experiments", parser) or list(
        preset["experiments"]
    )
    for key in ("seeds", "folds", "threads"):
        value = settings.get(key, getattr(args, key))
        if value < (2 if key == "folds" else 1):
            parser.error(f"--{key} must be at least {2 if key == 'folds' else 1}, got {value}")
    folds_to_run = _indices(args.folds_to_run, "--folds-to-run", "fold indices", parser)
    seeds_to_run = _indices(args.seeds_to_run, "--seeds-to-run", "seeds", parser)
    if seeds_to_run is not None and seeds_to_run[-1] >= settings["seeds"]:
        # Checked before OUT is touched: without --resume its kept folds would be deleted.
        parser.error(
            f"--seeds-to-run {args.seeds_to_run} asks for a seed above {settings['seeds'] - 1}"
        )
    out = Path(args.out).expanduser()
    out.mkdir(parents=True, exist_ok=True)
    csv = out / "folds.csv"
    if not args.resume:
        shutil.rmtree(out / "runs", ignore_errors=True)
        csv.unlink(missing_ok=True)
    # What decides the scores; kept folds of other settings must not be mixed in.
    scoring_settings = {key: settings[key] for key in ("n", "folds", "epochs", "trees")}
    scoring_settings.update(preset=args.preset, tuned_params=tuned_params)
    recorded = out / "runs" / "settings.json"
    text = json.dumps(scoring_settings, sort_keys=True, default=str)
    if recorded.exists() and recorded.read_text(encoding="utf-8") != text:
        parser.error(
            f"--resume: {str(out / 'runs')!r} holds folds run with other settings "
            f"({recorded.read_text(encoding='utf-8')}, now {text}); pass another --out, or "
            "leave out --resume to start afresh"
        )
    _write_text(text, recorded)

    options = {
        "threads": args.threads,
        "model": {
            "epochs": settings["epochs"],
            "trees": settings["trees"],
            "n_jobs": settings["n_jobs"],
            "tiny": args.preset == "tiny",
            "tuned_params": tuned_params,
            "checkpoint_dir": args.checkpoint_dir,
        },
    }
    seeds = list(range(settings["seeds"]))
    runs = [seed for seed in seeds if seeds_to_run is None or seed in seeds_to_run]
    command = " ".join(
        [prog or "python benchmarks/compare.py", *(sys.argv[1:] if argv is None else argv)]
    )

    def header(rows: pd.DataFrame) -> str:
        # The report covers every fold kept in OUT/runs, which may come from several calls.
        reported = sorted(int(s) for s in rows["seed"].unique())
        return (
            f"# DynaPro vs baselines ({args.preset} preset)\n\n"
            f"Last call: `{command}` — {time.strftime('%Y-%m-%d %H:%M')}, "
            f"{platform.machine()}, {os.cpu_count()} CPUs, {args.threads} torch threads per "
            f"run; n per data set = {settings['n'] or 'all'}, folds = {settings['folds']}, "
            f"seeds reported = {reported}, epochs = {settings['epochs'] or 'model default'}, "
            f"RF trees = {settings['trees']}."
        )

    start = time.perf_counter()
    with tqdm(total=len(runs) * len(experiments) * len(models), desc="compare", unit="run") as bar:
        for seed in runs:
            for name in experiments:
                experiment = build_experiment(
                    name, seed=seed, folds=settings["folds"], n=settings["n"]
                )
                n_folds = len(experiment.splits())
                wanted = [f for f in folds_to_run or range(n_folds) if f < n_folds]
                for model in models:
                    bar.set_postfix_str(f"{name} · {model} · seed {seed}")
                    todo = [
                        f
                        for f in wanted
                        if not unit_file(out, name, model, seed, f, "rows").exists()
                    ]
                    if todo:
                        # One worker process (imports paid once); each fold is kept as soon as
                        # it ends, so a stopped run loses at most the fold it was in.
                        with isolated_worker() as run:
                            for fold in todo:
                                result = run(run_model, model, experiment, seed, options, [fold])
                                new = result_rows(result, name, model, seed)
                                kept = None  # predictions are kept for the first seed only
                                if seed == seeds[0]:
                                    kept = oof_predictions(result, experiment, model)
                                save_run(out, new, kept)
                                # Rewritten whole: experiments differ in columns (length bins).
                                _write_csv(load_runs(out, "rows"), csv)
                                whole = pd.DataFrame(new).query("subset == 'all'")
                                tqdm.write(
                                    f"{name} {model} seed {seed} fold {fold}: "
                                    f"r2_pearson={whole['r2_pearson'].mean():.3f} "
                                    f"spearman={whole['spearman'].mean():.3f} "
                                    f"fit={whole['fit_seconds'].mean():.1f}s "
                                    f"peak={result['peak_mib']:.0f}MiB"
                                )
                    if wanted and not todo:
                        tqdm.write(f"{name} {model} seed {seed}: folds {wanted} kept from OUT/runs")
                    bar.update()
    rows = load_runs(out, "rows")
    if rows.empty:
        print(f"No folds to report: --folds-to-run {args.folds_to_run} selects none.")
        return 0
    _write_csv(rows, csv)
    text = write_report(rows, load_runs(out, "predictions"), out, header(rows))
    print(text)
    print(f"Finished in {time.perf_counter() - start:.0f} s; results in {str(out)!r}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
