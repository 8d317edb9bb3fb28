"""Fusion of the attention and convolution branches of a parallel layer.

Two ways to mix the branch outputs ``a`` (attention) and ``c`` (convolution):

``"gate"`` (:class:`GatedFusion`, the DynaPro design)
    ``g = sigmoid(W [a; c])`` and ``y = g * a + (1 - g) * c``, one gate value per position and
    channel.
``"dynamic"`` (:class:`DynamicFusion`)
    Attention over the two branches: a query computed from the layer input scores a key
    computed from each branch output, and a softmax over the two scores gives one weight per
    branch and position, ``y = w_a * a + w_c * c``. Coarser than the gate (a scalar per
    position instead of a vector) but it lets the *input* context decide which branch to trust.

Both take ``(a, c, x)`` and expose their mixing weights through :meth:`weights`.
"""

from __future__ import annotations

import math

import torch
from torch import Tensor, nn

from ._checks import check_int

__all__ = ["FUSIONS", "DynamicFusion", "GatedFusion", "make_fusion"]

FUSIONS = ("gate", "dynamic")


class GatedFusion(nn.Module):
    """Per-position, per-channel sigmoid gate between two branches.

    Parameters
    ----------
    d_model : int, default=128
        Branch width.
    """

    def __init__(self, d_model: int = 128) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.proj = nn.Linear(2 * self.d_model, self.d_model)

    def weights(self, a: Tensor, c: Tensor, x: Tensor | None = None) -> Tensor:
        """Gate values ``g = sigmoid(W [a; c])``.

        Parameters
        ----------
        a : Tensor of shape (batch, length, d_model)
            Attention-branch output.
        c : Tensor of shape (batch, length, d_model)
            Convolution-branch output.
        x : Tensor of shape (batch, length, d_model), optional
            Layer input; unused by this fusion (kept for a common signature).

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Weight of the attention branch, in (0, 1).
        """
        return torch.sigmoid(self.proj(torch.cat((a, c), dim=-1)))

    def forward(self, a: Tensor, c: Tensor, x: Tensor | None = None) -> Tensor:
        """Mix the branches: ``g * a + (1 - g) * c``.

        Parameters
        ----------
        a, c : Tensor of shape (batch, length, d_model)
            Attention- and convolution-branch outputs.
        x : Tensor of shape (batch, length, d_model), optional
            Layer input; unused.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Fused output.
        """
        g = self.weights(a, c)
        return g * a + (1.0 - g) * c


class DynamicFusion(nn.Module):
    """Attention-style weighting of two branches, queried by the layer input.

    ``q = W_q LN(x)``, ``k_b = W_k b`` for ``b`` in ``(a, c)``; ``w = softmax_b(q . k_b /
    sqrt(d))`` per position; ``y = w_a a + w_c c``.

    Parameters
    ----------
    d_model : int, default=128
        Branch width.
    """

    def __init__(self, d_model: int = 128) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.norm = nn.LayerNorm(self.d_model)
        self.query = nn.Linear(self.d_model, self.d_model)
        self.key = nn.Linear(self.d_model, self.d_model)

    def weights(self, a: Tensor, c: Tensor, x: Tensor | None = None) -> Tensor:
        """Branch weights per position.

        Parameters
        ----------
        a : Tensor of shape (batch, length, d_model)
            Attention-branch output.
        c : Tensor of shape (batch, length, d_model)
            Convolution-branch output.
        x : Tensor of shape (batch, length, d_model), optional
            Layer input that forms the query; the mean of the branches when omitted.

        Returns
        -------
        Tensor of shape (batch, length, 2)
            Weights of ``a`` and ``c``, positive and summing to 1.
        """
        if x is None:
            x = 0.5 * (a + c)
        q = self.query(self.norm(x))
        keys = self.key(torch.stack((a, c), dim=-2))
        scores = (keys * q.unsqueeze(-2)).sum(dim=-1) / math.sqrt(self.d_model)
        return scores.float().softmax(dim=-1)

    def forward(self, a: Tensor, c: Tensor, x: Tensor | None = None) -> Tensor:
        """Mix the branches with the per-position weights.

        Parameters
        ----------
        a, c : Tensor of shape (batch, length, d_model)
            Attention- and convolution-branch outputs.
        x : Tensor of shape (batch, length, d_model), optional
            Layer input that forms the query.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Fused output.
        """
        w = self.weights(a, c, x).to(a.dtype)
        return w[..., :1] * a + w[..., 1:] * c


def make_fusion(fusion: str, d_model: int) -> nn.Module:
    """Build the fusion module named by ``fusion``.

    Parameters
    ----------
    fusion : {"gate", "dynamic"}
        Which fusion.
    d_model : int
        Branch width.

    Returns
    -------
    GatedFusion or DynamicFusion
        The fusion module.
    """
    if fusion == "gate":
        return GatedFusion(d_model)
    if fusion == "dynamic":
        return DynamicFusion(d_model)
    options = ", ".join(repr(f) for f in FUSIONS)
    raise ValueError(f"fusion must be one of {options}, got {fusion!r}.")
