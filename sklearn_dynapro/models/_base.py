"""``SequenceNetRegressor``: the training plumbing every neural estimator here shares.

Target standardisation, seeding inside a private random state, early stopping on a seeded
validation split carved from the training data (whole groups of it, given ``fit``'s
``groups``), learning-rate schedules, the optimizer's momentum / weight decay, mixed
precision on CUDA, ``device="auto"`` and batched prediction in input order, and per-epoch
checkpoints from which an interrupted fit resumes (``checkpoint_dir``, see
``_checkpoint.py``). Subclasses say what their input looks like (``_check_inputs``) and which
network sizes follow from the data (``_data_module_params``).
"""

from __future__ import annotations

import copy
import inspect
import os
import secrets
import warnings
from numbers import Integral, Real
from typing import ClassVar

import numpy as np
import torch
from sklearn.model_selection import GroupShuffleSplit, ShuffleSplit
from sklearn.utils import check_random_state
from sklearn.utils._param_validation import (
    Interval,
    Options,
    StrOptions,
    validate_parameter_constraints,
)
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler, PrintLog, ProgressBar
from skorch.dataset import ValidSplit
from skorch.history import History

from .._validation import check_groups, check_target, format_rows
from ._checkpoint import (
    EpochCheckpoint,
    checkpoint_path,
    describe_mismatch,
    fingerprint,
    load_checkpoint,
    restore_training_state,
)

__all__ = ["SequenceNetRegressor", "check_finite_rows"]


def resolve_device(device):
    """``"auto"`` → ``"cuda"`` when available, else ``"cpu"``; anything else unchanged."""
    if isinstance(device, str) and device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def check_device(device, owner: str):
    """Resolve ``device`` as :func:`resolve_device` does; a ValueError names a bad one.

    torch's own error (a RuntimeError) would come only when the first tensor moves, after
    whatever work precedes it.
    """
    device = resolve_device(device)
    if isinstance(device, str):
        try:
            torch.device(device)
        except RuntimeError:
            raise ValueError(
                f"The 'device' parameter of {owner} must be 'auto' or a torch device such as "
                f"'cpu', 'cuda' or 'cuda:1'. Got {device!r} instead."
            ) from None
    return device


def _without_scheduler(entry):
    """A callback (or ``(name, callback)``) without its built scheduler, for pickling."""
    name, callback = entry if isinstance(entry, tuple) else (None, entry)
    if isinstance(callback, LRScheduler) and getattr(callback, "lr_scheduler_", None) is not None:
        callback = copy.copy(callback)
        callback.lr_scheduler_ = None
    return callback if name is None else (name, callback)


def check_finite_rows(name: str, arr: np.ndarray) -> None:
    """Raise a ValueError naming the rows of ``arr`` that hold NaN or infinite values."""
    bad = ~np.isfinite(arr.reshape(arr.shape[0], -1)).all(axis=1)
    if bad.any():
        raise ValueError(
            f"{name} must be finite, got NaN or infinite values at "
            f"{format_rows(np.flatnonzero(bad))}."
        )


def _private_rng():
    """Fork torch's generators (CPU and every CUDA device) so callers' random state is kept."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    return torch.random.fork_rng(devices=devices)


def _quiet(*_args, **_kwargs) -> None:
    """Sink for early stopping's message, which the epoch table already shows."""


