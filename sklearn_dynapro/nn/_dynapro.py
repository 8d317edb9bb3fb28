"""DynaProNet: the full network from tokens (+ features, + library) to predictions."""

from __future__ import annotations

from typing import Any

import torch
from torch import Tensor, nn

from ._backbone import UTRLMBackbone
from ._checks import check_bool, check_int, check_int_tuple, check_probability
from ._embedding import TokenEmbedding
from ._head import MultimodalHead
from ._masking import padding_mask, trim_padding, zero_padding
from ._parallel_layer import ParallelConvTransformerLayer
from ._pooling import FramePooling

__all__ = ["DynaProNet"]


class DynaProNet(nn.Module):
    """The UTR-DynaPro network, from 5' UTR tokens to translation predictions.

    Embedding (or a :class:`UTRLMBackbone`) → ``n_layers`` chained
    :class:`ParallelConvTransformerLayer` → :class:`FramePooling` → :class:`MultimodalHead`.

    Every hyper-parameter is a plain keyword argument, so skorch can route
    ``module__n_layers=...`` and grids or Optuna trials can set them directly.

    Unlike the public notebook, the refinement layers are chained (each reads the previous
    output), every expert convolves its k-mer neighbourhood, pooling ignores padding, and the
    biophysical features reach the head.

    Parameters
    ----------
    vocab_size : int, default=7
        Token ids: 0 PAD, 1 MASK, 2 N, then nucleotides (A=3, C=4, G=5, T=6) or k-mers.
    d_model : int, default=128
        Width of the refinement block.
    n_layers : int, default=3
        Parallel conv–transformer layers (0 pools the embedding directly).
    n_heads : int, default=16
        Attention heads per layer; must divide ``d_model``.
    conv_kernel : int, default=7
        Odd kernel width of the convolution branch.
    expert_kernels : sequence of int, default=(3, 5, 7, 9)
        Odd kernel width of each k-mer expert.
    top_k : int, default=2
        Experts used per position.
    ffn_dim : int, default=256
        Hidden width of the expert FFNs.
    dropout : float, default=0.1
        Dropout of the embedding and the refinement layers.
    head_dropout : float, default=0.2
        Dropout of the head MLP.
    fusion : {"gate", "dynamic"}, default="gate"
        Branch fusion (see :class:`ParallelConvTransformerLayer`).
    use_attention, use_conv, use_experts, use_frame_pooling : bool, default=True
        Ablation switches.
    load_balancing : bool, default=True
        Compute the experts' load-balancing loss into :attr:`aux_loss` at each forward. When
        False (or without experts) :attr:`aux_loss` is zero and costs nothing; the routing and
        the predictions are the same either way.
    n_features : int, default=0
        Number of biophysical features passed to :meth:`forward` (0 for none).
    n_libraries : int, default=0
        Width of the library one-hot passed to :meth:`forward` (0 for none).
    n_outputs : int, default=1
        Number of targets.
    backbone : bool, default=False
        Put a :class:`UTRLMBackbone` (with its own embedding) in front of the refinement
        block instead of a plain embedding.
    backbone_layers, backbone_dim, backbone_heads, backbone_ffn : int, default=6, 128, 16, 512
        Backbone shape; its output is projected to ``d_model`` when the widths differ.
    position : {"sinusoidal", "learned"}, default="sinusoidal"
        Position encoding (distance to the start codon).
    max_positions : int, default=1024
        Rows of the learned position table.
    head_dims : sequence of int, default=(40, 160, 40)
        Hidden widths of the head MLP.
    feature_dim : int, default=32
        Width of the feature projection.
    library_dim : int, default=8
        Width of the library projection.

    Attributes
    ----------
    aux_loss : Tensor of shape ()
        Sum of the experts' load-balancing losses from the last forward (0 without experts or
        with ``load_balancing=False``).
    """

    def __init__(
        self,
        vocab_size: int = 7,
        d_model: int = 128,
        n_layers: int = 3,
        n_heads: int = 16,
        conv_kernel: int = 7,
        expert_kernels: tuple[int, ...] = (3, 5, 7, 9),
        top_k: int = 2,
        ffn_dim: int = 256,
        dropout: float = 0.1,
        head_dropout: float = 0.2,
        fusion: str = "gate",
        use_attention: bool = True,
        use_conv: bool = True,
        use_experts: bool = True,
        use_frame_pooling: bool = True,
        load_balancing: bool = True,
        n_features: int = 0,
        n_libraries: int = 0,
        n_outputs: int = 1,
        backbone: bool = False,
        backbone_layers: int = 6,
        backbone_dim: int = 128,
        backbone_heads: int = 16,
        backbone_ffn: int = 512,
        position: str = "sinusoidal",
        max_positions: int = 1024,
        head_dims: tuple[int, ...] = (40, 160, 40),
        feature_dim: int = 32,
        library_dim: int = 8,
    ) -> None:
        super().__init__()
        self.vocab_size = check_int("vocab_size", vocab_size, minimum=3)
        self.d_model = check_int("d_model", d_model)
        self.n_layers = check_int("n_layers", n_layers, minimum=0)
        self.expert_kernels = check_int_tuple("expert_kernels", expert_kernels, odd=True)
        self.n_features = check_int("n_features", n_features, minimum=0)
        self.n_libraries = check_int("n_libraries", n_libraries, minimum=0)
        self.n_outputs = check_int("n_outputs", n_outputs)
        self.use_backbone = check_bool("backbone", backbone)
        self.use_experts = check_bool("use_experts", use_experts)
        self.load_balancing = check_bool("load_balancing", load_balancing)
        p = check_probability("dropout", dropout)
        check_probability("head_dropout", head_dropout)
        check_bool("use_frame_pooling", use_frame_pooling)

        if self.use_backbone:
            # Checked here so that messages name DynaProNet's arguments.
            width = check_int("backbone_dim", backbone_dim)
            heads = check_int("backbone_heads", backbone_heads)
            check_int("backbone_layers", backbone_layers)
            check_int("backbone_ffn", backbone_ffn)
            if width % heads:
                raise ValueError(
                    f"backbone_heads must divide backbone_dim, got backbone_dim={width}, "
                    f"backbone_heads={heads}."
                )
            self.backbone: UTRLMBackbone | None = UTRLMBackbone(
                self.vocab_size,
                backbone_dim,
                backbone_layers,
                backbone_heads,
                backbone_ffn,
                p,
                position,
                max_positions,
            )
            self.embedding: TokenEmbedding | None = None
            self.backbone_proj: nn.Module = (
                nn.Identity()
                if self.backbone.d_model == self.d_model
                else nn.Linear(self.backbone.d_model, self.d_model)
            )
        else:
            self.backbone = None
            self.embedding = TokenEmbedding(
                self.vocab_size, self.d_model, p, position, max_positions
            )
            self.backbone_proj = nn.Identity()

        self.layers = nn.ModuleList(
            ParallelConvTransformerLayer(
                self.d_model,
                n_heads,
                conv_kernel,
                self.expert_kernels,
                top_k,
                ffn_dim,
                p,
                fusion,
                use_attention,
                use_conv,
                self.use_experts,
                load_balancing,
            )
            for _ in range(self.n_layers)
        )
        # Pre-norm layers leave the residual stream un-normalised: normalise before pooling.
        self.norm = nn.LayerNorm(self.d_model)
        self.pooling = FramePooling(use_frame_pooling)
        self.head = MultimodalHead(
            self.pooling.output_dim(self.d_model),
            self.n_features,
            self.n_libraries,
            self.n_outputs,
            head_dims,
            head_dropout,
            feature_dim,
            library_dim,
        )
        self.aux_loss = torch.zeros(())

    def __getstate__(self) -> dict[str, Any]:
        # aux_loss usually belongs to the last autograd graph, which pickle and deepcopy
        # refuse; it is recomputed at the next forward.
        state = self.__dict__.copy()
        state["aux_loss"] = torch.zeros(())
        return state

    def _check_tokens(self, tokens: Tensor) -> None:
        if not isinstance(tokens, Tensor):
            raise TypeError(f"tokens must be a torch.Tensor, got {type(tokens).__name__}.")
        if tokens.dim() != 2:
            raise ValueError(
                f"tokens must be a tensor of shape (batch, length), got {tuple(tokens.shape)}."
            )
        if tokens.dtype not in (torch.int64, torch.int32, torch.int16, torch.int8, torch.uint8):
            raise TypeError(f"tokens must be an integer tensor, got dtype {tokens.dtype}.")
        if tokens.numel():
            low, high = int(tokens.min()), int(tokens.max())
            if low < 0 or high >= self.vocab_size:
                raise ValueError(
                    f"tokens must be ids in [0, vocab_size={self.vocab_size}), "
                    f"got values in [{low}, {high}]."
                )

    def encode(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """Per-position representation after the refinement block.

        Parameters
        ----------
        tokens : LongTensor of shape (batch, length)
            Left-padded token ids (0 = padding). Zero columns are read as one padding column.

        Returns
        -------
        hidden : Tensor of shape (batch, length, d_model)
            Normalised representation, zero at padded positions.
        mask : BoolTensor of shape (batch, length)
            ``True`` at padded positions.
        """
        self._check_tokens(tokens)
        return self._encode(tokens)

    def _encode(self, tokens: Tensor) -> tuple[Tensor, Tensor]:
        """:meth:`encode` on tokens already checked."""
        tokens = tokens.long()
        if tokens.shape[1] == 0:
            # No columns is padding only, and any width of padding gives the same output.
            tokens = tokens.new_zeros((len(tokens), 1))
        mask = padding_mask(tokens)
        if not len(tokens):
            # Attention cannot reshape an empty batch; its representation is empty too.
            self.aux_loss = torch.zeros(())
            return self.norm.weight.new_zeros((0, tokens.shape[1], self.d_model)), mask
        if self.backbone is not None:
            x = zero_padding(self.backbone_proj(self.backbone(tokens, mask)), mask)
        else:
            x = self.embedding(tokens, mask)
        aux = x.new_zeros((), dtype=torch.float32)
        for layer in self.layers:
            # Chained: each layer refines the previous layer's output.
            x = layer(x, mask)
            if self.use_experts:
                aux = aux + layer.aux_loss
        self.aux_loss = aux
        return zero_padding(self.norm(x), mask), mask

    def forward(
        self, tokens: Tensor, features: Tensor | None = None, library: Tensor | None = None
    ) -> Tensor:
        """Predict translation from token ids and optional side inputs.

        Parameters
        ----------
        tokens : LongTensor of shape (batch, length)
            Token ids, left-padded with 0 so the base before the start codon is the last column.
        features : FloatTensor of shape (batch, n_features), optional
            Standardised biophysical features; required iff ``n_features > 0``.
        library : FloatTensor of shape (batch, n_libraries), optional
            One-hot experiment indicator; required iff ``n_libraries > 0``.

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions. :attr:`aux_loss` holds the experts' load-balancing loss.

        Notes
        -----
        Columns that are padding in every row of the batch are dropped first: the output does
        not depend on 5' padding, and the trimmed batch costs less.
        """
        self._check_tokens(tokens)
        hidden, mask = self._encode(trim_padding(tokens))
        return self.head(self.pooling(hidden, mask), features, library)
