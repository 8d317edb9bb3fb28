"""``DynaProRegressor``: the UTR-DynaPro network trained through skorch."""

from __future__ import annotations

import numbers
from collections.abc import Mapping
from functools import partial
from typing import ClassVar

import numpy as np
import torch
from sklearn.utils._param_validation import Interval
from skorch.callbacks import ParamMapper
from skorch.utils import freeze_parameter, unfreeze_parameter

from .._validation import format_rows
from ..nn import DynaProNet
from ..preprocessing._tokenizer import _FIRST_KMER_ID, token_size
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


def _backbone_schedule(net, *, frozen_epochs: int):
    """Freeze the backbone in epochs 1 … ``frozen_epochs``, unfreeze it afterwards.

    Applied at every epoch start (not once), so a fit resumed mid-way gets the right state.
    """
    return freeze_parameter if len(net.history) <= frozen_epochs else unfreeze_parameter


def _check_overlapping_kmers(tokens: np.ndarray, k: int, vocab: int) -> None:
    """Refuse tokens that are not overlapping k-mers: neighbours must share k - 1 bases.

    Ids of another k fit inside a larger vocabulary (a k=1 encoder's A, C, G, T are the
    k=3 ids of AAA, AAC, AAG, AAT), so the range check alone lets a network with a k-mer
    vocabulary (from ``module__vocab_size`` or pre-trained weights) train on them.
    """
    first = _FIRST_KMER_ID
    left, right = tokens[:, :-1], tokens[:, 1:]
    both = (left >= first) & (right >= first)
    suffix = (left - first) % 4 ** (k - 1)
    prefix = (right - first) // 4
    rows = np.flatnonzero((both & (suffix != prefix)).any(axis=1))
    if rows.size:
        raise ValueError(
            f"tokens must be overlapping {k}-mers, as the network's vocabulary of {vocab} ids "
            f"is, but neighbouring tokens do not share {k - 1} bases at {format_rows(rows)}; "
            f"encode with k={k} (DynaProEncoder(k={k}) or make_dynapro_pipeline(k={k}))."
        )


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
        Weight decay, passed to the optimizer.
    max_epochs : int, default=200
        Most epochs to train.
    batch_size : int, default=64
        Mini-batch size for training and for batched prediction. Training rows are drawn in
        a new random order every epoch (``iterator_train__shuffle=False`` keeps their order).
    lr_schedule : {None, "onecycle", "cosine"}, default=None
        Learning-rate schedule stepped every batch. ``"onecycle"`` is
        :class:`torch.optim.lr_scheduler.OneCycleLR` peaking at ``lr``, which also cycles the
        momentum (SGD's ``momentum``, Adam's β1) from 0.95 down to 0.85 and back, in place of
        ``momentum``; ``"cosine"`` anneals ``lr`` towards 0.
    valid_fraction : float, default=0.1
        Share of the training data held out (seeded by ``random_state``) for early stopping;
        0 disables the split and early stopping.
    patience : int, default=15
        Epochs without improvement of the validation loss before training stops; the best
        weights are restored at the end. 0 turns early stopping off: the last epoch's
        weights are kept, and ``valid_fraction`` still holds rows out to report
        ``valid_loss`` in ``history_``.
    aux_loss_weight : float, default=0.01
        Weight of the experts' load-balancing loss added to the training loss. With 0, a
        :class:`~sklearn_dynapro.nn.DynaProNet` is built with ``load_balancing=False`` (unless
        ``module__load_balancing`` is set), so the unused loss is not computed.
    amp : bool, default=False
        Mixed precision (bfloat16 autocast) on CUDA; ignored with a warning on a CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling and the validation split. Training runs inside
        :func:`torch.random.fork_rng`, so the global torch random state is left unchanged.
    device : {"auto", "cpu", "cuda"} or torch.device, default="auto"
        ``"auto"`` picks CUDA when available, else the CPU; resolved when fitting.
    verbose : int, default=0
        1 prints a table per epoch and shows a progress bar.
    checkpoint_dir : str, path-like or None, default=None
        Save the whole training state after every epoch so an interrupted or killed fit can
        be resumed (see :class:`~sklearn_dynapro.models.SequenceNetRegressor`).
    resume : {"auto", True, False}, default="auto"
        What ``fit`` does with the checkpoints in ``checkpoint_dir`` (see
        :class:`~sklearn_dynapro.models.SequenceNetRegressor`).
    pretrained : UTRLanguageModel, str, os.PathLike, dict or None, default=None
        Pre-trained backbone weights to fine-tune: a fitted
        :class:`~sklearn_dynapro.pretraining.UTRLanguageModel` (or one wrapped in
        :class:`sklearn.frozen.FrozenEstimator`), the path of a file written by its
        ``save_backbone``, or a ``state_dict`` of a :class:`~sklearn_dynapro.nn.UTRLMBackbone`
        (keys may carry a ``backbone.`` prefix). The network then gets a backbone
        (``module__backbone=True``) of the pre-trained shape and vocabulary, and its weights
        are loaded after initialisation; ``module__`` settings that contradict them
        (``vocab_size``, i.e. the encoder's ``k``, ``backbone_dim``, ``backbone_layers``,
        ``backbone_heads``, ``backbone_ffn``, ``position``) raise a ValueError. A bare state
        dict does not record the number of heads: set ``module__backbone_heads`` to match.
        :func:`~sklearn.base.clone` shares this object instead of cloning it (cloning a
        fitted model would drop its weights); it is only read, never fitted or changed.
        Search spaces clone their candidate values, so grid over paths or
        ``FrozenEstimator(lm)`` values rather than bare models. A path keeps a pickled model
        small; a fitted model is pickled along with it. With ``checkpoint_dir``, a
        checkpoint names the weights by a SHA-256 of their tensors and shape, not by the
        path or object that holds them.
    freeze_backbone_epochs : int, default=0
        Train only the layers after the backbone for this many epochs (the backbone's
        parameters get no gradient, so the optimizer leaves them unchanged), then the whole
        network. Uses :class:`skorch.callbacks.ParamMapper`.
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
    resumed_from_epoch_ : int
        Epochs restored from ``checkpoint_dir`` by the last fit (0 when trained from scratch).
    """

    _parameter_constraints: ClassVar[dict] = {
        **SequenceNetRegressor._parameter_constraints,
        # A model, a path or a state dict: load_backbone says what is wrong with one.
        "pretrained": "no_validation",
        "freeze_backbone_epochs": [Interval(numbers.Integral, 0, None, closed="left")],
    }

    def __init__(
        self,
        module=DynaProNet,
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
        aux_loss_weight: float = 0.01,
        amp: bool = False,
        random_state=None,
        device="auto",
        verbose: int = 0,
        pretrained=None,
        freeze_backbone_epochs: int = 0,
        **kwargs,
    ):
        super().__init__(
            module,
            criterion=criterion,
            standardize_target=standardize_target,
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
        self.pretrained = pretrained
        self.freeze_backbone_epochs = freeze_backbone_epochs

    def __sklearn_clone__(self):
        # ``pretrained`` is read-only input, not a sub-estimator: a clone of a fitted
        # UTRLanguageModel would be unfitted, so the clone shares the original object.
        new = super().__sklearn_clone__()
        new.pretrained = self.pretrained
        return new

    def get_params(self, deep=True, **kwargs):
        # For the same reason a deep listing stops at ``pretrained``: its parameters are not
        # this estimator's to set (SeedEnsembleRegressor would seed the language model's
        # random_state, and skorch refuses ``pretrained__`` keys).
        params = super().get_params(deep=deep, **kwargs)
        return {key: value for key, value in params.items() if not key.startswith("pretrained__")}

    # ------------------------------------------------------------ pre-trained backbone
    def get_default_callbacks(self):
        callbacks = list(super().get_default_callbacks())
        epochs = self.freeze_backbone_epochs
        # Invalid values are reported by initialize_module, which fit reaches right after.
        if isinstance(epochs, numbers.Integral) and not isinstance(epochs, bool) and epochs > 0:
            schedule = partial(_backbone_schedule, frozen_epochs=int(epochs))
            callbacks.append(("freeze_backbone", ParamMapper("backbone.*", schedule=schedule)))
        return callbacks

    def _fingerprint_params(self) -> dict[str, str]:
        # A path's repr stays the same when other weights are written to it, so a checkpoint
        # names the weights themselves; ``pretrained=None`` keeps its plain repr.
        if self.pretrained is None:
            return {}
        from ..pretraining._weights import backbone_digest

        return {"pretrained": f"weights sha256:{backbone_digest(self.pretrained)}"}

    def get_params_for(self, prefix):
        params = super().get_params_for(prefix)
        # A loss with no weight is not worth computing at every forward.
        if (
            prefix == "module"
            and isinstance(self.module, type)
            and issubclass(self.module, DynaProNet)
            and not self.aux_loss_weight
        ):
            params.setdefault("load_balancing", False)
        return params

    def initialize_module(self):
        epochs = self.freeze_backbone_epochs
        if not isinstance(epochs, numbers.Integral) or isinstance(epochs, bool) or epochs < 0:
            raise ValueError(f"freeze_backbone_epochs must be an int >= 0, got {epochs!r}.")
        if self.pretrained is None:
            return super().initialize_module()
        from ..pretraining._weights import backbone_module_params, load_backbone

        state, config = load_backbone(self.pretrained)
        # The backbone's shape follows from the weights, as n_features follows from the data.
        forced = backbone_module_params(config, self.get_params_for("module"))
        self.module_data_params_ = {**getattr(self, "module_data_params_", {}), **forced}
        super().initialize_module()
        backbone = getattr(self.module_, "backbone", None)
        if not isinstance(backbone, torch.nn.Module):
            raise ValueError(
                f"pretrained needs a module with a `backbone` (such as DynaProNet), got "
                f"{type(self.module_).__name__}."
            )
        try:
            backbone.load_state_dict(state)
        except RuntimeError as exc:
            raise ValueError(f"pretrained weights must fit the network's backbone: {exc}") from exc
        return self

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
                    f"{format_rows(rows)}; set module__vocab_size to the tokenizer's vocab_size_ "
                    "(make_dynapro_pipeline sets it from k when it builds the pipeline, so a grid "
                    "over encode__k must set model__module__vocab_size along with it)."
                )
            k = token_size(vocab)
            if k is not None and k > 1:
                _check_overlapping_kmers(data["tokens"], k, vocab)
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
