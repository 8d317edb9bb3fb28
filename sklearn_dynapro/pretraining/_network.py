"""The pre-training network: a :class:`UTRLMBackbone` with UTR-LM's three heads."""

from __future__ import annotations

from torch import Tensor, nn

from ..nn import UTRLMBackbone, padding_mask
from ._structure import STRUCTURE_CLASSES

__all__ = ["PretrainingNet", "mean_pool"]


def mean_pool(hidden: Tensor, mask: Tensor) -> Tensor:
    """Mean over the real positions.

    Parameters
    ----------
    hidden : Tensor of shape (batch, length, channels)
        Per-position values, zero at padded positions.
    mask : BoolTensor of shape (batch, length)
        ``True`` at padded positions.

    Returns
    -------
    Tensor of shape (batch, channels)
    """
    count = (~mask).sum(dim=1, keepdim=True).clamp(min=1)
    return hidden.sum(dim=1) / count.to(hidden.dtype)


class PretrainingNet(nn.Module):
    """UTR-LM pre-training network: backbone + masked-token, MFE and structure heads.

    Parameters
    ----------
    vocab_size, d_model, n_layers, n_heads, ffn_dim, dropout, position, max_positions
        Passed to :class:`~sklearn_dynapro.nn.UTRLMBackbone` (attribute ``backbone``; its
        ``state_dict`` is what fine-tuning loads).
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
        self.backbone = UTRLMBackbone(
            vocab_size, d_model, n_layers, n_heads, ffn_dim, dropout, position, max_positions
        )
        # BERT's prediction head: a non-linear transform before the vocabulary projection.
        self.token_head = nn.Sequential(
            nn.Linear(d_model, d_model), nn.GELU(), nn.LayerNorm(d_model),
            nn.Linear(d_model, vocab_size),
        )  # fmt: skip
        self.mfe_head = nn.Sequential(nn.Linear(d_model, d_model), nn.GELU(), nn.Linear(d_model, 1))
        self.structure_head = nn.Linear(d_model, len(STRUCTURE_CLASSES))

    def forward(self, tokens: Tensor) -> tuple[Tensor, Tensor, Tensor]:
        """Predict the original tokens, the MFE and the per-position structure class.

        Parameters
        ----------
        tokens : LongTensor of shape (batch, length)
            Left-padded (possibly corrupted) token ids.

        Returns
        -------
        token_logits : Tensor of shape (batch, length, vocab_size)
        mfe : Tensor of shape (batch,)
            Standardised minimum free energy, from the mean over real positions.
        structure_logits : Tensor of shape (batch, length, 3)
            Classes in the order of :data:`STRUCTURE_CLASSES`.
        """
        mask = padding_mask(tokens)
        hidden = self.backbone(tokens, mask)
        mfe = self.mfe_head(mean_pool(hidden, mask)).squeeze(-1)
        return self.token_head(hidden), mfe, self.structure_head(hidden)
