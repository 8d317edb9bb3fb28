"""Tests for the position-wise feed-forward network."""

import torch

from sklearn_dynapro.nn import PositionwiseFeedForward


def test_feedforward_is_positionwise():
    ffn = PositionwiseFeedForward(d_model=8, ffn_dim=16, dropout=0.0)
    x = torch.randn(2, 5, 8)
    out = ffn(x)
    assert out.shape == (2, 5, 8)
    x2 = x.clone()
    x2[:, 0] += 1.0
    out2 = ffn(x2)
    torch.testing.assert_close(out2[:, 1:], out[:, 1:])
    assert not torch.allclose(out2[:, 0], out[:, 0])
