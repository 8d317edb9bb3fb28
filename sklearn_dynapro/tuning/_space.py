"""The hyper-parameters of DynaPro that the Optuna study searches, and their ranges."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["DynaProSearchSpace"]

_OPTIMIZERS = ("SGD", "AdamW")
#: Weight decay that goes with each optimizer: the paper's for SGD, FAST_CPU_PARAMS' for AdamW.
_WEIGHT_DECAY = {"SGD": 1e-4, "AdamW": 1e-2}


def _n_heads(d_model: int) -> int:
    """Most heads (up to 16) that divide ``d_model`` with at least 8 channels each."""
    for heads in (16, 8, 4, 2):
        if d_model % heads == 0 and d_model // heads >= 8:
            return heads
    return 1


def _check_range(name: str, bounds, kind: type, *, positive: bool = True) -> None:
    accepted = (int, float) if kind is float else (kind,)
    ok = (
        isinstance(bounds, tuple)
        and len(bounds) == 2
        and all(isinstance(b, accepted) and not isinstance(b, bool) for b in bounds)
        and bounds[0] <= bounds[1]
        and (bounds[0] > 0 if positive else bounds[0] >= 0)
    )
    if not ok:
        sign = "positive" if positive else "non-negative"
        raise ValueError(
            f"{name} must be a (low, high) tuple of {sign} {kind.__name__}s with low <= high, "
            f"got {bounds!r}."
        )


def _check_choices(name: str, choices, allowed=None) -> None:
    ok = isinstance(choices, tuple) and len(choices) > 0
    if ok and allowed is not None:
        ok = all(c in allowed for c in choices)
    elif ok:
        ok = all(isinstance(c, int) and not isinstance(c, bool) and c > 0 for c in choices)
    if not ok:
        what = f"values from {allowed}" if allowed is not None else "positive ints"
        raise ValueError(f"{name} must be a non-empty tuple of {what}, got {choices!r}.")


@dataclass(frozen=True)
class DynaProSearchSpace:
    """Ranges of DynaPro's main hyper-parameters for an Optuna study.

    :meth:`suggest` draws one setting from a trial and returns it as keyword arguments of
    :func:`~sklearn_dynapro.make_dynapro_pipeline`. Derived settings follow the drawn ones:
    ``module__n_heads`` is the largest of 16, 8, 4, 2 that leaves at least 8 channels per
    head (16 at width 128, as in the paper), ``module__ffn_dim`` is twice the width, weight
    decay is 1e-4 for SGD (the paper's) and 1e-2 for AdamW, the learning rate follows a
    one-cycle schedule and early stopping keeps the best epoch (``patience = max_epochs``).

    Parameters
    ----------
    n_layers : tuple of (int, int), default=(1, 3)
        Parallel convolution–transformer layers (inclusive range).
    d_model : tuple of int, default=(32, 64, 128)
        Network widths to choose from.
    top_k : tuple of int, default=(0, 1, 2)
        Experts routed per position; 0 switches the k-mer experts off (a plain FFN).
    dropout : tuple of (float, float), default=(0.0, 0.3)
        Dropout inside the layers (uniform range).
    optimizer : tuple of {"SGD", "AdamW"}, default=("SGD", "AdamW")
        Optimizers to choose from. Every trial trains with a one-cycle schedule, which
        cycles SGD's momentum (AdamW's β1) between 0.95 and 0.85.
    lr : tuple of (float, float), default=(1e-4, 1e-2)
        Peak learning rate (log-uniform range).
    batch_size : tuple of int, default=(32, 64, 128, 256)
        Mini-batch sizes to choose from.
    max_epochs : tuple of (int, int), default=(5, 30)
        Training epochs (inclusive range).

    Examples
    --------
    >>> import optuna
    >>> from sklearn_dynapro.tuning import DynaProSearchSpace
    >>> trial = optuna.trial.FixedTrial(
    ...     {"n_layers": 2, "d_model": 64, "top_k": 2, "dropout": 0.1, "optimizer": "AdamW",
    ...      "lr": 1e-3, "batch_size": 64, "max_epochs": 20}
    ... )
    >>> DynaProSearchSpace().suggest(trial)["module__n_heads"]
    8
    """

    n_layers: tuple[int, int] = (1, 3)
    d_model: tuple[int, ...] = (32, 64, 128)
    top_k: tuple[int, ...] = (0, 1, 2)
    dropout: tuple[float, float] = (0.0, 0.3)
    optimizer: tuple[str, ...] = _OPTIMIZERS
    lr: tuple[float, float] = (1e-4, 1e-2)
    batch_size: tuple[int, ...] = (32, 64, 128, 256)
    max_epochs: tuple[int, int] = (5, 30)

    def __post_init__(self) -> None:
        _check_range("n_layers", self.n_layers, int)
        _check_choices("d_model", self.d_model)
        _check_choices("top_k", self.top_k, allowed=(0, 1, 2, 3, 4))
        _check_range("dropout", self.dropout, float, positive=False)
        if self.dropout[1] >= 1:
            raise ValueError(f"dropout must lie in [0, 1), got {self.dropout!r}.")
        _check_choices("optimizer", self.optimizer, allowed=_OPTIMIZERS)
        _check_range("lr", self.lr, float)
        _check_choices("batch_size", self.batch_size)
        _check_range("max_epochs", self.max_epochs, int)

    @classmethod
    def tiny(cls) -> DynaProSearchSpace:
        """A space of very small networks trained for 1–2 epochs, for smoke tests and demos.

        Returns
        -------
        DynaProSearchSpace
            Width 16, one layer, batch 32 or 64, 1 or 2 epochs.
        """
        return cls(
            n_layers=(1, 1),
            d_model=(16,),
            top_k=(0, 2),
            lr=(1e-3, 1e-2),
            batch_size=(32, 64),
            max_epochs=(1, 2),
        )

    def suggest(self, trial) -> dict:
        """Draw one setting from ``trial``.

        Parameters
        ----------
        trial : optuna.trial.BaseTrial
            The trial (a live :class:`optuna.trial.Trial` or a
            :class:`optuna.trial.FixedTrial`). Its parameter names are ``n_layers``,
            ``d_model``, ``top_k``, ``dropout``, ``optimizer``, ``lr``, ``batch_size`` and
            ``max_epochs``.

        Returns
        -------
        params : dict
            Keyword arguments of :func:`~sklearn_dynapro.make_dynapro_pipeline`, JSON-ready
            (the optimizer is given by name; see :func:`resolve_params`).
        """
        d_model = trial.suggest_categorical("d_model", list(self.d_model))
        top_k = trial.suggest_categorical("top_k", list(self.top_k))
        optimizer = trial.suggest_categorical("optimizer", list(self.optimizer))
        epochs = trial.suggest_int("max_epochs", *self.max_epochs)
        params = {
            "module__n_layers": trial.suggest_int("n_layers", *self.n_layers),
            "module__d_model": d_model,
            "module__n_heads": _n_heads(d_model),
            "module__ffn_dim": 2 * d_model,
            "module__use_experts": top_k > 0,
            "module__dropout": trial.suggest_float("dropout", *self.dropout),
            "optimizer": optimizer,
            "lr": trial.suggest_float("lr", *self.lr, log=True),
            "weight_decay": _WEIGHT_DECAY[optimizer],
            "lr_schedule": "onecycle",
            "batch_size": trial.suggest_categorical("batch_size", list(self.batch_size)),
            "max_epochs": epochs,
            "patience": epochs,
        }
        if top_k > 0:
            params["module__top_k"] = top_k
        return params
