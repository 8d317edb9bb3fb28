"""An Optuna study over DynaPro: inner cross-validation, pruning during training, storages."""

from __future__ import annotations

import hashlib
import math
import os
import socket
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
from optuna.trial import TrialState
from optuna_integration import SkorchPruningCallback
from sklearn.model_selection import GroupKFold, cross_validate

from .._validation import check_int, check_sequences, check_target
from ..metrics import SCORING
from ._groups import sequence_groups
from ._params import jsonable_params, resolve_params, save_params
from ._space import DynaProSearchSpace

__all__ = [
    "CVPruningCallback",
    "best_params",
    "fail_dead_trials",
    "make_storage",
    "tune_dynapro",
    "write_best_params",
]

#: Reported steps reserved per inner fold: epoch e of fold k is step k * FOLD_STRIDE + e.
FOLD_STRIDE = 10_000
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)


class CVPruningCallback(SkorchPruningCallback):
    """Optuna's skorch pruning callback for networks trained inside cross-validation.

    :class:`optuna_integration.SkorchPruningCallback` reports the monitored value at step
    ``epoch``, so every fold after the first repeats the steps of the first and Optuna
    ignores its reports; and it cannot be cloned, which
    :func:`~sklearn.model_selection.cross_validate` does to every estimator. This subclass
    reports epoch ``e`` of the ``k``-th fit at step ``k * fold_stride + e`` (so the pruner
    compares fold ``k`` of one trial with fold ``k`` of the others) and clones to a twin that
    shares the trial and the fold counter. The pruner compares reported values in the study's
    direction, so a loss is reported negated in a study that maximises its score (and a
    score negated in one that minimises a loss). Pass it with ``callbacks=[("pruning", cb)]``.

    Parameters
    ----------
    trial : optuna.trial.Trial
        The trial being evaluated.
    monitor : str, default="valid_loss"
        History key to report; ``valid_loss`` exists when the estimator's
        ``valid_fraction`` is above 0.
    greater_is_better : bool or None, default=None
        Whether larger monitored values are better; ``None`` means ``False`` for monitors
        whose name ends in ``loss`` and ``True`` otherwise.
    fold_stride : int, default=10000
        Steps reserved per fit; must exceed the number of epochs.

    Raises
    ------
    optuna.TrialPruned
        At the end of an epoch after which the pruner stops the trial.
    KeyboardInterrupt
        At the end of training that Ctrl-C cut short (skorch would go on quietly).
    """

    def __init__(
        self,
        trial,
        monitor: str = "valid_loss",
        *,
        greater_is_better: bool | None = None,
        fold_stride: int = FOLD_STRIDE,
    ):
        super().__init__(trial, monitor)
        self.greater_is_better = greater_is_better
        self.fold_stride = fold_stride
        self._fold_counter = [0]
        self._fold = 0

    def __sklearn_clone__(self) -> CVPruningCallback:
        twin = type(self)(
            self._trial,
            self._monitor,
            greater_is_better=self.greater_is_better,
            fold_stride=self.fold_stride,
        )
        twin._fold_counter = self._fold_counter
        return twin

    def _sign(self) -> float:
        greater = self.greater_is_better
        if greater is None:
            greater = not self._monitor.endswith("loss")
        maximize = self._trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
        return 1.0 if greater == maximize else -1.0

    def on_train_begin(self, net, X=None, y=None, **kwargs) -> None:
        """Take the next fold number of this trial."""
        self._fold = self._fold_counter[0]
        self._fold_counter[0] += 1

    def on_epoch_end(self, net, **kwargs) -> None:
        """Report the monitored value and raise :class:`optuna.TrialPruned` if told to stop."""
        history = net.history
        if not history:
            return
        epoch = len(history) - 1
        if epoch >= self.fold_stride:
            raise ValueError(
                f"fold_stride must exceed the number of epochs, got {self.fold_stride} for a "
                f"fit that reached epoch {epoch}."
            )
        step = self._fold * self.fold_stride + epoch
        self._trial.report(self._sign() * float(history[-1, self._monitor]), step)
        if self._trial.should_prune():
            raise optuna.TrialPruned(f"Trial pruned at epoch {epoch} of inner fold {self._fold}.")

    def on_train_end(self, net, X=None, y=None, **kwargs) -> None:
        """Raise the Ctrl-C that skorch swallowed, so that Optuna fails the trial.

        skorch ends training on a :class:`KeyboardInterrupt` and returns normally; the fold
        would then be scored on a half-trained network and the trial recorded as complete.
        """
        if getattr(net, "interrupted_", False):
            raise KeyboardInterrupt


