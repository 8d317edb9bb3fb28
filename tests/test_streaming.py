"""predict_chunked, iter_predictions and predict_file: same predictions, bounded memory."""

import gzip
import os
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from joblib import parallel_config
from scipy import sparse
from sklearn.base import BaseEstimator
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import make_pipeline

from sklearn_dynapro import make_dynapro_pipeline
from sklearn_dynapro.baselines import make_kmer_baseline
from sklearn_dynapro.datasets import load_mpra_random50, load_mpra_varlen_random, load_sequences
from sklearn_dynapro.features import KmerFeatures
from sklearn_dynapro.streaming import iter_predictions, predict_chunked, predict_file

TINY = {
    "features": None,
    "module__d_model": 16,
    "module__n_layers": 1,
    "module__n_heads": 2,
    "module__ffn_dim": 16,
    "max_epochs": 1,
    "batch_size": 64,
    "optimizer": torch.optim.AdamW,
    "lr": 3e-3,
    "random_state": 0,
}


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:400], y[:400]


@pytest.fixture(scope="module")
def trees(mrl):
    """k-mer counts → gradient-boosted trees: per-row arithmetic, so batching changes nothing."""
    X, y = mrl
    model = HistGradientBoostingRegressor(max_iter=20, random_state=0)
    return make_pipeline(KmerFeatures(k_range=(1, 3), normalize=False), model).fit(X, y)


@pytest.fixture(scope="module")
def two_libraries():
    """150 random 50-nt and 152 random 25-100-nt UTRs, with their library labels."""
    A, y_a = load_mpra_random50(as_frame=True)
    B, y_b = load_mpra_varlen_random(as_frame=True)
    X = pd.concat([A.iloc[:150], B.iloc[::50]], ignore_index=True)
    return X, np.r_[y_a.iloc[:150], y_b.iloc[::50]]


@pytest.fixture(scope="module")
def dynapro(two_libraries):
    X, y = two_libraries
    return make_dynapro_pipeline(library_column="library", **TINY).fit(X, y)


def synthetic(n: int, seed: int = 0):
    """Random 50-nt UTRs drawn like the random library (uniform ACGT), one at a time."""
    rng = np.random.default_rng(seed)
    bases = np.frombuffer(b"ACGT", dtype=np.uint8)
    for start in range(0, n, 500):  # drawn in small blocks: the input must not be in memory
        for row in bases[rng.integers(0, 4, size=(min(500, n - start), 50))]:
            yield row.tobytes().decode()


@pytest.mark.parametrize("chunk_size", [1, 7, 100, 150])
def test_equals_predict_exactly(trees, mrl, chunk_size):
    X = mrl[0][:100]
    expected = trees.predict(X)
    np.testing.assert_array_equal(predict_chunked(trees, X, chunk_size=chunk_size), expected)
    chunks = list(iter_predictions(trees, X, chunk_size=chunk_size))
    assert [len(c) for c in chunks[:-1]] == [chunk_size] * (len(chunks) - 1)
    np.testing.assert_array_equal(np.concatenate(chunks), expected)


def test_input_order_is_kept(trees, mrl):
    X = mrl[0][:100]
    order = np.random.default_rng(0).permutation(100)
    expected = trees.predict(X)[order]
    np.testing.assert_array_equal(predict_chunked(trees, X[order], chunk_size=7), expected)
    series = pd.Series(X[order], index=order * 3 + 1)  # a non-default index
    np.testing.assert_array_equal(predict_chunked(trees, series, chunk_size=7), expected)


def test_generator_input(trees, mrl):
    X = mrl[0][:100]
    y_pred = predict_chunked(trees, (seq for seq in X), chunk_size=7)
    np.testing.assert_array_equal(y_pred, trees.predict(X))


def test_parallel_chunks_keep_order(trees, mrl):
    # The threading backend runs the joblib path without the cost of starting processes.
    X = mrl[0][:100]
    with parallel_config(backend="threading"):
        y_pred = predict_chunked(trees, X, chunk_size=7, n_jobs=2)
    np.testing.assert_array_equal(y_pred, trees.predict(X))


