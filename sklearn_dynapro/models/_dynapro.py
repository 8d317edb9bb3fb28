"""``DynaProRegressor``: the UTR-DynaPro network trained through skorch."""

from __future__ import annotations

import inspect
import secrets
import warnings
from collections.abc import Mapping

import numpy as np
import torch
from sklearn.utils import check_random_state
from skorch import NeuralNetRegressor
from skorch.callbacks import EarlyStopping, LRScheduler, ProgressBar
from skorch.dataset import ValidSplit

from .._validation import check_target, format_rows
from ..nn import DynaProNet

__all__ = ["FAST_CPU_PARAMS", "DynaProRegressor"]

#: Input keys the network's ``forward`` understands.
_INPUT_KEYS = ("tokens", "features", "library")

#: A faster setting for CPUs (AdamW with a one-cycle schedule, narrower network), used by
#: the benchmark as the "tuned CPU" configuration. Pass it as
#: ``DynaProRegressor(**FAST_CPU_PARAMS)`` or ``make_dynapro_pipeline(**FAST_CPU_PARAMS)``.
FAST_CPU_PARAMS: dict = {
    "optimizer": torch.optim.AdamW,
    "lr": 2e-3,
    "weight_decay": 1e-2,
    "lr_schedule": "onecycle",
    "max_epochs": 25,
    "batch_size": 128,
    "patience": 25,
    "module__d_model": 64,
    "module__n_heads": 8,
    "module__ffn_dim": 128,
}


def _resolve_device(device: str | torch.device | None) -> str | torch.device | None:
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


