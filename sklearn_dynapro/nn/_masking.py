"""Padding-mask helpers shared by every part of the network.

Token matrices are left-padded with ``PAD_ID`` so the base right before the start codon is the
last column. Every module receives the boolean mask built here (``True`` = padding) and keeps
padded positions at exactly zero, which is what makes the network's output independent of how
much 5' padding a batch carries.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = [
    "PAD_ID",
    "attention_padding_mask",
    "distance_to_3prime",
    "padding_mask",
    "trim_padding",
    "zero_padding",
]

#: Token id of padding; the tokenizer and ``nn.Embedding(padding_idx=...)`` share it.
PAD_ID = 0


def padding_mask(tokens: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Boolean mask of padded positions.

    Parameters
    ----------
    tokens : LongTensor of shape (batch, length)
        Token ids.
    pad_id : int, default=0
        Id of the padding token.

    Returns
    -------
    BoolTensor of shape (batch, length)
        ``True`` where the token is padding; on the device of ``tokens``.
    """
    return tokens == pad_id


def trim_padding(tokens: Tensor, pad_id: int = PAD_ID) -> Tensor:
    """Drop the leading columns that are padding in every row.

    Networks whose output does not depend on 5' padding give the same result on the trimmed
    batch at a fraction of the cost when short sequences sit in a wide matrix (50-nt UTRs
    padded to the 100 columns of a model trained on longer ones).

    Parameters
    ----------
    tokens : Tensor of shape (batch, length)
        Left-padded token ids.
    pad_id : int, default=0
        Id of the padding token.

    Returns
    -------
    Tensor of shape (batch, trimmed_length)
        A view of ``tokens`` from the first column holding a real token in any row (all
        columns when no row has one).
    """
    if tokens.shape[-1] == 0:
        return tokens
    real = (tokens != pad_id).any(dim=0)
    first = int(real.to(torch.int32).argmax())  # 0 when nothing is real: keep everything
    return tokens[:, first:]


def zero_padding(x: Tensor, mask: Tensor) -> Tensor:
    """Set the padded positions of a per-position tensor to zero.

    Parameters
    ----------
    x : Tensor of shape (batch, length, channels)
        Per-position values.
    mask : BoolTensor of shape (batch, length)
        ``True`` at padded positions.

    Returns
    -------
    Tensor of shape (batch, length, channels)
        ``x`` with padded rows replaced by zeros (same dtype and device).
    """
    # masked_fill, not multiplication: a NaN or inf at a pad position must not survive as NaN.
    return x.masked_fill(mask.unsqueeze(-1), 0.0)


def attention_padding_mask(mask: Tensor) -> Tensor:
    """Key padding mask that never masks a whole row.

    A sequence made only of padding would give every query a softmax over nothing (NaN). For
    such rows the mask is lifted: they attend to their own zero vectors and their outputs are
    zeroed afterwards anyway, so real sequences are unaffected.

    Parameters
    ----------
    mask : BoolTensor of shape (batch, length)
        ``True`` at padded positions.

    Returns
    -------
    BoolTensor of shape (batch, length)
        Mask for ``key_padding_mask`` of :class:`torch.nn.MultiheadAttention`.
    """
    return mask & ~mask.all(dim=-1, keepdim=True)


def distance_to_3prime(mask: Tensor) -> Tensor:
    """Index of each position counted from the 3' end of its sequence.

    Index 0 is the last real base (the one right before the start codon), 1 the base before
    it, and so on. The index counts real tokens to the right, so it equals ``length - 1 - j``
    for column ``j`` of a left-padded row and does not depend on how much padding there is.

    Parameters
    ----------
    mask : BoolTensor of shape (batch, length)
        ``True`` at padded positions.

    Returns
    -------
    LongTensor of shape (batch, length)
        Distance to the 3' end; 0 at padded positions.
    """
    real = (~mask).long()
    # Number of real tokens at or after j (reverse cumulative sum), minus the token itself.
    after = real.flip(-1).cumsum(-1).flip(-1) - real
    return after.masked_fill(mask, 0)
