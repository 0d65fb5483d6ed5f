"""scikit-learn conformance: checks, clone, params, pickling, Pipeline, GridSearchCV."""

import pickle
import warnings

import numpy as np
import pandas as pd
import pytest
import sklearn
import torch
from sklearn.base import clone, is_classifier
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_val_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer
from sklearn.utils.estimator_checks import parametrize_with_checks
from skorch.callbacks import EarlyStopping

from imbtorch import BalancedImageClassifier, ImageEmbedder

# Checks this estimator cannot pass, and why.
EXPECTED_FAILED_CHECKS = {
    "check_no_attributes_set_in_init": (
        "skorch's NeuralNet.__init__ sets its bookkeeping attributes history_, initialized_ "
        "and virtual_params_; imbtorch keeps skorch's __init__ to keep its API."
    ),
    "check_do_not_raise_errors_in_init_or_set_params": (
        "skorch's set_params(callbacks=...) re-initialises the callbacks at once, so a "
        "nonsense callbacks value raises in set_params rather than in fit."
    ),
    "check_classifiers_classes": (
        "-1 marks an unlabelled image by default (scikit-learn's semi-supervised convention), "
        "and this check labels a binary y -1 and 1; unlabeled=None makes -1 a class "
        "(test_unlabeled.py)."
    ),
    "check_sample_weight_equivalence_on_dense_data": (
        "Mini-batch SGD is not invariant to repeating samples: repeated rows change the "
        "batches and the epoch length, so weights equal repeats only in the loss of one "
        "batch (tested in test_losses.py)."
    ),
}


def _check_config():
    # sklearn's checks pass tabular X with few features: read each row as a 1-pixel-high
    # image. Few epochs and a high learning rate keep the checks fast.
    return BalancedImageClassifier(
        image_shape=(1, -1), max_epochs=10, lr=1e-2, batch_size=32, random_state=0
    )


@parametrize_with_checks(
    [_check_config()], expected_failed_checks=lambda est: EXPECTED_FAILED_CHECKS
)
def test_sklearn_estimator_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


EMBEDDER_EXPECTED_FAILED_CHECKS = {
    "check_methods_subset_invariance": (
        "float32 convolutions run batch-size-dependent kernels on some CPUs (oneDNN): a "
        "feature of one image alone and in a batch of 20 can differ by ~1e-7, the check's "
        "atol; test_outputs_do_not_depend_on_the_batch checks it at float32 precision."
    ),
}


@parametrize_with_checks(
    [ImageEmbedder(_check_config())],
    expected_failed_checks=lambda est: EMBEDDER_EXPECTED_FAILED_CHECKS,
)
def test_embedder_passes_sklearn_transformer_checks(estimator, check):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        check(estimator)


def test_outputs_do_not_depend_on_the_batch(small_images):
    """sklearn's check_methods_subset_invariance, at float32 precision."""
    X, y = small_images
    clf = BalancedImageClassifier(max_epochs=2, batch_size=16, random_state=0).fit(X, y)
    embedder = ImageEmbedder(clf).fit(X, y)
    for method in (clf.predict_proba, embedder.transform):
        whole = method(X)
        alone = np.concatenate([method(X[i : i + 1]) for i in range(len(X))])
        np.testing.assert_allclose(alone, whole, rtol=1e-4, atol=1e-6)
    np.testing.assert_array_equal(
        np.concatenate([clf.predict(X[i : i + 1]) for i in range(len(X))]), clf.predict(X)
    )


def test_is_a_classifier_with_image_tags():
    clf = BalancedImageClassifier()
    assert is_classifier(clf)
    tags = clf.__sklearn_tags__()
    assert tags.input_tags.three_d_array and not tags.input_tags.allow_nan


