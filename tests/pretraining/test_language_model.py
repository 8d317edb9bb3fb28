"""UTRLanguageModel, its masking and its structure labels, on real sequences."""

import joblib
import numpy as np
import pandas as pd
import pytest
import RNA
import torch
from sklearn.base import clone
from sklearn.exceptions import NotFittedError
from sklearn.model_selection import train_test_split
from sklearn.utils.estimator_checks import (
    check_get_params_invariance,
    check_no_attributes_set_in_init,
    check_parameters_default_constructible,
    check_set_params,
)

from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random
from sklearn_dynapro.features import fold_mfe
from sklearn_dynapro.preprocessing import SequenceTokenizer
from sklearn_dynapro.preprocessing._tokenizer import MASK_ID
from sklearn_dynapro.pretraining import (
    STRUCTURE_CLASSES,
    UTRLanguageModel,
    _structure,
    clear_structure_cache,
    fold_structures,
    load_backbone,
    mask_tokens,
    structure_labels,
)

pytestmark = pytest.mark.usefixtures("one_thread")

TINY = {
    "d_model": 16,
    "n_layers": 1,
    "n_heads": 2,
    "ffn_dim": 32,
    "batch_size": 32,
    "lr": 3e-3,
    "random_state": 0,
}
NO_OBJECTIVE = {"mlm_weight": 0, "mfe_weight": 0, "structure_weight": 0}


@pytest.fixture(scope="module")
def random50():
    X, _ = load_mpra_random50()
    return X[:2000]


@pytest.fixture(scope="module")
def fitted(random50):
    return UTRLanguageModel(**TINY, max_epochs=1).fit(random50[:200])


def tokens_of(sequences, k):
    return torch.from_numpy(SequenceTokenizer(k=k).fit_transform(sequences))


# ----------------------------------------------------------------------------- masking
@pytest.mark.parametrize("k", [1, 3])
def test_masking_selects_15_percent_and_corrupts_80_10_10(random50, k):
    tokens = tokens_of(random50, k)
    vocab = 4**k + 3
    inputs, targets, selected = mask_tokens(
        tokens,
        k=k,
        vocab_size=vocab,
        whole_kmer=False,
        generator=torch.Generator().manual_seed(0),
    )
    n_real = 50 - k + 1
    # round(0.15 * n) positions of every sequence, never padding.
    assert (selected.sum(dim=1) == round(0.15 * n_real)).all()
    assert not (selected & (tokens == 0)).any()
    assert torch.equal(targets[selected], tokens[selected])
    assert (targets[~selected] == -100).all()
    assert torch.equal(inputs[~selected], tokens[~selected])
    original, corrupted = tokens[selected], inputs[selected]
    masked = (corrupted == MASK_ID).float().mean().item()
    replaced = (corrupted != MASK_ID) & (corrupted != original)
    # The random k-mer is never the original: with k=1 a draw from all four bases would
    # leave a quarter of them unchanged (80/7.5/12.5).
    assert masked == pytest.approx(0.8, abs=0.01)
    assert replaced.float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (corrupted == original).float().mean().item() == pytest.approx(0.1, abs=0.01)
    assert (corrupted[replaced] >= 3).all() and (corrupted[replaced] < vocab).all()
    again = mask_tokens(
        tokens, k=k, vocab_size=vocab, whole_kmer=False, generator=torch.Generator().manual_seed(0)
    )
    assert torch.equal(again[0], inputs)


def test_whole_kmer_masking_selects_every_token_covering_a_masked_base():
    X, _ = load_mpra_varlen_random()
    k = 4
    tokens = tokens_of(X[:300], k)  # 25-100 nt: rows carry different amounts of padding
    _, _, selected = mask_tokens(
        tokens, k=k, vocab_size=4**k + 3, generator=torch.Generator().manual_seed(1)
    )
    real = tokens != 0
    n_tokens = tokens.shape[1]
    for row in range(len(tokens)):
        first = int(real[row].float().argmax())  # first real token column
        picked = set(torch.nonzero(selected[row]).flatten().tolist())
        assert picked and min(picked) >= first
        # Nucleotide column i is covered by token columns i - k + 1 ... i (the real ones).
        n_bases = n_tokens + k - 1
        covering = {
            i: [j for j in range(i - k + 1, i + 1) if first <= j < n_tokens]
            for i in range(first, n_bases)
        }
        masked_bases = [i for i, cols in covering.items() if set(cols) <= picked]
        # Every selected token belongs to the full covering run of a masked base.
        explained = {j for i in masked_bases for j in covering[i]}
        assert picked == explained
        length = n_bases - first
        assert len(picked) <= round(0.15 * length / k) * k
    # About 15% of the tokens, a little less where runs overlap or touch an end.
    share = selected.sum() / real.sum()
    assert 0.10 < share.item() <= 0.16


