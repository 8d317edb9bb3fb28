"""OptimusNet: the Optimus 5-Prime convolutional network for fixed-length 5' UTRs."""

from __future__ import annotations

from torch import Tensor, nn

from ._checks import check_int, check_probability

__all__ = ["OptimusNet"]


class OptimusNet(nn.Module):
    """Optimus 5-Prime: three convolutions, a dense layer and a linear output.

    The network of Sample et al. (2019), "Human 5' UTR design and variant effect prediction
    from a massively parallel translation assay", Nat. Biotechnol. 37:803-809:
    ``n_conv_layers × [Conv1d(n_filters, kernel_size, padding="same") → ReLU (→ Dropout)]``
    → flatten → ``Linear(n_filters · seq_len, dense_dim)`` → ReLU → ``Dropout(dropout)`` →
    ``Linear(dense_dim, n_outputs)``.

    The flattening ties the network to one input length: every position has its own dense
    weights, so position ``j`` always means the same distance to the start codon when inputs
    are 5'-padded to ``seq_len``.

    Parameters
    ----------
    seq_len : int, default=50
        Input length in nucleotides (the padded length of the one-hot input).
    n_filters : int, default=120
        Filters of every convolution.
    kernel_size : int, default=8
        Kernel width of every convolution ("same" padding; an even width pads one more
        position on the 3' side, as Keras does).
    n_conv_layers : int, default=3
        Number of convolutions.
    dense_dim : int, default=40
        Width of the dense layer.
    dropout : float, default=0.2
        Dropout after the dense layer.
    conv_dropout : float, default=0.0
        Dropout after each convolution (the published model uses none).
    in_channels : int, default=4
        One-hot channels (A, C, G, T).
    n_outputs : int, default=1
        Number of targets.
    """

    def __init__(
        self,
        seq_len: int = 50,
        n_filters: int = 120,
        kernel_size: int = 8,
        n_conv_layers: int = 3,
        dense_dim: int = 40,
        dropout: float = 0.2,
        conv_dropout: float = 0.0,
        in_channels: int = 4,
        n_outputs: int = 1,
    ) -> None:
        super().__init__()
        self.seq_len = check_int("seq_len", seq_len)
        self.n_filters = check_int("n_filters", n_filters)
        self.kernel_size = check_int("kernel_size", kernel_size)
        self.n_conv_layers = check_int("n_conv_layers", n_conv_layers)
        self.dense_dim = check_int("dense_dim", dense_dim)
        self.in_channels = check_int("in_channels", in_channels)
        self.n_outputs = check_int("n_outputs", n_outputs)
        p = check_probability("dropout", dropout)
        p_conv = check_probability("conv_dropout", conv_dropout)
        layers: list[nn.Module] = []
        width = self.in_channels
        # "Same" padding as Keras pads it: the extra position of an even kernel goes 3'.
        pad = ((self.kernel_size - 1) // 2, self.kernel_size // 2)
        for _ in range(self.n_conv_layers):
            layers += [
                nn.ConstantPad1d(pad, 0.0),
                nn.Conv1d(width, self.n_filters, self.kernel_size),
                nn.ReLU(),
            ]
            if p_conv:
                layers.append(nn.Dropout(p_conv))
            width = self.n_filters
        self.convs = nn.Sequential(*layers)
        self.head = nn.Sequential(
            nn.Flatten(),
            nn.Linear(self.n_filters * self.seq_len, self.dense_dim),
            nn.ReLU(),
            nn.Dropout(p),
            nn.Linear(self.dense_dim, self.n_outputs),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Predict from one-hot sequences.

        Parameters
        ----------
        x : Tensor of shape (batch, in_channels, seq_len), float
            One-hot sequences, 5'-padded to ``seq_len`` (padding is all-zero).

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions.
        """
        if x.ndim != 3 or x.shape[1] != self.in_channels or x.shape[2] != self.seq_len:
            raise ValueError(
                f"x must have shape (batch, {self.in_channels}, {self.seq_len}), "
                f"got {tuple(x.shape)}."
            )
        return self.head(self.convs(x))
