"""MTtransNet: a shared convolutional encoder and one GRU tower per library."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor, nn
from torch.nn.utils.rnn import pack_padded_sequence

from ._checks import check_int, check_int_tuple, check_probability
from ._framepool import lengths_to_padding_mask

__all__ = ["MTtransNet", "MTtransTower"]


def _masked_batch_norm(norm: nn.BatchNorm1d, h: Tensor, real: Tensor) -> Tensor:
    """Batch-normalise the real positions only; padded positions come back as zeros.

    ``h`` is (batch, length, channels) and ``real`` (batch, length) is ``True`` at real bases,
    so the batch statistics never count padding and do not depend on the padded width.
    """
    out = h.new_zeros(h.shape)
    values = h[real]
    if norm.training and values.shape[0] < 2:
        # One value per channel has no batch variance (a one-row batch of a UTR of 8 nt or
        # less reaches the last block as one position): use the running statistics.
        normed = F.batch_norm(
            values, norm.running_mean, norm.running_var, norm.weight, norm.bias, eps=norm.eps
        )
    else:
        normed = norm(values)
    out[real] = normed.to(h.dtype)
    return out


def _reverse_real(h: Tensor, length: Tensor) -> Tensor:
    """Reverse the first ``length`` positions of each row, leaving the rest in place."""
    width = h.shape[1]
    columns = torch.arange(width, device=h.device).unsqueeze(0)
    last = (length - 1).unsqueeze(1)
    index = torch.where(columns <= last, last - columns, columns)
    return h.gather(1, index.unsqueeze(-1).expand(-1, -1, h.shape[-1]))


class MTtransTower(nn.Module):
    """One library's tower: a stacked GRU read 5' → 3', then a linear output.

    Parameters
    ----------
    in_dim : int
        Channels of the encoder output.
    hidden : int, default=80
        Hidden width of the GRU.
    n_layers : int, default=2
        Stacked GRU layers.
    n_outputs : int, default=1
        Number of targets.
    """

    def __init__(self, in_dim: int, hidden: int = 80, n_layers: int = 2, n_outputs: int = 1):
        super().__init__()
        self.gru = nn.GRU(
            check_int("in_dim", in_dim),
            check_int("hidden", hidden),
            num_layers=check_int("n_layers", n_layers),
            batch_first=True,
        )
        self.out = nn.Linear(hidden, check_int("n_outputs", n_outputs))

    def forward(self, z: Tensor, length: Tensor) -> Tensor:
        """Read each sequence's real positions and regress from the last hidden state.

        Parameters
        ----------
        z : Tensor of shape (batch, length, in_dim)
            Encoded sequences, real positions first (padding at the end of each row).
        length : LongTensor of shape (batch,)
            Real positions of each row (at least 1), in 5' → 3' order.

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions from the top GRU layer's state after the base before the start codon.
        """
        # Packing stops every row at its own last real position, so padding never enters the
        # recurrence. The GRU runs in float32, outside any autocast region.
        with torch.autocast(device_type=z.device.type, enabled=False):
            packed = pack_padded_sequence(
                z.float(), length.cpu(), batch_first=True, enforce_sorted=False
            )
            _, h_n = self.gru(packed)
            return self.out(h_n[-1])


class MTtransNet(nn.Module):
    """MTtrans: a shared convolutional encoder and one GRU tower per library.

    The hard-sharing model of Zheng et al. (2023), "Discovery of regulatory motifs in 5'
    untranslated regions using interpretable multi-task learning models" (MTtrans), which pools
    several MPRA and ribosome-profiling libraries: every library shares the encoder, each has
    its own tower, and training alternates between libraries one mini-batch at a time.

    Encoder: ``len(conv_channels) × [Conv1d(kernel_size, stride) → BatchNorm → ReLU → Dropout]``
    without pooling. Convolutions run from the start codon outward, so a stride keeps the base
    before the ATG as the first sampled position whatever the padding; batch statistics are
    taken over real positions only and padded positions are zeroed after every layer.

    Tower (one per library, :class:`MTtransTower`): a ``tower_layers``-layer GRU of width
    ``tower_hidden`` reads the encoded real positions 5' → 3', and a linear layer maps the top
    layer's last hidden state to the output. Each row is routed to the tower of its library, so
    a batch may mix libraries at prediction time.

    Parameters
    ----------
    n_libraries : int, default=1
        Number of towers (libraries).
    conv_channels : sequence of int, default=(128, 256, 256, 256)
        Output channels of each convolution; its length is the number of layers.
    kernel_size : int, default=3
        Odd kernel width of every convolution.
    strides : sequence of int, default=(1, 2, 2, 2)
        Stride of each convolution (as many as ``conv_channels``); the published setting
        shortens the sequence eightfold before the GRU.
    dropout : float, default=0.2
        Dropout after every convolution block.
    tower_hidden : int, default=80
        Hidden width of each tower's GRU.
    tower_layers : int, default=2
        GRU layers per tower.
    in_channels : int, default=4
        One-hot channels (A, C, G, T).
    n_outputs : int, default=1
        Number of targets.
    """

    def __init__(
        self,
        n_libraries: int = 1,
        conv_channels: tuple[int, ...] = (128, 256, 256, 256),
        kernel_size: int = 3,
        strides: tuple[int, ...] = (1, 2, 2, 2),
        dropout: float = 0.2,
        tower_hidden: int = 80,
        tower_layers: int = 2,
        in_channels: int = 4,
        n_outputs: int = 1,
    ) -> None:
        super().__init__()
        self.n_libraries = check_int("n_libraries", n_libraries)
        self.conv_channels = check_int_tuple("conv_channels", conv_channels)
        self.kernel_size = check_int("kernel_size", kernel_size)
        if self.kernel_size % 2 == 0:
            raise ValueError(f"kernel_size must be odd, got {kernel_size!r}.")
        self.strides = check_int_tuple("strides", strides)
        if len(self.strides) != len(self.conv_channels):
            raise ValueError(
                f"strides must give one stride per convolution ({len(self.conv_channels)}), "
                f"got {strides!r}."
            )
        self.tower_hidden = check_int("tower_hidden", tower_hidden)
        self.tower_layers = check_int("tower_layers", tower_layers)
        self.in_channels = check_int("in_channels", in_channels)
        self.n_outputs = check_int("n_outputs", n_outputs)
        self.dropout = nn.Dropout(check_probability("dropout", dropout))
        widths = (self.in_channels, *self.conv_channels)
        self.convs = nn.ModuleList(
            nn.Conv1d(c_in, c_out, self.kernel_size, stride=s, padding=self.kernel_size // 2)
            for c_in, c_out, s in zip(widths[:-1], widths[1:], self.strides, strict=True)
        )
        self.norms = nn.ModuleList(nn.BatchNorm1d(c) for c in self.conv_channels)
        self.towers = nn.ModuleList(
            MTtransTower(self.conv_channels[-1], self.tower_hidden, self.tower_layers, n_outputs)
            for _ in range(self.n_libraries)
        )

    def encode(self, onehot: Tensor, length: Tensor) -> tuple[Tensor, Tensor]:
        """Run the shared encoder.

        Parameters
        ----------
        onehot : Tensor of shape (batch, in_channels, width), float
            One-hot sequences, right-aligned (5'-padded) to a common width.
        length : LongTensor of shape (batch,)
            Real bases of each row.

        Returns
        -------
        z : Tensor of shape (batch, width_out, conv_channels[-1])
            Encoded sequences ordered from the start codon outward (position 0 ends at the base
            before the ATG), padding at the end of each row and zero.
        length_out : LongTensor of shape (batch,)
            Encoded positions of each row: ``length`` divided by each stride, rounded up.
        """
        if onehot.ndim != 3 or onehot.shape[1] != self.in_channels:
            raise ValueError(
                f"onehot must have shape (batch, {self.in_channels}, width), "
                f"got {tuple(onehot.shape)}."
            )
        # Flip so that the start codon side comes first and padding last.
        real = lengths_to_padding_mask(length, onehot.shape[-1]).flip(-1).logical_not()
        h = onehot.flip(-1).transpose(1, 2).masked_fill(~real.unsqueeze(-1), 0.0)
        for conv, norm, stride in zip(self.convs, self.norms, self.strides, strict=True):
            h = conv(h.transpose(1, 2)).transpose(1, 2)
            length = torch.div(length + stride - 1, stride, rounding_mode="floor")
            real = torch.arange(h.shape[1], device=h.device).unsqueeze(0) < length.unsqueeze(1)
            h = self.dropout(torch.relu(_masked_batch_norm(norm, h, real)))
            h = h.masked_fill(~real.unsqueeze(-1), 0.0)
        return h, length

    def forward(self, onehot: Tensor, length: Tensor, library: Tensor | None = None) -> Tensor:
        """Predict, routing each row to its library's tower.

        Parameters
        ----------
        onehot : Tensor of shape (batch, in_channels, width), float
            One-hot sequences, right-aligned (5'-padded) to a common width.
        length : LongTensor of shape (batch,)
            Real bases of each row (at least 1).
        library : LongTensor of shape (batch,) or None, default=None
            Library index of each row in ``[0, n_libraries)``; None means library 0.

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions, row ``i`` from tower ``library[i]``.
        """
        if bool((length < 1).any()):
            raise ValueError(f"length must be at least 1 in every row, got {length.tolist()}.")
        if library is None:
            library = torch.zeros_like(length)
        outside = (library < 0) | (library >= self.n_libraries)
        if bool(outside.any()):
            raise ValueError(
                f"library must hold indices in [0, {self.n_libraries}), "
                f"got {sorted(set(library[outside].tolist()))}."
            )
        z, z_length = self.encode(onehot, length)
        # The GRU reads 5' → 3': reverse each row's real positions back into sequence order.
        z = _reverse_real(z, z_length)
        out = z.new_zeros((z.shape[0], self.n_outputs), dtype=torch.float32)
        for lib in torch.unique(library).tolist():
            rows = torch.nonzero(library == lib).squeeze(1)
            out = out.index_put((rows,), self.towers[lib](z[rows], z_length[rows]))
        return out