def test_transform_method(trees, mrl):
    X = mrl[0][:50]
    kmers = trees[0]
    np.testing.assert_array_equal(
        predict_chunked(kmers, X, chunk_size=7, method="transform"), kmers.transform(X)
    )
    sparse_kmers = KmerFeatures(k_range=(1, 2), sparse_output=True).fit(X)
    out = predict_chunked(sparse_kmers, X, chunk_size=7, method="transform")
    assert sparse.issparse(out)
    np.testing.assert_array_equal(out.toarray(), sparse_kmers.transform(X).toarray())


def test_streamed_matrix_output(trees, mrl):
    # A generator's length is unknown: the output grows as chunks come, 2-D outputs included.
    X = mrl[0][:100]
    kmers = trees[0]
    for chunk_size in (1, 7, 100, 150):
        out = predict_chunked(kmers, iter(X), chunk_size=chunk_size, method="transform")
        np.testing.assert_array_equal(out, kmers.transform(X))
        assert out.flags.owndata and out.flags.c_contiguous


class _Ragged(BaseEstimator):
    """Returns one column more for every chunk after the first, or ints then floats."""

    def __init__(self, mode="width"):
        self.mode = mode

    def fit(self, X, y=None):
        self.calls_ = 0
        return self

    def predict(self, X):
        self.calls_ += 1
        if self.mode == "width":
            return np.zeros((len(X), self.calls_))
        return np.arange(len(X)) if self.calls_ == 1 else np.full(len(X), 0.5)


def test_chunk_outputs_must_agree_in_width_and_promote_dtypes():
    X = ["ACGT"] * 10
    with pytest.raises(ValueError, match=r"shape past its rows, \(1,\), got \(2,\) for .* row 4"):
        predict_chunked(_Ragged("width").fit(X), X, chunk_size=4)
    out = predict_chunked(_Ragged("dtype").fit(X), X, chunk_size=4)  # as np.concatenate would
    np.testing.assert_array_equal(out, np.r_[np.arange(4), np.full(6, 0.5)])
    assert out.dtype == np.float64


def test_dataframe_with_library_column(dynapro, two_libraries):
    X, _ = two_libraries
    expected = dynapro.predict(X)
    # At least the whole input at once: exactly the pipeline's own predict.
    np.testing.assert_array_equal(predict_chunked(dynapro, X, chunk_size=len(X)), expected)
    # Smaller chunks: what predict gives chunk by chunk; the network's float32 matrix
    # products round differently for other batch sizes, hence the tolerance against the whole.
    y_pred = predict_chunked(dynapro, X, chunk_size=7)
    by_chunk = np.concatenate([dynapro.predict(X.iloc[s : s + 7]) for s in range(0, len(X), 7)])
    np.testing.assert_array_equal(y_pred, by_chunk)
    np.testing.assert_allclose(y_pred, expected, rtol=1e-5, atol=1e-6)
    # DataFrame chunks from a generator are split to chunk_size (49 = 7 chunks of 7).
    frames = (X.iloc[s : s + 49] for s in range(0, len(X), 49))
    np.testing.assert_array_equal(predict_chunked(dynapro, frames, chunk_size=7), by_chunk)
    # So are those of a list or a tuple (they were taken for rows and refused).
    frames = [X.iloc[s : s + 49] for s in range(0, len(X), 49)]
    np.testing.assert_array_equal(predict_chunked(dynapro, frames, chunk_size=7), by_chunk)
    np.testing.assert_array_equal(predict_chunked(dynapro, tuple(frames), chunk_size=7), by_chunk)


def test_file_streaming_keeps_ids(dynapro, two_libraries, tmp_path):
    X, _ = two_libraries
    ids = [f"utr{i:05d}" for i in range(len(X))]  # leading zeros must survive
    table = pd.DataFrame({"name": ids, "UTR": X["sequence"], "library": X["library"]})
    path = tmp_path / "utrs.csv.gz"
    table.to_csv(path, index=False, compression="gzip")
    expected = dynapro.predict(load_sequences(path, id_column="name"))

    out = predict_file(dynapro, path, out=tmp_path / "pred.csv", chunk_size=40, id_column="name")
    written = pd.read_csv(out, dtype={"id": str})
    assert list(written.columns) == ["id", "prediction"]
    assert written["id"].tolist() == ids
    np.testing.assert_allclose(written["prediction"], expected, rtol=1e-5, atol=1e-6)
    assert not (tmp_path / "pred.csv.part").exists()

    returned = predict_file(dynapro, path, chunk_size=40, id_column="name")
    pd.testing.assert_frame_equal(returned, written, check_dtype=False)


