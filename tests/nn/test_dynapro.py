"""Tests for the full DynaProNet."""

import copy
import itertools
import pickle

import numpy as np
import pytest
import torch

from sklearn_dynapro.nn import DynaProNet, TokenEmbedding

SMALL = {"d_model": 16, "n_heads": 4, "ffn_dim": 32, "head_dims": (8, 16, 8)}
SMALL_BACKBONE = {"backbone_layers": 2, "backbone_dim": 16, "backbone_heads": 4, "backbone_ffn": 32}


def _net(**kwargs):
    params = dict(SMALL)
    params.update(kwargs)
    return DynaProNet(**params)


def _randomise_norms(net):
    """Give every LayerNorm a non-trivial affine map, as after training.

    At initialisation LayerNorm biases are zero, so a normalised pad row is still zero and a
    missing pad-zeroing step would go unnoticed.
    """
    with torch.no_grad():
        for module in net.modules():
            if isinstance(module, torch.nn.LayerNorm):
                module.weight.normal_(1.0, 0.3)
                module.bias.normal_(0.0, 0.3)
    return net


def _side_inputs(batch, n_features=3, n_libraries=2):
    features = torch.randn(batch, n_features)
    library = torch.eye(n_libraries)[torch.arange(batch) % n_libraries]
    return features, library


@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"fusion": "dynamic", "position": "learned", "max_positions": 64},
        {
            "backbone": True,
            "backbone_dim": 24,
            **{k: v for k, v in SMALL_BACKBONE.items() if k != "backbone_dim"},
        },
    ],
    ids=["default", "dynamic-learned", "backbone"],
)
def test_extra_5prime_padding_does_not_change_the_output(extra, make_tokens, add_padding):
    net = _randomise_norms(_net(n_features=3, n_libraries=2, **extra)).eval()
    tokens = make_tokens([12, 7, 2, 1], width=12)
    features, library = _side_inputs(4)
    with torch.no_grad():
        out = net(tokens, features, library)
        padded = net(add_padding(tokens, 9), features, library)
        # forward trims columns that are padding in every row, so check the untrimmed path:
        # the per-position representation, which is what trimming relies on.
        hidden, _ = net.encode(tokens)
        hidden_padded, mask = net.encode(add_padding(tokens, 9))
        untrimmed = net.head(net.pooling(hidden_padded, mask), features, library)
    assert out.shape == (4, 1)
    torch.testing.assert_close(padded, out)
    torch.testing.assert_close(untrimmed, out)
    torch.testing.assert_close(hidden_padded[:, 9:], hidden)
    assert torch.all(hidden_padded[mask] == 0)


def test_forward_trims_common_padding_and_gives_the_untrimmed_result(make_tokens, add_padding):
    # 8-nt UTRs in a 40-column matrix, as when a model fitted on long UTRs scores short ones.
    net = _randomise_norms(_net(n_features=3)).eval()
    tokens = add_padding(make_tokens([8, 5, 8, 3], width=8), 32)
    features, _ = _side_inputs(4)
    seen = []
    net.layers[0].register_forward_hook(lambda module, args, out: seen.append(out.shape[1]))
    with torch.no_grad():
        trimmed = net(tokens, features)
        hidden, mask = net.encode(tokens)  # all 40 columns
        untrimmed = net.head(net.pooling(hidden, mask), features, None)
    assert seen == [8, 40]
    torch.testing.assert_close(trimmed, untrimmed)


def test_gradients_reach_the_first_layer_and_the_embedding(make_tokens):
    net = _net()
    tokens = make_tokens([20, 15, 11, 9, 20, 18, 14, 6])
    net(tokens).pow(2).mean().backward()
    grad = net.embedding.tokens.weight.grad
    assert grad is not None and grad[3:7].abs().sum() > 0
    assert torch.all(grad[0] == 0)  # padding row
    for name, param in net.layers[0].named_parameters():
        assert param.grad is not None, name
        assert param.grad.abs().sum() > 0, name


def test_layers_are_chained(make_tokens):
    net = _net().eval()
    tokens = make_tokens([10, 6])
    seen = []
    hooks = [
        layer.register_forward_hook(lambda m, args, out: seen.append((args[0], out)))
        for layer in net.layers
    ]
    hooks.append(
        net.embedding.register_forward_hook(lambda m, args, out: seen.insert(0, (None, out)))
    )
    with torch.no_grad():
        out = net(tokens)
    for hook in hooks:
        hook.remove()
    assert len(seen) == 1 + net.n_layers
    for (_, previous_out), (layer_in, _) in itertools.pairwise(seen):
        assert torch.equal(layer_in, previous_out)
    # The first layer's weights matter for the prediction (the notebook kept only the last).
    with torch.no_grad():
        net.layers[0].conv.weight.mul_(3.0)
        assert not torch.allclose(net(tokens), out)