def test_clone_keeps_every_parameter_and_drops_fitted_state(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(
        class_weight={0: 2.0},
        sampler="sqrt",
        module__width=8,
        optimizer__weight_decay=0.1,
        max_epochs=2,
        random_state=0,
    ).fit(X, y)
    copy = clone(clf)
    assert copy.get_params(deep=False).keys() == clf.get_params(deep=False).keys()
    for key, value in clf.get_params(deep=False).items():
        assert repr(copy.get_params(deep=False)[key]) == repr(value), key
    assert not hasattr(copy, "module_") and not hasattr(copy, "classes_")


def test_set_params_reaches_nested_and_prefixed_params(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(
        max_epochs=2, random_state=0, callbacks=[("es", EarlyStopping(monitor="train_loss"))]
    )
    clf.set_params(
        module__width=4,
        optimizer__weight_decay=0.3,
        callbacks__es__patience=7,
        class_weight="balanced",
        lr=0.05,
    )
    params = clf.get_params()
    assert params["module__width"] == 4 and params["callbacks__es__patience"] == 7
    clf.fit(X, y)
    assert clf.module_.classifier.in_features == 8
    assert clf.optimizer_.param_groups[0]["lr"] == 0.05
    assert clf.optimizer_.param_groups[0]["weight_decay"] == 0.3
    assert dict(clf.callbacks_)["es"].patience == 7


def test_set_params_accepts_a_module_instance():
    clf = BalancedImageClassifier()
    module = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(64, 3))
    clf.set_params(backbone=module)
    assert clf.get_params()["backbone"] is module


def test_torchvision_transforms_are_settings_for_clone_and_grid_search(small_images):
    """v2 transforms are modules with a static get_params: neither skorch's module
    registry nor scikit-learn's clone may take them for what they are not."""
    from torchvision.transforms import v2

    X, y = small_images
    affine = v2.RandomAffine(degrees=15, scale=(0.9, 1.1))
    clf = BalancedImageClassifier(
        train_transform=v2.RandomHorizontalFlip(), minority_augment=affine, max_epochs=1
    )
    params = clf.get_params(deep=True)
    assert params["minority_augment"] is affine and "minority_augment__degrees" not in params
    copy = clone(clf)
    assert isinstance(copy.minority_augment, v2.RandomAffine)
    assert copy.minority_augment is not affine and copy.minority_augment.degrees == [-15, 15]
    assert "RandomAffine(degrees=[-15.0, 15.0]" in repr(copy)
    with sklearn.config_context(enable_metadata_routing=True):  # clone keeps the requests
        routed = clone(clone(clf).set_fit_request(sample_weight=True))
        assert "'fit': {'sample_weight': True}" in str(routed.get_metadata_routing())
    GridSearchCV(clf, {"lr": [1e-3, 1e-2]}, cv=2).fit(X, y)  # clones clf
    # GridSearchCV also clones the grid's values, so there a transform with a static
    # get_params goes inside v2.Compose (which has none)
    flip, wrapped = v2.RandomVerticalFlip(), v2.Compose([affine])
    grid = GridSearchCV(
        clf, {"minority_augment": [wrapped, flip], "train_transform": [None, flip]}, cv=2
    ).fit(X, y)
    assert len(grid.cv_results_["params"]) == 4
    assert type(grid.best_estimator_.minority_augment) in (v2.Compose, v2.RandomVerticalFlip)


def test_pickle_round_trip_predicts_the_same(small_images):
    X, y = small_images
    clf = BalancedImageClassifier(max_epochs=3, random_state=0).fit(X, np.array(["a", "b", "c"])[y])
    loaded = pickle.loads(pickle.dumps(clf))
    np.testing.assert_array_equal(loaded.predict_proba(X), clf.predict_proba(X))
    assert loaded.get_params()["device"] == "auto"


def test_model_pickled_for_cuda_loads_on_a_cpu_machine(small_images, monkeypatch):
    # A model fitted with device='cuda' records that device; on a machine without CUDA,
    # unpickling maps its tensors to the CPU (skorch's map_location) and says so.
    X, y = small_images
    clf = BalancedImageClassifier(max_epochs=2, random_state=0, device="cpu").fit(X, y)
    expected = clf.predict_proba(X)
    clf.__dict__["device"] = "cuda"
    payload = pickle.dumps(clf)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.warns(UserWarning) as record:
        loaded = pickle.loads(payload)
    messages = " | ".join(str(w.message) for w in record)
    assert "no CUDA devices are available" in messages
    assert "Setting self.device = cpu" in messages
    assert str(loaded.device) == "cpu"
    assert next(loaded.module_.parameters()).device.type == "cpu"
    np.testing.assert_allclose(loaded.predict_proba(X), expected, rtol=1e-6)


def test_in_a_pipeline_and_cross_validation(small_images):
    X, y = small_images
    pipe = make_pipeline(
        FunctionTransformer(lambda Z: Z.reshape(len(Z), -1)),  # flat rows, as sklearn tools give
        BalancedImageClassifier(max_epochs=8, lr=1e-2, random_state=0),
    )
    scores = cross_val_score(pipe, X, y, cv=StratifiedKFold(3), scoring="balanced_accuracy")
    assert scores.min() > 0.9


def test_dataframe_input_keeps_feature_names(small_images):
    X, y = small_images
    df = pd.DataFrame(X.reshape(60, 64), columns=[f"px{i}" for i in range(64)])
    clf = BalancedImageClassifier(max_epochs=3, random_state=0).fit(df, y)
    assert list(clf.feature_names_in_) == list(df.columns)
    assert clf.predict(df).shape == (60,)


def test_grid_search_over_imbalance_strategies(lt_digits):
    X_train, X_test, y_train, y_test = lt_digits
    grid = GridSearchCV(
        BalancedImageClassifier(loss="focal", max_epochs=15, random_state=0),
        {
            "class_weight": [None, "balanced"],
            "sampler": [None, "class_balanced"],
            "focal_gamma": [0.0, 2.0],
        },
        scoring="balanced_accuracy",
        cv=StratifiedKFold(2, shuffle=True, random_state=0),
    )
    grid.fit(X_train, y_train)
    scores = dict(
        zip(map(str, grid.cv_results_["params"]), grid.cv_results_["mean_test_score"], strict=True)
    )
    plain = scores[str({"class_weight": None, "focal_gamma": 0.0, "sampler": None})]
    # the winner corrects the imbalance in some way, and beats plain cross-entropy
    assert grid.best_params_["class_weight"] == "balanced" or grid.best_params_["sampler"]
    assert grid.best_score_ > plain + 0.03
    assert grid.best_estimator_.score(X_test, y_test) > 0.8