def test_fasta_streaming(trees, mrl, tmp_path):
    X = mrl[0][:30]
    path = tmp_path / "utrs.fa"
    # Records wrapped over two lines, with a blank line and a comment between them.
    path.write_text("".join(f">r{i} desc\n{s[:20]}\n{s[20:]}\n\n;c\n" for i, s in enumerate(X)))
    out = predict_file(trees, path, out=tmp_path / "pred.csv.gz", chunk_size=7)
    with gzip.open(out, "rt") as handle:
        written = pd.read_csv(handle)
    assert written["id"].tolist() == [f"r{i}" for i in range(30)]
    np.testing.assert_array_equal(written["prediction"], trees.predict(X))


@pytest.mark.parametrize(
    "empty",
    [[], np.array([], dtype=object), pd.DataFrame({"sequence": []}), iter([])],
    ids=["list", "ndarray", "DataFrame", "generator"],
)
def test_empty_input(trees, empty):
    with pytest.raises(ValueError, match="at least one sequence, got 0 rows"):
        predict_chunked(trees, empty)


def test_empty_file(trees, tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("id,sequence\n")
    with pytest.raises(ValueError, match="must hold at least one row, got none"):
        predict_file(trees, path)


def test_bad_sequence_names_the_global_row(trees, mrl):
    X = list(mrl[0][:100])
    X[25] = "ACGXT"  # third chunk of 10, its row 5
    for n_jobs in (None, 2):
        with parallel_config(backend="threading"), pytest.raises(ValueError) as info:
            predict_chunked(trees, X, chunk_size=10, n_jobs=n_jobs)
        assert "invalid characters 'X' at row [25]" in str(info.value)
        assert "row [5]" not in str(info.value)


def test_bad_row_of_a_frame_names_its_index_label_once(trees, mrl):
    frame = pd.DataFrame({"sequence": list(mrl[0][:100])})
    frame.loc[[25, 27], "sequence"] = "ACGXT"
    with pytest.raises(ValueError) as info:
        predict_chunked(trees, frame["sequence"], chunk_size=10)
    # The chunk's labels 25 and 27 are the whole input's rows: not repeated.
    assert "invalid characters 'X' at rows [25, 27] (first" in str(info.value)
    labelled = frame.set_axis([f"utr{i}" for i in range(100)])
    with pytest.raises(ValueError) as info:
        predict_chunked(trees, labelled["sequence"], chunk_size=10)
    assert "at rows [25, 27] (index labels ['utr25', 'utr27'])" in str(info.value)


def test_bad_record_in_file_names_file_and_record(trees, mrl, tmp_path):
    X = list(mrl[0][:40])
    X[33] = "ACG TT"
    path = tmp_path / "utrs.tsv"
    pd.DataFrame({"sequence": X}).to_csv(path, sep="\t", index=False)
    with pytest.raises(ValueError, match=r"utrs\.tsv: .*whitespace at row \[33\].*from 0"):
        predict_file(trees, path, out=tmp_path / "pred.csv", chunk_size=10)
    assert not list(tmp_path.glob("pred.csv*"))  # no partial output


class FailsFromRow(BaseEstimator):
    """Predicts zeros, and fails on a chunk that starts at row ``row`` or later."""

    def __init__(self, row=10):
        self.row = row

    def fit(self, X, y=None):
        self.fitted_ = True
        return self

    def predict(self, X):
        if X.index[0] >= self.row:
            raise RuntimeError("the model failed")
        return np.zeros(len(X))


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="lists open files via /proc")
def test_failed_file_prediction_closes_the_input(mrl, tmp_path):
    path = tmp_path / "utrs.csv"
    pd.DataFrame({"sequence": mrl[0][:30]}).to_csv(path, index=False)

    def open_here():
        fds = [os.path.join("/proc/self/fd", fd) for fd in os.listdir("/proc/self/fd")]
        return [fd for fd in fds if os.path.exists(fd) and str(tmp_path) in os.readlink(fd)]

    for out in (None, tmp_path / "pred.csv"):
        with pytest.raises(RuntimeError, match="the model failed") as info:
            predict_file(FailsFromRow().fit(None), path, out=out, chunk_size=10)
        # The traceback is still alive (as in a notebook after an error): nothing is open.
        assert info.value.__traceback__ is not None and open_here() == []
    assert not list(tmp_path.glob("pred.csv*"))


