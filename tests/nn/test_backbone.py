"""Tests for the UTR-LM-shaped backbone."""

import pytest
import torch

from sklearn_dynapro.nn import UTRLMBackbone


def _small(**kwargs):
    params = {"d_model": 16, "n_layers": 2, "n_heads": 4, "ffn_dim": 32}
    params.update(kwargs)
    return UTRLMBackbone(**params)


def test_defaults_follow_utr_lm():
    backbone = UTRLMBackbone()
    layer = backbone.encoder.layers[0]
    assert len(backbone.encoder.layers) == 6
    assert backbone.d_model == 128 and layer.self_attn.num_heads == 16
    assert layer.linear1.out_features == 512 and layer.norm_first


def test_output_shape_padding_and_invariance(make_tokens, add_padding):
    backbone = _small().eval()
    tokens = make_tokens([6, 2, 1], width=6)
    out = backbone(tokens)
    assert out.shape == (3, 6, 16) and torch.isfinite(out).all()
    assert torch.all(out[tokens == 0] == 0)
    torch.testing.assert_close(backbone(add_padding(tokens, 3))[:, 3:], out)


def test_embedding_is_exposed_for_pretrained_weights():
    backbone = _small()
    keys = backbone.state_dict().keys()
    assert "embedding.tokens.weight" in keys
    assert "encoder.layers.0.self_attn.in_proj_weight" in keys
    assert "norm.weight" in keys


def test_heads_must_divide_width():
    with pytest.raises(
        ValueError, match=r"n_heads must divide d_model, got d_model=20, n_heads=16\."
    ):
        UTRLMBackbone(d_model=20, n_heads=16)
