"""Tests for the Optimus 5-Prime network."""

import pytest
import torch
from torch import nn

from sklearn_dynapro.nn import OptimusNet


def random_onehot(batch: int, width: int) -> torch.Tensor:
    bases = torch.randint(0, 4, (batch, width))
    return nn.functional.one_hot(bases, 4).transpose(1, 2).float()


def test_default_layout_is_the_published_one():
    net = OptimusNet()
    convs = [m for m in net.convs if isinstance(m, nn.Conv1d)]
    assert [(c.in_channels, c.out_channels, c.kernel_size) for c in convs] == [
        (4, 120, (8,)),
        (120, 120, (8,)),
        (120, 120, (8,)),
    ]
    assert not any(isinstance(m, nn.Dropout) for m in net.convs)
    dense = [m for m in net.head if isinstance(m, nn.Linear)]
    assert [(d.in_features, d.out_features) for d in dense] == [(120 * 50, 40), (40, 1)]
    assert [m.p for m in net.head if isinstance(m, nn.Dropout)] == [0.2]


def test_shapes_and_same_padding():
    net = OptimusNet(seq_len=30, n_filters=6, dense_dim=5, n_outputs=2).eval()
    x = random_onehot(3, 30)
    assert net.convs(x).shape == (3, 6, 30)
    assert net(x).shape == (3, 2)


def test_even_kernel_pads_the_extra_position_on_the_3prime_side():
    # Keras "same" with kernel 8: 3 zeros before, 4 after; output 0 sees inputs 0..4.
    net = OptimusNet(seq_len=12, n_filters=1, n_conv_layers=1)
    x = torch.rand(1, 4, 12, requires_grad=True)
    pad_and_conv = net.convs[:2]
    pad_and_conv(x)[0, 0, 0].backward()
    touched = x.grad.abs().sum(dim=1)[0].nonzero().squeeze(1).tolist()
    assert set(touched) <= set(range(5)) and 4 in touched


def test_conv_dropout_is_optional():
    net = OptimusNet(conv_dropout=0.1)
    assert sum(isinstance(m, nn.Dropout) for m in net.convs) == 3


def test_fixed_length_is_enforced():
    net = OptimusNet(seq_len=50)
    with pytest.raises(ValueError, match=r"x must have shape \(batch, 4, 50\), got \(2, 4, 40\)"):
        net(random_onehot(2, 40))


@pytest.mark.parametrize(
    ("kwargs", "error", "message"),
    [
        ({"n_filters": 0}, ValueError, "n_filters must be an int >= 1, got 0"),
        ({"seq_len": 2.5}, TypeError, "seq_len must be an int"),
        ({"dropout": 1.0}, ValueError, r"dropout must be a float in \[0, 1\)"),
    ],
)
def test_bad_arguments(kwargs, error, message):
    with pytest.raises(error, match=message):
        OptimusNet(**kwargs)
