"""Property-based tests: every public entry point works or raises a clear ValueError/TypeError.

Random strings (any unicode, lone surrogates, ACGTUN mixes in any case, IUPAC codes, empty
strings, whitespace, very long), random values (bytes, ints, floats, None, NaN, pd.NA, nested
lists) in random containers (lists, tuples, numpy object and str arrays, columns, pandas
Series, DataFrames without the sequence column, bare scalars), random targets and random file
contents go to :func:`check_sequences`, the transformers' ``fit``/``transform``, fitted tiny
pipelines' ``predict``, the pipelines' ``fit`` and :func:`load_sequences`.

Each call must return, or raise exactly ``ValueError`` or ``TypeError`` with a message: a
subclass (pandas' ``ParserError``, ``UnicodeDecodeError``) or any other type means an error
escaped from deep inside numpy, pandas, torch or ViennaRNA. A ValueError about invalid
sequences or targets names the rows.
"""

import re
import time
import warnings

import numpy as np
import pandas as pd
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from sklearn_dynapro import check_sequences
from sklearn_dynapro._validation import format_rows
from sklearn_dynapro.baselines import SequenceLibraryEncoder
from sklearn_dynapro.datasets import load_mpra_random50, load_sequences
from sklearn_dynapro.features import BiophysicalFeatures, CaoFeatures, KmerFeatures, fold_mfe
from sklearn_dynapro.features._folding import MAX_FOLD_LENGTH
from sklearn_dynapro.preprocessing import DynaProEncoder, SequenceOneHot, SequenceTokenizer

from .conftest import PIPELINES

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")  # ambiguous bases, truncation

FEW = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

#: Transformers that fold with ViennaRNA (cubic in the length: inputs stay short for them).
FOLDING = {"BiophysicalFeatures": BiophysicalFeatures, "CaoFeatures": CaoFeatures}
NON_FOLDING = {
    "SequenceTokenizer": lambda: SequenceTokenizer(k=3),
    "SequenceOneHot": SequenceOneHot,
    "KmerFeatures": lambda: KmerFeatures(k_range=(1, 3)),
    "DynaProEncoder": lambda: DynaProEncoder(features=None, k=2),
    "SequenceLibraryEncoder": SequenceLibraryEncoder,
}

#: The rows a message names, as written by format_rows.
_ROWS = re.compile(r"\brows? \[\d")


def outcome(call, *args, **kwargs):
    """Run ``call``; return (result, None) or (None, error) for a clean ValueError/TypeError.

    Any other exception propagates and fails the test with its traceback.
    """
    try:
        return call(*args, **kwargs), None
    except (ValueError, TypeError) as exc:
        message = str(exc)
        assert type(exc) in (ValueError, TypeError), f"{type(exc).__name__} leaked: {message}"
        assert message.strip(), f"{type(exc).__name__} without a message"
        if message.startswith(("Invalid sequences", "Sequences to fold", "y must be finite")):
            assert _ROWS.search(message), f"the rows are not named: {message}"
        return None, exc


