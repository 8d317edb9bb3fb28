"""scikit-learn conformance of every estimator that takes sequences, and of the neural steps.

scikit-learn's estimator checks feed numeric tables, and ``parametrize_with_checks`` skips
estimators whose tags say they take no 2-D arrays, so for the string-input estimators only the
checks that need no data can be run as they are. This module adds what the per-module tests
do not already run:

* the data-free checks (``check_no_attributes_set_in_init``, ``check_get_params_invariance``,
  ``check_set_params`` and ``check_parameters_default_constructible`` run per estimator in
  tests/preprocessing/test_common.py, tests/features/test_*.py, tests/baselines/test_*.py and
  tests/models/test_dynapro.py; the others run here), and all of them for the pipelines;
* ``parametrize_with_checks`` for the neural regressors, the only estimators of the library
  with numeric input (token ids, one-hot arrays, dicts of them), each expected failure with
  its reason;
* the data-dependent API checks redone on real sequences: fit returns self, keeps the
  parameters and adds only ``*_`` attributes; predict/transform change nothing; unfitted
  estimators raise ``NotFittedError``; ``fit_transform`` equals ``fit`` then ``transform``;
  fitted transformers pickle.
"""

import copy
import pickle
import re
import warnings

import joblib
import numpy as np
import pytest
import torch
from sklearn.base import BaseEstimator, clone
from sklearn.exceptions import NotFittedError
from sklearn.utils import estimator_checks as sk_checks
from sklearn.utils.estimator_checks import parametrize_with_checks
from sklearn.utils.validation import check_is_fitted

from sklearn_dynapro import DynaProRegressor
from sklearn_dynapro.baselines import (
    FramePoolRegressor,
    MTtransRegressor,
    OptimusRegressor,
    SequenceLibraryEncoder,
)
from sklearn_dynapro.datasets import load_mpra_random50
from sklearn_dynapro.features import BiophysicalFeatures, CaoFeatures, KmerFeatures
from sklearn_dynapro.preprocessing import DynaProEncoder, SequenceOneHot, SequenceTokenizer

from .conftest import PIPELINES, TINY

pytestmark = pytest.mark.usefixtures("one_thread")


TRANSFORMERS = {
    "SequenceTokenizer": SequenceTokenizer,
    "SequenceOneHot": SequenceOneHot,
    "DynaProEncoder": DynaProEncoder,
    "BiophysicalFeatures": BiophysicalFeatures,
    "CaoFeatures": CaoFeatures,
    "KmerFeatures": lambda: KmerFeatures(k_range=(1, 3)),
    "SequenceLibraryEncoder": SequenceLibraryEncoder,
}
NEURAL_PIPELINES = ("dynapro", "optimus", "framepool", "mttrans")
STRING_INPUT = {**TRANSFORMERS, **PIPELINES}


@pytest.fixture(scope="module")
def mrl():
    X, y = load_mpra_random50()
    return X[:60], y[:60]


# ------------------------------------------------------------------ data-free checks
#: The checks of sklearn.utils.estimator_checks (scikit-learn 1.9) that need no data and are
#: not already run per module for the single estimators.
DATA_FREE = [
    sk_checks.check_estimator_cloneable,
    sk_checks.check_estimator_tags_renamed,
    sk_checks.check_valid_tag_types,
    sk_checks.check_estimator_repr,
    sk_checks.check_mixin_order,
    sk_checks.check_do_not_raise_errors_in_init_or_set_params,
]
#: Run per module for the single estimators; here for the pipelines.
PER_MODULE = [
    sk_checks.check_no_attributes_set_in_init,
    sk_checks.check_get_params_invariance,
    sk_checks.check_set_params,
    sk_checks.check_parameters_default_constructible,
]


def _run(check, estimator):
    with warnings.catch_warnings():
        # check_set_params warns when set_params validates; nothing here does.
        warnings.simplefilter("error", UserWarning)
        check(type(estimator).__name__, estimator)


