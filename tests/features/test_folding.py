"""The folding engine: agreement with RNAfold, isolation from global state, cache, parallelism."""

import numpy as np
import pandas as pd
import pytest
import RNA
from joblib import parallel_config

from sklearn_dynapro.features import _folding, clear_fold_cache, fold_mfe

#: Four G4 tracts and nothing else to pair: a G-quadruplex (-8.9 kcal/mol) beats the open
#: chain (0.0). ViennaRNA 2.8 no longer favours one in the 3-G-tract sequence used before.
G_RICH = "AAAAGGGGAAGGGGAAGGGGAAGGGGAAAA"


def direct_mfe(seq: str, **md_fields) -> float:
    md = RNA.md()
    for name, value in md_fields.items():
        setattr(md, name, value)
    return RNA.fold_compound(seq, md).mfe()[1]


@pytest.fixture
def count_folds(monkeypatch):
    """Replace the chunk folder by a counting wrapper; returns the list of folded sequences."""
    folded: list[str] = []
    real = _folding._fold_chunk

    def counting(groups, *rest):
        for _, seqs in groups:
            folded.extend(seqs)
        return real(groups, *rest)

    monkeypatch.setattr(_folding, "_fold_chunk", counting)
    return folded


def test_matches_rnafold(random50, varlen):
    seqs = random50[:20] + varlen[::10]
    got = fold_mfe(seqs, cache=False)
    expected = [RNA.fold(s)[1] for s in seqs]
    assert got.dtype == np.float64 and got.shape == (len(seqs),)
    np.testing.assert_allclose(got, expected, atol=1e-4)


def test_energies_are_rounded_to_the_model_resolution(random50):
    got = fold_mfe(random50[:10], cache=False)
    np.testing.assert_array_equal(got, np.round(got, 2))


def test_gquad_on_g_rich_sequence():
    plain, quad = fold_mfe([G_RICH], cache=False), fold_mfe([G_RICH], gquad=True, cache=False)
    assert quad[0] < plain[0]
    assert quad[0] == pytest.approx(direct_mfe(G_RICH, gquad=1), abs=1e-4)


def test_temperature_is_applied(random50):
    seqs = random50[:5]
    warm = fold_mfe(seqs, temperature=25.0, cache=False)
    np.testing.assert_allclose(warm, [direct_mfe(s, temperature=25.0) for s in seqs], atol=1e-4)
    assert not np.allclose(warm, fold_mfe(seqs, cache=False))


def test_global_viennarna_state_does_not_leak(random50):
    seqs = [*random50[:10], G_RICH]
    expected = fold_mfe(seqs, cache=False)
    saved = (RNA.cvar.temperature, RNA.cvar.dangles, RNA.cvar.noLP)
    try:
        RNA.cvar.temperature, RNA.cvar.dangles, RNA.cvar.noLP = 20.0, 0, 1
        assert RNA.fold(seqs[0])[1] != pytest.approx(expected[0])  # the globals do bite
        np.testing.assert_array_equal(fold_mfe(seqs, cache=False), expected)
    finally:
        RNA.cvar.temperature, RNA.cvar.dangles, RNA.cvar.noLP = saved


def test_cache_hit_does_not_refold(random50, count_folds):
    clear_fold_cache()
    first = fold_mfe(random50[:30])
    assert len(count_folds) == 30
    count_folds.clear()
    second = fold_mfe(random50[:30])
    assert count_folds == []
    np.testing.assert_array_equal(first, second)
    # Only the sequences missing from the cache are folded.
    fold_mfe(random50[25:35])
    assert sorted(count_folds) == sorted(random50[30:35])


def test_duplicates_are_folded_once(random50, count_folds):
    seqs = [random50[0], random50[1], random50[0], random50[0].lower()]
    got = fold_mfe(seqs, cache=False)
    assert sorted(count_folds) == sorted(random50[:2])
    assert got[0] == got[2] == got[3]


def test_cache_false_refolds_and_leaves_cache_alone(random50, count_folds):
    clear_fold_cache()
    fold_mfe(random50[:5], cache=False)
    fold_mfe(random50[:5], cache=False)
    assert len(count_folds) == 10
    assert _folding._cache_size() == 0


def test_settings_are_cached_separately(count_folds):
    clear_fold_cache()
    fold_mfe([G_RICH])
    fold_mfe([G_RICH], gquad=True)
    fold_mfe([G_RICH], temperature=30.0)
    assert len(count_folds) == 3
    assert _folding._cache_size() == 3
    clear_fold_cache()
    assert _folding._cache_size() == 0


