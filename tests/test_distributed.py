"""Data-parallel fits over 2 CPU processes (torchrun, gloo) draw exactly what one process draws."""

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from imbtorch.samplers import make_batch_sampler
from imbtorch.training.distributed import RankBatchSampler

pytest.importorskip("accelerate")

SCRIPT = Path(__file__).with_name("_distributed_fit.py")
Y = np.repeat(np.arange(3), [90, 27, 9])
TRAIN_SIZE = 100  # ValidSplit(5) keeps 4/5 of the 126 samples, stratified: 72 / 21 / 7


def _launch(out: Path, processes: int, *cases: str) -> list[list[dict]]:
    """Run the ``cases`` (``'SAMPLER,SEED,FLAG,...'``) one after the other in one launch of
    ``processes`` processes (torch is imported once); per case, what each process wrote."""
    out.mkdir()
    if processes == 1:
        command = [sys.executable, str(SCRIPT)]
    else:
        command = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            f"--nproc_per_node={processes}",
            str(SCRIPT),
        ]
    done = subprocess.run([*command, str(out), *cases], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return [
        [torch.load(out / f"case{c}_rank{r}.pt", weights_only=False) for r in range(processes)]
        for c in range(len(cases))
    ]


#: Fits compared with one process's: MaxNorm on the classifier, which every process applies
#: to its own copy; the weighted sampler on a multi-label y (each image drawn by its rarest
#: label), and the class-balanced sampler on single labels; both with the weights averaged
#: (every process ends with the same average, BatchNorm statistics included), the first
#: scored on the validation split, the second without one and on UniMix's batches (each
#: process draws its partners from its own slice of the batch).
SAME_DRAWS = ("weighted,0,max_norm,multilabel,ema_valid", "class_balanced,0,max_norm,ema,unimix")
#: Fits without random_state: each process seeds torch differently and relies on process
#: 0's seed. Plain shuffling neither repeats nor drops; cRT, which re-trains the classifier
#: on every process after the epochs, draws from the shared seed too. The forward passes run
#: through torch.compile around the DDP wrapper, and every step is ImbSAM's three passes
#: (SAM's, with the rarest class's loss split off) of SGD with momentum; cRT smooths its
#: labels, so the prior its scores assume is fitted on the validation split, with the same
#: result on every process. The network is the CIFAR ResNet (BatchNorm in every block), and
#: the rate is warmed up and decayed per epoch alike on both processes; the first two epochs
#: mix their batches (mixup), which every SAM pass replays alike. A second fit lets
#: strategy='auto' choose its classifier stage or not, and a third whether to train longer
#: (a network that has learnt nothing errs on its training images), scored on the split.
#: A fourth trains FixMatch on unlabelled images beside them (each process its slice of the
#: unlabelled batches, the pool's prior summed over both), under ImbSAM's passes; a fifth by
#: self-training (a teacher fitted over both processes pseudo-labels them alike on each). A
#: sixth saves its state in checkpoint_dir (process 0 writes it), stops in epoch 3 and
#: resumes, ending where the uninterrupted fit ends on each process, each taking back its
#: own generators, callbacks and history (its own shard's losses).
SHARED_SEED = (
    "none,none,crt,compile,imbsam,sgd,las,prior,resnet,warmup,mixup",
    "none,0,auto",
    "none,0,longer",
    "none,none,auto,semi,imbsam",
    "none,none,self",
    "weighted,none,resume",
)


def test_two_processes_train_what_one_process_trains(tmp_path):
    """Every case of :data:`SAME_DRAWS` and :data:`SHARED_SEED` in one launch of two
    processes (each launch imports torch anew); the first against one process."""
    ones = _launch(tmp_path / "one", 1, *SAME_DRAWS)
    twos = _launch(tmp_path / "two", 2, *SAME_DRAWS, *SHARED_SEED)
    _assert_same_draws(ones, twos[: len(SAME_DRAWS)])
    _assert_shared_seed(*twos[len(SAME_DRAWS) :])


def _assert_same_draws(ones, twos):
    for case, [one], ranks in zip(SAME_DRAWS, ones, twos, strict=True):
        for epoch, drawn in enumerate(one["epochs"]):
            union = ranks[0]["epochs"][epoch] + ranks[1]["epochs"][epoch]
            assert sorted(union) == sorted(drawn), f"{case}, epoch {epoch}"
            assert abs(len(ranks[0]["epochs"][epoch]) - len(ranks[1]["epochs"][epoch])) <= 8
            counts = np.bincount(Y[union], minlength=3)
            np.testing.assert_array_equal(counts, np.bincount(Y[drawn], minlength=3), case)
        for rank in ranks:  # from the whole training set, on every process
            np.testing.assert_array_equal(rank["class_counts"], one["class_counts"], case)
            np.testing.assert_array_equal(rank["class_weight"], one["class_weight"], case)
            assert rank["train_loss"][-1] < rank["train_loss"][0], case
            assert rank["largest_class_norm"] <= 0.5 + 1e-6, case
        # one network on both processes; predictions gathered in order on each
        for name, tensor in ranks[0]["params"].items():
            assert torch.equal(ranks[1]["params"][name], tensor), (case, name)
        np.testing.assert_array_equal(ranks[0]["proba"], ranks[1]["proba"], case)
        np.testing.assert_allclose(
            ranks[0]["proba"], ranks[0]["proba_one_process"], atol=1e-6, err_msg=case
        )
        assert ranks[0]["valid_f1"] == ranks[1]["valid_f1"], case


def _assert_shared_seed(ranks, auto, longer, semi, self_training, resumed):
    # a fit stopped and resumed over two processes ends where the uninterrupted one ends
    for rank in resumed:
        whole, again = rank["whole"], rank["resumed"]
        assert again["train_loss"] == whole["train_loss"] and len(whole["train_loss"]) == 4
        assert again["valid_f1"] == whole["valid_f1"]
        for name, tensor in whole["params"].items():
            assert torch.equal(again["params"][name], tensor), name
        np.testing.assert_array_equal(again["proba"], whole["proba"])
    # self-training: one teacher over both processes, the same pseudo-labels and network
    positions = self_training[0]["pseudo_positions"]
    assert len(positions) > 0
    np.testing.assert_array_equal(self_training[1]["pseudo_positions"], positions)
    for name, tensor in self_training[0]["params"].items():
        assert torch.equal(self_training[1]["params"][name], tensor), name
    np.testing.assert_array_equal(self_training[0]["proba"], self_training[1]["proba"])
    # FixMatch: both processes count the pseudo-labels of both, and estimate one prior
    assert semi[0]["pseudo_labeled"] == semi[1]["pseudo_labeled"]
    assert max(semi[0]["pseudo_labeled"]) > 0
    np.testing.assert_array_equal(semi[0]["pool_prior"], semi[1]["pool_prior"])
    for name, tensor in semi[0]["params"].items():
        assert torch.equal(semi[1]["params"][name], tensor), name
    np.testing.assert_array_equal(semi[0]["proba"], semi[1]["proba"])
    # where its network still errs, 'auto' trains 6 more epochs alike on both processes,
    # early stopping keeping the same best (from epoch 7 on) through them
    assert longer[0]["extension"] == longer[1]["extension"] is not None
    assert longer[0]["epochs_trained"] == longer[1]["epochs_trained"] == 16
    assert longer[0]["best_epoch"] == longer[1]["best_epoch"] >= 7
    assert longer[0]["valid_f1"] == longer[1]["valid_f1"]
    for name, tensor in longer[0]["params"].items():
        assert torch.equal(longer[1]["params"][name], tensor), name
    np.testing.assert_array_equal(longer[0]["proba"], longer[1]["proba"])
    # strategy='auto' decides between its stage and the joint classifier alike on both
    assert auto[0]["strategy"] == auto[1]["strategy"] != "as_set"
    assert auto[0]["joint_train_score"] == auto[1]["joint_train_score"] is not None
    for name, tensor in auto[0]["params"].items():
        assert torch.equal(auto[1]["params"][name], tensor), name
    np.testing.assert_array_equal(auto[0]["proba"], auto[1]["proba"])
    for epoch in range(len(ranks[0]["epochs"])):
        union = ranks[0]["epochs"][epoch] + ranks[1]["epochs"][epoch]
        assert len(union) == len(set(union)) == TRAIN_SIZE
    assert any(name.startswith("classifier.") for name in ranks[0]["params"])
    for name, tensor in ranks[0]["params"].items():
        assert torch.equal(ranks[1]["params"][name], tensor), name
    np.testing.assert_array_equal(ranks[0]["proba"], ranks[1]["proba"])
    assert ranks[0]["temperature"] == ranks[1]["temperature"] != 1.0
    np.testing.assert_array_equal(ranks[0]["decision_prior"], ranks[1]["decision_prior"])
    assert ranks[0]["event_lr"] == ranks[1]["event_lr"]
    # 2 epochs warming up (1/3, 2/3), then half a cosine from 1 over the last 2 (1, 1/2)
    np.testing.assert_allclose(ranks[0]["event_lr"], [1e-3, 2e-3, 3e-3, 1.5e-3])


def test_rank_slices_cover_every_batch_once():
    def batches():  # each process builds its own, from the same seed
        return make_batch_sampler("class_balanced", Y, batch_size=10, seed=0)

    slices = [list(RankBatchSampler(batches(), rank, 3)) for rank in range(3)]
    for i, batch in enumerate(batches()):
        assert slices[0][i] + slices[1][i] + slices[2][i] == batch
        assert [len(s[i]) for s in slices] == [4, 3, 3]


def test_a_last_batch_smaller_than_the_processes_joins_the_one_before():
    slices = [
        list(RankBatchSampler(make_batch_sampler(None, np.zeros(21), batch_size=10, seed=0), r, 2))
        for r in range(2)
    ]  # global batches of 10, 10 and 1
    assert [len(s) for s in slices] == [2, 2]
    assert [len(b) for b in slices[0]] == [5, 6] and [len(b) for b in slices[1]] == [5, 5]
    assert sorted(sum(slices[0] + slices[1], [])) == list(range(21))
    with pytest.raises(ValueError, match="batch_size of at least 4"):
        list(RankBatchSampler(make_batch_sampler(None, np.zeros(3), batch_size=2, seed=0), 0, 4))
