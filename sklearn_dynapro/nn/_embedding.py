"""Token embedding with a position encoding counted from the start codon."""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_choice, check_int, check_probability
from ._masking import PAD_ID, distance_to_3prime, padding_mask, zero_padding

__all__ = ["POSITION_ENCODINGS", "TokenEmbedding", "sinusoidal_encoding"]

POSITION_ENCODINGS = ("sinusoidal", "learned")


def sinusoidal_encoding(positions: Tensor, d_model: int) -> Tensor:
    """Transformer sine/cosine encoding of integer positions.

    Parameters
    ----------
    positions : LongTensor of shape (batch, length)
        Non-negative positions.
    d_model : int
        Encoding width; odd widths drop the last cosine channel.

    Returns
    -------
    FloatTensor of shape (batch, length, d_model)
        ``sin(p * w_i)`` in even channels and ``cos(p * w_i)`` in odd channels, with
        ``w_i = 10000 ** (-2i / d_model)``; float32 on the device of ``positions``.
    """
    half = (d_model + 1) // 2
    # Built on the fly on the input's device: no buffer to move, and any length works.
    inv_freq = torch.exp(
        torch.arange(half, device=positions.device, dtype=torch.float32)
        * (-2.0 * math.log(10000.0) / d_model)
    )
    angles = positions.to(torch.float32).unsqueeze(-1) * inv_freq
    encoding = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)
    return encoding[..., :d_model]


class TokenEmbedding(nn.Module):
    """Token embedding plus a position encoding of the distance to the start codon.

    Position 0 is the base right before the ATG (the last column of a left-padded batch), so
    the same base keeps the same encoding whatever the sequence length or batch padding.

    Parameters
    ----------
    vocab_size : int, default=7
        Number of token ids (0 PAD, 1 MASK, 2 N, then nucleotides or k-mers).
    d_model : int, default=128
        Embedding width.
    dropout : float, default=0.1
        Dropout applied to the summed embedding.
    position : {"sinusoidal", "learned"}, default="sinusoidal"
        Fixed sine/cosine encoding (any length) or a learned table of ``max_positions`` rows.
    max_positions : int, default=1024
        Longest sequence (in real tokens) the learned table covers; unused when sinusoidal.
    """

    def __init__(
        self,
        vocab_size: int = 7,
        d_model: int = 128,
        dropout: float = 0.1,
        position: str = "sinusoidal",
        max_positions: int = 1024,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=PAD_ID + 3)
        self.d_model = check_int("d_model", d_model)
        self.position = check_choice("position", position, POSITION_ENCODINGS)
        self.max_positions = check_int("max_positions", max_positions)
        self.tokens = nn.Embedding(self.vocab_size, self.d_model, padding_idx=PAD_ID)
        self.positions = (
            nn.Embedding(self.max_positions, self.d_model) if self.position == "learned" else None
        )
        self.dropout = nn.Dropout(check_probability("dropout", dropout))

    def forward(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """Embed a batch of token ids.

        Parameters
        ----------
        tokens : LongTensor of shape (batch, length)
            Left-padded token ids.
        mask : BoolTensor of shape (batch, length), optional
            ``True`` at padded positions; computed from ``tokens`` when omitted.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Embeddings, exactly zero at padded positions.
        """
        if mask is None:
            mask = padding_mask(tokens)
        distance = distance_to_3prime(mask)
        x = self.tokens(tokens)
        if self.positions is None:
            x = x + sinusoidal_encoding(distance, self.d_model).to(x.dtype)
        else:
            longest = int(distance.max()) + 1 if distance.numel() else 0
            if longest > self.max_positions:
                raise ValueError(
                    f"sequences must have at most max_positions={self.max_positions} real "
                    f"tokens with position='learned', got {longest}."
                )
            x = x + self.positions(distance)
        return zero_padding(self.dropout(x), mask)