def test_cache_is_bounded_and_evicts_oldest(random50, monkeypatch):
    monkeypatch.setattr(_folding, "_CACHE_MAX_ENTRIES", 5)
    clear_fold_cache()
    fold_mfe(random50[:4])
    fold_mfe(random50[4:8])
    assert _folding._cache_size() == 5
    (store,) = _folding._CACHE.values()
    assert list(store) == random50[3:8]
    fold_mfe([G_RICH], gquad=True)  # a second setting evicts from the oldest one first
    assert _folding._cache_size() == 5
    fingerprint, _ = _folding.energy_parameters()
    assert len(_folding._CACHE[fingerprint, _folding.model_settings(gquad=True)]) == 1
    clear_fold_cache()


def test_two_jobs_equal_one(varlen):
    serial = fold_mfe(varlen, n_jobs=1, cache=False)
    parallel = fold_mfe(varlen, n_jobs=2, chunk_size=7, cache=False)
    np.testing.assert_array_equal(parallel, serial)


@pytest.fixture
def andronescu():
    """Andronescu 2007 energies loaded in this process for the test, Turner 2004 after it."""
    RNA.params_load_RNA_Andronescu2007()
    yield
    RNA.params_load_RNA_Turner2004()


def test_loaded_energy_parameters_reach_cache_and_workers(random50, andronescu):
    # The cache had served Turner 2004 energies after RNA.params_load_*, and worker processes
    # (which start with ViennaRNA's default set) folded with Turner 2004 too.
    seqs = random50[:6]
    expected = np.round([RNA.fold(s)[1] for s in seqs], 2)
    RNA.params_load_RNA_Turner2004()
    clear_fold_cache()
    turner = fold_mfe(seqs)
    RNA.params_load_RNA_Andronescu2007()
    assert not np.array_equal(turner, expected)
    np.testing.assert_array_equal(fold_mfe(seqs), expected)
    np.testing.assert_array_equal(fold_mfe(seqs, cache=False, n_jobs=2, chunk_size=1), expected)
    RNA.params_load_RNA_Turner2004()
    np.testing.assert_array_equal(fold_mfe(seqs), turner)  # cached per set
    np.testing.assert_array_equal(fold_mfe(seqs, cache=False, n_jobs=2, chunk_size=1), turner)
    clear_fold_cache()


def test_chunking_keeps_order_and_balances_lengths(varlen):
    items = [(0, s) for s in varlen]
    chunks = _folding._make_chunks(items, 4)
    assert sorted(s for chunk in chunks for _, seqs in chunk for s in seqs) == sorted(varlen)
    work = [sum(len(s) ** 3 for _, seqs in chunk for s in seqs) for chunk in chunks]
    assert max(work) / min(work) < 1.1


def test_verbose_shows_progress(random50, capsys):
    fold_mfe(random50[:3], verbose=True, cache=False)
    assert "Folding" in capsys.readouterr().err


def test_accepted_input_forms_agree(random50):
    seqs = random50[:5]
    expected = fold_mfe(seqs)
    rna_lower = [s.lower().replace("t", "u") for s in seqs]
    for form in (np.array(seqs, dtype=object), pd.Series(seqs), rna_lower, tuple(seqs)):
        np.testing.assert_array_equal(fold_mfe(form), expected)


def test_bad_sequence_names_the_row():
    with pytest.raises(ValueError, match=r"row \[1\]"):
        fold_mfe(["ACGU", "ACXG"])
    with pytest.raises(TypeError, match="pass a list"):
        fold_mfe("ACGU")


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"temperature": "hot"}, TypeError, "temperature must be"),
        ({"temperature": -300.0}, ValueError, "temperature must be"),
        ({"gquad": 1}, TypeError, "gquad must be a bool"),
        ({"n_jobs": 0}, ValueError, "n_jobs must be"),
        ({"chunk_size": 0}, ValueError, "chunk_size must be an int >= 1"),
        ({"cache": "yes"}, TypeError, "cache must be a bool"),
    ],
)
def test_bad_parameters(kwargs, error, match):
    with pytest.raises(error, match=match):
        fold_mfe(["ACGU"], **kwargs)


def test_other_joblib_backends(varlen):
    expected = fold_mfe(varlen[:6], cache=False)
    with parallel_config(backend="threading"):
        got = fold_mfe(varlen[:6], n_jobs=2, chunk_size=2, cache=False)
    np.testing.assert_array_equal(got, expected)
