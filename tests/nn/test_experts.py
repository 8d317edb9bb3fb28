"""Tests for the k-mer experts and their top-k router."""

import copy
import pickle

import pytest
import torch

from sklearn_dynapro.nn import KmerExpert, KmerMixtureOfExperts

D = 8


@pytest.mark.parametrize("k", [3, 5, 7, 9])
def test_expert_sees_exactly_its_kmer_neighbourhood(k):
    # The whole expert (conv + FFN) at position p must depend on p ± k//2 and nothing beyond:
    # the notebook applied the kernel to one token at a time (a point-wise map).
    expert = KmerExpert(d_model=D, kernel_size=k, ffn_dim=16).eval()
    x = torch.randn(1, 25, D)
    p, half = 12, k // 2
    base = expert(x)[0, p]
    for offset in (half, -half):
        x_in = x.clone()
        x_in[0, p + offset] += torch.randn(D)
        assert (expert(x_in)[0, p] - base).abs().max() > 1e-4, f"blind at offset {offset}"
    for offset in (half + 1, -half - 1):
        x_out = x.clone()
        x_out[0, p + offset] += torch.randn(D)
        torch.testing.assert_close(expert(x_out)[0, p], base)


def test_expert_zeroes_padding_before_its_convolution():
    expert = KmerExpert(d_model=D, kernel_size=5, ffn_dim=16).eval()
    x = torch.randn(1, 8, D)
    mask = torch.zeros(1, 8, dtype=torch.bool)
    mask[0, :3] = True
    garbage = x.clone()
    garbage[0, :3] = 1e3
    torch.testing.assert_close(expert(garbage, mask)[0, 3:], expert(x, mask)[0, 3:])


@pytest.mark.parametrize("top_k", [1, 2, 3])
def test_router_weights_are_top_k_and_renormalised(top_k):
    moe = KmerMixtureOfExperts(d_model=D, top_k=top_k, ffn_dim=16).eval()
    x = torch.randn(3, 10, D)
    mask = torch.zeros(3, 10, dtype=torch.bool)
    mask[1, :4] = True
    mask[2, :9] = True
    out, routing = moe(x, mask, return_routing=True)
    w = routing.weights
    assert out.shape == (3, 10, D)
    assert w.shape == (3, 10, 4)
    real = ~mask
    assert torch.all((w[real] > 0).sum(-1) == top_k)
    torch.testing.assert_close(w[real].sum(-1), torch.ones(int(real.sum())))
    assert torch.all(w[mask] == 0)
    assert torch.all(out[mask] == 0)
    assert routing.indices.shape == (3, 10, top_k)
    torch.testing.assert_close(routing.probs.sum(-1), torch.ones(3, 10))


def test_output_is_the_weighted_sum_of_the_selected_experts():
    moe = KmerMixtureOfExperts(d_model=D, kernel_sizes=(3, 5, 7), top_k=2, ffn_dim=16).eval()
    x = torch.randn(2, 9, D)
    mask = torch.zeros(2, 9, dtype=torch.bool)
    out, routing = moe(x, mask, return_routing=True)
    expected = sum(routing.weights[..., e : e + 1] * moe.experts[e](x) for e in range(3))
    torch.testing.assert_close(out, expected)


def test_experts_are_not_collapsed_to_one_pointwise_map():
    moe = KmerMixtureOfExperts(d_model=D, ffn_dim=16).eval()
    x = torch.randn(1, 15, D)
    x2 = x.clone()
    x2[0, 11] += 1.0  # 4 positions from p=7: only the k=9 expert can see it
    changed = [not torch.allclose(e(x)[0, 7], e(x2)[0, 7]) for e in moe.experts]
    assert changed == [False, False, False, True]


def test_aux_loss_is_finite_non_negative_and_differentiable():
    moe = KmerMixtureOfExperts(d_model=D, ffn_dim=16)
    x = torch.randn(4, 12, D)
    mask = torch.zeros(4, 12, dtype=torch.bool)
    mask[0, :6] = True
    moe(x, mask)
    aux = moe.aux_loss
    assert aux.shape == () and torch.isfinite(aux) and aux >= 0
    aux.backward()
    assert moe.router.weight.grad is not None and moe.router.weight.grad.abs().sum() > 0


def test_aux_loss_is_one_when_every_expert_is_used_everywhere():
    moe = KmerMixtureOfExperts(d_model=D, kernel_sizes=(3, 5), top_k=2, ffn_dim=16)
    moe(torch.randn(2, 6, D), torch.zeros(2, 6, dtype=torch.bool))
    torch.testing.assert_close(moe.aux_loss, torch.tensor(1.0))


def test_aux_loss_is_zero_for_an_all_padding_batch_or_when_disabled():
    moe = KmerMixtureOfExperts(d_model=D, ffn_dim=16)
    out = moe(torch.randn(2, 3, D), torch.ones(2, 3, dtype=torch.bool))
    assert torch.all(out == 0) and moe.aux_loss == 0
    off = KmerMixtureOfExperts(d_model=D, ffn_dim=16, load_balancing=False)
    off(torch.randn(2, 3, D), torch.zeros(2, 3, dtype=torch.bool))
    assert off.aux_loss == 0


def test_module_pickles_and_deepcopies_after_a_training_forward():
    moe = KmerMixtureOfExperts(d_model=D, ffn_dim=16)
    moe(torch.randn(2, 5, D), torch.zeros(2, 5, dtype=torch.bool))
    assert moe.aux_loss.requires_grad
    clone = pickle.loads(pickle.dumps(moe))
    copy.deepcopy(moe)
    for a, b in zip(clone.state_dict().values(), moe.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_invalid_arguments():
    with pytest.raises(ValueError, match="top_k must be at most the number of experts"):
        KmerMixtureOfExperts(kernel_sizes=(3, 5), top_k=3)
    with pytest.raises(ValueError, match="kernel_sizes must be a sequence of odd integers"):
        KmerMixtureOfExperts(kernel_sizes=(3, 4))
    with pytest.raises(ValueError, match="kernel_size must be a sequence of odd integers"):
        KmerExpert(kernel_size=2)