# ------------------------------------------------------------------------ strategies
ACGTUN = "ACGTUNacgtun"
nucleotides = st.text(alphabet=ACGTUN, min_size=1, max_size=60)
iupac = st.text(alphabet="ACGTRYSWKMBDHVNacgu", min_size=1, max_size=30)
whitespace = st.text(alphabet=" \t\n\r\x0b\x0cACGT", min_size=1, max_size=20)
any_unicode = st.text(max_size=30)
surrogates = st.text(st.characters(categories=["Cs"]), min_size=1, max_size=3).map(
    lambda s: "AC" + s
)
short_strings = st.one_of(nucleotides, iupac, whitespace, any_unicode, surrogates, st.just(""))
#: 1,000 to 50,000 nt: over every fitted max_len, some over ViennaRNA's limit.
long_strings = st.integers(1_000, 50_000).map(lambda n: ("ACGU" * (n // 4 + 1))[:n])
others = st.one_of(
    st.none(),
    st.just(float("nan")),
    st.just(pd.NA),
    st.binary(max_size=8),
    st.integers(),
    st.floats(),
    st.booleans(),
    st.lists(nucleotides, max_size=3),
)


def values(strings) -> st.SearchStrategy:
    """Mostly strings, sometimes anything else."""
    return st.one_of(strings, strings, strings, others)


@st.composite
def containers(draw, elements) -> object:
    """A batch of ``elements`` in one of the containers users pass, or a bare value."""
    items = draw(st.lists(elements, max_size=6))
    kind = draw(
        st.sampled_from(
            ["list", "tuple", "object", "str", "column", "series", "frame", "no_column", "bare"]
        )
    )
    objects = np.empty(len(items), dtype=object)
    for i, item in enumerate(items):  # element by element: nested lists stay objects
        objects[i] = item
    if kind == "tuple":
        return tuple(items)
    if kind == "object":
        return objects
    if kind == "str":
        return np.array(items) if all(isinstance(v, str) for v in items) else objects
    if kind == "column":
        return objects.reshape(-1, 1)
    if kind == "series":
        return pd.Series(objects, index=np.arange(len(items)) * 3, dtype=object)
    if kind == "frame":
        return pd.DataFrame({"sequence": objects, "library": "a"})
    if kind == "no_column":
        return pd.DataFrame({"utr": objects, "other": 1.0})
    if kind == "bare":
        return draw(elements)
    return items


short_inputs = containers(values(short_strings))
any_inputs = containers(values(st.one_of(short_strings, long_strings)))


# --------------------------------------------------------------------- check_sequences
@FEW
@given(
    X=any_inputs,
    ambiguous=st.sampled_from(["error", "warn", "mask"]),
    max_len=st.one_of(st.none(), st.integers(1, 80)),
    truncate=st.booleans(),
    min_len=st.integers(1, 4),
)
def test_check_sequences_returns_clean_dna_or_a_clear_error(
    X, ambiguous, max_len, truncate, min_len
):
    out, error = outcome(
        check_sequences,
        X,
        ambiguous=ambiguous,
        max_len=max_len,
        truncate=truncate,
        min_len=min_len,
    )
    if error is None:
        assert out.shape == (len(X),) and out.dtype == object
        assert all(re.fullmatch(r"[ACGTN]+", s) for s in out)
        assert all(len(s) >= min_len for s in out)
        if max_len is not None:
            assert all(len(s) <= max_len for s in out)


# "nan" and "nat" spell a missing value written as text, which check_sequences rejects.
dna = nucleotides.filter(lambda s: s.upper() not in {"NAN", "NAT"})


@FEW
@given(st.lists(dna, min_size=1, max_size=8))
def test_acgtun_in_any_case_is_upper_case_dna(sequences):
    out = check_sequences(sequences, ambiguous="mask")
    assert out.tolist() == [s.upper().replace("U", "T") for s in sequences]


@FEW
@given(
    st.lists(st.text(alphabet="ACGT", min_size=1, max_size=20), min_size=1, max_size=5), st.data()
)
def test_one_bad_row_is_named(sequences, data):
    row = data.draw(st.integers(0, len(sequences) - 1))
    bad = data.draw(st.sampled_from(["", " ", "AC GT", "AC1", "ACé", "AC&", None, float("nan")]))
    sequences[row] = bad
    with pytest.raises(ValueError, match=re.escape(f"at {format_rows([row])}")):
        check_sequences(sequences)


# --------------------------------------------------------------------- transformers
@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:120], y[:120]


@pytest.fixture(scope="module")
def transformers(mrl):
    X, _ = mrl
    return {name: make().fit(X) for name, make in {**NON_FOLDING, **FOLDING}.items()}


def _check_batch(result, X) -> None:
    """A transform's or predict's output has one row per input."""
    first = next(iter(result.values())) if isinstance(result, dict) else result
    assert first.shape[0] == len(X)


@FEW
@given(X=any_inputs)
def test_non_folding_transformers(transformers, X):
    for name in NON_FOLDING:
        result, error = outcome(transformers[name].transform, X)
        if error is None:
            _check_batch(result, X)
        result, error = outcome(clone(transformers[name]).fit_transform, X)
        if error is None:
            _check_batch(result, X)


@FEW
@given(X=short_inputs)
def test_folding_transformers(transformers, X):
    for name in FOLDING:
        result, error = outcome(transformers[name].transform, X)
        if error is None:
            _check_batch(result, X)
            assert np.isfinite(result).all()
        outcome(clone(transformers[name]).fit, X)


def test_sequences_shorter_than_a_quadruplex_fold_at_once():
    # ViennaRNA 2.7 took seconds (1-8 nt) to many minutes (9 nt) to set up these G-quadruplex
    # folds: hypothesis found CaoFeatures hanging on them. No quadruplex fits under 11 nt.
    short = ["A", "G" * 9, "GGAGGAGGAG", "ACGTACGT"]
    start = time.perf_counter()
    with_quadruplexes = fold_mfe(short, gquad=True, cache=False)
    assert time.perf_counter() - start < 30
    np.testing.assert_array_equal(with_quadruplexes, fold_mfe(short, cache=False))
    assert fold_mfe(["GGAGGAGGAGG"], gquad=True, cache=False)[0] < 0  # 11 nt: one fits


@pytest.mark.parametrize("name", FOLDING)
def test_too_long_to_fold_is_a_value_error_naming_the_row(transformers, name):
    X = ["ACGT", "A" * (MAX_FOLD_LENGTH + 1)]
    with pytest.raises(ValueError, match=rf"at most {MAX_FOLD_LENGTH} nt .* at row \[1\]"):
        transformers[name].transform(X)


# ------------------------------------------------------------------------ pipelines
@pytest.fixture(scope="module")
def pipelines(mrl):
    X, y = mrl
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {name: make().fit(X, y) for name, make in PIPELINES.items()}


@FEW
@given(X=short_inputs)
def test_fitted_pipelines_predict(pipelines, X):
    torch.set_num_threads(1)
    for pipe in pipelines.values():
        result, error = outcome(pipe.predict, X)
        if error is None:
            assert result.shape == (len(X),) and np.isfinite(result).all()


@FEW
@given(X=any_inputs)
def test_fitted_neural_pipelines_predict_long_input(pipelines, X):
    # Their encoders refuse sequences over the fitted length before any folding.
    for name in ("dynapro", "optimus", "framepool", "mttrans"):
        result, error = outcome(pipelines[name].predict, X)
        if error is None:
            assert result.shape == (len(X),) and np.isfinite(result).all()
            column = X.iloc[:, 0] if isinstance(X, pd.DataFrame) else X
            assert all(len(seq) <= 50 for seq in np.asarray(column, dtype=object).ravel())


@pytest.fixture(scope="module")
def fit_data(mrl):
    X, y = mrl
    return X[:12], y[:12]


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(list(PIPELINES)),
    bad_rows=st.sets(st.integers(0, 11), min_size=1, max_size=4),
    bad_value=st.sampled_from([np.nan, np.inf, -np.inf]),
    as_series=st.booleans(),
)
def test_non_finite_targets_name_the_rows(fit_data, name, bad_rows, bad_value, as_series):
    X, y = fit_data
    y = y.copy()
    y[sorted(bad_rows)] = bad_value
    target = pd.Series(y) if as_series else y
    with pytest.raises(ValueError, match=re.escape(f"at {format_rows(sorted(bad_rows))}.")):
        PIPELINES[name]().fit(X, target)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(list(PIPELINES)), n_targets=st.integers(0, 20).filter(lambda n: n != 12)
)
def test_length_mismatch_is_a_value_error(fit_data, name, n_targets):
    X, y = fit_data
    target = np.resize(y, n_targets)
    with pytest.raises(ValueError, match=f"got 12 sequences and {n_targets} targets"):
        PIPELINES[name]().fit(X, target)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    name=st.sampled_from(list(PIPELINES)),
    target=st.one_of(
        st.none(),
        st.floats(),
        st.lists(
            st.one_of(st.text(max_size=3), st.none(), st.complex_numbers()),
            min_size=12,
            max_size=12,
        ),
        st.lists(st.lists(st.floats(), max_size=2), min_size=12, max_size=12),
        st.just(np.zeros((12, 0))),
        st.just(np.ones((12, 1, 1))),
    ),
)
def test_malformed_targets(fit_data, name, target):
    X, _ = fit_data
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        # Well-formed random targets reach training: one epoch of a tiny network.
        _, error = outcome(PIPELINES[name]().fit, X, target)
    if not _well_formed(target, len(X)):
        assert error is not None, f"{name} trained on the malformed target {target!r}"


