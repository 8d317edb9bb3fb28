"""Labelled scores: r2_pearson (squared Pearson) is not R2 (coefficient of determination)."""

import numpy as np
import pytest
from sklearn.linear_model import LinearRegression
from sklearn.metrics import r2_score
from sklearn.model_selection import cross_validate

from sklearn_dynapro.metrics import SCORING, pearson_r2_score, spearman_score


def test_scores_by_hand():
    y = np.array([1.0, 2.0, 3.0, 4.0])
    biased = 2 * y + 10  # perfectly correlated, badly calibrated
    assert pearson_r2_score(y, biased) == pytest.approx(1.0)
    assert spearman_score(y, biased) == pytest.approx(1.0)
    assert r2_score(y, biased) < 0
    assert spearman_score(y, y[::-1]) == pytest.approx(-1.0)


def test_multi_output_is_averaged_per_column():
    y = np.column_stack([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    pred = np.column_stack([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])
    assert spearman_score(y, pred) == pytest.approx((1.0 - 0.5) / 2)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        pearson_r2_score([1.0, 2.0], [1.0, 2.0, 3.0])


@pytest.mark.parametrize("score", [pearson_r2_score, spearman_score])
def test_non_finite_values_are_named(score):
    # pearsonr gave NaN without a word and spearmanr ranked infinity as the largest value.
    with pytest.raises(ValueError, match=r"y_true must be finite, got NaN .* at row \[1\]"):
        score([1.0, np.nan, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0])
    with pytest.raises(ValueError, match=r"y_pred must be finite, .* at row \[2\]"):
        score([1.0, 2.0, 3.0, 4.0], [1.0, 2.0, np.inf, 4.0])
    two = np.column_stack([[1.0, 2.0, 3.0], [3.0, 1.0, 2.0]])
    with pytest.raises(ValueError, match=r"y_pred must be finite, .* at row \[0\]"):
        score(two, np.where([[False, True], [False, False], [False, False]], -np.inf, two))


def test_scoring_dict_works_in_cross_validate():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(60, 3))
    y = X @ [1.0, 2.0, 0.5] + rng.normal(scale=0.1, size=60)
    scores = cross_validate(LinearRegression(), X, y, cv=3, scoring=SCORING)
    assert set(SCORING) <= {key.removeprefix("test_") for key in scores}
    assert (scores["test_r2_pearson"] > 0.9).all()
