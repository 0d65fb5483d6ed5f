import numpy as np
import pytest
from imblearn.over_sampling import SMOTE, RandomOverSampler
from imblearn.under_sampling import RandomUnderSampler

from imbtorch.samplers import (
    ClassBalancedBatchSampler,
    frequency_sample_weights,
    label_pools,
    make_batch_sampler,
)

Y = np.array([0] * 300 + [1] * 60 + [2] * 12)
COUNTS = np.bincount(Y)
# multi-label: labels 0 / 1 / 2 on 300 / 72 / 12 samples (12 carry 0 and 1), 20 without labels
LABELS = np.zeros((392, 3), dtype=np.uint8)
LABELS[:300, 0] = 1
LABELS[288:360, 1] = 1
LABELS[360:372, 2] = 1


def epoch(batch_sampler):
    return np.concatenate([np.asarray(b) for b in batch_sampler])


def class_share(indices):
    return np.bincount(Y[indices], minlength=3) / len(indices)


def test_plain_shuffle_is_a_permutation_redrawn_every_epoch():
    bs = make_batch_sampler(None, Y, batch_size=50, seed=0)
    first, second = epoch(bs), epoch(bs)
    np.testing.assert_array_equal(np.sort(first), np.arange(len(Y)))
    assert not np.array_equal(first, second)


def test_no_shuffle_keeps_order():
    bs = make_batch_sampler(None, Y, batch_size=50, seed=0, shuffle=False)
    np.testing.assert_array_equal(epoch(bs), np.arange(len(Y)))


def test_weighted_sampler_draws_classes_equally():
    bs = make_batch_sampler("weighted", Y, batch_size=64, seed=0)
    draws = np.concatenate([epoch(bs) for _ in range(20)])
    np.testing.assert_allclose(class_share(draws), 1 / 3, atol=0.02)
    assert len(epoch(bs)) == len(Y)


def test_sqrt_sampler_follows_square_root_frequency():
    bs = make_batch_sampler("sqrt", Y, batch_size=64, seed=0)
    draws = np.concatenate([epoch(bs) for _ in range(20)])
    expected = np.sqrt(COUNTS) / np.sqrt(COUNTS).sum()
    np.testing.assert_allclose(class_share(draws), expected, atol=0.02)
    np.testing.assert_allclose(frequency_sample_weights(Y, 0.5)[[0, 300, 360]], 1 / np.sqrt(COUNTS))


def test_over_and_under_sampling_equalise_class_counts():
    over = epoch(make_batch_sampler("over", Y, batch_size=64, seed=0))
    np.testing.assert_array_equal(np.bincount(Y[over]), [300, 300, 300])
    assert set(np.flatnonzero(Y == 0)) <= set(over)  # the head class is kept whole
    under = epoch(make_batch_sampler("under", Y, batch_size=64, seed=0))
    np.testing.assert_array_equal(np.bincount(Y[under]), [12, 12, 12])


def test_under_sampling_redraws_the_head_every_epoch():
    bs = make_batch_sampler("under", Y, batch_size=64, seed=0)
    heads = [frozenset(i for i in epoch(bs) if Y[i] == 0) for _ in range(3)]
    assert len(set(heads)) == 3


def test_class_balanced_batches_hold_classes_equally():
    bs = make_batch_sampler("class_balanced", Y, batch_size=30, seed=0)
    batches = list(bs)
    assert len(batches) == len(bs) == int(np.ceil(len(Y) / 30))
    for batch in batches:
        np.testing.assert_array_equal(np.bincount(Y[batch], minlength=3), [10, 10, 10])


def test_class_balanced_spreads_the_remainder_and_cycles_tail_pools():
    bs = ClassBalancedBatchSampler(Y, batch_size=32, seed=0)
    tail_seen = []
    for batch in bs:
        counts = np.bincount(Y[batch], minlength=3)
        assert counts.sum() == 32 and counts.max() - counts.min() <= 1
        tail_seen.extend(i for i in batch if Y[i] == 2)
    # pools are used up before they are refilled: tail samples repeat evenly
    repeats = np.bincount(np.asarray(tail_seen) - 360, minlength=12)
    assert repeats.sum() > 12 and repeats.max() - repeats.min() <= 1


def test_class_balanced_with_fewer_slots_than_classes():
    bs = ClassBalancedBatchSampler(Y, batch_size=2, seed=0, drop_last=True)
    assert len(bs) == len(Y) // 2
    for batch in bs:
        assert len(batch) == 2 and len(set(Y[batch])) == 2


@pytest.mark.parametrize(
    "name, start_epoch",
    [(name, None) for name in (None, "weighted", "sqrt", "over", "under", "class_balanced")]
    + [("progressive", None), (RandomUnderSampler(), None), ("class_balanced", 2)]
    + [(("multilabel", name), None) for name in ("weighted", "sqrt", "class_balanced")],
)
def test_a_sampler_continued_at_an_epoch_draws_that_epoch(name, start_epoch):
    """Epoch e's draws follow from (seed, e): what a resumed fit or another process needs."""
    y = Y
    if isinstance(name, tuple):
        y, name = LABELS, name[1]
    settings = dict(batch_size=16, seed=3, n_epochs=5, start_epoch=start_epoch)
    uninterrupted = make_batch_sampler(name, y, **settings)
    epochs = [[list(b) for b in uninterrupted] for _ in range(5)]
    assert epochs[3] != epochs[2]
    continued = make_batch_sampler(name, y, **settings, first_epoch=3)
    assert len(continued) == len(epochs[3])
    assert [list(b) for b in continued] == epochs[3]
    assert [list(b) for b in continued] == epochs[4]