def _rdb_storage(url: str):
    """A database storage with heartbeats; a trial whose worker died is retried once."""
    import inspect
    import warnings

    from optuna import storages
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import SQLAlchemyError

    with warnings.catch_warnings():
        # Heartbeats are marked experimental; they are what lets a study survive a dead worker.
        warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
        if "heartbeat_stale_trial_callback" in inspect.signature(storages.RDBStorage).parameters:
            retry = {
                "heartbeat_stale_trial_callback": storages.RetryHeartbeatStaleTrialCallback(
                    max_retry=1
                )
            }
        else:  # Optuna < 4.9
            retry = {"failed_trial_callback": storages.RetryFailedTrialCallback(max_retry=1)}
        try:
            return storages.RDBStorage(url, heartbeat_interval=60, grace_period=180, **retry)
        except (ImportError, SQLAlchemyError) as exc:
            # A wrong URL, a missing folder or driver, an unreachable server: name the URL
            # (without its password) instead of a traceback from deep inside SQLAlchemy.
            try:
                shown = make_url(url).render_as_string(hide_password=True)
            except SQLAlchemyError:
                shown = url.split("://", 1)[0] + "://..."
            raise ValueError(f"storage {shown!r} could not be opened: {exc}") from exc


def make_storage(storage):
    """Turn a storage argument into an Optuna storage.

    Parameters
    ----------
    storage : None, str, path-like or optuna.storages.BaseStorage
        ``None``: in memory (one process). A database URL (anything with ``://``, e.g.
        ``sqlite:///tune.db`` or ``postgresql://user@host/db``): an
        :class:`~optuna.storages.RDBStorage` that workers on several machines can share; it
        records heartbeats, so a trial whose worker died is marked failed and retried once.
        Any other string or path: a journal file (:class:`~optuna.storages.JournalStorage`
        with a :class:`~optuna.storages.journal.JournalFileBackend`) that several processes on
        one machine can share; its folder must exist. A storage object is returned as is.

    Returns
    -------
    optuna.storages.BaseStorage or None

    Raises
    ------
    ValueError
        If a database URL cannot be opened (unknown dialect, missing driver or folder,
        unreachable server); the message shows the URL without its password.
    FileNotFoundError
        If a journal file's folder does not exist.
    """
    if storage is None or isinstance(storage, optuna.storages.BaseStorage):
        return storage
    if not isinstance(storage, str | os.PathLike):
        raise TypeError(
            "storage must be None, a journal file path, a database URL or an Optuna storage, "
            f"got {type(storage).__name__}."
        )
    text = os.fspath(storage)
    if "://" in text:
        return _rdb_storage(text)
    path = Path(text).expanduser()
    if not path.parent.is_dir():
        raise FileNotFoundError(
            f"The folder of the journal file must exist, got {str(path.parent)!r} for "
            f"storage {text!r}."
        )
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend

    try:
        return JournalStorage(JournalFileBackend(str(path)))
    except ValueError as exc:  # json.JSONDecodeError: the file's lines are not a journal
        raise ValueError(
            f"storage {text!r} must be an Optuna journal file (or a new path), got a file "
            f"whose lines are not journal records ({exc})."
        ) from exc


