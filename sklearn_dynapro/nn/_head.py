"""Multimodal prediction head: pooled sequence + biophysical features + library indicator."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from ._checks import check_int, check_int_tuple, check_probability

__all__ = ["MultimodalHead"]


class MultimodalHead(nn.Module):
    """Join the pooled sequence vector with projected side inputs and regress the targets.

    ``z = [pooled; GELU(W_f features); W_l library]`` (side parts only when configured), then
    an MLP ``Linear(·, 40) → GELU → Dropout → Linear(40, 160) → GELU → Dropout →
    Linear(160, 40) → GELU → Linear(40, n_outputs)`` for ``head_dims=(40, 160, 40)``: a GELU
    after every hidden layer and dropout after all but the last one.

    Parameters
    ----------
    in_dim : int
        Width of the pooled sequence vector.
    n_features : int, default=0
        Number of biophysical features; 0 for none.
    n_libraries : int, default=0
        Width of the library one-hot; 0 for none.
    n_outputs : int, default=1
        Number of targets.
    head_dims : sequence of int, default=(40, 160, 40)
        Hidden widths of the MLP (may be empty for a linear head).
    dropout : float, default=0.2
        Dropout of the MLP.
    feature_dim : int, default=32
        Width of the feature projection.
    library_dim : int, default=8
        Width of the library projection.
    """

    def __init__(
        self,
        in_dim: int,
        n_features: int = 0,
        n_libraries: int = 0,
        n_outputs: int = 1,
        head_dims: tuple[int, ...] = (40, 160, 40),
        dropout: float = 0.2,
        feature_dim: int = 32,
        library_dim: int = 8,
    ) -> None:
        super().__init__()
        self.in_dim = check_int("in_dim", in_dim)
        self.n_features = check_int("n_features", n_features, minimum=0)
        self.n_libraries = check_int("n_libraries", n_libraries, minimum=0)
        self.n_outputs = check_int("n_outputs", n_outputs)
        self.head_dims = check_int_tuple("head_dims", head_dims, allow_empty=True)
        p = check_probability("dropout", dropout)
        width = self.in_dim
        self.feature_proj: nn.Module | None = None
        if self.n_features:
            dim = check_int("feature_dim", feature_dim)
            self.feature_proj = nn.Sequential(nn.Linear(self.n_features, dim), nn.GELU())
            width += dim
        self.library_proj: nn.Module | None = None
        if self.n_libraries:
            dim = check_int("library_dim", library_dim)
            # A linear map of a one-hot is a learned vector per library.
            self.library_proj = nn.Linear(self.n_libraries, dim)
            width += dim
        layers: list[nn.Module] = []
        for i, hidden in enumerate(self.head_dims):
            layers += [nn.Linear(width, hidden), nn.GELU()]
            if i < len(self.head_dims) - 1:
                layers.append(nn.Dropout(p))
            width = hidden
        layers.append(nn.Linear(width, self.n_outputs))
        self.mlp = nn.Sequential(*layers)

    @staticmethod
    def _check_side_input(
        arg: str, param: str, value: Tensor | None, expected: int, batch: int
    ) -> None:
        if expected == 0:
            if value is not None:
                raise ValueError(
                    f"{arg} must be None because the network was built with {param}=0, "
                    f"got a tensor of shape {tuple(value.shape)}."
                )
            return
        if value is None:
            raise ValueError(
                f"{arg} must be a tensor of shape (batch, {expected}) because the network "
                f"was built with {param}={expected}, got None."
            )
        if value.dim() != 2 or value.shape[0] != batch or value.shape[1] != expected:
            raise ValueError(
                f"{arg} must be a tensor of shape ({batch}, {expected}), got {tuple(value.shape)}."
            )

    def forward(
        self, pooled: Tensor, features: Tensor | None = None, library: Tensor | None = None
    ) -> Tensor:
        """Predict the targets.

        Parameters
        ----------
        pooled : Tensor of shape (batch, in_dim)
            Pooled sequence vector.
        features : FloatTensor of shape (batch, n_features), optional
            Standardised biophysical features; required iff ``n_features > 0``.
        library : FloatTensor of shape (batch, n_libraries), optional
            One-hot experiment indicator; required iff ``n_libraries > 0``.

        Returns
        -------
        Tensor of shape (batch, n_outputs)
            Predictions.
        """
        batch = pooled.shape[0]
        self._check_side_input("features", "n_features", features, self.n_features, batch)
        self._check_side_input("library", "n_libraries", library, self.n_libraries, batch)
        parts = [pooled]
        if self.feature_proj is not None:
            parts.append(self.feature_proj(features.to(pooled.dtype)))
        if self.library_proj is not None:
            parts.append(self.library_proj(library.to(pooled.dtype)))
        return self.mlp(torch.cat(parts, dim=-1))