class DynaProRegressor(NeuralNetRegressor):
    """UTR-DynaPro regressor: tokens (+ biophysical features, + library one-hot) → translation.

    A :class:`skorch.NeuralNetRegressor` around :class:`sklearn_dynapro.nn.DynaProNet`. Network
    settings are routed with the ``module__`` prefix (``module__n_layers=2``), so grids over them
    work in :class:`~sklearn.model_selection.GridSearchCV`. Use it behind
    :class:`~sklearn_dynapro.preprocessing.DynaProEncoder` (see
    :func:`~sklearn_dynapro.make_dynapro_pipeline`), which turns raw sequences into the inputs.

    The defaults are the paper's: SGD (momentum 0.9, weight decay 1e-4), lr 1e-4, Huber loss on
    the standardised target. They converge slowly on a CPU; :data:`FAST_CPU_PARAMS` is a faster
    documented setting (AdamW, one-cycle schedule, width 64, 25 epochs).

    Parameters
    ----------
    module : type or torch.nn.Module, default=DynaProNet
        The network. Its size-dependent arguments (``n_features``, ``n_libraries``,
        ``n_outputs``) are filled in from the data at fit time.
    criterion : type, default=torch.nn.HuberLoss
        Loss on the standardised target.
    optimizer : type, default=torch.optim.SGD
        Optimizer class.
    lr : float, default=1e-4
        Learning rate (the peak rate with ``lr_schedule="onecycle"``).
    momentum : float, default=0.9
        Momentum, passed to optimizers that take one (SGD, RMSprop).
    weight_decay : float, default=1e-4
        Weight decay, passed to the optimizer.
    max_epochs : int, default=200
        Most epochs to train.
    batch_size : int, default=64
        Mini-batch size for training and for batched prediction.
    lr_schedule : {None, "onecycle", "cosine"}, default=None
        Learning-rate schedule stepped every batch.
    valid_fraction : float, default=0.1
        Share of the training data held out (seeded by ``random_state``) for early stopping;
        0 disables the split and early stopping.
    patience : int, default=15
        Epochs without improvement of the validation loss before training stops; the best
        weights are restored at the end.
    aux_loss_weight : float, default=0.01
        Weight of the experts' load-balancing loss added to the training loss.
    amp : bool, default=False
        Mixed precision (bfloat16 autocast) on CUDA; ignored with a warning on a CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Training runs inside
        :func:`torch.random.fork_rng`, so the global torch random state is left unchanged.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU; resolved when fitting.
    verbose : int, default=0
        1 prints a table per epoch and shows a progress bar.
    **kwargs
        Any other skorch parameter (``module__…``, ``optimizer__…``, ``callbacks``, …).

    Attributes
    ----------
    module_ : DynaProNet
        The trained network.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    n_outputs_ : int
        Number of target columns.
    history_ : skorch.History
        Per-epoch losses and timings.
    """

    def __init__(
        self,
        module=DynaProNet,
        *,
        criterion=torch.nn.HuberLoss,
        optimizer=torch.optim.SGD,
        lr: float = 1e-4,
        momentum: float = 0.9,
        weight_decay: float = 1e-4,
        max_epochs: int = 200,
        batch_size: int = 64,
        lr_schedule: str | None = None,
        valid_fraction: float = 0.1,
        patience: int = 15,
        aux_loss_weight: float = 0.01,
        amp: bool = False,
        random_state=None,
        device="auto",
        verbose: int = 0,
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
        self.momentum = momentum
        self.weight_decay = weight_decay
        self.lr_schedule = lr_schedule
        self.valid_fraction = valid_fraction
        self.patience = patience
        self.aux_loss_weight = aux_loss_weight
        self.amp = amp
        self.random_state = random_state

    # ------------------------------------------------------------------ input checks
    def _check_inputs(self, X) -> dict[str, np.ndarray]:
        """Turn X into the dict the network takes, checking types, shapes and values."""
        if isinstance(X, Mapping):
            unknown = sorted(set(X) - set(_INPUT_KEYS))
            if unknown or "tokens" not in X:
                raise ValueError(
                    f"X must be a dict with keys 'tokens' and optionally 'features', 'library', "
                    f"got keys {sorted(X)}."
                )
            data = {key: X[key] for key in _INPUT_KEYS if X.get(key) is not None}
        else:
            data = {"tokens": X}
        tokens = np.asarray(data["tokens"])
        if tokens.ndim != 2 or not np.issubdtype(tokens.dtype, np.integer):
            raise ValueError(
                "tokens must be an integer array of shape (n_samples, max_len) as made by "
                f"SequenceTokenizer, got dtype {tokens.dtype} and shape {tokens.shape}; use "
                "make_dynapro_pipeline() to predict from raw sequences."
            )
        n = tokens.shape[0]
        out = {"tokens": tokens.astype(np.int64, copy=False)}
        for key in ("features", "library"):
            if key not in data:
                continue
            arr = np.asarray(data[key], dtype=np.float32)
            if arr.ndim != 2 or arr.shape[0] != n:
                raise ValueError(
                    f"{key} must have shape ({n}, n_{key}) to match tokens, got {arr.shape}."
                )
            bad = ~np.isfinite(arr).all(axis=1)
            if bad.any():
                raise ValueError(
                    f"{key} must be finite, got NaN or infinite values at "
                    f"{format_rows(np.flatnonzero(bad))}."
                )
            out[key] = arr
        return out

    def _check_against_fit(self, data: dict[str, np.ndarray]) -> None:
        vocab = self.module_.vocab_size if hasattr(self.module_, "vocab_size") else None
        if vocab is not None:
            bad = (data["tokens"] < 0) | (data["tokens"] >= vocab)
            if bad.any():
                rows = np.flatnonzero(bad.any(axis=1))
                raise ValueError(
                    f"tokens must lie in [0, {vocab}), got out-of-range ids at "
                    f"{format_rows(rows)}; set module__vocab_size to the tokenizer's vocab_size_."
                )
        for key, attr in (("features", "n_features_"), ("library", "n_libraries_")):
            width = data[key].shape[1] if key in data else 0
            expected = getattr(self, attr, width)
            if width != expected:
                raise ValueError(
                    f"X has {width} {key} columns but this model was fitted with {expected}."
                )

    # --------------------------------------------------------------------- skorch hooks
    def initialize(self):
        self.device = _resolve_device(self.device)
        return super().initialize()

    def initialize_module(self):
        kwargs = self.get_params_for("module")
        # Sizes that follow from the data win over anything set by hand.
        kwargs.update(getattr(self, "module_data_params_", {}))
        self.module_ = self.initialized_instance(self.module, kwargs)
        return self

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
        if self.verbose:
            callbacks.append(("progress_bar", ProgressBar()))
        return callbacks

    def _make_scheduler(self) -> LRScheduler:
        steps = int(np.ceil(getattr(self, "n_train_samples_", 1) / self.batch_size))
        total = max(1, steps * self.max_epochs)
        if self.lr_schedule == "onecycle":
            return LRScheduler(
                policy=torch.optim.lr_scheduler.OneCycleLR,
                max_lr=self.lr,
                total_steps=total,
                step_every="batch",
            )
        if self.lr_schedule == "cosine":
            return LRScheduler(
                policy=torch.optim.lr_scheduler.CosineAnnealingLR, T_max=total, step_every="batch"
            )
        raise ValueError(
            f"lr_schedule must be None, 'onecycle' or 'cosine', got {self.lr_schedule!r}."
        )

    def get_split_datasets(self, X, y=None, **fit_params):
        if self.train_split is not None or not self.valid_fraction:
            return super().get_split_datasets(X, y, **fit_params)
        split = ValidSplit(self.valid_fraction, random_state=self.seed_)
        return split(self.get_dataset(X, y), y, **fit_params)

    def get_loss(self, y_pred, y_true, X=None, training=False):
        loss = super().get_loss(y_pred.float(), y_true, X=X, training=training)
        aux = getattr(self.module_, "aux_loss", None)
        if training and self.aux_loss_weight and aux is not None:
            loss = loss + self.aux_loss_weight * aux
        return loss

    def infer(self, x, **fit_params):
        if self.amp and str(self.device).startswith("cuda"):
            with torch.autocast("cuda", dtype=torch.bfloat16):
                return super().infer(x, **fit_params).float()
        return super().infer(x, **fit_params)

    # -------------------------------------------------------------------- public API
    def fit(self, X, y, **fit_params):
        """Fit the network on tokens (+ features, + library) and a target.

        Parameters
        ----------
        X : dict or ndarray
            ``{"tokens": (n_samples, max_len) int, "features": (n_samples, n_features) float,
            "library": (n_samples, n_libraries) float}`` as made by ``DynaProEncoder``, or the
            token array alone.
        y : array-like of shape (n_samples,) or (n_samples, n_outputs)
            Target(s), e.g. MRL, or log TE and log expression together.
        **fit_params : dict
            Passed to :meth:`skorch.NeuralNet.fit`.

        Returns
        -------
        self : DynaProRegressor
        """
        data = self._check_inputs(X)
        n = data["tokens"].shape[0]
        y_arr = check_target(y, n)
        if n < 2:
            raise ValueError(f"X must hold at least 2 samples to fit, got {n}.")
        if self.amp and not str(_resolve_device(self.device)).startswith("cuda"):
            warnings.warn("amp=True needs a CUDA device; training in float32.", stacklevel=2)
        self.y_ndim_ = y_arr.ndim
        y2 = y_arr.reshape(n, -1)
        self.n_outputs_ = y2.shape[1]
        self.y_mean_ = y2.mean(axis=0)
        scale = y2.std(axis=0)
        self.y_scale_ = np.where(scale > 0, scale, 1.0)
        y_std = ((y2 - self.y_mean_) / self.y_scale_).astype(np.float32)
        self.n_features_ = data["features"].shape[1] if "features" in data else 0
        self.n_libraries_ = data["library"].shape[1] if "library" in data else 0
        self.module_data_params_ = {
            "n_features": self.n_features_,
            "n_libraries": self.n_libraries_,
            "n_outputs": self.n_outputs_,
        }
        n_valid = int(np.ceil(n * self.valid_fraction)) if self.valid_fraction else 0
        self.n_train_samples_ = n - n_valid
        if isinstance(self.random_state, int | np.integer):
            self.seed_ = int(self.random_state)
        elif self.random_state is None:
            self.seed_ = secrets.randbelow(2**31)  # fresh entropy; leaves numpy's state alone
        else:
            self.seed_ = int(check_random_state(self.random_state).randint(2**31 - 1))
        with _private_rng():
            torch.manual_seed(self.seed_)
            super().fit(data, y_std, **fit_params)
        return self

    def predict(self, X) -> np.ndarray:
        """Predict in input order, in batches of ``batch_size``.

        Parameters
        ----------
        X : dict or ndarray
            As for :meth:`fit`.

        Returns
        -------
        y_pred : ndarray of shape (n_samples,) or (n_samples, n_outputs), float64
            One row per input; 1-D when the model was fitted on a 1-D target.
        """
        self.check_is_fitted()
        data = self._check_inputs(X)
        self._check_against_fit(data)
        with _private_rng():  # DataLoader draws a base seed from the global generator
            y_std = self.predict_proba(data).astype(np.float64)
        y = y_std * self.y_scale_ + self.y_mean_
        return y.ravel() if self.y_ndim_ == 1 else y


def _private_rng():
    """Fork torch's generators (CPU and every CUDA device) so callers' random state is kept."""
    devices = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
    return torch.random.fork_rng(devices=devices)


def _quiet(*_args, **_kwargs) -> None:
    """Sink for early stopping's message, which the epoch table already shows."""
