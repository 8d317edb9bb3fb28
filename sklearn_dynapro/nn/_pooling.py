"""Frame-aware pooling anchored at the start codon."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_bool
from ._masking import distance_to_3prime

__all__ = ["FramePooling", "masked_max_mean"]


def masked_max_mean(x: Tensor, keep: Tensor) -> tuple[Tensor, Tensor]:
    """Max and mean over the positions selected by ``keep``.

    Parameters
    ----------
    x : Tensor of shape (batch, length, channels)
        Values.
    keep : BoolTensor of shape (batch, length)
        Positions to pool over.

    Returns
    -------
    maximum : Tensor of shape (batch, channels)
        Channel-wise maximum over the kept positions; 0 where a row keeps none.
    mean : Tensor of shape (batch, channels)
        Channel-wise mean over the kept positions; 0 where a row keeps none.
    """
    keep3 = keep.unsqueeze(-1)
    # The most negative finite value of the dtype, not -inf: stays finite under fp16/bf16
    # autocast, and empty selections are replaced by 0 right after.
    lowest = torch.finfo(x.dtype).min
    maximum = x.masked_fill(~keep3, lowest).amax(dim=1)
    count = keep.sum(dim=1, keepdim=True)
    maximum = maximum.masked_fill(count == 0, 0.0)
    # Sum in float32: half-precision sums over long sequences lose precision.
    total = x.float().masked_fill(~keep3, 0.0).sum(dim=1)
    mean = (total / count.clamp(min=1)).to(x.dtype)
    return maximum, mean


class FramePooling(nn.Module):
    """Max and mean per reading frame, counted from the start codon, over real positions.

    Position index ``i`` counts real bases from the 3' end (0 = the base right before the
    ATG); frame = ``i mod 3``. Frame 0 therefore holds the third bases of codons in frame with
    the CDS, so an upstream ATG whose A sits at index ``i ≡ 2 (mod 3)`` is in frame.

    Padding is excluded from both statistics. A frame with no real position (sequences shorter
    than 3) pools to zeros, never ``-inf`` or NaN.

    Parameters
    ----------
    use_frames : bool, default=True
        Pool per frame (output ``6 * d``). False pools globally over real positions
        (output ``2 * d``), the ablation without frame awareness.

    Notes
    -----
    Output layout (``use_frames=True``):
    ``[max_f0, mean_f0, max_f1, mean_f1, max_f2, mean_f2]``, each block ``d`` wide.
    """

    def __init__(self, use_frames: bool = True) -> None:
        super().__init__()
        self.use_frames = check_bool("use_frames", use_frames)
        self.n_blocks = 6 if self.use_frames else 2

    def output_dim(self, d_model: int) -> int:
        """Width of the pooled vector for inputs of width ``d_model``.

        Parameters
        ----------
        d_model : int
            Channel width of the pooled sequence.

        Returns
        -------
        int
            ``6 * d_model`` with frames, ``2 * d_model`` without.
        """
        return self.n_blocks * d_model

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Pool a sequence representation into one vector per sequence.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d)
            Per-position representation of left-padded sequences.
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions.

        Returns
        -------
        Tensor of shape (batch, 6 * d) or (batch, 2 * d)
            Pooled features (layout in the class notes).
        """
        real = ~mask
        if not self.use_frames:
            return torch.cat(masked_max_mean(x, real), dim=-1)
        frame = distance_to_3prime(mask) % 3
        blocks: list[Tensor] = []
        for f in range(3):
            blocks.extend(masked_max_mean(x, real & (frame == f)))
        return torch.cat(blocks, dim=-1)
