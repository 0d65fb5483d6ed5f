"""Fitted models pickled before the package's layout changed load and predict as before."""

import pickle
from pathlib import Path

import numpy as np
import pytest

DATA = Path(__file__).parent / "data"


def test_models_pickled_by_imbtorch_0_1_load_and_predict_as_they_did(small_images):
    """Pickled by imbtorch 0.1.0.dev0 (tests/data/make_fitted_0.1.0.dev0.py): classes from
    modules that moved resolve with a FutureWarning, the fitted attributes become the plan."""
    with pytest.warns(FutureWarning, match=r"imbtorch\.training\.longer moved to imbtorch\."):
        fitted = pickle.loads((DATA / "fitted_0.1.0.dev0.pkl").read_bytes())
    X = small_images[0]  # what the script predicted on
    for entry in fitted.values():
        clf = entry["model"]
        np.testing.assert_array_equal(clf.predict(X), entry["predict"])
        np.testing.assert_array_equal(clf.predict_proba(X), entry["proba"])
        assert clf.strategy_ == entry["strategy_"]
        assert "fitted with imbtorch 0.1" in str(clf.plan_)
    extended = fitted["auto_extended"]["model"]
    assert (extended.extension_.start, extended.extension_.epochs) == (10, 2)
    assert extended.joint_train_score_ < 0.99 and extended.head_resampler_ == "sqrt"
    assert "trained longer: training balanced accuracy 0.667 < 0.99" in str(extended.plan_)
    assert fitted["as_set"]["model"].loss_ == "ce"