def test_file_without_ids_numbers_the_records(trees, mrl, tmp_path):
    X = mrl[0][:25]
    path = tmp_path / "utrs.csv"
    pd.DataFrame({"seq": X}).to_csv(path, index=False)
    table = predict_file(trees, path, chunk_size=10)
    assert table["id"].tolist() == list(range(25))
    np.testing.assert_array_equal(table["prediction"], trees.predict(X))
    with pytest.raises(ValueError, match="sequence_column must be None for a FASTA file"):
        predict_file(trees, path, format="fasta", sequence_column="seq")


def test_ambiguous_warning_names_the_global_row(trees, mrl):
    X = list(mrl[0][:30])
    X[17] = X[17][:-1] + "N"
    with pytest.warns(UserWarning, match=r"at row \[17\] are read as N"):
        predict_chunked(trees, X, chunk_size=10)
    # Worker processes record their warnings and the caller issues them, renumbered (they
    # went to the workers' stderr before, naming row 7 of the chunk).
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with parallel_config(backend="loky"):
            predict_chunked(trees, X, chunk_size=10, n_jobs=2)
    texts = [str(w.message) for w in caught if "read as N" in str(w.message)]
    assert texts == ["Ambiguous bases (N or IUPAC codes) at row [17] are read as N."]


def test_invalid_arguments(trees, mrl):
    X = mrl[0][:10]
    with pytest.raises(ValueError, match="chunk_size must be an int >= 1, got 0"):
        predict_chunked(trees, X, chunk_size=0)
    with pytest.raises(TypeError, match="pass a list such as"):
        predict_chunked(trees, "ACGT")
    with pytest.raises(TypeError, match="must have a 'predict_proba' method"):
        predict_chunked(trees, X, method="predict_proba")
    with pytest.raises(NotFittedError):
        predict_chunked(make_kmer_baseline(), X)
    mixed = iter([pd.DataFrame({"sequence": X}), "ACGT"])
    with pytest.raises(TypeError, match=r"must yield DataFrames only.*got str for item 1"):
        predict_chunked(trees, mixed)


def _peak_bytes(fn) -> int:
    tracemalloc.start()
    try:
        fn()
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_peak_memory_does_not_grow_with_the_input(mrl):
    X, y = mrl
    ridge = make_kmer_baseline(k_range=(1, 2)).fit(X, y)
    small = _peak_bytes(lambda: predict_chunked(ridge, synthetic(5_000), chunk_size=1000))
    large = _peak_bytes(lambda: predict_chunked(ridge, synthetic(20_000), chunk_size=1000))
    # Four times the sequences: the chunk's encoding dominates, only the output grows.
    assert large < 1.5 * small
    materialised = list(synthetic(20_000))
    naive = _peak_bytes(lambda: ridge.predict(materialised))
    assert naive > 3 * large  # the measurement does see growth when there is some


def test_feature_matrix_is_held_once(mrl):
    # Features of a known number of rows are written into one array: peak is the output
    # plus one chunk, where concatenating the chunks would hold the output twice.
    kmers = KmerFeatures(k_range=(1, 3)).fit(mrl[0])
    X = list(synthetic(10_000))
    n_bytes = len(X) * kmers.transform(X[:1]).nbytes
    peak = _peak_bytes(lambda: predict_chunked(kmers, X, chunk_size=500, method="transform"))
    assert n_bytes <= peak < 1.5 * n_bytes
