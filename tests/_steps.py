"""Settings for tests that check one optimizer step against a hand computation."""


def one_step_settings(n_samples: int, **settings) -> dict:
    """A tiny network without dropout or standardisation that takes one step on all
    ``n_samples`` images (``max_epochs=1``; a fit with ``max_epochs=0`` gives its first
    weights)."""
    return dict(
        module__width=4,
        module__dropout=0.0,
        batch_size=n_samples,
        normalize=False,
        random_state=0,
        **settings,
    )