@pytest.mark.parametrize("name", [None, "weighted", "sqrt", "over", "under", "class_balanced"])
def test_same_seed_same_draws(name):
    a = [epoch(make_batch_sampler(name, Y, batch_size=16, seed=3)) for _ in range(1)]
    b = [epoch(make_batch_sampler(name, Y, batch_size=16, seed=3)) for _ in range(1)]
    c = epoch(make_batch_sampler(name, Y, batch_size=16, seed=4))
    np.testing.assert_array_equal(a[0], b[0])
    assert not np.array_equal(a[0], c)


def test_imblearn_sampler_with_user_labels_and_strategy():
    labels = np.array(["head"] * 300 + ["mid"] * 60 + ["tail"] * 12)
    sampler = RandomUnderSampler(sampling_strategy={"head": 100})
    drawn = epoch(make_batch_sampler(sampler, labels, batch_size=64, seed=0))
    values, counts = np.unique(labels[drawn], return_counts=True)
    assert dict(zip(values, counts, strict=True)) == {"head": 100, "mid": 60, "tail": 12}


def test_imblearn_sampler_settings_are_not_modified():
    sampler = RandomOverSampler(random_state=None)
    epoch(make_batch_sampler(sampler, Y, batch_size=64, seed=0))
    assert sampler.random_state is None and not hasattr(sampler, "sample_indices_")


def test_synthesising_sampler_is_refused():
    with pytest.raises(TypeError, match="synthesises new samples"):
        len(make_batch_sampler(SMOTE(k_neighbors=2), Y, batch_size=64, seed=0))


def test_sampler_incompatible_with_y_names_the_problem():
    bad = RandomUnderSampler(sampling_strategy={2: 50})
    with pytest.raises(ValueError, match="cannot resample the training labels"):
        len(make_batch_sampler(bad, Y, batch_size=64, seed=0))


def test_unknown_sampler_is_refused():
    with pytest.raises(ValueError, match="sampler must be None"):
        make_batch_sampler("smote", Y, batch_size=64, seed=0)


@pytest.mark.parametrize(
    "sampler, start_epoch",
    [
        (None, None),
        ("weighted", None),
        ("over", None),
        ("class_balanced", None),
        ("progressive", None),
        (RandomUnderSampler(), None),
        ("class_balanced", 1),
    ],
)
def test_an_iterator_dropped_unstarted_draws_nothing(sampler, start_epoch):
    """A DataLoader with workers calls iter() on its batch sampler twice an epoch and drops
    the first iterator unstarted; the epochs drawn must be those of one iter() an epoch."""
    settings = dict(batch_size=32, seed=0, n_epochs=4, start_epoch=start_epoch)
    once = make_batch_sampler(sampler, Y, **settings)
    twice = make_batch_sampler(sampler, Y, **settings)
    for e in range(3):
        iter(twice)
        np.testing.assert_array_equal(epoch(twice), epoch(once), err_msg=f"epoch {e}")


def test_multilabel_samples_weigh_as_their_rarest_label():
    weights = frequency_sample_weights(LABELS, power=1.0)
    assert weights[0] == 1 / 300  # label 0 only
    assert weights[290] == 1 / 72  # labels 0 and 1: the rarer one
    assert weights[365] == 1 / 12
    assert weights[380] == 1 / 20  # no label: a group of its own
    np.testing.assert_allclose(frequency_sample_weights(LABELS, power=0.5)[290], 72**-0.5)


def test_label_aware_sampling_draws_every_label_equally():
    """Wu et al.'s class-aware sampling: a label (or 'no label') at random, then an image of it."""
    pools = label_pools(LABELS)
    assert [len(pool) for pool in pools] == [300, 72, 12, 20]
    batches = list(make_batch_sampler("class_balanced", LABELS, batch_size=16, seed=0))
    assert len(batches) == -(-len(LABELS) // 16)
    for batch in batches:  # 4 draws from each pool
        carried = LABELS[batch]
        assert carried[:, 2].sum() == 4 and (carried.sum(axis=1) == 0).sum() == 4
        assert carried[:, 1].sum() >= 4 and carried[:, 0].sum() >= 4
    drawn = epoch(make_batch_sampler("weighted", LABELS, batch_size=16, seed=0))
    assert LABELS[drawn, 2].mean() > 0.15  # 3% of the samples, a quarter of the draws


@pytest.mark.parametrize("name", ["over", "under", "progressive", RandomUnderSampler()])
def test_single_label_samplers_refuse_a_multilabel_y(name):
    with pytest.raises(ValueError, match="multi-label indicator matrix"):
        make_batch_sampler(name, LABELS, batch_size=16, seed=0)
