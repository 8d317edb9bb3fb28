"""UTR-LM-shaped transformer encoder, usable as a (pre-trainable) language-model backbone."""

from __future__ import annotations

from torch import Tensor, nn

from ._checks import check_int, check_probability
from ._embedding import TokenEmbedding
from ._masking import attention_padding_mask, padding_mask, zero_padding

__all__ = ["UTRLMBackbone"]


class UTRLMBackbone(nn.Module):
    """Pre-norm transformer encoder over UTR tokens, shaped like UTR-LM.

    The defaults follow UTR-LM (Chu et al. 2024): 6 layers, width 128, 16 heads, FFN 512. The
    module carries its own :class:`TokenEmbedding` (attribute ``embedding``) so that weights
    pre-trained with masked-token, MFE or structure objectives can be loaded into it as a
    whole; inside :class:`DynaProNet` its ``state_dict`` keys start with ``backbone.``
    (``backbone.embedding.*``, ``backbone.encoder.layers.<i>.*``, ``backbone.norm.*``).

    Parameters
    ----------
    vocab_size : int, default=7
        Number of token ids.
    d_model : int, default=128
        Encoder width.
    n_layers : int, default=6
        Transformer layers.
    n_heads : int, default=16
        Attention heads; must divide ``d_model``.
    ffn_dim : int, default=512
        Feed-forward width.
    dropout : float, default=0.1
        Dropout of the embedding and of every layer.
    position : {"sinusoidal", "learned"}, default="sinusoidal"
        Position encoding of the embedding (distance to the start codon).
    max_positions : int, default=1024
        Rows of the learned position table.
    """

    def __init__(
        self,
        vocab_size: int = 7,
        d_model: int = 128,
        n_layers: int = 6,
        n_heads: int = 16,
        ffn_dim: int = 512,
        dropout: float = 0.1,
        position: str = "sinusoidal",
        max_positions: int = 1024,
    ) -> None:
        super().__init__()
        self.d_model = check_int("d_model", d_model)
        self.n_layers = check_int("n_layers", n_layers)
        self.n_heads = check_int("n_heads", n_heads)
        if self.d_model % self.n_heads:
            raise ValueError(
                f"n_heads must divide d_model, got d_model={self.d_model}, n_heads={self.n_heads}."
            )
        self.ffn_dim = check_int("ffn_dim", ffn_dim)
        p = check_probability("dropout", dropout)
        self.embedding = TokenEmbedding(vocab_size, self.d_model, p, position, max_positions)
        layer = nn.TransformerEncoderLayer(
            self.d_model,
            self.n_heads,
            self.ffn_dim,
            dropout=p,
            activation="gelu",
            batch_first=True,
            norm_first=True,
        )
        # Nested tensors are unavailable with norm_first; disabling them avoids a warning.
        self.encoder = nn.TransformerEncoder(layer, self.n_layers, enable_nested_tensor=False)
        # Pre-norm stacks leave the residual stream un-normalised: close with a LayerNorm.
        self.norm = nn.LayerNorm(self.d_model)

    def forward(self, tokens: Tensor, mask: Tensor | None = None) -> Tensor:
        """Encode a batch of token ids.

        Parameters
        ----------
        tokens : LongTensor of shape (batch, length)
            Left-padded token ids.
        mask : BoolTensor of shape (batch, length), optional
            ``True`` at padded positions; computed from ``tokens`` when omitted.

        Returns
        -------
        Tensor of shape (batch, length, d_model)
            Contextual embeddings, zero at padded positions.
        """
        if mask is None:
            mask = padding_mask(tokens)
        x = self.embedding(tokens, mask)
        x = self.encoder(x, src_key_padding_mask=attention_padding_mask(mask))
        return zero_padding(self.norm(x), mask)
