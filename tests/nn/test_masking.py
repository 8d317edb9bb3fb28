"""Tests for the padding-mask helpers."""

import torch

from sklearn_dynapro.nn import distance_to_3prime, padding_mask, zero_padding
from sklearn_dynapro.nn._masking import attention_padding_mask, trim_padding


def test_padding_mask_marks_pad_id_zero():
    tokens = torch.tensor([[0, 0, 3, 4], [5, 6, 3, 1]])
    expected = torch.tensor([[True, True, False, False], [False, False, False, False]])
    assert torch.equal(padding_mask(tokens), expected)


def test_distance_to_3prime_counts_from_last_real_base():
    mask = padding_mask(torch.tensor([[0, 0, 3, 4, 5], [3, 4, 5, 6, 3]]))
    expected = torch.tensor([[0, 0, 2, 1, 0], [4, 3, 2, 1, 0]])
    assert torch.equal(distance_to_3prime(mask), expected)


def test_distance_to_3prime_ignores_amount_and_side_of_padding():
    left = padding_mask(torch.tensor([[0, 0, 0, 3, 4, 5]]))
    right = padding_mask(torch.tensor([[3, 4, 5, 0]]))
    assert torch.equal(distance_to_3prime(left)[0, 3:], torch.tensor([2, 1, 0]))
    assert torch.equal(distance_to_3prime(right)[0, :3], torch.tensor([2, 1, 0]))


def test_zero_padding_clears_nan_and_inf_at_pad():
    x = torch.tensor([[[float("nan")], [float("inf")], [2.0]]])
    mask = torch.tensor([[True, True, False]])
    assert torch.equal(zero_padding(x, mask), torch.tensor([[[0.0], [0.0], [2.0]]]))


def test_attention_padding_mask_lifts_only_all_padding_rows():
    mask = torch.tensor([[True, False], [True, True]])
    assert torch.equal(attention_padding_mask(mask), torch.tensor([[True, False], [False, False]]))


def test_trim_padding_drops_only_columns_padded_in_every_row():
    tokens = torch.tensor([[0, 0, 0, 3, 4], [0, 0, 5, 6, 3]])
    assert torch.equal(trim_padding(tokens), tokens[:, 2:])
    full = torch.tensor([[3, 0, 4], [0, 0, 5]])  # a row starting with a real token: no trim
    assert torch.equal(trim_padding(full), full)
    empty = torch.zeros(2, 4, dtype=torch.long)  # nothing real: left as it is
    assert torch.equal(trim_padding(empty), empty)
    assert trim_padding(torch.zeros(2, 0, dtype=torch.long)).shape == (2, 0)