def test_features_reach_the_head(make_tokens):
    net = _net(n_features=4).eval()
    tokens = make_tokens([10, 8, 5])
    features = torch.randn(3, 4)
    with torch.no_grad():
        out = net(tokens, features)
        assert not torch.allclose(net(tokens, features + 1.0), out)


def test_library_reaches_the_head(make_tokens):
    net = _net(n_libraries=3).eval()
    tokens = make_tokens([10, 8])
    with torch.no_grad():
        a = net(tokens, library=torch.eye(3)[[0, 1]])
        b = net(tokens, library=torch.eye(3)[[2, 2]])
    assert not torch.allclose(a, b)


@pytest.mark.parametrize(
    "flags",
    [
        {"use_attention": False},
        {"use_conv": False},
        {"use_experts": False},
        {"use_frame_pooling": False},
        {"fusion": "dynamic"},
        {"position": "learned"},
        {"n_layers": 0},
        {"top_k": 1, "expert_kernels": (3, 9)},
        {"head_dims": ()},
        {"n_outputs": 3},
        {"backbone": True, **SMALL_BACKBONE},
    ],
)
def test_ablation_settings_build_and_train(flags, make_tokens):
    net = _net(**flags)
    out = net(make_tokens([9, 4, 1]))
    assert out.shape == (3, flags.get("n_outputs", 1)) and torch.isfinite(out).all()
    (out.sum() + net.aux_loss).backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())


def test_aux_loss_is_the_finite_non_negative_sum_over_layers(make_tokens):
    net = _net()
    net(make_tokens([12, 5, 3]))
    total = sum(layer.aux_loss for layer in net.layers)
    assert net.aux_loss.shape == () and torch.isfinite(net.aux_loss) and net.aux_loss >= 0
    torch.testing.assert_close(net.aux_loss, total)
    plain = _net(use_experts=False)
    plain(make_tokens([4]))
    assert plain.aux_loss == 0


def test_load_balancing_off_skips_the_loss_and_leaves_the_output(make_tokens):
    tokens = make_tokens([12, 5, 3])
    torch.manual_seed(0)
    on = _net().eval()
    torch.manual_seed(0)
    off = _net(load_balancing=False).eval()
    torch.testing.assert_close(off(tokens), on(tokens), rtol=0, atol=0)
    assert on.aux_loss > 0 and off.aux_loss == 0
    assert all(not layer.ffn.load_balancing for layer in off.layers)
    with pytest.raises(TypeError, match="load_balancing must be a bool"):
        _net(load_balancing="no")
    with pytest.raises(TypeError, match="load_balancing must be a bool"):
        _net(load_balancing="no", use_experts=False)


@pytest.mark.parametrize("frame_pooling", [True, False])
def test_sequences_shorter_than_three_give_finite_output(frame_pooling, make_tokens):
    net = _net(use_frame_pooling=frame_pooling, n_features=2)
    tokens = make_tokens([1, 2, 0], width=2)
    out = net(tokens, torch.randn(3, 2))
    assert torch.isfinite(out).all()
    out.sum().backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.parametrize(
    "extra", [{}, {"backbone": True, **SMALL_BACKBONE}], ids=["plain", "backbone"]
)
def test_empty_batches_and_zero_width_tokens(extra):
    net = _randomise_norms(_net(n_features=2, **extra)).eval()
    with torch.no_grad():
        # No columns is padding only, so it matches any width of padding.
        padding_only = net(torch.zeros((3, 4), dtype=torch.long), torch.ones(3, 2))
        no_columns = net(torch.zeros((3, 0), dtype=torch.long), torch.ones(3, 2))
        torch.testing.assert_close(no_columns, padding_only)
        for width in (0, 5):
            tokens = torch.zeros((0, width), dtype=torch.long)
            assert net(tokens, torch.ones(0, 2)).shape == (0, 1)
            hidden, mask = net.encode(tokens)
            assert hidden.shape == (0, max(width, 1), 16) and mask.shape == (0, max(width, 1))


