"""
A search on a Dask cluster
==========================

``GridSearchCV``, ``cross_validate`` and :func:`imbtorch.compare_strategies`
run their fits through joblib, so joblib's ``'dask'`` backend sends them to a
Dask cluster with no change to the search. Here the cluster is two local
worker processes; ``Client("tcp://scheduler:8786")`` connects to a real one. With an int
``random_state`` every fit is seeded the same wherever it runs, so the
cluster's scores equal a local run's, as long as both run torch on the same
number of threads (the workers of a real cluster use one each: see
:doc:`/user_guide/reproducibility`).
"""

# %%
# A cluster, and a search
# -----------------------
import os

import dask
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import torch
from dask.distributed import Client, LocalCluster
from joblib import parallel_config
from sklearn.model_selection import GridSearchCV, StratifiedKFold

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_digits

# Forked workers start without importing this script again, so it runs as a
# plain script too; the nanny leaves ``OMP_NUM_THREADS=1`` in this process's
# environment, which is restored at the end.
environ = dict(os.environ)
dask.config.set({"distributed.worker.multiprocessing-method": "fork"})
cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None)
client = Client(cluster)
X_train, _, y_train, _ = load_long_tailed_digits(imbalance_ratio=20)


def search():
    return GridSearchCV(
        BalancedImageClassifier(max_epochs=5, random_state=0),
        {"class_weight": [None, "balanced"], "loss": ["ce", "focal"]},
        scoring="balanced_accuracy",
        cv=StratifiedKFold(3, shuffle=True, random_state=0),
        n_jobs=-1,
    )


# %%
# The same search, on the cluster and here
# ----------------------------------------
# ``scatter`` sends the arrays to the workers once for the whole search.
with parallel_config(backend="dask", scatter=[X_train, y_train]):
    on_dask = search().fit(X_train, y_train)
threads = torch.get_num_threads()
torch.set_num_threads(1)  # as in the workers: the same floating-point work
local = search().set_params(n_jobs=None).fit(X_train, y_train)
torch.set_num_threads(threads)
client.close()
cluster.close()
os.environ.clear()
os.environ.update(environ)
same = np.array_equal(on_dask.cv_results_["mean_test_score"], local.cv_results_["mean_test_score"])
print("the same scores on the cluster and here:", same)

# %%
# The candidates
# --------------
results = pd.DataFrame(on_dask.cv_results_)
results["candidate"] = [
    f"class_weight={p['class_weight']}, loss={p['loss']}" for p in results["params"]
]
results.plot.barh(
    x="candidate", y="mean_test_score", xerr="std_test_score", legend=False, figsize=(6, 3)
)
plt.xlabel("cross-validated balanced accuracy")
plt.tight_layout()
