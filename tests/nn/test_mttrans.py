"""Tests for the MTtrans network: shared encoder, one GRU tower per library."""

import pytest
import torch
from torch import nn

from sklearn_dynapro.nn import MTtransNet

TINY = {"conv_channels": (6, 6, 8, 8), "tower_hidden": 5, "dropout": 0.0}


def right_aligned(lengths: list[int], width: int) -> torch.Tensor:
    """Random one-hot rows of the given lengths, 5'-padded with zeros to ``width``."""
    x = torch.zeros(len(lengths), 4, width)
    for row, n in enumerate(lengths):
        bases = torch.randint(0, 4, (n,))
        x[row, :, width - n :] = nn.functional.one_hot(bases, 4).T.float()
    return x


def left_pad(x: torch.Tensor, extra: int) -> torch.Tensor:
    return torch.cat((x.new_zeros(x.shape[0], x.shape[1], extra), x), dim=-1)


def test_default_layout():
    net = MTtransNet(n_libraries=3)
    assert len(net.convs) == 4 and len(net.norms) == 4
    assert [c.out_channels for c in net.convs] == [128, 256, 256, 256]
    assert [c.stride for c in net.convs] == [(1,), (2,), (2,), (2,)]
    assert not any(isinstance(m, nn.MaxPool1d | nn.AvgPool1d) for m in net.modules())
    assert len(net.towers) == 3
    gru = net.towers[0].gru
    assert (gru.input_size, gru.hidden_size, gru.num_layers) == (256, 80, 2)
    assert net.towers[0].out.in_features == 80
    assert net.dropout.p == 0.2


def test_shapes_and_encoded_lengths():
    net = MTtransNet(**TINY, n_outputs=2).eval()
    lengths = torch.tensor([50, 25, 9])
    x = right_aligned(lengths.tolist(), 50)
    z, z_len = net.encode(x, lengths)
    assert z.shape == (3, 7, 8)  # 50 -> 50 -> 25 -> 13 -> 7
    assert z_len.tolist() == [7, 4, 2]  # ceil divisions by 1, 2, 2, 2
    assert torch.all(z[1, 4:] == 0) and torch.all(z[2, 2:] == 0)
    assert net(x, lengths).shape == (3, 2)


@pytest.mark.parametrize("strides", [(1, 1, 1, 1), (1, 2, 2, 2)])
def test_extra_5prime_padding_does_not_change_the_output(strides):
    net = MTtransNet(**TINY, strides=strides, n_libraries=2).eval()
    lengths = torch.tensor([30, 17, 8, 1])
    x = right_aligned(lengths.tolist(), 30)
    library = torch.tensor([0, 1, 1, 0])
    ref = net(x, lengths, library)
    for extra in (1, 2, 13):
        torch.testing.assert_close(net(left_pad(x, extra), lengths, library), ref)


def test_batch_statistics_ignore_padding_in_training():
    net = MTtransNet(**TINY).train()
    lengths = torch.tensor([20, 11, 6])
    x = right_aligned(lengths.tolist(), 20)
    torch.testing.assert_close(net(left_pad(x, 9), lengths), net(x, lengths))


def test_a_one_row_training_batch_of_a_short_utr_trains():
    # 8 nt reach the last block (strides 1-2-2-2) as one position: one value per channel,
    # which batch norm cannot take a variance of. The running statistics stand in.
    net = MTtransNet(**TINY).train()
    lengths = torch.tensor([8])
    out = net(right_aligned([8], 8), lengths)
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())


def test_rows_are_routed_to_their_library_tower():
    net = MTtransNet(**TINY, n_libraries=2).eval()
    lengths = torch.tensor([12, 12, 9, 5])
    x = right_aligned(lengths.tolist(), 12)
    library = torch.tensor([0, 1, 0, 1])
    out = net(x, lengths, library)
    # Each row alone, in the library it belongs to, gives the same value.
    for row in range(4):
        alone = net(x[row : row + 1], lengths[row : row + 1], library[row : row + 1])
        torch.testing.assert_close(out[row : row + 1], alone)
    # Changing tower 1 leaves library-0 rows alone and moves library-1 rows.
    with torch.no_grad():
        for p in net.towers[1].parameters():
            p.add_(0.5)
    moved = net(x, lengths, library)
    torch.testing.assert_close(moved[library == 0], out[library == 0])
    assert not torch.allclose(moved[library == 1], out[library == 1])


def test_a_batch_of_one_library_trains_only_that_tower():
    net = MTtransNet(**TINY, n_libraries=3).train()
    lengths = torch.tensor([10, 7])
    net(right_aligned([10, 7], 10), lengths, torch.tensor([2, 2])).sum().backward()
    assert all(p.grad is None for p in net.towers[0].parameters())
    assert all(p.grad is None for p in net.towers[1].parameters())
    assert all(p.grad is not None for p in net.towers[2].parameters())
    assert net.convs[0].weight.grad is not None


def test_library_defaults_to_zero_and_is_checked():
    net = MTtransNet(**TINY, n_libraries=2).eval()
    x, lengths = right_aligned([6, 6], 6), torch.tensor([6, 6])
    torch.testing.assert_close(net(x, lengths), net(x, lengths, torch.tensor([0, 0])))
    with pytest.raises(ValueError, match=r"library must hold indices in \[0, 2\), got \[2\]"):
        net(x, lengths, torch.tensor([0, 2]))
    with pytest.raises(ValueError, match="length must be at least 1"):
        net(x, torch.tensor([6, 0]))


def test_bad_arguments():
    with pytest.raises(ValueError, match="strides must give one stride per convolution"):
        MTtransNet(conv_channels=(8, 8), strides=(1, 2, 2))
    with pytest.raises(ValueError, match="kernel_size must be odd, got 4"):
        MTtransNet(kernel_size=4)
    with pytest.raises(ValueError, match="n_libraries must be an int >= 1, got 0"):
        MTtransNet(n_libraries=0)