# --------------------------------------------------------------------------- structures
def test_structures_match_viennarna(random50):
    sequences = [*random50[:5], "GGGGAAAACCCC", "ACGUACGUAAGCUU"]
    structures, energies = fold_structures(sequences)
    for seq, structure, energy in zip(sequences, structures, energies, strict=True):
        expected, expected_energy = RNA.fold(seq.replace("T", "U"))
        assert structure == expected
        assert energy == pytest.approx(expected_energy, abs=0.006)
    np.testing.assert_array_equal(energies, fold_mfe(sequences, cache=False))
    labels = structure_labels(structures, 60)
    for row, structure in enumerate(structures):
        tail = labels[row, 60 - len(structure) :]
        assert "".join(STRUCTURE_CLASSES[c] for c in tail) == structure
        assert (labels[row, : 60 - len(structure)] == -100).all()
    with pytest.raises(ValueError, match="at row 0"):
        structure_labels(["((+))"], 10)


def test_structure_cache_evicting_a_hit_of_the_same_call(random50, monkeypatch):
    # A call that hits the cache and fills it past its bound evicts its own hits.
    monkeypatch.setattr(_structure, "_CACHE_MAX_ENTRIES", 3)
    clear_structure_cache()
    first, _ = fold_structures(random50[:2])
    sequences = [random50[0], *random50[2:4]]
    structures, energies = fold_structures(sequences)
    assert structures[0] == first[0]
    np.testing.assert_array_equal(energies, fold_mfe(sequences, cache=False))
    assert sum(map(len, _structure._CACHE.values())) == 3
    clear_structure_cache()


def test_mfe_target_is_scaled_by_the_training_rows_only(random50):
    # The validation rows' energies had entered the mean and sd of the MFE target.
    seqs = random50[:40]
    lm = UTRLanguageModel(**TINY, valid_fraction=0.5, max_epochs=1).fit(seqs)
    train, _ = train_test_split(np.arange(40), test_size=20, random_state=lm.seed_)
    mfe = fold_mfe(seqs)
    assert lm.mfe_mean_ == pytest.approx(mfe[train].mean())
    assert lm.mfe_mean_ != pytest.approx(mfe.mean())
    assert lm.mfe_scale_ == pytest.approx(mfe[train].std())


def test_structures_follow_the_loaded_energy_parameters(random50):
    seqs = random50[:6]
    clear_structure_cache()
    turner = fold_structures(seqs)
    RNA.params_load_RNA_Andronescu2007()
    try:
        expected = [RNA.fold(s) for s in seqs]
        for got in (fold_structures(seqs), fold_structures(seqs, n_jobs=2)):
            assert list(got[0]) == [structure for structure, _ in expected]
            np.testing.assert_array_equal(got[1], np.round([e for _, e in expected], 2))
    finally:
        RNA.params_load_RNA_Turner2004()
    np.testing.assert_array_equal(fold_structures(seqs)[1], turner[1])
    assert not np.array_equal(turner[1], np.round([e for _, e in expected], 2))
    clear_structure_cache()


# ----------------------------------------------------------------------------- training
def test_kmer_structure_labels_leave_padding_out():
    # Token j of k-mers covers bases j … j + k - 1 and is real only when all k are: the
    # k - 1 columns before a short sequence's first token are padding, not its first bases.
    sequences = ["ACGTAC", "GGCAUCCA", "ACG"]
    structures = [".(...)", "((....))", "..."]
    tokens = tokens_of(sequences, 3).numpy()
    labels = structure_labels(structures, 8, k=3)
    assert labels.shape == tokens.shape == (3, 6)
    np.testing.assert_array_equal(labels == -100, tokens == 0)
    nucleotide = structure_labels(structures, 8)
    np.testing.assert_array_equal(labels[tokens != 0], nucleotide[:, 2:][tokens != 0])


def test_loss_decreases_over_three_epochs(random50):
    lm = UTRLanguageModel(**TINY, max_epochs=3).fit(random50[:300])
    history = pd.DataFrame(lm.history_)
    assert list(history["epoch"]) == [1, 2, 3]
    for column in ("loss", "mlm_loss", "structure_loss"):
        assert history[column].iloc[-1] < history[column].iloc[0], column
    assert history["structure_accuracy"].iloc[-1] > 0.4