@pytest.mark.parametrize("check", DATA_FREE, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", STRING_INPUT)
def test_data_free_checks(name, check):
    _run(check, STRING_INPUT[name]())


@pytest.mark.parametrize("check", PER_MODULE, ids=lambda c: c.__name__)
@pytest.mark.parametrize("name", PIPELINES)
def test_data_free_checks_of_the_pipelines(name, check):
    _run(check, PIPELINES[name]())


@pytest.mark.parametrize(
    "check",
    [sk_checks.check_get_feature_names_out_error, sk_checks.check_transformers_unfitted],
    ids=lambda c: c.__name__,
)
@pytest.mark.parametrize("name", TRANSFORMERS)
def test_unfitted_transformer_checks(name, check):
    # check_transformers_unfitted passes numbers, but only asserts the not-fitted error,
    # which comes before any look at X.
    _run(check, TRANSFORMERS[name]())


@pytest.mark.parametrize("name", PIPELINES)
def test_unfitted_pipeline_check(name):
    _run(sk_checks.check_estimators_unfitted, PIPELINES[name]())


@pytest.mark.parametrize(
    "name", [n for n, make in TRANSFORMERS.items() if hasattr(make(), "_parameter_constraints")]
)
def test_declared_parameter_constraints(name):
    # The parameters are validated before X is looked at, so the numeric X does not matter.
    _run(sk_checks.check_param_validation, TRANSFORMERS[name]())


@pytest.mark.parametrize(
    "estimator",
    [DynaProRegressor(), OptimusRegressor(), FramePoolRegressor(), MTtransRegressor()],
    ids=lambda est: type(est).__name__,
)
def test_neural_regressors_declare_and_check_every_parameter(estimator):
    # A constraint for every parameter (skorch's included), checked by fit and partial_fit
    # before anything is trained.
    _run(sk_checks.check_param_validation, estimator)


# --------------------------------------------- the neural regressors on numeric input
_INPUT = {
    "DynaProRegressor": "integer token ids of shape (n_samples, max_len) from SequenceTokenizer",
    "OptimusRegressor": "one-hot arrays of shape (n_samples, 4, width) from SequenceOneHot",
    "FramePoolRegressor": "a dict {'onehot', 'length'} from SequenceLibraryEncoder",
    "MTtransRegressor": "a dict {'onehot', 'length', 'library'} from SequenceLibraryEncoder",
}
#: Checks that fit or predict on sklearn's 2-D float tables, which these networks do not take;
#: tests/test_invariances.py and the string-data tests below cover the same ground.
_TABLE_INPUT_CHECKS = (
    "check_complex_data",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_partial_fit_n_features",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_regressor_data_not_an_array",
    "check_regressors_int",
    "check_regressors_no_decision_function",
    "check_regressors_train",
    "check_requires_y_none",
    "check_supervised_y_2d",
)
#: Checks that pass X as an ndarray and expect a ValueError about y or the shape; the dict-input
#: networks raise a TypeError about X first.
_DICT_INPUT_CHECKS = ("check_fit1d", "check_supervised_y_no_nan")


def expected_failed_checks(estimator) -> dict[str, str]:
    """The checks each neural regressor fails, with the reason."""
    name = type(estimator).__name__
    reason = f"takes {_INPUT[name]}, not the check's 2-D float table"
    failures = dict.fromkeys(_TABLE_INPUT_CHECKS, reason)
    if name in ("FramePoolRegressor", "MTtransRegressor"):
        failures |= dict.fromkeys(_DICT_INPUT_CHECKS, reason)
    return failures | {
        # skorch's NeuralNet.__init__ sets history_, initialized_ and virtual_params_.
        "check_no_attributes_set_in_init": "skorch sets bookkeeping attributes in __init__",
        # NeuralNet keeps a private set `_params_to_validate` that sklearn lists as a
        # parameter; the check overwrites it with a float.
        "check_set_params": "skorch's _params_to_validate is seen as a parameter",
    }


#: What each expected failure must be, searched in the error and the errors it arose from
#: (sklearn's checks often raise their own AssertionError while handling the estimator's):
#: a check that fails for any other reason is a real failure, not an expected one.
_EXPECTED_ERRORS = {
    "input": r"X must be a dict with keys|tokens must be an integer array|"
    r"X must be a (numeric )?one-hot array",
    "check_no_attributes_set_in_init": r"during init\. Found attributes \['history_', "
    r"'initialized_'",
    "check_set_params": r"'float' object has no attribute 'add'",
}


def _error_chain(exc: BaseException) -> str:
    texts = []
    while exc is not None and len(texts) < 8:
        texts.append(f"{type(exc).__name__}: {exc}")
        exc = exc.__cause__ or exc.__context__
    return " <- ".join(texts)


@parametrize_with_checks(
    [
        DynaProRegressor(
            module__d_model=16, module__n_heads=2, module__n_layers=1, module__ffn_dim=16, **TINY
        ),
        OptimusRegressor(module__n_filters=4, module__dense_dim=4, **TINY),
        FramePoolRegressor(module__n_filters=4, module__dense_dim=4, **TINY),
        MTtransRegressor(module__conv_channels=(4, 4, 4, 4), module__tower_hidden=4, **TINY),
    ]
)
def test_sklearn_checks_of_the_neural_regressors(estimator, check):
    name = getattr(check, "func", check).__name__
    reason = expected_failed_checks(estimator).get(name)
    if reason is None:
        check(estimator)
        return
    try:
        check(estimator)
    except Exception as exc:
        chain = _error_chain(exc)
    else:
        pytest.fail(f"{name} was expected to fail ({reason}) and passed.")
    expected = _EXPECTED_ERRORS.get(name, _EXPECTED_ERRORS["input"])
    if not re.search(expected, chain):
        pytest.fail(f"{name} failed, but not as expected ({reason}): {chain[:2000]}")
    pytest.xfail(reason)


# ------------------------------------------- data-dependent checks, on real sequences
def _outputs(estimator, X):
    return estimator.predict(X) if hasattr(estimator, "predict") else estimator.transform(X)


def _parts(estimator) -> list:
    """The estimator, or the pipeline and each of its steps."""
    return [estimator, *(step for _, step in getattr(estimator, "steps", []))]


def _param_hashes(estimator) -> dict[str, str]:
    return {
        key: joblib.hash(value)
        for key, value in estimator.get_params(deep=True).items()
        if key != "steps" and not isinstance(value, BaseEstimator)
    }


def _fingerprint(value):
    """A comparable digest of an attribute (networks by their weights)."""
    if isinstance(value, torch.nn.Module):
        # Weights and buffers only: DynaProNet keeps its last auxiliary loss as an attribute.
        return joblib.hash({k: v.detach().cpu().numpy() for k, v in value.state_dict().items()})
    try:
        return joblib.hash(value)
    except Exception:  # skorch objects holding tensors that joblib cannot sort
        return pickle.dumps(value)


def _state(estimator) -> list[dict]:
    # A pipeline's steps are compared one by one, with their networks by weights.
    return [
        {k: _fingerprint(v) for k, v in vars(part).items() if k != "steps"}
        for part in _parts(estimator)
    ]


@pytest.fixture(scope="module", params=list(STRING_INPUT))
def fitted(request, mrl):
    """Fit each estimator once, recording what the data-dependent checks compare."""
    X, y = mrl
    estimator = STRING_INPUT[request.param]()
    record = {
        "params": _param_hashes(estimator),
        "attributes": [set(vars(part)) for part in _parts(estimator)],
    }
    torch.set_num_threads(1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # tiny networks; early-stopping notes
        record["returned"] = estimator.fit(X, y)
    return request.param, estimator, record


def test_fit_returns_self(fitted):
    _, estimator, record = fitted
    assert record["returned"] is estimator


def test_fit_keeps_the_parameters(fitted):
    _, estimator, record = fitted
    after = _param_hashes(estimator)
    # A fitted skorch net also lists its callbacks' parameters (callbacks__early_stopping__…);
    # every parameter there before fit must be unchanged.
    assert {key: after.get(key) for key in record["params"]} == record["params"]


def test_fit_adds_only_trailing_underscore_attributes(fitted):
    _, estimator, record = fitted
    for part, before in zip(_parts(estimator), record["attributes"], strict=True):
        added = set(vars(part)) - before
        public = sorted(a for a in added if not a.startswith("_") and not a.endswith("_"))
        assert not public, f"{type(part).__name__}.fit set {public}"


def test_predict_and_transform_change_nothing(fitted, mrl):
    _, estimator, _ = fitted
    X, _ = mrl
    before = _state(estimator)
    _outputs(estimator, X[:10])
    assert _state(estimator) == before


def test_is_fitted_after_fit_and_not_before(fitted, mrl):
    name, estimator, _ = fitted
    X, _ = mrl
    check_is_fitted(estimator)
    fresh = STRING_INPUT[name]()
    with pytest.raises(NotFittedError):
        check_is_fitted(fresh)
    with pytest.raises(NotFittedError):
        _outputs(fresh, X[:5])


def test_clone_is_unfitted_and_equal_in_parameters(fitted):
    name, estimator, _ = fitted
    copy_ = clone(estimator)
    assert _param_hashes(copy_) == _param_hashes(STRING_INPUT[name]())
    with pytest.raises(NotFittedError):
        check_is_fitted(copy_)


def _assert_same_output(a, b):
    if isinstance(a, dict):
        assert a.keys() == b.keys()
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])
    else:
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name", TRANSFORMERS)
def test_fit_transform_equals_fit_then_transform(name, mrl):
    X, _ = mrl
    _assert_same_output(
        TRANSFORMERS[name]().fit_transform(X[:20]),
        TRANSFORMERS[name]().fit(X[:20]).transform(X[:20]),
    )