def _pid_alive(pid: int) -> bool:
    """Whether process ``pid`` of this machine still runs (True when that cannot be told)."""
    if os.name != "posix":  # os.kill(pid, 0) would send CTRL_C_EVENT on Windows
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True


def fail_dead_trials(study: optuna.Study) -> list[int]:
    """Mark failed the running trials whose worker process on this machine has died.

    A journal storage has no heartbeats, so a trial whose worker was killed (``kill -9``, out
    of memory, a crashed machine) stays RUNNING for ever. Trials record their worker as
    ``host:pid`` (user attribute ``worker``); a RUNNING trial of this host whose process no
    longer exists is told :attr:`~optuna.trial.TrialState.FAIL`, and its setting is queued
    again once (the retry records ``retry_of``), as a database storage's heartbeat does.
    Trials of live processes, of other machines and without a worker are left alone; a
    storage with heartbeats is left to them.

    Parameters
    ----------
    study : optuna.Study
        A study run by :func:`tune_dynapro`.

    Returns
    -------
    numbers : list of int
        Numbers of the trials marked failed.
    """
    heartbeat = getattr(study._storage, "get_heartbeat_interval", None)
    if callable(heartbeat) and heartbeat() is not None:
        return []
    host, failed = socket.gethostname(), []
    for trial in study.get_trials(deepcopy=False, states=(TrialState.RUNNING,)):
        worker_host, _, pid = str(trial.user_attrs.get("worker", "")).rpartition(":")
        if worker_host != host or not pid.isdigit() or int(pid) == os.getpid():
            continue
        if _pid_alive(int(pid)):
            continue
        study.tell(trial.number, state=TrialState.FAIL, skip_if_finished=True)
        failed.append(trial.number)
        if "retry_of" not in trial.user_attrs:
            study.enqueue_trial(trial.params, user_attrs={"retry_of": trial.number})
    return failed


def _data_fingerprint(X, y, labels: np.ndarray) -> str:
    """SHA-256 (16 hex digits) of the rows, targets and fold groups a study is tuned on."""
    digest = hashlib.sha256()
    frame = X if isinstance(X, pd.DataFrame) else pd.DataFrame({"x": list(X)})
    targets = np.asarray(y)
    for part in (frame, pd.DataFrame(targets.reshape(len(targets), -1)), pd.Series(labels)):
        try:
            hashed = pd.util.hash_pandas_object(part, index=False)
        except TypeError:
            # Cells pandas cannot hash (lists, dicts in a column the pipeline may not use)
            # are hashed through their text.
            hashed = pd.util.hash_pandas_object(part.astype(str), index=False)
        digest.update(hashed.to_numpy().tobytes())
    return digest.hexdigest()[:16]


def _open_study(storage, study_name: str, seed: int, pruner, recorded: dict):
    study = optuna.create_study(
        storage=make_storage(storage),
        study_name=study_name,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=seed),
        pruner=pruner or optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        load_if_exists=True,
    )
    if study.direction != optuna.study.StudyDirection.MAXIMIZE:
        raise ValueError(
            f"The study {study_name!r} must maximise its score, got direction {study.direction}."
        )
    n_existing = len(study.get_trials(deepcopy=False))
    if n_existing:
        # The seeded sampler would start its stream again and propose the settings the
        # study has already tried: give a resumed study a stream of its own.
        state = np.random.SeedSequence([seed, n_existing]).generate_state(1)[0]
        study.sampler = optuna.samplers.TPESampler(seed=int(state))
    # A resumed or shared study must go on with the score, data and folds it started with:
    # trials scored on other folds (or networks seeded otherwise) would not be comparable.
    for key, value in recorded.items():
        stored = study.user_attrs.get(key)
        if stored is None:
            study.set_user_attr(key, value)
        elif stored != value:
            raise ValueError(
                f"{key} must match the existing study {study_name!r}, which uses {stored!r}, "
                f"got {value!r}."
            )
    return study