def test_backbone_replaces_the_embedding_with_a_stable_prefix(make_tokens):
    net = _net(backbone=True, **SMALL_BACKBONE)
    assert net.embedding is None
    assert isinstance(net.backbone.embedding, TokenEmbedding)
    keys = net.state_dict().keys()
    assert "backbone.embedding.tokens.weight" in keys
    assert "backbone.encoder.layers.1.linear2.weight" in keys
    wide = _net(backbone=True, **{**SMALL_BACKBONE, "backbone_dim": 24})
    assert wide.backbone_proj.in_features == 24 and wide.backbone_proj.out_features == 16
    out = wide(make_tokens([8, 3]))
    out.sum().backward()
    assert wide.backbone.embedding.tokens.weight.grad.abs().sum() > 0


def test_paper_defaults_and_numpy_hyperparameters():
    net = DynaProNet(n_layers=np.int64(1), expert_kernels=[3, 5, 7, 9], use_conv=np.bool_(True))
    layer = net.layers[0]
    assert layer.attn.num_heads == 16 and layer.conv.kernel_size == (7,)
    assert [e.kernel_size for e in layer.ffn.experts] == [3, 5, 7, 9]
    assert layer.ffn.top_k == 2 and net.head.mlp[0].out_features == 40


def test_input_errors(make_tokens):
    net = _net(n_features=2)
    tokens = make_tokens([4, 3])
    with pytest.raises(ValueError, match=r"features must be a tensor of shape \(batch, 2\)"):
        net(tokens)
    with pytest.raises(ValueError, match="library must be None"):
        net(tokens, torch.randn(2, 2), torch.ones(2, 1))
    with pytest.raises(ValueError, match=r"tokens must be ids in \[0, vocab_size=7\)"):
        net(tokens + 10, torch.randn(2, 2))
    with pytest.raises(TypeError, match="tokens must be an integer tensor"):
        net(tokens.float(), torch.randn(2, 2))
    with pytest.raises(ValueError, match=r"tokens must be a tensor of shape \(batch, length\)"):
        net(tokens[0], torch.randn(2, 2))
    with pytest.raises(
        ValueError, match=r"n_heads must divide d_model, got d_model=60, n_heads=16\."
    ):
        DynaProNet(d_model=60)
    with pytest.raises(ValueError, match="backbone_heads must divide backbone_dim"):
        DynaProNet(backbone=True, backbone_dim=20)
    with pytest.raises(ValueError, match=r"head_dropout must be a float in \[0, 1\)"):
        DynaProNet(head_dropout=1.5)
    with pytest.raises(ValueError, match="expert_kernels must be a sequence of odd integers"):
        DynaProNet(expert_kernels=(3, 4))


def test_pickle_and_deepcopy_after_training_forward(make_tokens):
    net = _net()
    net(make_tokens([6, 3]))
    clone = pickle.loads(pickle.dumps(net))
    copy.deepcopy(net)
    clone.eval()
    net.eval()
    tokens = make_tokens([7, 2])
    with torch.no_grad():
        torch.testing.assert_close(clone(tokens), net(tokens))


@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cpu_autocast_forward_backward(dtype, make_tokens):
    net = _net(n_features=2)
    tokens = make_tokens([10, 2, 1], width=10)
    with torch.autocast("cpu", dtype=dtype):
        out = net(tokens, torch.randn(3, 2))
        loss = out.float().pow(2).mean() + net.aux_loss
    assert torch.isfinite(out.float()).all() and torch.isfinite(loss)
    loss.backward()
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())


@pytest.mark.gpu
@pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")
@pytest.mark.parametrize("dtype", [torch.bfloat16, torch.float16])
def test_cuda_autocast_forward_backward(dtype, make_tokens, add_padding):
    device = torch.device("cuda")
    net = _net(n_features=3, n_libraries=2).to(device)
    tokens = make_tokens([16, 9, 2, 1], width=16).to(device)
    features, library = (t.to(device) for t in _side_inputs(4))
    with torch.autocast("cuda", dtype=dtype):
        out = net(tokens, features, library)
        loss = out.float().pow(2).mean() + net.aux_loss
    assert out.device.type == "cuda" and torch.isfinite(out.float()).all()
    loss.backward()
    assert net.embedding.tokens.weight.grad.device.type == "cuda"
    assert all(p.grad is None or torch.isfinite(p.grad).all() for p in net.parameters())
    net.eval()
    # cuDNN may pick another TF32 conv algorithm for the longer input: compare in full fp32.
    with torch.no_grad(), torch.backends.cudnn.flags(enabled=True, allow_tf32=False):
        a = net(tokens, features, library)
        b = net(add_padding(tokens, 5), features, library)
    torch.testing.assert_close(a, b, atol=1e-4, rtol=1e-4)
