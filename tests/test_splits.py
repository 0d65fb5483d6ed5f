"""Multi-label splits keep every label: iterative stratification in the folds, hold-outs and
validation splits imbtorch makes; a single-label y keeps scikit-learn's stratified splitters."""

import warnings

import numpy as np
import pytest
from sklearn.model_selection import KFold, StratifiedKFold, StratifiedShuffleSplit
from skorch.dataset import ValidSplit

from imbtorch import BalancedImageClassifier, TunedLabelThresholdsCV, compare_strategies
from imbtorch.data.splits import FewPositivesWarning, check_cv, holdout
from imbtorch.datasets import load_long_tailed_mosaics

FAST = {"max_epochs": 1, "batch_size": 32, "module__width": 8, "random_state": 0}


@pytest.fixture(scope="module")
def mosaics():
    """Long-tailed digit mosaics: 500 images, the two rarest labels on 8 and 6 of them."""
    X, _, Y, _ = load_long_tailed_mosaics(100, source="digits", n_train=500, n_test=10)
    return X, Y


def positives_per_fold(splitter, X, Y):
    return np.array([Y[test].sum(axis=0) for _, test in splitter.split(X, Y)])


def test_every_fold_holds_every_label_that_has_enough_positives_where_kfold_does_not(mosaics):
    X, Y = mosaics
    enough = Y.sum(axis=0) >= 5
    assert enough.all()
    iterative = positives_per_fold(check_cv(5, Y), X, Y)
    assert (iterative[:, enough] >= 1).all()
    # each label's positives are dealt out evenly over the folds
    assert (np.ptp(iterative, axis=0) <= 3).all()
    plain = positives_per_fold(KFold(5), X, Y)
    assert (plain[:, enough] == 0).sum() == 2  # the same data, plain folds: two hold none


def test_the_folds_are_the_same_from_run_to_run_and_follow_the_seed(mosaics):
    X, Y = mosaics
    first = [test.tolist() for _, test in check_cv(5, Y).split(X, Y)]
    assert first == [test.tolist() for _, test in check_cv(5, Y).split(X, Y)]
    other = [test.tolist() for _, test in check_cv(5, Y, random_state=1).split(X, Y)]
    assert other != first


def test_labels_with_fewer_positives_than_folds_are_named_with_their_counts(mosaics):
    X, Y = mosaics
    with pytest.warns(FewPositivesWarning, match=r"10 folds: 'digit 8' \(8\), 'seven' \(7\);"):
        names = [f"digit {d}" for d in range(9)] + ["seven"]
        rare = Y.copy()
        rare[:, 9] = 0
        rare[:7, 9] = 1
        check_cv(10, rare, label_names=names)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        check_cv(5, Y)  # every label has 5 positives or more: no warning


def test_a_single_label_y_keeps_scikit_learns_splitters():
    y = np.repeat([0, 1, 2], 10)
    assert isinstance(check_cv(5, y), StratifiedKFold)
    assert isinstance(holdout(0.2, y, stratified=True, random_state=0), StratifiedShuffleSplit)


def test_a_hold_out_keeps_a_share_of_every_label(mosaics):
    X, Y = mosaics
    train, test = next(holdout(0.2, Y, stratified=True).split(X, Y))
    assert len(test) == 100 and len(set(train) & set(test)) == 0
    assert (Y[test].sum(axis=0) >= 1).all()


def test_a_stratified_validation_split_of_the_estimator_keeps_every_label(mosaics):
    X, Y = mosaics
    clf = BalancedImageClassifier(train_split=ValidSplit(0.2, stratified=True), **FAST)
    clf.fit(X, Y)  # skorch's stratified ValidSplit alone refuses an indicator matrix
    train, valid = clf.get_split_datasets(X, Y)
    assert len(valid) == 100 and (Y[valid.indices].sum(axis=0) >= 1).all()
    assert len(train) + len(valid) == len(Y)
    assert "valid_map" in clf.history[-1]
    # folds: the first of five is held out, as skorch's ValidSplit(5) holds out its first
    _, valid = clf.set_params(train_split=ValidSplit(5, stratified=True)).get_split_datasets(X, Y)
    assert 90 <= len(valid) <= 110 and (Y[valid.indices].sum(axis=0) >= 1).all()


def test_compare_strategies_and_the_threshold_tuner_split_by_label(mosaics):
    X, Y = mosaics
    rare = Y.copy()
    rare[:, 9] = 0
    rare[:2, 9] = 1  # two positives: fewer than 3 folds
    with pytest.warns(FewPositivesWarning, match=r"3 folds: 9 \(2\)"):
        table = compare_strategies(X, rare, ["ce"], estimator=BalancedImageClassifier(**FAST), cv=3)
    assert list(table.index) == ["ce"]
    with pytest.warns(FewPositivesWarning, match=r"2 parts of the split: 9 \(1\)"):
        rare[1, 9] = 0
        TunedLabelThresholdsCV(BalancedImageClassifier(**FAST), cv=0.2, refit=False).fit(X, rare)