def test_kmer_tokens_and_switched_off_objectives(random50):
    lm = UTRLanguageModel(
        **TINY, k=3, max_epochs=1, mfe_weight=0, structure_weight=0, valid_fraction=0.2
    ).fit(random50[:150])
    assert lm.vocab_size_ == 67 == lm.backbone_params_["vocab_size"]
    record = lm.history_[0]
    assert np.isnan(record["mfe_loss"]) and np.isnan(record["structure_loss"])
    assert np.isfinite(record["mlm_loss"]) and np.isfinite(record["valid_mlm_loss"])
    assert (lm.mfe_mean_, lm.mfe_scale_) == (0.0, 1.0)


def test_seeded_fit_is_repeatable_and_leaves_global_state(random50):
    state = torch.get_rng_state()
    a = UTRLanguageModel(**TINY, max_epochs=1).fit(random50[:100])
    b = UTRLanguageModel(**TINY, max_epochs=1).fit(random50[:100])
    assert torch.equal(state, torch.get_rng_state())
    for name, tensor in a.backbone_state_dict_.items():
        assert torch.equal(tensor, b.backbone_state_dict_[name])


def test_transform_fit_attributes_clone_and_joblib(fitted, random50, tmp_path):
    X = pd.DataFrame({"sequence": random50[:10]})
    embeddings = fitted.transform(X)
    assert embeddings.shape == (10, 16) and embeddings.dtype == np.float32
    # Positions count from the start codon: a longer batch width changes nothing.
    np.testing.assert_allclose(
        fitted.transform([*random50[:3], "ACGT" * 20])[:3], embeddings[:3], atol=1e-5
    )
    assert list(fitted.get_feature_names_out()[:2]) == ["utrlanguagemodel0", "utrlanguagemodel1"]
    assert fitted.tokenizer_.k == 1 and fitted.module_.backbone.d_model == 16
    backbone = fitted.module_.backbone.state_dict()
    for name, tensor in fitted.backbone_state_dict_.items():
        assert torch.equal(tensor, backbone[name])

    copy = clone(fitted)
    assert copy.get_params() == fitted.get_params()
    assert not hasattr(copy, "module_")
    path = tmp_path / "lm.joblib"
    joblib.dump(fitted, path)
    np.testing.assert_array_equal(joblib.load(path).transform(X), embeddings)
    # The fitted width counts, whatever d_model was set to since.
    reloaded = joblib.load(path).set_params(d_model=32)
    assert reloaded.transform(X).shape == (10, 16)
    assert len(reloaded.get_feature_names_out()) == 16

    weights = tmp_path / "backbone.pt"
    fitted.save_backbone(weights)
    for form in (weights, torch.load(weights, weights_only=True)):
        state, config = load_backbone(form)
        assert config == fitted.backbone_params_
        assert all(torch.equal(state[n], t) for n, t in fitted.backbone_state_dict_.items())
    # The whole pre-training network: backbone.* keys plus the heads, which are dropped.
    state, config = load_backbone(fitted.module_.state_dict())
    assert set(state) == set(fitted.backbone_state_dict_)
    assert config["backbone_dim"] == 16 and "backbone_heads" not in config


@pytest.mark.parametrize(
    ("X", "params", "error", "message"),
    [
        ("ACGT", {}, TypeError, "pass a list"),
        (["ACGTACGT", "ACG&TT"], {}, ValueError, r"invalid characters '&' at row \[1\]"),
        (["ACGTACGT", "AC"], {"k": 3}, ValueError, r"row \[1\]"),
        (["ACGTACGT"] * 4, NO_OBJECTIVE, ValueError, "must not all be 0"),
        (["ACGTACGT"] * 4, {"n_heads": 3}, ValueError, "n_heads must divide d_model"),
        (["ACGTACGT"] * 4, {"mask_fraction": 0.0}, ValueError, "mask_fraction"),
        (["ACGTACGT"] * 4, {"device": "gpu"}, ValueError, "'device' parameter .* Got 'gpu'"),
        (["ACGTACGT"], {"valid_fraction": 0.5}, ValueError, "more sequences"),
    ],
)
def test_bad_input_is_a_clear_error(X, params, error, message):
    with pytest.raises(error, match=message):
        UTRLanguageModel(**{**TINY, **params}).fit(X)


def test_transform_before_fit():
    with pytest.raises(NotFittedError):
        UTRLanguageModel().transform(["ACGT"])
    with pytest.raises(NotFittedError):
        UTRLanguageModel().get_feature_names_out()


@pytest.mark.parametrize(
    "check",
    [
        check_no_attributes_set_in_init,
        check_get_params_invariance,
        check_set_params,
        check_parameters_default_constructible,
    ],
)
def test_data_free_sklearn_checks(check):
    check("UTRLanguageModel", UTRLanguageModel())
