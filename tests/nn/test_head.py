"""Tests for the multimodal head."""

import pytest
import torch
from torch import nn

from sklearn_dynapro.nn import MultimodalHead


def test_default_mlp_layout():
    head = MultimodalHead(in_dim=12)
    kinds = [type(m).__name__ for m in head.mlp]
    assert kinds == [
        "Linear", "GELU", "Dropout",
        "Linear", "GELU", "Dropout",
        "Linear", "GELU",
        "Linear",
    ]  # fmt: skip
    widths = [(m.in_features, m.out_features) for m in head.mlp if isinstance(m, nn.Linear)]
    assert widths == [(12, 40), (40, 160), (160, 40), (40, 1)]
    assert head.mlp[2].p == 0.2


def test_features_and_library_reach_the_output():
    head = MultimodalHead(in_dim=6, n_features=3, n_libraries=2, n_outputs=2).eval()
    pooled = torch.randn(4, 6)
    features = torch.randn(4, 3)
    library = torch.eye(2)[[0, 1, 0, 1]]
    out = head(pooled, features, library)
    assert out.shape == (4, 2)
    assert not torch.allclose(head(pooled, features + 1.0, library), out)
    assert not torch.allclose(head(pooled, features, library.flip(-1)), out)


def test_linear_head_when_no_hidden_layers():
    head = MultimodalHead(in_dim=5, head_dims=())
    assert len(head.mlp) == 1 and head(torch.randn(2, 5)).shape == (2, 1)


def test_side_inputs_are_checked():
    head = MultimodalHead(in_dim=4, n_features=3)
    with pytest.raises(ValueError, match=r"features must be a tensor of shape \(batch, 3\)"):
        head(torch.randn(2, 4))
    with pytest.raises(ValueError, match=r"features must be a tensor of shape \(2, 3\), got"):
        head(torch.randn(2, 4), torch.randn(2, 5))
    with pytest.raises(ValueError, match="library must be None because the network was built"):
        head(torch.randn(2, 4), torch.randn(2, 3), torch.ones(2, 1))
