"""Tests for the FramePool network."""

import pytest
import torch
from torch import nn

from sklearn_dynapro.nn import FramePoolNet, lengths_to_padding_mask


def right_aligned(lengths: list[int], width: int) -> torch.Tensor:
    """Random one-hot rows of the given lengths, 5'-padded with zeros to ``width``."""
    x = torch.zeros(len(lengths), 4, width)
    for row, n in enumerate(lengths):
        bases = torch.randint(0, 4, (n,))
        x[row, :, width - n :] = nn.functional.one_hot(bases, 4).T.float()
    return x


def left_pad(x: torch.Tensor, extra: int, value: float = 0.0) -> torch.Tensor:
    return torch.cat((torch.full((x.shape[0], x.shape[1], extra), value), x), dim=-1)


def test_lengths_to_padding_mask():
    mask = lengths_to_padding_mask(torch.tensor([3, 0, 5]), 5)
    expected = torch.tensor(
        [[True, True, False, False, False], [True] * 5, [False] * 5],
    )
    assert torch.equal(mask, expected)
    with pytest.raises(ValueError, match=r"length must lie in \[0, 5\]"):
        lengths_to_padding_mask(torch.tensor([6]), 5)


def test_default_layout_and_output_shape():
    net = FramePoolNet().eval()
    assert [(c.out_channels, c.kernel_size, c.padding) for c in net.convs] == [
        (128, (7,), (3,)),
    ] * 3
    assert net.head[0].in_features == 6 * 128
    x = right_aligned([50, 30, 7], 50)
    assert net(x, torch.tensor([50, 30, 7])).shape == (3, 1)


@pytest.mark.parametrize("residual", [True, False])
def test_extra_5prime_padding_does_not_change_the_output(residual):
    net = FramePoolNet(n_filters=8, dense_dim=4, residual=residual).eval()
    lengths = torch.tensor([20, 13, 9])
    x = right_aligned(lengths.tolist(), 20)
    ref = net(x, lengths)
    torch.testing.assert_close(net(left_pad(x, 11), lengths), ref)


@pytest.mark.parametrize("residual", [True, False])
def test_pooling_ignores_whatever_sits_in_the_padding(residual):
    net = FramePoolNet(n_filters=8, dense_dim=4, residual=residual).eval()
    lengths = torch.tensor([12, 5])
    x = right_aligned(lengths.tolist(), 12)
    garbage = x.clone()
    garbage[1, :, :7] = 50.0  # the 7 padded columns of row 1
    torch.testing.assert_close(net(garbage, lengths), net(x, lengths))


def by_hand(net: FramePoolNet, x: torch.Tensor, residual: bool) -> torch.Tensor:
    """FramePool's forward for full-length rows (no padding), written out layer by layer."""
    h = x
    for i, conv in enumerate(net.convs):
        out = torch.relu(conv(h))
        h = h + out if residual and i > 0 else out
    frames = []
    from_3prime = h.flip(-1)  # column 0 is now the base before the start codon
    for frame in range(3):
        cols = from_3prime[:, :, frame::3]
        frames += [cols.amax(-1), cols.mean(-1)]
    pooled = torch.cat(frames, dim=1)
    return net.head(pooled)


def test_residual_connections_around_all_but_the_first_convolution():
    # Karollus et al.'s released FramePool models use skip_connections="residual": from the
    # second convolution on, a layer's input is added to its output.
    torch.manual_seed(0)
    x = right_aligned([12, 12], 12)
    lengths = torch.tensor([12, 12])
    residual = FramePoolNet(n_filters=6, dense_dim=4, residual=True).eval()
    plain = FramePoolNet(n_filters=6, dense_dim=4).eval()
    assert not plain.residual  # the default: residual FramePool collapsed on a real fold
    plain.load_state_dict(residual.state_dict())  # the option adds no weights
    torch.testing.assert_close(residual(x, lengths), by_hand(residual, x, True))
    torch.testing.assert_close(plain(x, lengths), by_hand(plain, x, False))
    assert not torch.allclose(residual(x, lengths), plain(x, lengths))


def test_networks_pickled_before_the_option_stay_plain_chains():
    net = FramePoolNet(n_filters=4, dense_dim=4)
    state = net.__getstate__()
    del state["residual"]
    old = FramePoolNet.__new__(FramePoolNet)
    old.__setstate__(state)
    assert old.residual is False


def test_all_zero_columns_inside_the_sequence_count_as_bases():
    # An N encoded as zeros is not padding: declaring it padding changes the frames.
    net = FramePoolNet(n_filters=8, dense_dim=4).eval()
    x = right_aligned([10], 10)
    x[0, :, 0] = 0.0  # 5'-most base is an N
    assert not torch.allclose(net(x, torch.tensor([10])), net(x, torch.tensor([9])))


def test_library_scaling_scales_and_shifts_per_library():
    torch.manual_seed(0)
    net = FramePoolNet(n_filters=8, dense_dim=4, n_libraries=2).eval()
    x = right_aligned([15, 15], 15)
    x[1] = x[0]
    lengths = torch.tensor([15, 15])
    same = net(x, lengths, torch.tensor([0, 1]))
    torch.testing.assert_close(same[0], same[1])  # starts as the identity for every library
    with torch.no_grad():
        net.library_scale.weight[1] = 2.0
        net.library_shift.weight[1] = 0.5
    out = net(x, lengths, torch.tensor([0, 1]))
    torch.testing.assert_close(out[1], 2.0 * out[0] + 0.5)


def test_library_is_required_and_checked_with_scaling():
    net = FramePoolNet(n_filters=4, dense_dim=4, n_libraries=2)
    x = right_aligned([6], 6)
    with pytest.raises(ValueError, match="library must be given when n_libraries=2"):
        net(x, torch.tensor([6]))
    with pytest.raises(ValueError, match=r"library must hold indices in \[0, 2\), got \[2\]"):
        net(x, torch.tensor([6]), torch.tensor([2]))
    # Without scaling the library input is ignored.
    plain = FramePoolNet(n_filters=4, dense_dim=4).eval()
    torch.testing.assert_close(
        plain(x, torch.tensor([6]), torch.tensor([5])), plain(x, torch.tensor([6]))
    )


def test_bad_arguments():
    with pytest.raises(TypeError, match="residual must be a bool, got 1"):
        FramePoolNet(residual=1)
    with pytest.raises(ValueError, match="kernel_size must be odd, got 8"):
        FramePoolNet(kernel_size=8)
    with pytest.raises(ValueError, match=r"onehot must have shape \(batch, 4, width\)"):
        FramePoolNet()(torch.zeros(2, 5, 10), torch.tensor([10, 10]))