def tune_dynapro(
    X,
    y,
    *,
    groups=None,
    space: DynaProSearchSpace | None = None,
    pipeline_params: Mapping | None = None,
    scoring: str = "r2_pearson",
    inner_folds: int = 3,
    n_trials: int | None = 20,
    max_trials: int | None = None,
    timeout: float | None = None,
    storage=None,
    study_name: str = "dynapro",
    seed: int = 0,
    cv_seed: int = 0,
    pruner=None,
    sequence_column: str = "sequence",
    show_progress_bar: bool = False,
) -> optuna.Study:
    """Search DynaPro's hyper-parameters with Optuna, scoring each trial by inner CV.

    Each trial draws a setting from ``space`` (width, layers, experts, dropout, optimizer,
    learning rate, batch size, epochs), builds
    :func:`~sklearn_dynapro.make_dynapro_pipeline` with it and scores it with
    :func:`~sklearn.model_selection.cross_validate` over ``inner_folds`` folds of
    :class:`~sklearn.model_selection.GroupKFold`, grouped by :func:`sequence_groups` (identical
    sequences, and rows sharing a ``groups`` label, stay on one side); each fold's
    early-stopping split holds out whole groups of the same labels. The validation loss of
    every epoch is reported through :class:`CVPruningCallback`, and the pruner (by default
    :class:`~optuna.pruners.MedianPruner`) stops trials whose curves fall behind.

    The study is created or, when ``storage`` already holds one called ``study_name``,
    resumed (``load_if_exists=True``); several processes given the same storage work on one
    study together. The sampler is :class:`~optuna.samplers.TPESampler` seeded with ``seed``:
    give each parallel worker its own seed, or they propose the same first settings. The inner
    folds and the networks are seeded with ``cv_seed``, which every worker of a study shares,
    so all trials are scored on the same folds.

    Resuming: finished trials are kept, so rerunning a killed command goes on from them.
    ``n_trials`` counts the trials of this call (additional ones), ``max_trials`` the
    finished trials of the whole study, so a rerun with the same ``max_trials`` stops where
    the study was meant to. A resumed study draws from a sampler stream of its own (seeded
    by ``seed`` and the number of trials so far), so it does not propose the earlier
    settings again. Trials left RUNNING by a dead worker of this machine are marked failed
    and their setting is retried once (:func:`fail_dead_trials`); database storages do the
    same through heartbeats.

    Parameters
    ----------
    X : array-like of shape (n_samples,) or DataFrame
        Sequences, or a DataFrame with ``sequence_column`` (and any library column named in
        ``pipeline_params``).
    y : array-like of shape (n_samples,) or (n_samples, n_outputs)
        Target(s).
    groups : array-like of shape (n_samples,) or None, default=None
        Extra group labels for the inner folds (for example transcript ids).
    space : DynaProSearchSpace or None, default=None
        The ranges searched; ``None`` is ``DynaProSearchSpace()``.
    pipeline_params : mapping or None, default=None
        Fixed keyword arguments of :func:`~sklearn_dynapro.make_dynapro_pipeline` (for
        example ``{"features": None, "library_column": "library", "n_jobs": 2}``); the
        drawn setting overrides them. ``valid_fraction`` must stay above 0.
    scoring : str, default="r2_pearson"
        A key of :data:`~sklearn_dynapro.metrics.SCORING`; trials maximise its mean over the
        inner folds (``rmse`` and ``mae`` are negated, so larger is better there too).
    inner_folds : int, default=3
        Folds of the inner cross-validation.
    n_trials : int or None, default=20
        Trials this call runs, on top of those already in the study (``None``: until
        ``max_trials`` or ``timeout``).
    max_trials : int or None, default=None
        Stop once the study holds this many finished (complete or pruned) trials, counting
        those of earlier runs and of other workers: rerunning an interrupted command with
        the same ``max_trials`` completes the study.
    timeout : float or None, default=None
        Seconds after which this call starts no new trial.
    storage : None, str, path-like or optuna.storages.BaseStorage, default=None
        See :func:`make_storage`: a journal file for processes on one machine, a database URL
        for several machines, ``None`` for in memory.
    study_name : str, default="dynapro"
        Name of the study in the storage.
    seed : int, default=0
        Seeds the sampler; give each parallel worker of a study its own.
    cv_seed : int, default=0
        Seeds the inner folds and every network. The study records it, and a worker or
        rerun with another ``cv_seed`` is refused, like another ``scoring``, ``inner_folds``
        or other data (``X``, ``y`` and ``groups``, recorded as the SHA-256 ``data_sha256``):
        its folds would differ.
    pruner : optuna.pruners.BasePruner or None, default=None
        ``None`` is ``MedianPruner(n_startup_trials=5, n_warmup_steps=2)``.
    sequence_column : str, default="sequence"
        Column of a DataFrame ``X`` holding the sequences.
    show_progress_bar : bool, default=False
        Show Optuna's progress bar (tqdm) over the trials of this call.

    Returns
    -------
    study : optuna.Study
        The study; :func:`best_params` gives the best setting as pipeline arguments. Every
        trial records ``pipeline_params``, ``inner_scores`` and ``worker`` (host:pid) as
        user attributes.

    Raises
    ------
    ValueError
        For invalid sequences or targets (the rows of ``X`` are named; nothing is recorded in
        the study), or an existing study tuned with another ``scoring``, ``inner_folds``,
        ``cv_seed`` or data.
    """
    if scoring not in SCORING:
        raise ValueError(f"scoring must be one of {sorted(SCORING)}, got {scoring!r}.")
    check_int("inner_folds", inner_folds, minimum=2)
    seed = check_int("seed", seed, minimum=0)
    cv_seed = check_int("cv_seed", cv_seed, minimum=0)  # stored in the study: a plain int
    check_int("n_trials", n_trials, allow_none=True)
    check_int("max_trials", max_trials, allow_none=True)
    if n_trials is None and max_trials is None and timeout is None:
        raise ValueError("n_trials, max_trials or timeout must be given, got None for all three.")
    if not isinstance(study_name, str) or not study_name:
        raise ValueError(f"study_name must be a non-empty string, got {study_name!r}.")
    space = DynaProSearchSpace() if space is None else space
    if not isinstance(space, DynaProSearchSpace):
        raise TypeError(f"space must be a DynaProSearchSpace, got {type(space).__name__}.")
    fixed = dict(pipeline_params or {})
    if not fixed.get("valid_fraction", 0.1) > 0:
        raise ValueError(
            "pipeline_params['valid_fraction'] must be above 0 (pruning watches the "
            f"validation loss), got {fixed['valid_fraction']!r}."
        )
    for key in ("random_state", "callbacks"):
        if key in fixed:
            raise ValueError(f"pipeline_params must not set {key!r} (tune_dynapro sets it).")

    # Bad rows are named by their place in X, and refused before the study or a trial records
    # anything: inside an inner fold they would be counted within the fold.
    n_rows = len(check_sequences(X, sequence_column=sequence_column, ambiguous="mask"))
    check_target(y, n_samples=n_rows)
    sequences = X[sequence_column] if hasattr(X, "columns") else X
    labels = sequence_groups(sequences, groups)
    n_groups = len(np.unique(labels))
    if n_groups < inner_folds:
        raise ValueError(
            f"X must hold at least inner_folds={inner_folds} distinct sequence groups, got "
            f"{n_groups}."
        )
    cv = GroupKFold(inner_folds, shuffle=True, random_state=cv_seed)
    scorer = SCORING[scoring]
    worker = f"{socket.gethostname()}:{os.getpid()}"
    from ..models import make_dynapro_pipeline

    def objective(trial: optuna.Trial) -> float:
        trial.set_user_attr("worker", worker)  # first, so fail_dead_trials can judge it
        params = {**fixed, **space.suggest(trial)}
        recorded = {k: v for k, v in params.items() if k != "n_jobs"}
        trial.set_user_attr("pipeline_params", jsonable_params(recorded))
        pipeline = make_dynapro_pipeline(
            **resolve_params(params),
            random_state=cv_seed,
            callbacks=[("optuna_pruning", CVPruningCallback(trial, "valid_loss"))],
        )
        # The early-stopping split inside each fold, whose loss the pruner watches, is
        # grouped by the same labels as the folds.
        result = cross_validate(
            pipeline,
            X,
            y,
            groups=labels,
            cv=cv,
            scoring=scorer,
            error_score="raise",
            params={"model__groups": labels},
        )
        scores = [float(s) for s in result["test_score"]]
        trial.set_user_attr("inner_scores", scores)
        return float(np.mean(scores))

    recorded = {
        "scoring": scoring,
        "inner_folds": inner_folds,
        "cv_seed": cv_seed,
        "data_sha256": _data_fingerprint(X, y, labels),
    }
    study = _open_study(storage, study_name, seed, pruner, recorded)
    fail_dead_trials(study)
    budget = math.inf if n_trials is None else n_trials
    callbacks = []
    if max_trials is not None:
        finished = len(study.get_trials(deepcopy=False, states=_FINISHED))
        budget = min(budget, max_trials - finished)
        callbacks.append(optuna.study.MaxTrialsCallback(max_trials, states=_FINISHED))
    if budget > 0:
        study.optimize(
            objective,
            n_trials=None if budget == math.inf else int(budget),
            timeout=timeout,
            callbacks=callbacks,
            gc_after_trial=True,
            show_progress_bar=show_progress_bar,
        )
    return study


