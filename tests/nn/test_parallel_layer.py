"""Tests for the parallel convolution–transformer layer."""

import pytest
import torch

from sklearn_dynapro.nn import (
    KmerMixtureOfExperts,
    ParallelConvTransformerLayer,
    PositionwiseFeedForward,
)

D = 8


def _layer(**kwargs):
    params = {"d_model": D, "n_heads": 2, "ffn_dim": 16}
    params.update(kwargs)
    return ParallelConvTransformerLayer(**params).eval()


def _mask(batch, length, pads):
    mask = torch.zeros(batch, length, dtype=torch.bool)
    for row, n in enumerate(pads):
        mask[row, :n] = True
    return mask


@pytest.mark.parametrize(
    "flags",
    [
        {},
        {"fusion": "dynamic"},
        {"use_attention": False},
        {"use_conv": False},
        {"use_experts": False},
    ],
)
def test_padding_never_leaks_into_real_positions(flags):
    layer = _layer(**flags)
    mask = _mask(2, 10, [4, 0])
    x = torch.randn(2, 10, D).masked_fill(mask.unsqueeze(-1), 0.0)
    out = layer(x, mask)
    assert out.shape == (2, 10, D)
    assert torch.all(out[mask] == 0)
    garbage = x.clone()
    # Random, not constant: LayerNorm maps a constant row to its (zero) bias.
    garbage[mask] = 100.0 * torch.randn(int(mask.sum()), D)
    torch.testing.assert_close(layer(garbage, mask)[~mask], out[~mask])


def test_extra_left_padding_does_not_change_real_outputs():
    layer = _layer()
    mask = _mask(2, 9, [3, 0])
    x = torch.randn(2, 9, D).masked_fill(mask.unsqueeze(-1), 0.0)
    out = layer(x, mask)
    padded_x = torch.cat((torch.zeros(2, 5, D), x), dim=1)
    padded_mask = torch.cat((torch.ones(2, 5, dtype=torch.bool), mask), dim=1)
    torch.testing.assert_close(layer(padded_x, padded_mask)[:, 5:], out)


def test_conv_branch_reaches_conv_kernel_half_width():
    layer = _layer(use_attention=False)
    mask = _mask(1, 21, [0])
    x = torch.randn(1, 21, D)
    near, far = x.clone(), x.clone()
    near[0, 13] += torch.randn(D)  # 3 = 7 // 2 from position 10
    far[0, 14] += torch.randn(D)
    base = layer.mix(x, mask)[0][0, 10]
    assert not torch.allclose(layer.mix(near, mask)[0][0, 10], base)
    torch.testing.assert_close(layer.mix(far, mask)[0][0, 10], base)


def test_single_branch_is_used_alone_without_a_gate():
    attention_only = _layer(use_conv=False)
    conv_only = _layer(use_attention=False)
    assert attention_only.fusion is None and conv_only.fusion is None
    x, mask = torch.randn(2, 6, D), _mask(2, 6, [0, 2])
    mixed, a, c = attention_only.mix(x, mask)
    assert c is None and torch.equal(mixed, a)
    mixed, a, c = conv_only.mix(x, mask)
    assert a is None and torch.equal(mixed, c)


def test_use_experts_switches_between_moe_and_ffn():
    assert isinstance(_layer().ffn, KmerMixtureOfExperts)
    plain = _layer(use_experts=False)
    assert isinstance(plain.ffn, PositionwiseFeedForward) and plain.aux_loss is None


def test_all_padding_rows_stay_finite():
    layer = _layer()
    mask = _mask(2, 4, [4, 0])
    out = layer(torch.randn(2, 4, D).masked_fill(mask.unsqueeze(-1), 0.0), mask)
    assert torch.isfinite(out).all() and torch.all(out[0] == 0)


def test_invalid_arguments():
    with pytest.raises(
        ValueError, match=r"n_heads must divide d_model, got d_model=60, n_heads=16\."
    ):
        ParallelConvTransformerLayer(d_model=60, n_heads=16)
    with pytest.raises(ValueError, match="use_attention and use_conv must not both be False"):
        ParallelConvTransformerLayer(d_model=8, n_heads=2, use_attention=False, use_conv=False)
    with pytest.raises(ValueError, match="conv_kernel must be a sequence of odd integers"):
        ParallelConvTransformerLayer(d_model=8, n_heads=2, conv_kernel=6)


@pytest.mark.parametrize("mode", ["train", "eval"])
def test_attention_branch_is_the_attention_modules_own_computation(mode):
    # The branch calls the functional form of ``layer.attn``; it must compute what the module
    # computes: bit for bit in training (same dropout draws), and to rounding in inference,
    # where the module would take its fast path instead.
    layer = _layer(n_heads=2, dropout=0.3)
    getattr(layer, mode)()
    mask = _mask(3, 9, [4, 0, 9])
    x = torch.randn(3, 9, D)

    def module_call():
        h = layer.attn_norm(x)
        key_mask = mask & ~mask.all(dim=-1, keepdim=True)
        out, _ = layer.attn(h, h, h, key_padding_mask=key_mask, need_weights=False)
        return layer.dropout(out)

    with torch.set_grad_enabled(mode == "train"):
        torch.manual_seed(5)
        expected = module_call()
        torch.manual_seed(5)
        got = layer._attention(x, mask)
    if mode == "train":
        assert torch.equal(got, expected)
    else:
        torch.testing.assert_close(got, expected)
