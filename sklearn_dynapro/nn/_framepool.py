"""FramePoolNet: convolutions and frame pooling from the start codon, for UTRs of any length."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_bool, check_int, check_probability
from ._masking import zero_padding
from ._pooling import FramePooling

__all__ = ["FramePoolNet", "lengths_to_padding_mask"]


def lengths_to_padding_mask(length: Tensor, width: int) -> Tensor:
    """Mask of the 5' padding of right-aligned sequences, from their lengths.

    Parameters
    ----------
    length : LongTensor of shape (batch,)
        Number of real bases of each row, in ``[0, width]``.
    width : int
        Padded length.

    Returns
    -------
    BoolTensor of shape (batch, width)
        ``True`` at padded positions, i.e. the first ``width - length`` columns of each row.

    Notes
    -----
    A one-hot column of zeros cannot tell padding from an ``N`` encoded as zeros, so the
    models here take the lengths explicitly.
    """
    if length.ndim != 1:
        raise ValueError(f"length must have shape (batch,), got {tuple(length.shape)}.")
    if bool(((length < 0) | (length > width)).any()):
        raise ValueError(f"length must lie in [0, {width}], got {length.tolist()}.")
    columns = torch.arange(width, device=length.device)
    return columns.unsqueeze(0) < (width - length).unsqueeze(1)


class FramePoolNet(nn.Module):
    """FramePool: a convolution stack, then max and mean per frame counted from the start codon.

    The model of Karollus, Avsec and Gagneur (2021), "Predicting mean ribosome load for 5'UTR
    of any length using deep learning", PLoS Comput. Biol. 17:e1008982:
    ``n_conv_layers × [Conv1d(n_filters, kernel_size, symmetric padding) → ReLU]`` with the
    padded positions zeroed after every layer and, with ``residual=True``, each layer after the
    first adding its input back (``h ← h + relu(conv(h))``, the ``skip_connections="residual"``
    of the authors' released models), then :class:`FramePooling` (frame = distance to the base
    before the start codon mod 3; global max and mean of each frame over real positions,
    ``6 · n_filters`` values), then ``Linear → ReLU → Dropout → Linear``.

    Because padding is zeroed after every convolution and excluded from the pooling, the
    output does not depend on how much 5' padding a batch carries: any length works.

    With ``n_libraries > 0`` the output is scaled and shifted per library, as in the paper's
    multi-library model: ``y = a_lib · f(x) + b_lib`` (``a`` starts at 1, ``b`` at 0). A
    learned value per library index is the same map as a linear layer on the library one-hot.

    Parameters
    ----------
    n_filters : int, default=128
        Filters of every convolution.
    kernel_size : int, default=7
        Odd kernel width of every convolution.
    n_conv_layers : int, default=3
        Number of convolutions.
    residual : bool, default=False
        Add each convolution's input to its output, from the second convolution on (the first
        changes the width from ``in_channels`` to ``n_filters``), as the authors' released
        models do. Off by default: trained here (Adam, lr 1e-3, PyTorch's initialisation), on
        one of five folds of the random 50-nt library every dense ReLU died in the first epoch
        (constant predictions), and the plain chain never did in ten runs.
    dense_dim : int, default=64
        Width of the dense layer after pooling.
    dropout : float, default=0.2
        Dropout after the dense layer.
    n_libraries : int, default=0
        Libraries with their own output scale and shift; 0 switches the scaling off.
    in_channels : int, default=4
        One-hot channels (A, C, G, T).
    n_outputs : int, default=1
        Number of targets.
    """

    def __init__(
        self,
        n_filters: int = 128,
        kernel_size: int = 7,
        n_conv_layers: int = 3,
        residual: bool = False,
        dense_dim: int = 64,
        dropout: float = 0.2,
        n_libraries: int = 0,
        in_channels: int = 4,
        n_outputs: int = 1,
    ) -> None:
        super().__init__()
        self.n_filters = check_int("n_filters", n_filters)
        self.kernel_size = check_int("kernel_size", kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size!r}.")
        self.n_conv_layers = check_int("n_conv_layers", n_conv_layers)
        self.residual = check_bool("residual", residual)
        self.dense_dim = check_int("dense_dim", dense_dim)
        self.n_libraries = check_int("n_libraries", n_libraries, minimum=0)
        self.in_channels = check_int("in_channels", in_channels)
        self.n_outputs = check_int("n_outputs", n_outputs)
        p = check_probability("dropout", dropout)
        self.convs = nn.ModuleList(
            nn.Conv1d(
                self.in_channels if i == 0 else self.n_filters,
                self.n_filters,
                self.kernel_size,
                padding=self.kernel_size // 2,
            )
            for i in range(self.n_conv_layers)
        )
        self.pool = FramePooling()
        self.head = nn.Sequential(
            nn.Linear(self.pool.output_dim(self.n_filters), self.dense_dim),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(self.dense_dim, self.n_outputs),
        )
        self.library_scale: nn.Embedding | None = None
        self.library_shift: nn.Embedding | None = None
        if self.n_libraries:
            self.library_scale = nn.Embedding(self.n_libraries, self.n_outputs)
            self.library_shift = nn.Embedding(self.n_libraries, self.n_outputs)
            nn.init.ones_(self.library_scale.weight)
            nn.init.zeros_(self.library_shift.weight)

    def __setstate__(self, state: dict) -> None:
        # Networks pickled before ``residual`` existed were plain chains.
        state.setdefault("residual", False)
        super().__setstate__(state)

    def forward(self, onehot: Tensor, length: Tensor, library: Tensor | None = None) -> Tensor:
        """Predict from one-hot sequences of any length.

        Parameters
        ----------
        onehot : Tensor of shape (batch, in_channels, width), float
            One-hot sequences, right-aligned (5'-padded) to a common width.
        length : LongTensor of shape (batch,)
            Number of real bases of each row (the rest, on the 5' side, is padding).
        library : LongTensor of shape (batch,) or None, default=None
            Library index of each row in ``[0, n_libraries)``; required when
            ``n_libraries > 0``, ignored otherwise.

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions.
        """
        if onehot.ndim != 3 or onehot.shape[1] != self.in_channels:
            raise ValueError(
                f"onehot must have shape (batch, {self.in_channels}, width), "
                f"got {tuple(onehot.shape)}."
            )
        mask = lengths_to_padding_mask(length, onehot.shape[-1])
        h = onehot.transpose(1, 2)
        for i, conv in enumerate(self.convs):
            h = zero_padding(h, mask)
            out = torch.relu(conv(h.transpose(1, 2))).transpose(1, 2)
            # Both terms are zero at padded positions once out is masked (next iteration or
            # the pooling below), so the sum keeps padding out.
            h = h + out if self.residual and i > 0 else out
        out = self.head(self.pool(zero_padding(h, mask), mask))
        if self.library_scale is None:
            return out
        if library is None:
            raise ValueError(f"library must be given when n_libraries={self.n_libraries}.")
        outside = (library < 0) | (library >= self.n_libraries)
        if bool(outside.any()):
            raise ValueError(
                f"library must hold indices in [0, {self.n_libraries}), "
                f"got {sorted(set(library[outside].tolist()))}."
            )
        return self.library_scale(library) * out + self.library_shift(library)
