"""Searches on a Dask cluster (joblib's 'dask' backend) or on Ray give what a local run gives.

Scores are log-losses: continuous, so equal scores mean equal predicted probabilities.
"""

import os

import numpy as np
import pytest
import torch
from conftest import write_image_folder
from joblib import parallel_config
from sklearn.base import clone
from sklearn.model_selection import GridSearchCV, StratifiedKFold, cross_validate

from imbtorch import BalancedImageClassifier, compare_strategies
from imbtorch.data.loader import decoding_workers

distributed = pytest.importorskip("dask.distributed")
GRID = {"class_weight": [None, "balanced"], "loss": ["ce", "focal"]}

FAST = {"max_epochs": 3, "batch_size": 16, "module__width": 8, "random_state": 0}


@pytest.fixture(scope="module")
def client():
    """A LocalCluster of 2 single-threaded worker processes on loopback.

    Its nanny writes OMP_NUM_THREADS=1 (and the like) into this process's
    environment before spawning workers and leaves it there; it is restored
    afterwards so that later tests' subprocesses keep their threads.
    """
    environ = dict(os.environ)
    cluster = distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        host="127.0.0.1",
        dashboard_address=None,
    )
    try:
        with distributed.Client(cluster) as client:
            yield client
    finally:
        cluster.close()
        os.environ.clear()
        os.environ.update(environ)


@pytest.fixture
def one_thread():
    """Torch on one thread here, as in the Dask workers (their nanny sets OMP_NUM_THREADS=1),
    so that local and remote fits do the same floating-point work."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_grid_search_on_dask_equals_a_local_run(small_images, client, one_thread):
    X, y = small_images
    keep = np.r_[0:20, 20:30, 40:45]  # imbalanced: 20 / 10 / 5
    X, y = X[keep], y[keep]

    def search():
        return GridSearchCV(
            BalancedImageClassifier(**FAST),
            GRID,
            scoring="neg_log_loss",
            cv=StratifiedKFold(3),
            n_jobs=-1,
        )

    local = search().set_params(n_jobs=None).fit(X, y)
    with parallel_config(backend="dask", scatter=[X, y]), distributed.get_task_stream() as ts:
        remote = search().fit(X, y)
    assert len(ts.data) >= 4 * 3  # every candidate's folds ran on the cluster
    for key in ("mean_test_score", "std_test_score", "rank_test_score"):
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    for split in range(3):
        key = f"split{split}_test_score"
        np.testing.assert_array_equal(remote.cv_results_[key], local.cv_results_[key])
    assert remote.best_params_ == local.best_params_


def test_compare_strategies_on_dask_equals_a_local_run(small_images, client, one_thread):
    pytest.importorskip("pandas")
    X, y = small_images
    strategies = ["ce", "balanced_weights", "weighted_sampler"]
    estimator = BalancedImageClassifier(**FAST)
    scoring = {"neg_log_loss": "neg_log_loss", "balanced_accuracy": "balanced_accuracy"}
    local = compare_strategies(X, y, strategies, estimator=estimator, cv=2, scoring=scoring)
    with parallel_config(backend="dask"):
        remote = compare_strategies(
            X, y, strategies, estimator=estimator, cv=2, scoring=scoring, n_jobs=-1
        )
    assert list(remote.index) == list(local.index)
    scores = [c for c in local.columns if c.endswith("_mean") and not c.startswith("fit_time")]
    np.testing.assert_array_equal(remote[scores].to_numpy(), local[scores].to_numpy())


def test_file_paths_cross_validate_on_daemonic_dask_workers(
    small_images, tmp_path, client, one_thread
):
    """Only the paths travel; a daemonic worker decodes in its own process by default."""
    X, y = small_images
    pixels = (np.clip(X / 4 + 0.5, 0, 1) * 255).astype(np.uint8)
    paths = write_image_folder(tmp_path, pixels, y)
    estimator = BalancedImageClassifier(**FAST)
    settings = dict(cv=StratifiedKFold(2), scoring="neg_log_loss")
    local = cross_validate(estimator, paths, y, **settings)
    with parallel_config(backend="dask"):
        remote = cross_validate(estimator, paths, y, **settings, n_jobs=-1)
    np.testing.assert_array_equal(remote["test_score"], local["test_score"])
    assert set(client.run(decoding_workers).values()) == {0}


def test_grid_search_on_ray_equals_a_local_run(small_images, one_thread):
    """Ray's joblib backend (the optional ``ray`` extra) on a local Ray of 2 CPUs."""
    ray = pytest.importorskip("ray")
    from ray.util.joblib import register_ray

    X, y = small_images
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        log_to_driver=False,
        runtime_env={"env_vars": {"OMP_NUM_THREADS": "1"}},
    )
    try:
        register_ray()
        search = GridSearchCV(
            BalancedImageClassifier(**FAST),
            GRID,
            scoring="neg_log_loss",
            cv=StratifiedKFold(3),
            n_jobs=-1,
        )
        local = clone(search).set_params(n_jobs=None).fit(X, y)
        with parallel_config(backend="ray"):
            remote = clone(search).fit(X, y)
    finally:
        ray.shutdown()
    np.testing.assert_array_equal(
        remote.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"]
    )
