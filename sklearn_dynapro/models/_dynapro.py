"""``DynaProRegressor``: the UTR-DynaPro network trained through skorch."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import torch

from .._validation import format_rows
from ..nn import DynaProNet
from ._base import SequenceNetRegressor, check_finite_rows

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


class DynaProRegressor(SequenceNetRegressor):
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
        super().__init__(
            module,
            criterion=criterion,
            optimizer=optimizer,
            lr=lr,
            momentum=momentum,
            weight_decay=weight_decay,
            max_epochs=max_epochs,
            batch_size=batch_size,
            lr_schedule=lr_schedule,
            valid_fraction=valid_fraction,
            patience=patience,
            aux_loss_weight=aux_loss_weight,
            amp=amp,
            random_state=random_state,
            device=device,
            verbose=verbose,
            **kwargs,
        )

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
            check_finite_rows(key, arr)
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

    def _data_module_params(self, data: dict[str, np.ndarray]) -> dict:
        self.n_features_ = data["features"].shape[1] if "features" in data else 0
        self.n_libraries_ = data["library"].shape[1] if "library" in data else 0
        return {"n_features": self.n_features_, "n_libraries": self.n_libraries_}