def test_fitted_estimators_pickle(fitted, mrl):
    _, estimator, _ = fitted
    X, _ = mrl
    restored = pickle.loads(pickle.dumps(estimator))
    _assert_same_output(_outputs(restored, X[:10]), _outputs(estimator, X[:10]))


@pytest.mark.parametrize("name", STRING_INPUT)
def test_empty_input_is_a_value_error(name):
    with pytest.raises(ValueError, match="at least one sequence, got 0 rows"):
        STRING_INPUT[name]().fit([], [])


@pytest.mark.parametrize("name", NEURAL_PIPELINES)
def test_one_sample_is_too_few_for_the_networks(name, mrl):
    X, y = mrl
    with pytest.raises(ValueError, match="at least 2 samples to fit, got 1"):
        PIPELINES[name]().fit(X[:1], y[:1])


# ------------------------------------------------- device, pickling and partial_fit
@pytest.mark.parametrize(
    "make", [DynaProRegressor, OptimusRegressor, FramePoolRegressor, MTtransRegressor]
)
def test_unfitted_nets_with_device_auto_pickle(make):
    net = make()
    assert pickle.loads(pickle.dumps(net)).get_params()["device"] == "auto"
    assert copy.deepcopy(net).get_params()["device"] == "auto"


@pytest.mark.parametrize("name", NEURAL_PIPELINES)
def test_fit_keeps_device_auto(name, mrl):
    X, y = mrl
    pipe = PIPELINES[name]()
    pipe.steps[-1][1].set_params(device="auto")
    pipe.fit(X[:64], y[:64])
    net = pipe[-1]
    assert net.get_params()["device"] == "auto"
    assert clone(net).get_params()["device"] == "auto"
    # The attribute is the device skorch computes on; a round trip keeps the parameter.
    assert net.device == ("cuda" if torch.cuda.is_available() else "cpu")
    restored = pickle.loads(pickle.dumps(pipe))
    assert restored[-1].get_params()["device"] == "auto"
    np.testing.assert_allclose(restored.predict(X[:16]), pipe.predict(X[:16]), rtol=1e-6)


def test_partial_fit_checks_y(mrl):
    X, y = mrl
    pipe = PIPELINES["optimus"]().fit(X, y)
    encoded = pipe[0].transform(X[:8])
    bad = y[:8].copy()
    bad[3] = np.nan
    with pytest.raises(ValueError, match=r"row \[3\]"):
        pipe[-1].partial_fit(encoded, bad)


def test_partial_fit_trains_further_on_the_fitted_scale(mrl):
    X, y = mrl
    pipe = PIPELINES["optimus"]().fit(X, y)
    net = pipe[-1]
    epochs, mean, scale = len(net.history_), net.y_mean_.copy(), net.y_scale_.copy()
    net.partial_fit(pipe[0].transform(X), y)
    assert len(net.history_) == 2 * epochs  # max_epochs more, on top of fit's
    np.testing.assert_array_equal(net.y_mean_, mean)  # scaling stays the one fit learned
    np.testing.assert_array_equal(net.y_scale_, scale)
    assert np.isfinite(pipe.predict(X)).all()
    with pytest.raises(ValueError, match="column"):
        net.partial_fit(pipe[0].transform(X), np.c_[y, y])
