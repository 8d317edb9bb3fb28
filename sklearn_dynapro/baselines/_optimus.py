"""``OptimusRegressor``: Optimus 5-Prime (Sample et al., 2019) as a scikit-learn estimator."""

from __future__ import annotations

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ..models._base import SequenceNetRegressor
from ..nn import OptimusNet
from ..preprocessing import SequenceOneHot
from ._inputs import check_onehot

__all__ = ["OptimusRegressor", "make_optimus_pipeline"]

_HINT = "use make_optimus_pipeline() to predict from raw sequences."


class OptimusRegressor(SequenceNetRegressor):
    """Optimus 5-Prime: a three-layer CNN on fixed-length one-hot 5' UTRs.

    Sample, P.J. et al. (2019), "Human 5' UTR design and variant effect prediction from a
    massively parallel translation assay", Nat. Biotechnol. 37:803-809. The network is
    :class:`sklearn_dynapro.nn.OptimusNet`: three ``Conv1d(120, kernel 8, "same") → ReLU``,
    flatten, ``Dense(40) → ReLU → Dropout(0.2)``, a linear output; trained with Adam (lr 1e-3)
    on the mean squared error of the standardised target.

    The input length is fixed at fit time (the flattened dense layer has weights per
    position). Use it behind :class:`~sklearn_dynapro.preprocessing.SequenceOneHot`, which
    pads on the 5' side and rejects (or, with ``truncate=True``, cuts) longer sequences,
    naming the rows: see :func:`make_optimus_pipeline`.

    The paper trained about 3 epochs on 260,000 sequences with batches of 128; on the ~16,000
    sequences of a typical split, more epochs with early stopping on a validation split
    (``max_epochs=30``, ``patience=5``) reach the same regime.

    Parameters
    ----------
    module : type or torch.nn.Module, default=OptimusNet
        The network; ``seq_len`` and ``n_outputs`` are filled in from the data at fit time.
        Network settings are routed with the ``module__`` prefix (``module__n_filters=64``).
    criterion : type, default=torch.nn.MSELoss
        Loss on the target (standardised unless ``standardize_target=False``).
    standardize_target : bool, default=True
        Train on the target standardised per column (mean 0, standard deviation 1; the
        predictions are mapped back). False trains on the target as given, so the loss, and
        a Huber loss's ``delta`` of 1, are in the target's units.
    optimizer : type, default=torch.optim.Adam
        Optimizer class.
    lr : float, default=1e-3
        Learning rate.
    momentum : float, default=0.9
        Momentum, passed only to optimizers that take one (not Adam).
    weight_decay : float, default=0.0
        Weight decay, passed to optimizers that take one (the paper used none).
    max_epochs : int, default=30
        Most epochs to train.
    batch_size : int, default=128
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
    patience : int, default=5
        Epochs without improvement of the validation loss before training stops; the best
        weights are restored at the end. 0 turns early stopping off: the last epoch's
        weights are kept, and ``valid_fraction`` still holds rows out to report
        ``valid_loss`` in ``history_``.
    aux_loss_weight : float, default=0.0
        Weight of an auxiliary loss a custom ``module`` exposes as ``aux_loss``
        (:class:`~sklearn_dynapro.nn.OptimusNet` has none).
    amp : bool, default=False
        Mixed precision (bfloat16 autocast) on CUDA; ignored with a warning on a CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, shuffling and the validation split; the caller's global
        torch random state is left unchanged.
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
    **kwargs
        Any other skorch parameter (``module__…``, ``optimizer__…``, ``callbacks``, …).

    Attributes
    ----------
    module_ : OptimusNet
        The trained network.
    seq_len_ : int
        Input length (positions of the one-hot input) seen in fit.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    n_outputs_ : int
        Number of target columns.
    history_ : skorch.History
        Per-epoch losses and timings.

    See Also
    --------
    make_optimus_pipeline : The regressor behind a one-hot encoder, taking raw sequences.
    """

    def __init__(
        self,
        module=OptimusNet,
        *,
        criterion=torch.nn.MSELoss,
        standardize_target: bool = True,
        optimizer=torch.optim.Adam,
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        max_epochs: int = 30,
        batch_size: int = 128,
        lr_schedule: str | None = None,
        valid_fraction: float = 0.1,
        patience: int = 5,
        aux_loss_weight: float = 0.0,
        amp: bool = False,
        random_state=None,
        device="auto",
        verbose: int = 0,
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

    def _check_inputs(self, X) -> np.ndarray:
        return check_onehot(X, hint=_HINT)

    def _data_module_params(self, data: np.ndarray) -> dict:
        self.seq_len_ = int(data.shape[2])
        return {"seq_len": self.seq_len_}

    def _check_against_fit(self, data: np.ndarray) -> None:
        if data.shape[2] != self.seq_len_:
            raise ValueError(
                f"X must have {self.seq_len_} positions, the length this model was fitted on, "
                f"got {data.shape[2]}; encode with the fitted SequenceOneHot (or "
                "make_optimus_pipeline()), which pads shorter sequences."
            )


def make_optimus_pipeline(
    max_len: int | None = None,
    *,
    truncate: bool = False,
    ambiguous: str = "warn",
    sequence_column: str = "sequence",
    **regressor_params,
) -> Pipeline:
    """Build ``Pipeline([("encode", SequenceOneHot), ("model", OptimusRegressor)])``.

    Parameters
    ----------
    max_len : int or None, default=None
        Fixed input length in nucleotides (50 for the random-50 library); learned as the
        longest training sequence when None. Shorter sequences are padded on the 5' side.
    truncate : bool, default=False
        Cut sequences longer than the fitted length from the 5' end instead of raising a
        ValueError that names the rows.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC codes.
    sequence_column : str, default="sequence"
        Column holding the sequences when X is a DataFrame.
    **regressor_params
        Passed to :class:`OptimusRegressor` (``max_epochs=10``, ``random_state=0``,
        ``module__n_filters=64``, …).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Takes sequences (or a DataFrame with ``sequence_column``) and predicts one value per
        input, in input order. Grid keys look like ``model__module__n_filters``.

    Examples
    --------
    >>> from sklearn_dynapro.baselines import make_optimus_pipeline
    >>> pipe = make_optimus_pipeline(max_len=50, max_epochs=10, random_state=0)
    >>> [name for name, _ in pipe.steps]
    ['encode', 'model']
    """
    encoder = SequenceOneHot(
        max_len=max_len, truncate=truncate, ambiguous=ambiguous, sequence_column=sequence_column
    )
    return Pipeline([("encode", encoder), ("model", OptimusRegressor(**regressor_params))])
