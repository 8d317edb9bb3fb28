"""Tests for frame-aware pooling."""

import torch

from sklearn_dynapro.nn import FramePooling


def test_frame_pooling_matches_a_hand_computed_example():
    # One sequence, 1 pad column then 5 real bases; two channels.
    # column:               0(pad)   1     2     3     4     5
    # index from 3' end:      -      4     3     2     1     0
    # frame (index mod 3):    -      1     0     2     1     0
    x = torch.tensor(
        [
            [
                [100.0, 0.0],  # pad: huge in channel 0, zero in channel 1
                [1.0, -1.0],
                [2.0, -2.0],
                [3.0, -3.0],
                [4.0, -4.0],
                [5.0, -5.0],
            ]
        ]
    )
    mask = torch.tensor([[True, False, False, False, False, False]])
    # frame 0 = columns 2, 5 -> max (5, -2), mean (3.5, -3.5)
    # frame 1 = columns 1, 4 -> max (4, -1), mean (2.5, -2.5)
    # frame 2 = column 3     -> max (3, -3), mean (3, -3)
    # Had the pad been included: channel 0 max would be 100; channel 1 max 0 and means shrink.
    expected = torch.tensor([[5.0, -2.0, 3.5, -3.5, 4.0, -1.0, 2.5, -2.5, 3.0, -3.0, 3.0, -3.0]])
    torch.testing.assert_close(FramePooling()(x, mask), expected)


def test_global_pooling_for_the_ablation():
    x = torch.tensor([[[9.0], [-1.0], [-3.0]]])
    mask = torch.tensor([[True, False, False]])
    pool = FramePooling(use_frames=False)
    assert pool.output_dim(1) == 2
    torch.testing.assert_close(pool(x, mask), torch.tensor([[-1.0, -2.0]]))


def test_sequences_shorter_than_three_give_zeros_for_empty_frames():
    x = torch.randn(3, 4, 2)
    mask = torch.tensor(
        [[True, True, True, False], [True, True, False, False], [True, True, True, True]]
    )
    out = FramePooling()(x, mask)
    assert out.shape == (3, 12) and torch.isfinite(out).all()
    # One base: only frame 0 is filled (max = mean = the base).
    torch.testing.assert_close(out[0, :4], torch.cat((x[0, 3], x[0, 3])))
    assert torch.all(out[0, 4:] == 0)
    # Two bases: frames 0 and 1 filled, frame 2 empty.
    torch.testing.assert_close(out[1, 4:8], torch.cat((x[1, 2], x[1, 2])))
    assert torch.all(out[1, 8:] == 0)
    assert torch.all(out[2] == 0)


def test_pooling_is_invariant_to_padding_amount_and_side():
    x = torch.randn(1, 7, 4)
    left = torch.cat((torch.full((1, 3, 4), 50.0), x), dim=1)
    right = torch.cat((x, torch.full((1, 2, 4), -50.0)), dim=1)
    pool = FramePooling()
    ref = pool(x, torch.zeros(1, 7, dtype=torch.bool))
    mask_left = torch.tensor([[True] * 3 + [False] * 7])
    mask_right = torch.tensor([[False] * 7 + [True] * 2])
    torch.testing.assert_close(pool(left, mask_left), ref)
    torch.testing.assert_close(pool(right, mask_right), ref)


def test_half_precision_stays_finite():
    x = torch.randn(2, 5, 3, dtype=torch.bfloat16)
    mask = torch.tensor([[True] * 4 + [False], [True] * 5])
    out = FramePooling()(x, mask)
    assert out.dtype == torch.bfloat16 and torch.isfinite(out).all()
