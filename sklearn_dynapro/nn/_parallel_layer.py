"""The parallel convolution–transformer layer (one step of the refinement block)."""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from ._checks import check_bool, check_choice, check_int, check_int_tuple, check_probability
from ._experts import KmerMixtureOfExperts
from ._feedforward import PositionwiseFeedForward
from ._fusion import FUSIONS, make_fusion
from ._masking import attention_padding_mask, zero_padding

__all__ = ["ParallelConvTransformerLayer"]


class ParallelConvTransformerLayer(nn.Module):
    """Attention and convolution side by side, fused, then a k-mer mixture of experts.

    ``x ← x + fuse(attn(LN(x)), conv(LN(x)))`` then ``x ← x + MoE(LN(x))``; padded positions
    are zero in the output. Stack these so that each layer reads the previous one's output.

    - Attention branch: pre-norm :class:`torch.nn.MultiheadAttention` with a key padding mask.
    - Convolution branch: pre-norm ``Conv1d(d, d, conv_kernel)`` with symmetric padding and a
      GELU; padded positions are zeroed before the convolution (so pad never leaks into a real
      position) and after it.
    - Fusion: ``"gate"`` or ``"dynamic"`` (see :mod:`sklearn_dynapro.nn._fusion`). With one
      branch switched off the other is used alone, without a gate.
    - Then a pre-norm :class:`KmerMixtureOfExperts` (or a plain position-wise FFN when
      ``use_experts=False``) with its own residual connection.

    Parameters
    ----------
    d_model : int, default=128
        Width of the residual stream.
    n_heads : int, default=16
        Attention heads; must divide ``d_model``.
    conv_kernel : int, default=7
        Odd width of the convolution branch.
    expert_kernels : sequence of int, default=(3, 5, 7, 9)
        Kernel width of each k-mer expert.
    top_k : int, default=2
        Experts used per position.
    ffn_dim : int, default=256
        Hidden width of the expert FFNs (or of the plain FFN).
    dropout : float, default=0.1
        Dropout in attention, on each branch output and in the FFNs.
    fusion : {"gate", "dynamic"}, default="gate"
        How the two branches are mixed.
    use_attention, use_conv : bool, default=True
        Switch a branch off for ablation; at least one must stay on.
    use_experts : bool, default=True
        Mixture of experts (True) or a plain FFN (False).
    load_balancing : bool, default=True
        Compute the experts' load-balancing loss at each forward (see
        :class:`KmerMixtureOfExperts`); without experts there is none to compute.
    """

    def __init__(
        self,
        d_model: int = 128,
        n_heads: int = 16,
        conv_kernel: int = 7,
        expert_kernels: tuple[int, ...] = (3, 5, 7, 9),
        top_k: int = 2,
        ffn_dim: int = 256,
        dropout: float = 0.1,
        fusion: str = "gate",
        use_attention: bool = True,
        use_conv: bool = True,
        use_experts: bool = True,
        load_balancing: bool = True,
    ) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.n_heads = check_int("n_heads", n_heads)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads must divide d_model, got d_model={self.d_model}, n_heads={self.n_heads}."
            )
        self.conv_kernel = check_int_tuple("conv_kernel", (conv_kernel,), odd=True)[0]
        self.expert_kernels = check_int_tuple("expert_kernels", expert_kernels, odd=True)
        self.fusion_kind = check_choice("fusion", fusion, FUSIONS)
        self.use_attention = check_bool("use_attention", use_attention)
        self.use_conv = check_bool("use_conv", use_conv)
        self.use_experts = check_bool("use_experts", use_experts)
        if not (self.use_attention or self.use_conv):
            raise ValueError(
                "use_attention and use_conv must not both be False: the layer needs at least "
                "one branch, got use_attention=False, use_conv=False."
            )
        p = check_probability("dropout", dropout)
        self.dropout = nn.Dropout(p)

        if self.use_attention:
            self.attn_norm = nn.LayerNorm(self.d_model)
            self.attn = nn.MultiheadAttention(
                self.d_model, self.n_heads, dropout=p, batch_first=True
            )
        if self.use_conv:
            self.conv_norm = nn.LayerNorm(self.d_model)
            self.conv = nn.Conv1d(
                self.d_model, self.d_model, self.conv_kernel, padding=self.conv_kernel // 2
            )
        self.fusion = (
            make_fusion(self.fusion_kind, self.d_model)
            if self.use_attention and self.use_conv
            else None
        )

        self.ffn_norm = nn.LayerNorm(self.d_model)
        if self.use_experts:
            self.ffn: nn.Module = KmerMixtureOfExperts(
                self.d_model, self.expert_kernels, top_k, ffn_dim, p, load_balancing
            )
        else:
            check_bool("load_balancing", load_balancing)
            self.ffn = PositionwiseFeedForward(self.d_model, ffn_dim, p)

    def _attention(self, x: Tensor, mask: Tensor) -> Tensor:
        # The functional form of ``self.attn(h, h, h, ...)``: the same call that module makes
        # in training, so training is unchanged. Calling it in eval mode too skips the module's
        # inference fast path, whose masked softmax made CPU prediction ~1.5x slower per layer.
        attn = self.attn
        h = self.attn_norm(x).transpose(0, 1)
        out, _ = F.multi_head_attention_forward(
            h,
            h,
            h,
            attn.embed_dim,
            attn.num_heads,
            attn.in_proj_weight,
            attn.in_proj_bias,
            attn.bias_k,
            attn.bias_v,
            attn.add_zero_attn,
            attn.dropout,
            attn.out_proj.weight,
            attn.out_proj.bias,
            training=attn.training,
            key_padding_mask=attention_padding_mask(mask),
            need_weights=False,
        )
        return self.dropout(out.transpose(0, 1))

    def _convolution(self, x: Tensor, mask: Tensor) -> Tensor:
        # LayerNorm's bias makes normalised pad rows non-zero: zero them before the conv.
        h = zero_padding(self.conv_norm(x), mask)
        h = self.conv(h.transpose(1, 2)).transpose(1, 2)
        return zero_padding(self.dropout(F.gelu(h)), mask)

    def mix(self, x: Tensor, mask: Tensor) -> tuple[Tensor, Tensor | None, Tensor | None]:
        """Token-mixing half of the layer, before the residual connection.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Layer input.
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions.

        Returns
        -------
        mixed : Tensor of shape (batch, length, d_model)
            Fused branch output.
        a : Tensor of shape (batch, length, d_model) or None
            Attention-branch output (None when switched off).
        c : Tensor of shape (batch, length, d_model) or None
            Convolution-branch output (None when switched off).
        """
        a = self._attention(x, mask) if self.use_attention else None
        c = self._convolution(x, mask) if self.use_conv else None
        if a is None:
            return c, a, c
        if c is None:
            return a, a, c
        return self.fusion(a, c, x), a, c

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Refine a sequence representation.

        Parameters
        ----------
        x : Tensor of shape (batch, length, d_model)
            Layer input (zero at padded positions).
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Layer output, exactly zero at padded positions.
        """
        mixed, _, _ = self.mix(x, mask)
        x = x + mixed
        h = self.ffn_norm(x)
        if self.use_experts:
            x = x + self.ffn(h, mask)
        else:
            x = x + self.ffn(h)
        return zero_padding(x, mask)

    @property
    def aux_loss(self) -> Tensor | None:
        """Load-balancing loss of the experts from the last forward (None without experts)."""
        return self.ffn.aux_loss if self.use_experts else None
