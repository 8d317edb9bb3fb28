"""Tests for the token embedding and its start-codon-anchored position encoding."""

import pytest
import torch

from sklearn_dynapro.nn import TokenEmbedding, padding_mask, sinusoidal_encoding


@pytest.mark.parametrize("position", ["sinusoidal", "learned"])
def test_extra_padding_leaves_real_positions_unchanged(position, make_tokens, add_padding):
    emb = TokenEmbedding(vocab_size=7, d_model=8, position=position, max_positions=32).eval()
    tokens = make_tokens([5, 3], width=6)
    out = emb(tokens)
    padded = emb(add_padding(tokens, 4))
    assert out.shape == (2, 6, 8)
    torch.testing.assert_close(padded[:, 4:], out)
    assert torch.all(padded[:, :4] == 0)
    assert torch.all(out[padding_mask(tokens)] == 0)


def test_position_zero_is_the_base_before_the_start_codon():
    emb = TokenEmbedding(vocab_size=7, d_model=6, dropout=0.0).eval()
    tokens = torch.tensor([[0, 0, 3, 3], [3, 3, 3, 3]])
    out = emb(tokens)
    base = emb.tokens.weight[3]
    pe = sinusoidal_encoding(torch.arange(4).flip(0).unsqueeze(0), 6)[0]
    torch.testing.assert_close(out[1], base + pe)
    torch.testing.assert_close(out[0, 2:], base + pe[2:])
    # Position 0 of the sinusoidal code is sin(0)=0 / cos(0)=1 alternating.
    torch.testing.assert_close(pe[-1], torch.tensor([0.0, 1.0] * 3))


def test_sinusoidal_handles_odd_width_and_long_sequences():
    pe = sinusoidal_encoding(torch.arange(5000).unsqueeze(0), 7)
    assert pe.shape == (1, 5000, 7) and torch.isfinite(pe).all()


def test_learned_positions_reject_too_long_sequences():
    emb = TokenEmbedding(vocab_size=7, d_model=4, position="learned", max_positions=3)
    emb(torch.tensor([[0, 0, 3, 4, 5]]))  # 3 real tokens fit
    with pytest.raises(ValueError, match="at most max_positions=3 real tokens"):
        emb(torch.tensor([[3, 4, 5, 6]]))


def test_invalid_position_name():
    with pytest.raises(ValueError, match="position must be one of 'sinusoidal', 'learned'"):
        TokenEmbedding(position="rotary")
