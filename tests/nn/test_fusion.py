"""Tests for the branch fusions (sigmoid gate and dynamic branch attention)."""

import pytest
import torch

from sklearn_dynapro.nn import DynamicFusion, GatedFusion, ParallelConvTransformerLayer
from sklearn_dynapro.nn._fusion import make_fusion


def test_gate_has_shape_b_l_d_and_values_strictly_between_0_and_1():
    fusion = GatedFusion(d_model=8)
    a, c = torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    g = fusion.weights(a, c)
    assert g.shape == (2, 5, 8)
    assert torch.all(g > 0) and torch.all(g < 1)
    torch.testing.assert_close(fusion(a, c), g * a + (1 - g) * c)
    # Per position and channel: it varies along both, and a change at one position moves
    # the gate there only (a gate pooled over the sequence or shared by channels would not).
    assert g.std(dim=1).min() > 0 and g.std(dim=2).min() > 0
    a2 = a.clone()
    a2[:, 3] += 1.0
    moved = (fusion.weights(a2, c) - g).abs().amax(dim=-1)
    assert torch.all(moved[:, 3] > 0)
    assert torch.all(moved[:, [0, 1, 2, 4]] == 0)


def test_gate_inside_a_layer_is_per_position_and_channel():
    layer = ParallelConvTransformerLayer(d_model=8, n_heads=2, ffn_dim=16).eval()
    captured = {}
    layer.fusion.register_forward_hook(
        lambda module, args, out: captured.update(g=module.weights(*args))
    )
    layer(torch.randn(3, 7, 8), torch.zeros(3, 7, dtype=torch.bool))
    g = captured["g"]
    assert g.shape == (3, 7, 8)
    assert torch.all(g > 0) and torch.all(g < 1)


def test_dynamic_fusion_weights_branches_per_position():
    fusion = DynamicFusion(d_model=8)
    a, c, x = torch.randn(2, 5, 8), torch.randn(2, 5, 8), torch.randn(2, 5, 8)
    w = fusion.weights(a, c, x)
    assert w.shape == (2, 5, 2)
    assert torch.all(w > 0)
    torch.testing.assert_close(w.sum(-1), torch.ones(2, 5))
    torch.testing.assert_close(fusion(a, c, x), w[..., :1] * a + w[..., 1:] * c)
    # The query comes from the layer input: a different input gives different weights.
    assert not torch.allclose(fusion.weights(a, c, torch.randn(2, 5, 8)), w)


def test_make_fusion_rejects_unknown_names():
    assert isinstance(make_fusion("gate", 4), GatedFusion)
    with pytest.raises(ValueError, match=r"fusion must be one of 'gate', 'dynamic', got 'add'\."):
        make_fusion("add", 4)