def _well_formed(target, n: int) -> bool:
    """Whether ``target`` is n finite reals, in one column or several (the oracle).

    The converse does not hold: a baseline may still refuse a well-formed target, such as
    scikit-learn's forests refusing values beyond float32.
    """
    try:
        arr = np.asarray(target, dtype=np.float64)
    except (TypeError, ValueError):
        return False
    shape_ok = arr.ndim == 1 or (arr.ndim == 2 and arr.shape[1] > 0)
    return shape_ok and len(arr) == n and bool(np.isfinite(arr).all())


# ------------------------------------------------------------------------ the loader
file_text = st.one_of(
    st.text(max_size=80),
    st.text(alphabet="ACGTN,\t\n\r\"';>#xé\ufeff", max_size=80),
    st.builds(
        lambda head, rows: head + "\n" + "\n".join(rows),
        st.sampled_from(["sequence,y", "id\tseq", "seq", ">r1", "sequence,sequence", "y"]),
        st.lists(st.text(alphabet='ACGT,\t1.5-nan"', max_size=15), max_size=5),
    ),
)


@pytest.fixture(scope="module")
def file_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("files")


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    content=st.one_of(
        file_text.map(lambda t: t.encode("utf-8", "surrogatepass")), st.binary(max_size=60)
    ),
    gzip_magic=st.booleans(),
    suffix=st.sampled_from([".csv", ".tsv", ".fa", ".csv.gz", ".txt"]),
    options=st.sampled_from(
        [
            {},
            {"target_column": "y"},
            {"format": "csv"},
            {"format": "fasta"},
            {"sequence_column": "seq"},
            {"id_column": "id"},
        ]
    ),
)
def test_load_sequences_on_random_files(file_dir, content, gzip_magic, suffix, options):
    path = file_dir / f"random{suffix}"
    path.write_bytes((b"\x1f\x8b" if gzip_magic else b"") + content)
    loaded, error = outcome(load_sequences, path, **options)
    if error is None:
        X = loaded[0] if isinstance(loaded, tuple) else loaded
        assert list(X.columns[:2]) == ["id", "sequence"] and len(X) >= 1
