"""``FramePoolRegressor``: FramePool (Karollus et al., 2021) as a scikit-learn estimator."""

from __future__ import annotations

from typing import ClassVar

import numpy as np
import torch
from sklearn.pipeline import Pipeline

from ..models._base import SequenceNetRegressor
from ..nn import FramePoolNet
from ._encoder import SequenceLibraryEncoder
from ._inputs import check_known_libraries, check_onehot_dict

__all__ = ["FramePoolRegressor", "make_framepool_pipeline"]

_HINT = "use make_framepool_pipeline() to predict from raw sequences."


class FramePoolRegressor(SequenceNetRegressor):
    """FramePool: convolutions and frame pooling from the start codon, for 5' UTRs of any length.

    Karollus, A., Avsec, Ž. and Gagneur, J. (2021), "Predicting mean ribosome load for 5'UTR of
    any length using deep learning", PLoS Comput. Biol. 17:e1008982. The network is
    :class:`sklearn_dynapro.nn.FramePoolNet`: three ``Conv1d(128, kernel 7) → ReLU`` with
    padding zeroed (``module__residual=True`` adds the residual connections of the authors'
    released models around the second and third; see :class:`~sklearn_dynapro.nn.FramePoolNet`
    for why they are off by default), max and mean per frame
    (distance to the start codon mod 3) over real positions, ``Dense(64) → ReLU →
    Dropout(0.2)``, a linear output; Adam and the mean squared error of the standardised
    target.

    Inputs are the dict of :class:`SequenceLibraryEncoder` (one-hot, lengths, library index);
    see :func:`make_framepool_pipeline`. Predictions do not depend on the padded width, so the
    model applies to sequences longer than any seen in training when the encoder's
    ``max_len`` leaves room for them.

    With ``library_scaling=True`` the output is scaled and shifted per library,
    ``y = a_lib · f(x) + b_lib``, as in the paper's model trained on several libraries; a
    library not seen in fit is then a ValueError naming the rows.

    Parameters
    ----------
    module : type or torch.nn.Module, default=FramePoolNet
        The network; ``n_libraries`` and ``n_outputs`` are filled in from the data at fit time.
        Network settings are routed with the ``module__`` prefix (``module__n_filters=64``).
    library_scaling : bool, default=False
        Learn an output scale and shift per library (needs the ``"library"`` input).
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
        Weight decay, passed to optimizers that take one.
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
        (:class:`~sklearn_dynapro.nn.FramePoolNet` has none).
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
    module_ : FramePoolNet
        The trained network.
    n_libraries_ : int
        Libraries with their own scale and shift (0 without ``library_scaling``).
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation.
    n_outputs_ : int
        Number of target columns.
    history_ : skorch.History
        Per-epoch losses and timings.

    See Also
    --------
    make_framepool_pipeline : The regressor behind its encoder, taking raw sequences.
    """

    _parameter_constraints: ClassVar[dict] = {
        **SequenceNetRegressor._parameter_constraints,
        "library_scaling": ["boolean"],
    }

    def __init__(
        self,
        module=FramePoolNet,
        *,
        library_scaling: bool = False,
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
        self.library_scaling = library_scaling

    def _check_fit_inputs(self, X) -> dict[str, np.ndarray]:
        return self._library_input(X, self.library_scaling)

    def _check_inputs(self, X) -> dict[str, np.ndarray]:
        # A fitted model keeps the layout it was fitted with, whatever set_params says since.
        fitted = vars(self).get("n_libraries_")
        return self._library_input(X, self.library_scaling if fitted is None else fitted > 0)

    @staticmethod
    def _library_input(X, scaled: bool) -> dict[str, np.ndarray]:
        data = check_onehot_dict(X, hint=_HINT)
        if not scaled:
            data.pop("library", None)
        elif "library" not in data:
            raise ValueError(
                "X must hold a 'library' array with library_scaling=True, got keys "
                f"{sorted(data)}; set library_column in make_framepool_pipeline()."
            )
        return data

    def _data_module_params(self, data: dict[str, np.ndarray]) -> dict:
        self.n_libraries_ = int(data["library"].max()) + 1 if "library" in data else 0
        return {"n_libraries": self.n_libraries_}

    def _check_against_fit(self, data: dict[str, np.ndarray]) -> None:
        if self.n_libraries_:
            check_known_libraries(data["library"], self.n_libraries_)


def make_framepool_pipeline(
    max_len: int | None = None,
    *,
    library_column: str | None = None,
    truncate: bool = False,
    ambiguous: str = "warn",
    sequence_column: str = "sequence",
    **regressor_params,
) -> Pipeline:
    """Build ``Pipeline([("encode", SequenceLibraryEncoder), ("model", FramePoolRegressor)])``.

    Parameters
    ----------
    max_len : int or None, default=None
        Padded length of the encoder; learned as the longest training sequence when None.
        Set it above the training lengths to predict longer UTRs (the network itself takes
        any length).
    library_column : str or None, default=None
        Column of a DataFrame X holding the library label. When set, the regressor learns a
        per-library output scale and shift (``library_scaling=True``).
    truncate : bool, default=False
        Cut sequences longer than ``max_len`` from the 5' end instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC codes.
    sequence_column : str, default="sequence"
        Column holding the sequences when X is a DataFrame.
    **regressor_params
        Passed to :class:`FramePoolRegressor` (``max_epochs=10``, ``random_state=0``,
        ``module__n_filters=64``, …).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Takes sequences (or a DataFrame with the sequence and library columns) and predicts
        one value per input, in input order. Grid keys look like ``model__module__n_filters``.
    """
    encoder = SequenceLibraryEncoder(
        max_len=max_len,
        library_column=library_column,
        sequence_column=sequence_column,
        truncate=truncate,
        ambiguous=ambiguous,
    )
    regressor_params.setdefault("library_scaling", library_column is not None)
    return Pipeline([("encode", encoder), ("model", FramePoolRegressor(**regressor_params))])
