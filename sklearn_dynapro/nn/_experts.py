"""k-mer mixture of experts: convolutional experts of different widths and a top-k router.

The public UTR-DynaPro notebook applies each expert's k-mer kernel to one token at a time, so
every expert collapses to the same point-wise map. Here each expert convolves the whole
sequence, so the expert of width ``k`` really reads the ``k``-mer centred on each position.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import torch
from torch import Tensor, nn

from ._checks import check_bool, check_int, check_int_tuple
from ._feedforward import PositionwiseFeedForward
from ._masking import zero_padding

__all__ = ["KmerExpert", "KmerMixtureOfExperts", "RoutingInfo"]


class KmerExpert(nn.Module):
    """One expert: ``Conv1d(d, d, k, padding=k // 2)`` over the sequence, then an FFN.

    The output at position ``p`` depends on inputs at positions ``p - k // 2 … p + k // 2``
    and on nothing further away.

    Parameters
    ----------
    d_model : int, default=128
        Input and output width.
    kernel_size : int, default=3
        Odd convolution width (the ``k`` of the k-mer).
    ffn_dim : int, default=256
        Hidden width of the position-wise FFN.
    dropout : float, default=0.1
        FFN dropout.
    """

    def __init__(
        self, d_model: int = 128, kernel_size: int = 3, ffn_dim: int = 256, dropout: float = 0.1
    ) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.kernel_size = check_int_tuple("kernel_size", (kernel_size,), odd=True)[0]
        # Symmetric padding keeps the length; the padded zeros are identical to 5' padding
        # tokens (also zero), so extra padding cannot change what a real position sees.
        self.conv = nn.Conv1d(
            self.d_model, self.d_model, self.kernel_size, padding=self.kernel_size // 2
        )
        self.ffn = PositionwiseFeedForward(self.d_model, ffn_dim, dropout)

    def forward(self, x: Tensor, mask: Tensor | None = None) -> Tensor:
        """Apply the expert.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Input sequence representation.
        mask : BoolTensor of shape (batch, length), optional
            ``True`` at padded positions, which are zeroed before the convolution.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Expert output (padded positions are not zeroed here; the mixture does it).
        """
        if mask is not None:
            x = zero_padding(x, mask)
        h = self.conv(x.transpose(1, 2)).transpose(1, 2)
        return self.ffn(h)


class RoutingInfo(NamedTuple):
    """Router diagnostics of :class:`KmerMixtureOfExperts`.

    Attributes
    ----------
    weights : FloatTensor of shape (batch, length, n_experts)
        Renormalised top-k weights (they sum to 1 at each real position); zero for unselected
        experts and at padded positions.
    probs : FloatTensor of shape (batch, length, n_experts)
        Full softmax of the router logits.
    logits : FloatTensor of shape (batch, length, n_experts)
        Router scores.
    indices : LongTensor of shape (batch, length, top_k)
        Selected experts, best first.
    """

    weights: Tensor
    probs: Tensor
    logits: Tensor
    indices: Tensor


class KmerMixtureOfExperts(nn.Module):
    """Mixture of k-mer experts with a per-position top-k router.

    A linear router scores every expert at every position; the ``top_k`` best are kept, their
    logits are soft-maxed among themselves (so the kept weights sum to 1) and the others get
    weight 0. Experts are computed densely and combined, which is simplest and fast enough at
    these sizes (four small experts).

    Parameters
    ----------
    d_model : int, default=128
        Input and output width.
    kernel_sizes : sequence of int, default=(3, 5, 7, 9)
        One expert per (odd) kernel width.
    top_k : int, default=2
        Experts used per position, ``1 <= top_k <= len(kernel_sizes)``.
    ffn_dim : int, default=256
        Hidden width of each expert's FFN.
    dropout : float, default=0.1
        FFN dropout.
    load_balancing : bool, default=True
        Compute the Switch-Transformer load-balancing loss into :attr:`aux_loss`; when False
        :attr:`aux_loss` stays a zero tensor.

    Attributes
    ----------
    aux_loss : Tensor of shape ()
        After each forward: ``n_experts * sum_i f_i * P_i`` over real positions, where
        ``f_i`` is the share of top-k assignments that went to expert ``i`` and ``P_i`` its mean
        router probability. It is 1 for perfectly balanced routing and grows as routing
        collapses; the training loop decides how much of it to add to the loss.
    """

    def __init__(
        self,
        d_model: int = 128,
        kernel_sizes: tuple[int, ...] = (3, 5, 7, 9),
        top_k: int = 2,
        ffn_dim: int = 256,
        dropout: float = 0.1,
        load_balancing: bool = True,
    ) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.kernel_sizes = check_int_tuple("kernel_sizes", kernel_sizes, odd=True)
        self.n_experts = len(self.kernel_sizes)
        self.top_k = check_int("top_k", top_k)
        if self.top_k > self.n_experts:
            raise ValueError(
                f"top_k must be at most the number of experts, got top_k={self.top_k}, "
                f"n_experts={self.n_experts}."
            )
        self.load_balancing = check_bool("load_balancing", load_balancing)
        self.router = nn.Linear(self.d_model, self.n_experts)
        self.experts = nn.ModuleList(
            KmerExpert(self.d_model, k, ffn_dim, dropout) for k in self.kernel_sizes
        )
        self.aux_loss = torch.zeros(())

    def __getstate__(self) -> dict[str, Any]:
        # aux_loss is usually a non-leaf tensor of the last graph, which pickle and deepcopy
        # refuse; it is recomputed at the next forward anyway.
        state = self.__dict__.copy()
        state["aux_loss"] = torch.zeros(())
        return state

    def route(self, x: Tensor, mask: Tensor) -> RoutingInfo:
        """Score the experts at every position and keep the ``top_k`` best.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Input (the normalised residual stream).
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions, whose weights are set to zero.

        Returns
        -------
        RoutingInfo
            Top-k weights, probabilities, logits and selected indices.
        """
        logits = self.router(x).float()
        top_logits, indices = logits.topk(self.top_k, dim=-1)
        weights = torch.zeros_like(logits).scatter(-1, indices, top_logits.softmax(dim=-1))
        weights = zero_padding(weights, mask)
        return RoutingInfo(
            weights=weights, probs=logits.softmax(dim=-1), logits=logits, indices=indices
        )

    def _balance_loss(self, routing: RoutingInfo, mask: Tensor) -> Tensor:
        real = (~mask).unsqueeze(-1).float()
        # clamp instead of an `if`: no host sync on GPU, and an all-padding batch gives 0.
        n_real = real.sum().clamp(min=1.0)
        # f_i: share of the top-k assignments (not differentiable); P_i: mean probability.
        assigned = torch.zeros_like(routing.probs).scatter(-1, routing.indices, 1.0) * real
        share = assigned.sum(dim=(0, 1)) / (n_real * self.top_k)
        mean_prob = (routing.probs * real).sum(dim=(0, 1)) / n_real
        return self.n_experts * (share * mean_prob).sum()

    def forward(
        self, x: Tensor, mask: Tensor, return_routing: bool = False
    ) -> Tensor | tuple[Tensor, RoutingInfo]:
        """Route each position to its top-k experts and mix their outputs.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Input (the normalised residual stream).
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions; zeroed before the expert convolutions and in the
            output.
        return_routing : bool, default=False
            Also return the router diagnostics.

        Returns
        -------
        out : Tensor of shape (batch, length, d_model)
            ``sum_e weight_e * expert_e(x)``, zero at padded positions.
        routing : RoutingInfo
            Only when ``return_routing=True``.
        """
        x = zero_padding(x, mask)
        routing = self.route(x, mask)
        expert_out = torch.stack([expert(x) for expert in self.experts], dim=-2)
        weights = routing.weights.to(expert_out.dtype).unsqueeze(-1)
        out = zero_padding((weights * expert_out).sum(dim=-2), mask)
        if self.load_balancing:
            self.aux_loss = self._balance_loss(routing, mask)
        else:
            self.aux_loss = x.new_zeros((), dtype=torch.float32)
        if return_routing:
            return out, routing
        return out
