"""``MTtransRegressor``: MTtrans (Zheng et al., 2023) as a scikit-learn estimator."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
import torch
from sklearn.pipeline import Pipeline
from torch.utils.data import Sampler, Subset

from ..models._base import SequenceNetRegressor
from ..nn import MTtransNet
from ._encoder import SequenceLibraryEncoder
from ._inputs import check_known_libraries, check_onehot_dict

__all__ = ["LibraryBatchSampler", "MTtransRegressor", "make_mttrans_pipeline"]

_HINT = "use make_mttrans_pipeline() to predict from raw sequences."


class LibraryBatchSampler(Sampler[list[int]]):
    """Mini-batches that each hold rows of one library, in a seeded random order.

    Every epoch, each library's rows are shuffled and cut into batches of ``batch_size`` (the
    last one of a library may be smaller), and the batches of all libraries are shuffled
    together, so training alternates between libraries batch by batch.

    Parameters
    ----------
    library : array-like of shape (n_samples,), int
        Library index of each row of the dataset.
    batch_size : int
        Rows per batch.
    generator : torch.Generator
        Source of the shuffles.
    """

    def __init__(self, library, batch_size: int, generator: torch.Generator) -> None:
        self.library = np.asarray(library)
        self.batch_size = int(batch_size)
        self.generator = generator

    def __len__(self) -> int:
        _, counts = np.unique(self.library, return_counts=True)
        return int(np.sum(-(-counts // self.batch_size)))

    def __iter__(self) -> Iterator[list[int]]:
        batches: list[list[int]] = []
        for lib in np.unique(self.library):
            rows = np.flatnonzero(self.library == lib)
            order = torch.randperm(len(rows), generator=self.generator).numpy()
            rows = rows[order]
            batches.extend(
                rows[i : i + self.batch_size].tolist() for i in range(0, len(rows), self.batch_size)
            )
        for i in torch.randperm(len(batches), generator=self.generator).tolist():
            yield batches[i]


def _dataset_libraries(dataset) -> np.ndarray | None:
    """Library index of each row of a skorch dataset (or a Subset of one), if it has them."""
    if isinstance(dataset, Subset):
        parent = _dataset_libraries(dataset.dataset)
        return None if parent is None else parent[np.asarray(dataset.indices)]
    X = getattr(dataset, "X", None)
    if isinstance(X, dict) and "library" in X:
        return np.asarray(X["library"])
    return None


class MTtransRegressor(SequenceNetRegressor):
    """MTtrans: a shared convolutional encoder and one GRU tower per library.

    Zheng, W. et al. (2023), "Discovery of regulatory motifs in 5' untranslated regions using
    interpretable multi-task learning models" (MTtrans). The network is
    :class:`sklearn_dynapro.nn.MTtransNet`: four ``Conv1d → BatchNorm → ReLU → Dropout``
    blocks without pooling (channels 128-256-256-256, kernel 3, strides 1-2-2-2), then per
    library a two-layer GRU of width 80 and a linear output on its last hidden state.

    Training switches towers per mini-batch: every training batch holds rows of one library
    (:class:`LibraryBatchSampler`, shuffled with a generator seeded from ``random_state``), so
    each step updates the shared encoder and that library's tower. Prediction batches may mix
    libraries; each row goes to its own tower. Adam and the mean squared error of the
    standardised target.

    Inputs are the dict of :class:`SequenceLibraryEncoder` (one-hot, lengths, library index):
    the library comes from the ``library_column`` of a DataFrame, and a plain list of
    sequences is one implicit library. See :func:`make_mttrans_pipeline`. Predicting for a
    library not seen in fit is a ValueError naming the rows.

    Parameters
    ----------
    module : type or torch.nn.Module, default=MTtransNet
        The network; ``n_libraries`` and ``n_outputs`` are filled in from the data at fit time.
        Network settings are routed with the ``module__`` prefix (``module__tower_hidden=40``).
    criterion : type, default=torch.nn.MSELoss
        Loss on the target (standardised unless ``standardize_target=False``).
    standardize_target : bool, default=True
        Train on the target standardised per column (mean 0, standard deviation 1; the
        predictions are mapped back). False trains on the target as given, so the loss, and
        a Huber loss's ``delta`` of 1, are in the target's units.
    optimizer : type, default=torch.optim.Adam
        Optimizer class.
    lr : float, default=1e-3
        Learning rate (the paper used 3e-4 with batches of 32 and a schedule).
    momentum : float, default=0.9
        Momentum, passed only to optimizers that take one (not Adam).
    weight_decay : float, default=0.0
        Weight decay, passed to optimizers that take one.
    max_epochs : int, default=30
        Most epochs to train.
    batch_size : int, default=64
        Mini-batch size for training (per library) and for batched prediction.
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
        (:class:`~sklearn_dynapro.nn.MTtransNet` has none).
    amp : bool, default=False
        Mixed precision (bfloat16 autocast) on CUDA for the encoder (the GRU towers run in
        float32); ignored with a warning on a CPU.
    random_state : int, RandomState or None, default=None
        Seeds weight initialisation, the library batches and the validation split; the
        caller's global torch random state is left unchanged.
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
    module_ : MTtransNet
        The trained network.
    n_libraries_ : int
        Number of towers.
    y_mean_, y_scale_ : ndarray of shape (n_outputs,)
        Target standardisation (over all libraries).
    n_outputs_ : int
        Number of target columns.
    history_ : skorch.History
        Per-epoch losses and timings.

    See Also
    --------
    make_mttrans_pipeline : The regressor behind its encoder, taking raw sequences.
    """

    def __init__(
        self,
        module=MTtransNet,
        *,
        criterion=torch.nn.MSELoss,
        standardize_target: bool = True,
        optimizer=torch.optim.Adam,
        lr: float = 1e-3,
        momentum: float = 0.9,
        weight_decay: float = 0.0,
        max_epochs: int = 30,
        batch_size: int = 64,
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

    def _check_fit_inputs(self, X) -> dict[str, np.ndarray]:
        data = check_onehot_dict(X, hint=_HINT)
        if "library" not in data:  # one implicit library
            data["library"] = np.zeros(data["length"].shape[0], dtype=np.int64)
        return data

    def _check_inputs(self, X) -> dict[str, np.ndarray]:
        n_libraries = vars(self).get("n_libraries_", 1)
        if n_libraries > 1 and isinstance(X, Mapping) and X.get("library") is None:
            # Filling in library 0 would send every row to the first library's tower
            # (check_onehot_dict reads a None entry as a missing one).
            raise ValueError(
                f"X must hold a 'library' array: the model was fitted on {n_libraries} "
                f"libraries, got keys {sorted(X)}; set library_column in make_mttrans_pipeline()."
            )
        return self._check_fit_inputs(X)

    def _data_module_params(self, data: dict[str, np.ndarray]) -> dict:
        self.n_libraries_ = int(data["library"].max()) + 1
        return {"n_libraries": self.n_libraries_}

    def _check_against_fit(self, data: dict[str, np.ndarray]) -> None:
        check_known_libraries(data["library"], self.n_libraries_)

    def _training_extras(self) -> dict:
        generator = vars(self).get("_sampler_generator_")
        return {} if generator is None else {"sampler_generator": generator.get_state()}

    def _restore_training_extras(self, extras: dict) -> None:
        if "sampler_generator" in extras:
            self._resumed_sampler_state_ = extras["sampler_generator"]

    def on_train_end(self, net, X=None, y=None, **kwargs) -> None:
        # The generator only matters while training; a fitted model need not carry it.
        vars(self).pop("_sampler_generator_", None)
        super().on_train_end(net, X=X, y=y, **kwargs)

    def _batches_per_epoch(self, dataset) -> int:
        # As get_iterator batches them: each library's rows apart.
        library = _dataset_libraries(dataset)
        if library is None:
            return super()._batches_per_epoch(dataset)
        return len(LibraryBatchSampler(library, self._train_batch_size(dataset), generator=None))

    def get_iterator(self, dataset, training: bool = False) -> Any:
        """Batches of one library each for training; plain ordered batches otherwise.

        Parameters
        ----------
        dataset : torch Dataset
            The (training or validation) dataset skorch built from the inputs.
        training : bool, default=False
            Whether the batches are for a training epoch.

        Returns
        -------
        iterator : torch.utils.data.DataLoader
            Yields dict batches; in training each batch holds a single library.
        """
        library = _dataset_libraries(dataset) if training else None
        if library is None:
            return super().get_iterator(dataset, training=training)
        kwargs = self.get_params_for("iterator_train")
        for key in ("batch_size", "shuffle", "sampler", "drop_last"):
            kwargs.pop(key, None)
        batch_size = self._train_batch_size(dataset)
        # Seeded from torch's generator, which fit seeds from random_state inside a forked
        # random state: repeatable per seed, different every epoch. skorch builds the
        # iterator once per fit, so a resumed fit takes the checkpoint's generator state.
        generator = torch.Generator()
        resumed = vars(self).pop("_resumed_sampler_state_", None)
        if resumed is None:
            generator.manual_seed(int(torch.randint(2**62, (1,)).item()))
        else:
            generator.set_state(resumed)
        self._sampler_generator_ = generator
        sampler = LibraryBatchSampler(library, batch_size, generator)
        return self.iterator_train(dataset, batch_sampler=sampler, **kwargs)


def make_mttrans_pipeline(
    max_len: int | None = None,
    *,
    library_column: str | None = "library",
    truncate: bool = False,
    ambiguous: str = "warn",
    sequence_column: str = "sequence",
    **regressor_params,
) -> Pipeline:
    """Build ``Pipeline([("encode", SequenceLibraryEncoder), ("model", MTtransRegressor)])``.

    Parameters
    ----------
    max_len : int or None, default=None
        Padded length of the encoder; learned as the longest training sequence when None.
    library_column : str or None, default="library"
        Column of a DataFrame X holding the library label (one tower per label). A plain
        list of sequences, or None here, trains a single tower.
    truncate : bool, default=False
        Cut sequences longer than ``max_len`` from the 5' end instead of raising.
    ambiguous : {"error", "warn", "mask"}, default="warn"
        Policy for ``N`` and other IUPAC codes.
    sequence_column : str, default="sequence"
        Column holding the sequences when X is a DataFrame.
    **regressor_params
        Passed to :class:`MTtransRegressor` (``max_epochs=10``, ``random_state=0``,
        ``module__tower_hidden=40``, …).

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Takes sequences (or a DataFrame with the sequence and library columns) and predicts
        one value per input, in input order. Grid keys look like
        ``model__module__tower_hidden``.
    """
    encoder = SequenceLibraryEncoder(
        max_len=max_len,
        library_column=library_column,
        sequence_column=sequence_column,
        truncate=truncate,
        ambiguous=ambiguous,
    )
    return Pipeline([("encode", encoder), ("model", MTtransRegressor(**regressor_params))])