class SequenceNetRegressor(NeuralNetRegressor):
    """A skorch regressor with this library's training conventions (see the module notes).

    Parameters
    ----------
    module : type or torch.nn.Module
        The network. Sizes returned by ``_data_module_params`` are filled in at fit time.
    criterion : type, default=torch.nn.HuberLoss
        Loss on the target (standardised unless ``standardize_target=False``).
    standardize_target : bool, default=True
        Train on the target standardised per column (mean 0, standard deviation 1; the
        predictions are mapped back). False trains on the target as given, so the loss, and
        a Huber loss's ``delta`` of 1, are in the target's units.
    optimizer : type, default=torch.optim.SGD
        Optimizer class.
    lr : float, default=1e-4
        Learning rate (the peak rate with ``lr_schedule="onecycle"``).
    momentum : float, default=0.9
        Momentum, passed to optimizers that take one (SGD, RMSprop).
    weight_decay : float, default=1e-4
        Weight decay, passed to optimizers that take one.
    max_epochs : int, default=200
        Most epochs to train.
    batch_size : int, default=64
        Mini-batch size for training and for batched prediction. Training rows are drawn in
        a new random order every epoch (``iterator_train__shuffle=False`` keeps their order).
    lr_schedule : {None, "onecycle", "cosine"}, default=None
        Learning-rate schedule stepped every batch. Each training call (``fit``, a
        warm-start ``fit``, ``partial_fit``) runs a whole schedule over its own epochs.
        ``"onecycle"`` is :class:`torch.optim.lr_scheduler.OneCycleLR` peaking at ``lr``,
        which also cycles the momentum (SGD's ``momentum``, Adam's β1) from 0.95 down to 0.85
        and back, in place of ``momentum``; ``"cosine"`` anneals ``lr`` towards 0.
    valid_fraction : float, default=0.1
        Share of the training data held out (seeded by ``random_state``) for early stopping;
        0 disables the split and early stopping. With ``fit(..., groups=...)`` it is the
        share of groups held out, so that no group has rows on both sides.
    patience : int, default=15
        Epochs without improvement of the validation loss before training stops; the best
        weights are restored at the end. 0 turns early stopping off: the last epoch's
        weights are kept, and ``valid_fraction`` still holds rows out to report
        ``valid_loss`` in ``history_``.
    aux_loss_weight : float, default=0.0
        Weight of an auxiliary loss the module exposes as ``aux_loss`` after each forward
        (e.g. experts' load balancing), added to the training loss.
    amp : bool, default=False
        Mixed precision (bfloat16 autocast) on CUDA; ignored with a warning on a CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Training runs inside
        :func:`torch.random.fork_rng`, so the caller's global torch random state is unchanged.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU, on the machine that computes:
        fitting leaves the parameter as it was (``get_params()["device"]`` stays ``"auto"``),
        and a model fitted with ``"auto"`` on a GPU loads and predicts on a CPU-only machine.
        The attribute ``device`` reads the resolved device, as skorch's code expects.
    verbose : int, default=0
        1 prints a table per epoch and shows a progress bar.
    checkpoint_dir : str, path-like or None, default=None
        Folder where the whole training state (weights, optimizer, learning-rate schedule,
        early stopping, history, random state) is saved after every epoch, atomically, so a
        fit that is interrupted or killed can be resumed; see ``resume``. The folder is made
        if needed and holds one file per fit, ``checkpoint-<fingerprint>.pt``, named by the
        estimator class, its parameters and the training data: the clones that
        cross-validation or a grid search fit (in parallel or not) each keep their own, and
        rerunning the search resumes every one of them. Only a fit from scratch writes and
        resumes checkpoints: ``partial_fit`` and a warm-start ``fit`` that goes on from the
        model in memory do neither.
    resume : {"auto", True, False}, default="auto"
        What ``fit`` does with checkpoints in ``checkpoint_dir``. ``"auto"``: resume from
        the checkpoint of this fit (same estimator class, same parameters, same data: same
        samples, same values) if there is one, else start afresh; checkpoints of other fits
        are left alone. ``True``: resume, or raise if there is no checkpoint
        (:class:`FileNotFoundError`) or none of this fit (:class:`ValueError`, saying how the
        last one written there differs). ``False``: start afresh. A resumed fit goes on from
        the epoch after the checkpoint up to the same ``max_epochs``, with the schedule,
        early stopping and random state where they were, so it ends as an uninterrupted fit
        would (bit for bit on a CPU, for networks whose batches are drawn from torch's global
        generator); a checkpoint of a finished fit gives the finished model back without
        training.
    **kwargs
        Any other skorch parameter (``module__…``, ``optimizer__…``, ``callbacks``, …).

    Every parameter is checked against ``_parameter_constraints`` when ``fit`` or
    ``partial_fit`` starts, before anything is trained: a value out of its domain raises
    :class:`~sklearn.utils._param_validation.InvalidParameterError` (a ValueError and a
    TypeError) that names the parameter.

    Attributes
    ----------
    module_ : torch.nn.Module
        The trained network.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    n_outputs_ : int
        Number of target columns.
    seed_ : int
        The seed of the initialisation, the validation split and the first training call (a
        resumed fit takes the checkpoint's); later ``partial_fit`` calls and warm starts
        derive theirs from it and the number of epochs trained.
    resumed_from_epoch_ : int
        Epochs restored from ``checkpoint_dir`` at the start of the last fit (0 when it
        trained from scratch).
    interrupted_ : bool
        Whether a :class:`KeyboardInterrupt` (Ctrl-C) ended the last training call early.
        skorch then keeps the weights trained so far and returns normally, so code that must
        not use a half-trained network (``dynapro fit``, :func:`~sklearn_dynapro.tuning.
        tune_dynapro`) checks this.
    history_ : skorch.History
        Per-epoch losses and timings.
    """

    # Checked at the start of fit and partial_fit (skorch checks nothing before training).
    # skorch's own parameters that take objects (module, criterion, callbacks, …) are left to
    # skorch, which reports a wrong one when it builds it.
    _parameter_constraints: ClassVar[dict] = {
        "module": "no_validation",
        "criterion": "no_validation",
        "optimizer": "no_validation",
        "standardize_target": ["boolean"],
        "lr": [Interval(Real, 0, None, closed="left")],
        "momentum": [Interval(Real, 0, None, closed="left")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "max_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left"), Options(Integral, {-1})],
        "lr_schedule": [StrOptions({"onecycle", "cosine"}), None],
        "valid_fraction": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "aux_loss_weight": [Interval(Real, 0, None, closed="left")],
        "amp": ["boolean"],
        "random_state": ["random_state"],
        "device": [str, torch.device, None],
        "verbose": ["verbose"],
        "checkpoint_dir": [str, os.PathLike, None],
        "resume": [bool, StrOptions({"auto"})],
        "warm_start": ["boolean"],
        "compile": ["boolean"],
        "use_caching": ["boolean", StrOptions({"auto"})],
        "train_split": [callable, None],
        "predict_nonlinearity": [callable, StrOptions({"auto"}), None],
        "torch_load_kwargs": [dict, None],
        "iterator_train": "no_validation",
        "iterator_valid": "no_validation",
        "dataset": "no_validation",
        "callbacks": "no_validation",
        "_params_to_validate": "no_validation",
    }

    def __init__(
        self,
        module,
        *,
        criterion=torch.nn.HuberLoss,
        standardize_target: bool = True,
        optimizer=torch.optim.SGD,
        lr: float = 1e-4,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        batch_size: int = 64,
        lr_schedule: str | None = None,
        valid_fraction: float = 0.1,
        patience: int = 15,
        aux_loss_weight: float = 0.0,
        amp: bool = False,
        random_state=None,
        device="auto",
        verbose: int = 0,
        checkpoint_dir: str | os.PathLike | None = None,
        resume: bool | str = "auto",
        **kwargs,
    ):
        kwargs.setdefault("train_split", None)
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            max_epochs=max_epochs,
            batch_size=batch_size,
            device=device,
            verbose=verbose,
            **kwargs,
        )
        self.standardize_target = standardize_target
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.valid_fraction = valid_fraction
        self.patience = patience
        self.aux_loss_weight = aux_loss_weight
        self.amp = amp
        self.random_state = random_state
        self.checkpoint_dir = checkpoint_dir
        self.resume = resume

    # ------------------------------------------------------------ parameter validation
    def _check_params(self) -> None:
        """Raise ``InvalidParameterError`` (a ValueError) for a parameter out of its domain."""
        params = self.get_params(deep=False)
        validate_parameter_constraints(
            self._parameter_constraints, params, caller_name=type(self).__name__
        )
        check_device(params["device"], type(self).__name__)

    # ------------------------------------------------------------ what subclasses define
    def _check_inputs(self, X):
        """Validate ``X`` and return what the module's ``forward`` takes (array or dict)."""
        arr = np.asarray(X, dtype=np.float32)
        check_finite_rows("X", arr)
        return arr

    def _check_fit_inputs(self, X):
        """:meth:`_check_inputs` for a fit from scratch, which a fitted model does not constrain."""
        return self._check_inputs(X)

    def _data_module_params(self, data) -> dict:
        """Module arguments that follow from the training data (besides ``n_outputs``)."""
        return {}

    def _check_against_fit(self, data) -> None:
        """Raise if prediction input does not match what the model was fitted on."""

    def _fingerprint_params(self) -> dict[str, str]:
        """Parameters a checkpoint must match by content, not repr (see ``fingerprint``)."""
        return {}

    def _training_extras(self) -> dict:
        """Random state of the subclass's own, which a checkpoint keeps to resume exactly."""
        return {}

    def _restore_training_extras(self, extras: dict) -> None:
        """Take back what :meth:`_training_extras` returned (before the first resumed epoch)."""

    @staticmethod
    def _n_rows(data) -> int:
        first = next(iter(data.values())) if isinstance(data, dict) else data
        return len(first)

    # --------------------------------------------------------------------- skorch hooks
    # The parameter lives in __dict__ (skorch takes parameter names from there), while
    # skorch's training, prediction and loading code read the attribute and need a real
    # device: the attribute resolves "auto" and get_params reports what was set.
    @property
    def device(self):
        return resolve_device(self.__dict__.get("device", "auto"))

    @device.setter
    def device(self, value):
        self.__dict__["device"] = value

    def get_params(self, deep=True, **kwargs):
        params = super().get_params(deep=deep, **kwargs)
        if "device" in params:
            params["device"] = self.__dict__["device"]
        return params

    #: Parameters that shape the callbacks this class builds (get_default_callbacks; the
    #: one-cycle schedule peaks at lr).
    _CALLBACK_PARAMS = frozenset(
        {"patience", "valid_fraction", "lr_schedule", "checkpoint_dir", "verbose", "lr"}
    )

    def set_params(self, **params):
        # skorch rebuilds the network at once when a module__ parameter changes on a fitted
        # net: draw the new weights from the fit's seed, not from (and advancing) the
        # caller's generator.
        with _private_rng():
            torch.manual_seed(vars(self).get("seed_", 0))
            super().set_params(**params)
        if not vars(self).get("initialized_"):
            return self
        # On a fitted net the next warm-start fit or partial_fit must use the new values.
        # skorch updates `lr` in the optimizer in place; so are the optimizer settings this
        # class adds. A new rate or schedule also starts from the set rate, not from where
        # the last schedule left it (annealed to ~0, or one-cycle's lr / 25).
        restart = {"lr", "optimizer__lr", "lr_schedule"} & params.keys()
        lr = params.get("optimizer__lr", params.get("lr", vars(self).get("optimizer__lr", self.lr)))
        for group in self.optimizer_.param_groups:
            for name in ("momentum", "weight_decay"):
                if name in params and name in group:
                    group[name] = params[name]
            if restart:
                group["lr"] = group["initial_lr"] = lr
        # skorch builds callbacks_ before it stores a new callbacks list, so partial_fit and
        # warm starts, which do not rebuild them, would run the old ones.
        if (self._CALLBACK_PARAMS | {"optimizer__lr", "callbacks"}) & params.keys():
            self._initialize_callbacks()  # skorch's, which also takes callbacks="disable"
        return self

    def __getstate__(self):
        state = super().__getstate__()
        # A learning-rate scheduler holds the optimizer, and through it every parameter, but
        # skorch pickles callbacks apart from the attributes it maps to the loading machine's
        # device: kept, the pickle would hold the weights twice and, trained on a GPU, fail
        # to load on a CPU-only machine. Each training call builds its scheduler anew.
        # (skorch issue #1096; its fix, PR #1150, is in no release up to skorch 1.4.0.)
        for key in ("callbacks", "callbacks_"):
            if isinstance(state.get(key), list):
                state[key] = [_without_scheduler(entry) for entry in state[key]]
        return state

    def __setstate__(self, state):
        # skorch maps tensors to state["device"] on unpickling, and "auto" is no torch device:
        # map to this machine's device, and keep the parameter "auto".
        auto = isinstance(state.get("device"), str) and state["device"] == "auto"
        if auto:
            state["device"] = resolve_device("auto")
        super().__setstate__(state)
        if auto:
            self.device = "auto"

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        # Sizes that follow from the data win over anything set by hand.
        kwargs.update(getattr(self, "module_data_params_", {}))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        # skorch's DataLoader keeps the rows in one order every epoch unless told otherwise;
        # SGD wants a fresh order per epoch, drawn from the seeded torch generator.
        if prefix == "iterator_train" and not {"sampler", "batch_sampler"} & params.keys():
            params.setdefault("shuffle", True)
        if prefix in ("iterator_train", "iterator_valid"):
            # torch's BatchSampler takes a built-in int only, and a grid gives numpy ones.
            params["batch_size"] = int(params.get("batch_size", self.batch_size))
        return params

    def get_params_for_optimizer(self, prefix, named_parameters):
        args, kwargs = super().get_params_for_optimizer(prefix, named_parameters)
        accepted = inspect.signature(self.optimizer).parameters
        for name in ("momentum", "weight_decay"):
            if name in accepted:
                kwargs.setdefault(name, getattr(self, name))
        return args, kwargs

    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        if self.valid_fraction and self.patience:
            callbacks.append(
                (
                    "early_stopping",
                    EarlyStopping(
                        monitor="valid_loss", patience=self.patience, load_best=True, sink=_quiet
                    ),
                )
            )
        if self.lr_schedule is not None:
            callbacks.append(("lr_schedule", self._make_scheduler()))
        if getattr(self, "checkpoint_dir", None) is not None:
            # initialize_callbacks moves it after the user's callbacks too.
            callbacks.append(("epoch_checkpoint", EpochCheckpoint(self.checkpoint_dir)))
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def initialize_callbacks(self):
        super().initialize_callbacks()
        # skorch runs the default callbacks before the user's, then PrintLog. The checkpoint
        # goes after every callback but PrintLog, so it saves the state (a user scheduler,
        # scores in the history) that each of them updated at the end of the epoch.
        last = [item for item in self.callbacks_ if isinstance(item[1], EpochCheckpoint | PrintLog)]
        last.sort(key=lambda item: isinstance(item[1], PrintLog))
        self.callbacks_ = [item for item in self.callbacks_ if item not in last] + last
        return self

    def _make_scheduler(self) -> LRScheduler:
        # The number of steps is set before each training call by _size_schedule.
        # last_epoch=-1: every training call (fit, warm-start fit, partial_fit) runs a
        # schedule of its own; skorch would otherwise continue it from the epochs in history,
        # which overruns a one-cycle schedule. A resumed fit loads the saved schedule state.
        if self.lr_schedule == "onecycle":
            return LRScheduler(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=self.lr,
                total_steps=1,
                last_epoch=-1,
                step_every="batch",
            )
        if self.lr_schedule == "cosine":
            return LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR,
                T_max=1,
                last_epoch=-1,
                step_every="batch",
            )
        raise ValueError(
            f"lr_schedule must be None, 'onecycle' or 'cosine', got {self.lr_schedule!r}."
        )

    def get_split_datasets(self, X, y=None, **fit_params):
        # Group labels of the training call under way (see fit's ``groups``).
        groups = vars(self).get("_split_groups_")
        if self.train_split is not None:
            # skorch hands fit parameters to a custom train_split: groups too, when given.
            extra = {} if groups is None else {"groups": groups}
            return super().get_split_datasets(X, y, **fit_params, **extra)
        if not self.valid_fraction:
            return super().get_split_datasets(X, y, **fit_params)
        # ShuffleSplit ignores groups: with them, hold out whole groups, so that rows related
        # to a validation row (windows of one transcript, repeats of one sequence) do not
        # train. Without, the first ShuffleSplit split is the one ValidSplit(fraction) draws.
        splitter = ShuffleSplit if groups is None else GroupShuffleSplit
        cv = splitter(n_splits=1, test_size=self.valid_fraction, random_state=self.seed_)
        return ValidSplit(cv)(self.get_dataset(X, y), y, groups=groups)

    def _check_split_groups(self, groups, n: int) -> np.ndarray | None:
        """Validate ``groups`` of a training call; None when there are none."""
        if groups is None:
            return None
        codes = check_groups(groups, n)
        if self.train_split is None and self.valid_fraction and codes.max() < 1:
            raise ValueError(
                "groups must hold at least 2 distinct labels to hold some out for early "
                "stopping, got 1 (set valid_fraction=0 to train without a validation split)."
            )
        return codes

    def _refuse_warm_start_on_other_sizes(self, fitted: dict, sizes: dict) -> None:
        """Raise if a warm start would train the fitted network on data of other sizes.

        ``fitted`` is the estimator's state before this fit recorded ``sizes``; a refused
        fit puts it back, so the fitted model stays as it was.
        """
        known = fitted.get("module_data_params_")
        if known is None:
            return
        changed = {k: (known.get(k), v) for k, v in sizes.items() if known.get(k) != v}
        if changed:
            vars(self).update(fitted)
            what = ", ".join(f"{k} {old} -> {new}" for k, (old, new) in changed.items())
            raise ValueError(
                f"warm_start=True goes on training the fitted network, whose sizes do not fit "
                f"this data ({what}). Set warm_start=False to train a new network."
            )

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred.float(), y_true, X=X, training=training)
        aux = getattr(self.module_, "aux_loss", None)
        if training and self.aux_loss_weight and aux is not None:
            loss = loss + self.aux_loss_weight * aux
        return loss

    def fit_loop(self, X, y=None, epochs=None, **fit_params):
        self.interrupted_ = False
        try:
            # Every callback has begun (early stopping reset, scheduler built): restore a
            # checkpoint now and train only the epochs it still lacks.
            state = vars(self).pop("_resume_state_", None)
            if state is not None:
                restore_training_state(self, state)
                if epochs is None:
                    epochs = 0 if state["finished"] else max(0, self.max_epochs - state["epoch"])
            return super().fit_loop(X, y, epochs=epochs, **fit_params)
        except KeyboardInterrupt:
            # skorch's partial_fit swallows it and ends training with the weights so far (its
            # way to stop a fit by hand); the flag tells callers that must not use them.
            self.interrupted_ = True
            raise

    def infer(self, x, **fit_params):
        if self.amp and str(self.device).startswith("cuda"):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)

    # -------------------------------------------------------------------- public API
    def fit(self, X, y, groups=None, **fit_params):
        """Fit the network.

        With ``warm_start=True`` on a fitted estimator, training goes on from the network in
        memory, with its seed (so the same validation split), but the target scaling is
        learned again from ``y``, as every ``fit`` does; :meth:`partial_fit` keeps the
        fitted scaling instead.

        Parameters
        ----------
        X : ndarray or dict of ndarray
            The network's inputs, as made by the matching encoder of the pipeline.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target(s); standardised internally, one network output per column.
        groups : array-like of shape (n_samples,) or None, default=None
            Group labels (for example transcript ids) for the early-stopping split: whole
            groups are held out, so its validation loss is not measured on rows that share
            a group with training rows. Pass the labels the outer folds are grouped by; in a
            pipeline, as ``model__groups`` (``cross_validate(..., groups=g,
            params={"model__groups": g})`` gives each fold its rows' labels). A custom
            ``train_split`` receives them as ``groups``. Unused without a validation split.
        **fit_params : dict
            Passed to :meth:`skorch.NeuralNet.fit`.

        Returns
        -------
        self : estimator
        """
        # Set by partial_fit when its first call fits: not a checkpointed fit (see there).
        first_partial = bool(vars(self).pop("_first_partial_fit_", False))
        self._check_params()
        data = self._check_fit_inputs(X)
        n = self._n_rows(data)
        y_arr = check_target(y, n)
        if n < 2:
            raise ValueError(f"X must hold at least 2 samples to fit, got {n}.")
        split_groups = self._check_split_groups(groups, n)
        if self.amp and not str(resolve_device(self.device)).startswith("cuda"):
            warnings.warn("amp=True needs a CUDA device; training in float32.", stacklevel=2)
        fitted = dict(vars(self))
        if isinstance(fitted.get("history_"), History):
            fitted["history_"] = History(fitted["history_"])  # skorch clears it in place
        try:
            self._split_groups_ = split_groups
            self._fit_checked(data, y_arr, fitted, first_partial, **fit_params)
        except (ValueError, TypeError, OSError):
            if not vars(self).get("_inputs_checked_"):
                # Refused before training began (a checkpoint resume=True cannot resume,
                # tokens outside the network's vocabulary, ...): the fitted model stays as
                # it was, not half rebuilt on the new data's scale.
                vars(self).clear()
                vars(self).update(fitted)
            raise
        finally:
            for flag in (
                "_resume_state_",
                "_fitting_",
                "_checkpointing_",
                "_inputs_checked_",
                "_split_groups_",
            ):
                vars(self).pop(flag, None)
        return self

    def _fit_checked(self, data, y_arr: np.ndarray, fitted: dict, first_partial: bool, **params):
        """:meth:`fit` on checked inputs; ``fitted`` is the state before this call."""
        n = self._n_rows(data)
        y2 = y_arr.reshape(n, -1)
        # A warm start goes on from the weights and history in memory; a cold fit starts again.
        goes_on = bool(self.warm_start and fitted.get("initialized_"))
        sizes = {**self._data_module_params(data), "n_outputs": y2.shape[1]}
        if goes_on:
            self._refuse_warm_start_on_other_sizes(fitted, sizes)
        self.y_ndim_ = y_arr.ndim
        self.n_outputs_ = y2.shape[1]
        if self.standardize_target:
            self.y_mean_ = y2.mean(axis=0)
            scale = y2.std(axis=0)
            self.y_scale_ = np.where(scale > 0, scale, 1.0)
        else:  # the identity map, so predict and partial_fit need no special case
            self.y_mean_ = np.zeros(y2.shape[1])
            self.y_scale_ = np.ones(y2.shape[1])
        y_std = ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)
        self.module_data_params_ = sizes
        if not goes_on:  # a warm start keeps its seed, so its validation split stays put
            self.seed_ = self._draw_seed()
        # A checkpoint holds one fit from scratch: training that goes on, and partial_fit's
        # first call (whose epochs= the checkpoint's name does not record), use none.
        checkpointed = self.checkpoint_dir is not None and not (goes_on or first_partial)
        groups = self._split_groups_
        state = self._checkpoint_to_resume(data, y_arr, groups) if checkpointed else None
        self.resumed_from_epoch_ = 0 if state is None else int(state["epoch"])
        if state is not None:
            self.seed_ = state["seed"]  # the split and initialisation of the first run
        self._resume_state_ = state
        # skorch's fit trains through self.partial_fit; the flag routes that call past the
        # public partial_fit's checks (ends in "_" so skorch does not take it as a parameter).
        self._fitting_ = True
        self._checkpointing_ = checkpointed
        with _private_rng():
            torch.manual_seed(self._training_seed() if goes_on else self.seed_)
            super().fit(data, y_std, **params)

    def _draw_seed(self) -> int:
        """The seed of a fit from scratch, from ``random_state``."""
        if isinstance(self.random_state, int | np.integer):
            return int(self.random_state)
        if self.random_state is None:
            return secrets.randbelow(2**31)  # fresh entropy; leaves numpy's state alone
        return int(check_random_state(self.random_state).randint(2**31 - 1))

    def _checkpoint_to_resume(
        self, data, y: np.ndarray, groups: np.ndarray | None = None
    ) -> dict | None:
        """Fingerprint this fit and read the checkpoint to resume from, per ``resume``."""
        if self.checkpoint_dir is None:
            return None
        fit_fingerprint = fingerprint(self, data, y, groups)
        self._checkpoint_fingerprint_ = fit_fingerprint
        if self.resume is False:
            return None
        path = checkpoint_path(self.checkpoint_dir, fit_fingerprint)
        try:
            state = load_checkpoint(path)
        except ValueError as exc:
            if self.resume is True:
                raise
            warnings.warn(f"{exc} Training from scratch and overwriting it.", stacklevel=3)
            return None
        if state is None:
            if self.resume is True:
                # Say why the folder's other checkpoints (of other fits) do not fit this one.
                other = load_checkpoint(self.checkpoint_dir)
                folder = os.fspath(self.checkpoint_dir)
                if other is None:
                    raise FileNotFoundError(
                        f"resume=True needs a checkpoint, got none in {folder!r}."
                    )
                reason = describe_mismatch(other["fingerprint"], fit_fingerprint)
                raise ValueError(
                    f"resume=True needs a checkpoint of this fit, got none in {folder!r}; "
                    f"the last one written there cannot be resumed: {reason}."
                )
            return None
        reason = describe_mismatch(state["fingerprint"], fit_fingerprint)
        if reason is None:
            return state
        # Named for this fit but written by another: a file copied or renamed by hand.
        if self.resume is True:
            raise ValueError(f"The checkpoint {str(path)!r} cannot be resumed: {reason}.")
        warnings.warn(
            f"Not resuming from {str(path)!r} ({reason}); training from scratch and "
            "overwriting it.",
            UserWarning,
            stacklevel=3,
        )
        return None

    def _train_batch_size(self, dataset) -> int:
        """Rows per training batch: ``iterator_train__batch_size`` or ``batch_size``; -1 is all."""
        batch_size = self.get_params_for("iterator_train").get("batch_size", self.batch_size)
        return len(dataset) if batch_size == -1 else batch_size

    def _batches_per_epoch(self, dataset) -> int:
        """Training batches one epoch of ``dataset`` makes (no random draws)."""
        return int(np.ceil(len(dataset) / max(1, self._train_batch_size(dataset))))

    def _size_schedule(self, X, y, epochs: int | None) -> None:
        """Fit the learning-rate schedule to the batches of the coming training call."""
        scheduler = dict(getattr(self, "callbacks_", [])).get("lr_schedule")
        if scheduler is None:
            return
        train, _ = self.get_split_datasets(X, y)
        epochs = self.max_epochs if epochs is None else epochs
        total = int(max(1, self._batches_per_epoch(train) * epochs))  # a built-in int for torch
        setattr(scheduler, "total_steps" if hasattr(scheduler, "total_steps") else "T_max", total)
        # Cosine annealing starts from the optimizer's current rate, which the last call
        # annealed to ~0: restart from the rate each group began with.
        for group in self.optimizer_.param_groups:
            group["lr"] = group.get("initial_lr", group["lr"])

    def partial_fit(self, X, y, classes=None, groups=None, **fit_params):
        """Train the network further on ``X, y`` (scaled as in :meth:`fit`).

        The first call on an unfitted estimator is :meth:`fit` (scikit-learn's convention):
        it builds the network and learns the target scaling from ``X, y``. Later calls keep
        that scaling and train ``max_epochs`` more epochs (or ``epochs=``).

        Parameters
        ----------
        X : ndarray or dict of ndarray
            As for :meth:`fit`.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Finite targets, as many columns as in :meth:`fit`.
        classes : None
            Unused; kept for skorch's signature.
        groups : array-like of shape (n_samples,) or None, default=None
            Group labels for the early-stopping split, as in :meth:`fit`.
        **fit_params : dict
            Passed to :meth:`skorch.NeuralNet.partial_fit`.

        Returns
        -------
        self : estimator
        """
        if vars(self).get("_fitting_"):  # called by skorch's fit on checked, scaled data
            # The network is built now: check the data against what it takes (token ids in
            # its vocabulary, …) so a mismatch names its rows before training starts.
            self._check_against_fit(X)
            self._inputs_checked_ = True
            self._size_schedule(X, y, fit_params.get("epochs"))
            return super().partial_fit(X, y, classes=classes, **fit_params)
        if not vars(self).get("initialized_"):
            self._first_partial_fit_ = True
            return self.fit(X, y, groups=groups, **fit_params)
        # skorch's own partial_fit would skip the input checks and the target scaling.
        self._check_params()
        data = self._check_inputs(X)
        self._check_against_fit(data)
        n = self._n_rows(data)
        y2 = check_target(y, n).reshape(n, -1)
        if y2.shape[1] != self.n_outputs_:
            raise ValueError(
                f"y must have {self.n_outputs_} column(s) as in fit, got {y2.shape[1]}."
            )
        y_std = ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)
        self._split_groups_ = self._check_split_groups(groups, n)
        try:
            self._size_schedule(data, y_std, fit_params.get("epochs"))
            with _private_rng():
                torch.manual_seed(self._training_seed())
                super().partial_fit(data, y_std, classes=classes, **fit_params)
        finally:
            vars(self).pop("_split_groups_", None)
        return self

    def _training_seed(self) -> int:
        """Seed of torch's generator for training that goes on from the epochs so far.

        Seeding every call with ``seed_`` would replay the previous call's batch orders and
        dropout masks; mixing in the number of epochs trained keeps calls repeatable and
        different from each other. (The validation split keeps ``seed_``, so it stays put.)
        """
        sequence = np.random.SeedSequence([self.seed_, len(self.history_)])
        return int(sequence.generate_state(1)[0])

    def predict(self, X) -> np.ndarray:
        """Predict in input order, in batches of ``batch_size``.

        Parameters
        ----------
        X : ndarray or dict of ndarray
            As for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
            One row per input; 1-D when the model was fitted on a 1-D target.
        """
        self.check_is_fitted()
        data = self._check_inputs(X)
        if not self._n_rows(data):
            raise ValueError("X must contain at least one sample to predict, got 0 rows.")
        self._check_against_fit(data)
        with _private_rng():  # DataLoader draws a base seed from the global generator
            y_std = self.predict_proba(data).astype(np.float64)
        y = y_std * self.y_scale_ + self.y_mean_
        return y.ravel() if self.y_ndim_ == 1 else y
