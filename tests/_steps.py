"""Settings for tests that check one optimizer step against a hand computation."""


def one_step_settings(n_samples: int, **settings) -> dict:
    """A tiny network without dropout or standardisation that takes one step on all
    ``n_samples`` images (``max_epochs=1``; :func:`first_network` gives its first
    weights)."""
    return dict(
        module__width=4,
        module__dropout=0.0,
        batch_size=n_samples,
        normalize=False,
        random_state=0,
        **settings,
    )


def first_network(X, y, **params):
    """The classifier as ``fit(X, y)`` builds it before its first epoch (``fit`` refuses
    ``max_epochs=0``): its data read, its plan made, its network initialised as ``fit``
    seeds it (the same first weights as a fit of ``params``)."""
    from imbtorch import BalancedImageClassifier
    from imbtorch.device import seeded_torch

    clf = BalancedImageClassifier(**params)
    clf._fit_dataset(X, y, None, reset=True)
    with seeded_torch(clf.random_state, clf.device):
        clf.initialize()
    return clf
