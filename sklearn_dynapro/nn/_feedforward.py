"""Position-wise feed-forward network (the transformer FFN)."""

from __future__ import annotations

from torch import Tensor, nn

from ._checks import check_int, check_probability

__all__ = ["PositionwiseFeedForward"]


class PositionwiseFeedForward(nn.Module):
    """``Linear(d_model, ffn_dim) → GELU → Dropout → Linear(ffn_dim, d_model) → Dropout``.

    Used inside every k-mer expert, and on its own in place of the mixture of experts when
    ``use_experts=False``.

    Parameters
    ----------
    d_model : int, default=128
        Input and output width.
    ffn_dim : int, default=256
        Hidden width.
    dropout : float, default=0.1
        Dropout after the activation and after the output projection.
    """

    def __init__(self, d_model: int = 128, ffn_dim: int = 256, dropout: float = 0.1) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.ffn_dim = check_int("ffn_dim", ffn_dim)
        p = check_probability("dropout", dropout)
        self.net = nn.Sequential(
            nn.Linear(self.d_model, self.ffn_dim),
            nn.GELU(),
            nn.Dropout(p),
            nn.Linear(self.ffn_dim, self.d_model),
            nn.Dropout(p),
        )

    def forward(self, x: Tensor) -> Tensor:
        """Apply the FFN to every position independently.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Input.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Output.
        """
        return self.net(x)