def best_params(study: optuna.Study) -> dict:
    """The best trial's setting as JSON-ready keyword arguments of the pipeline factory.

    Parameters
    ----------
    study : optuna.Study
        A study run by :func:`tune_dynapro`.

    Returns
    -------
    params : dict
        Keyword arguments of :func:`~sklearn_dynapro.make_dynapro_pipeline` (the optimizer by
        name; pass them through :func:`resolve_params` or :func:`load_params` to build).
    """
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if not complete:
        raise ValueError(
            f"The study {study.study_name!r} must hold a complete trial to pick the best one, "
            f"got none among its {len(study.trials)} trials."
        )
    trial = study.best_trial
    if "pipeline_params" not in trial.user_attrs:
        raise ValueError(
            f"The best trial of {study.study_name!r} must record 'pipeline_params' (studies "
            "run by tune_dynapro do), got none."
        )
    return dict(trial.user_attrs["pipeline_params"])


def write_best_params(study: optuna.Study, path: str | os.PathLike) -> Path:
    """Write :func:`best_params` and a summary of the study to a JSON file.

    Parameters
    ----------
    study : optuna.Study
        A study run by :func:`tune_dynapro`.
    path : str or path-like
        Output file, readable by :func:`load_params` and ``dynapro fit --params``.

    Returns
    -------
    path : pathlib.Path
        The file written.
    """
    params = best_params(study)
    trials = study.get_trials(deepcopy=False)
    best = study.best_trial
    metadata = {
        "study_name": study.study_name,
        "scoring": study.user_attrs.get("scoring"),
        "inner_folds": study.user_attrs.get("inner_folds"),
        "data_sha256": study.user_attrs.get("data_sha256"),
        "best_value": best.value,
        "best_trial": best.number,
        "search": best.params,
        "trials": {
            state.name.lower(): sum(t.state == state for t in trials)
            for state in (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL)
        },
    }
    return save_params(path, params, metadata=metadata)
