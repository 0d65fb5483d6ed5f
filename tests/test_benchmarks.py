"""The benchmark scripts run end to end (tiny settings; numbers are not judged here)."""

import contextlib
import importlib
import io
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from PIL import Image
from sklearn.datasets import load_digits
from sklearn.metrics import balanced_accuracy_score

from imbtorch.datasets import load_long_tailed_digits, long_tailed_counts
from imbtorch.strategies import AUTO_EMA_EPOCHS

BENCHMARKS = Path(__file__).resolve().parents[1] / "benchmarks"


def run_script(name: str, *args: str) -> str:
    """Run a benchmark script as ``__main__`` in this process, whose imports (torch, sklearn:
    seconds each) are already paid, and return what it printed. The scripts that measure in
    fresh processes (data_loading.py) still start those."""
    argv, path, out = sys.argv, sys.path[:], io.StringIO()
    sys.argv = [str(BENCHMARKS / name), *args]
    sys.path.insert(0, str(BENCHMARKS))  # as Python does for a script: its sibling modules
    try:
        with contextlib.redirect_stdout(out):
            runpy.run_path(str(BENCHMARKS / name), run_name="__main__")
    finally:
        sys.argv, sys.path[:] = argv, path
    return out.getvalue()


def test_longtail_writes_its_table_plot_and_verdicts(tmp_path):
    methods = ["ce", "skorch CE", "torch loop + WeightedRandomSampler", "SMOTE pixels + LogReg"]
    out = run_script(
        "longtail.py",
        *("--dataset", "digits", "cifar10-lt", "--cifar-dir", str(tmp_path)),
        *("--rho", "100", "--seeds", "2", "--epochs", "1", "--out", str(tmp_path)),
        *("--methods", *methods, "--class-order", "random"),
    )
    assert "Skipping cifar10-lt: No CIFAR-10" in out
    # seed 0 ranks the digits at random: digit 1 is the head, digit 6 the tail
    assert "train counts [44, 124, 9, 74, 5, 16, 1, 3, 26, 2]" in out
    runs = pd.read_csv(tmp_path / "longtail.csv")
    assert len(runs) == 2 * len(methods) and set(runs["method"]) == set(methods)
    # digits at rho=100 keeps one nine: SMOTE cannot run and is reported, not dropped
    smote = runs[runs["method"] == "SMOTE pixels + LogReg"]
    assert smote["balanced_accuracy"].isna().all()
    assert runs.dropna()["balanced_accuracy"].between(0, 1).all()
    table = (tmp_path / "longtail.md").read_text()
    assert "| n/a |" in table and "best imbtorch ce" in table
    assert (tmp_path / "longtail.png").stat().st_size > 0


def test_longtail_changes_parameters_tags_its_files_and_times_compare_strategies(tmp_path):
    # a list value keeps its commas: "minority_classes=[8,9]" is one parameter
    methods = [
        "auto:minority_classes=[8,9],minority_augment=0.125",
        "crt:precise_bn=False,head_epochs=2",
    ]
    out = run_script(
        "longtail.py",
        *("--dataset", "digits", "--rho", "10", "--seeds", "1", "--epochs", "1"),
        *("--out", str(tmp_path), "--tag", "t", "--compare-cost", "--compare-folds", "2"),
        *("--methods", *methods, "--set", "backbone='resnet32',module__depth=8"),
        *("--split", "3"),
    )
    runs = pd.read_csv(tmp_path / "t_longtail.csv")
    assert set(runs["method"]) == set(methods) and set(runs["family"]) == {"imbtorch"}
    assert set(runs["split"]) == {3} and runs["last_valid_f1"].between(0, 1).all()
    assert runs["restored_epoch"].between(1, runs["epochs_trained"]).all()
    assert set(runs["settings"]) == {"backbone='resnet32',module__depth=8"}
    cost = pd.read_csv(tmp_path / "t_compare_cost.csv")
    assert cost["ratio"].iloc[0] > 1 and "compare_strategies" in out


def benchmark_module(name: str):
    """A benchmark script imported as a module (``name`` without ``.py``), as its siblings do."""
    sys.path.insert(0, str(BENCHMARKS))
    try:
        return importlib.import_module(name)
    finally:
        sys.path.remove(str(BENCHMARKS))


@pytest.mark.parametrize(
    "name, counts",
    [
        ("textures", [400, 239, 143, 86, 51, 30, 18, 11, 6, 4]),
        ("photos", [300, 179, 107, 64, 38, 23, 13, 8, 5, 3]),
        ("samples", [300, 155, 80, 41, 21, 11, 5, 3]),
    ],
)
def test_patches_follow_the_profile_and_never_overlap_the_test_set(name, counts):
    textures = benchmark_module("textures")
    load = getattr(textures, f"load_long_tailed_{name}")
    photographs, stride = {
        "textures": (textures.PHOTOGRAPHS, 8),
        "photos": (textures.HELD_OUT_PHOTOGRAPHS, 4),
        "samples": (textures.SAMPLE_IMAGES, 4),
    }[name]
    X_train, X_test, y_train, y_test = load(100, random_state=0)
    assert X_train.shape[1:] == (32, 32) and X_train.dtype == np.uint8
    assert np.bincount(y_train).tolist() == counts
    assert np.bincount(y_test).tolist() == [100] * len(photographs)
    # the held-out sets share no image with the set the default's rule was chosen on, nor
    # with each other (a bare name is a file of skimage/data); patches28 is the three together
    sets = [textures.PHOTOGRAPHS, textures.HELD_OUT_PHOTOGRAPHS, textures.SAMPLE_IMAGES]
    files = [image.removeprefix("skimage:") for image in textures.ALL_IMAGES]
    assert len(set(files)) == len(files) and sum(sets, ()) == textures.ALL_IMAGES
    # training and test patches come from disjoint blocks; no patch of one side appears
    # on the other (flat ones would: the same black square stands in several photographs)
    X_pool, y_pool, X_test_pool, y_test_pool = textures.texture_patches(photographs, stride)
    assert not {p.tobytes() for p in X_pool} & {p.tobytes() for p in X_test_pool}
    assert X_pool.reshape(len(X_pool), -1).std(axis=1).min() >= 2  # flat patches left out
    # any class can head a random ranking: every pool holds the head's count and the test's
    assert np.bincount(y_pool).min() >= counts[0] and np.bincount(y_test_pool).min() >= 100


def test_longtail_runs_on_texture_patches(tmp_path):
    out = run_script(
        "longtail.py",
        *("--dataset", "textures", "--rho", "100", "--seeds", "1", "--epochs", "1"),
        *("--methods", "ce", "--out", str(tmp_path)),
    )
    assert "textures rho=100: train counts [400, 239, 143, 86, 51, 30, 18, 11, 6, 4]" in out


def test_auto_cost_times_both_fits():
    out = run_script("auto_cost.py", *("--dataset", "digits", "--repeats", "1", "--epochs", "1"))
    assert re.search(r"auto / plain \d+\.\d\d", out), out
    assert re.search(r"plain CE [\d.]+ s \(1 epochs\), auto [\d.]+ s \(1 epochs\)", out), out


def test_auto_cost_fits_on_image_files():
    out = run_script(
        "auto_cost.py", *("--dataset", "digits", "--repeats", "1", "--epochs", "1", "--files")
    )
    assert "digits-LT rho=100, 304 files, 1 epochs" in out, out


def test_auto_cost_files_hold_the_images(tmp_path):
    as_files = benchmark_module("auto_cost").as_files
    images = np.arange(2 * 8 * 8, dtype=np.float64).reshape(2, 8, 8) % 17
    paths, labels = as_files(images, np.array([3, 7]), str(tmp_path))
    assert labels.tolist() == ["3", "7"]
    decoded = np.stack([np.asarray(Image.open(path)) for path in paths])
    np.testing.assert_array_equal(decoded, np.round(images * 255 / 16).astype(np.uint8))


def test_longtail_settings_reach_every_fit(tmp_path):
    with pytest.raises(ValueError, match=r"depth = 6n \+ 2"):
        run_script(
            *("longtail.py", "--dataset", "digits", "--rho", "10", "--seeds", "1"),
            *("--epochs", "1", "--methods", "ce", "--out", str(tmp_path)),
            *("--set", "backbone='resnet32',module__depth=30"),
        )


def test_longtail_refuses_unknown_methods(capsys):
    with pytest.raises(SystemExit) as exit:
        run_script("longtail.py", "--methods", "svm")
    assert exit.value.code == 2 and "unknown methods ['svm']" in capsys.readouterr().err


def test_overhead_times_every_runner():
    out = run_script(
        "overhead.py",
        *("--dataset", "digits", "--epochs", "1", "--repeats", "1", "--device", "cpu"),
    )
    for runner in ["torch loop ", "torch loop + WRS", "skorch", "sampler=None", "sampler=over"]:
        assert runner in out
    assert "sampler=RandomUnderSampler()" in out


def test_data_loading_compares_with_the_hand_loop_and_measures_memory(tmp_path):
    out = run_script(
        "data_loading.py",
        # no loader workers: each would start a process that imports torch again (seconds);
        # the workers' own paths are tested with files in test_data_files.py
        *("--files", "24", "--repeats", "1", "--warmup", "0", "--workers", "0"),
        *("--array-sizes", "20", "--file-sizes", "24", "--data-dir", str(tmp_path)),
        *("--runners", "imbtorch", "torch loop"),  # each runner is a process that imports torch
    )
    assert "| torch loop | " in out and "| imbtorch | " in out and "again" not in out
    assert "M page faults" in out
    assert "header scan of 24 files" in out
    assert "| uint8 array (N, 64, 64, 3) | 20 |" in out
    assert "| JPEG files (on disk) | 24 |" in out
    assert len(list((tmp_path / "mnist64-jpeg-24").rglob("*.jpg"))) == 24


def test_transfer_compares_scratch_with_pretrained_variants():
    """The transfer benchmark (docs/benchmarks/transfer.md) runs end to end, at the default
    learning rates and at a given one; the gains it measures over 4 seeds take minutes, so
    they are judged there, not here."""
    rates = ["default", "4e-3"]
    out = run_script(
        "transfer.py", "--seeds", "1", "--pretrain-epochs", "1", "--epochs", "1", "--lr", *rates
    )
    rows = dict(
        re.findall(
            r"^\| ([^|]+?) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| ([+-][0-9.]+)",
            out,
            flags=re.MULTILINE,
        )
    )
    variants = [
        "from scratch",
        "pretrained, fine-tuned",
        "pretrained, frozen until epoch 1, head lr x3",
    ]
    at = [", lr default", ", lr 0.004"]
    assert set(rows) == {variant + suffix for suffix in at for variant in variants}, out
    assert all(rows[f"from scratch{suffix}"] == "+0.000" for suffix in at), out  # its own rate
    assert "Digits 0-4 long-tailed (rho=50" in out


def test_transfer_fine_tunes_each_strategy_and_gives_the_defaults_gap():
    out = run_script(
        "transfer.py",
        *("--seeds", "1", "--first-seed", "1", "--pretrain-epochs", "1", "--epochs", "1"),
        *("--rho", "100", "--strategies", "auto", "ce"),
    )
    assert re.search(r"^seed 1 auto: [0-9.]+$", out, re.M), out  # the seed asked for
    rows = re.findall(r"^\| (auto|ce) \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \| [0-9.]+ \|$", out, re.M)
    assert sorted(rows) == ["auto", "ce"], out
    assert re.search(
        r"^auto [0-9.]+, best named strategy ce [0-9.]+: [+-][0-9.]+ points$", out, re.M
    )
    assert "1 epochs, fine-tuned with each strategy" in out


def test_calibration_benchmark_prints_its_table_and_saves_the_report_figure(tmp_path):
    out = run_script(
        "calibration.py",
        *("--datasets", "digits", "--rho", "10", "--seeds", "1", "--epochs", "2"),
        *("--strategies", "auto", "focal", "auto:ema_epochs=0"),
        *("--out", str(tmp_path / "runs.csv"), "--report-figure", str(tmp_path / "report.png")),
    )
    runs = pd.read_csv(tmp_path / "runs.csv")
    assert runs["prior_from"].tolist() == ["strategy", "held_out", "strategy"]
    eces = [
        "ece_before",
        "ece_after",
        "ece_balanced",
        "ece_balanced_after",
        "ece_balanced_tempered",
    ]
    assert runs[eces].stack().between(0, 1).all()
    assert runs["confidence_gap"].between(-1, 1).all()
    # no split for 'auto': no temperature, the same scores; focal's is fitted on its split
    assert runs["temperature"].tolist()[::2] == [1.0, 1.0] and runs["temperature"][1] != 1.0
    assert runs["ece_balanced_tempered"][0] == pytest.approx(runs["ece_balanced"][0])
    assert "| ('digits-LT rho=10', 'auto')" in out and "ece_ratio" in out
    assert (tmp_path / "report.png").read_bytes()[:4] == b"\x89PNG"


def test_multilabel_benchmark_tables_its_runs_and_merges_csvs(tmp_path):
    out = run_script(
        "multilabel.py",
        *("--source", "digits", "--pool", "1", "--n-train", "150", "--n-test", "60"),
        *("--seeds", "1", "--epochs", "1", "--ovr-seeds", "1", "--lr", "0.002"),
        *("--methods", "ce", "auto", "torch_loop_pos_weight", "auto+tuned_thresholds"),
        *("--out", str(tmp_path / "r.csv")),
    )
    runs = pd.read_csv(tmp_path / "r.csv")
    assert sorted(runs["method"]) == [
        "auto",
        "auto+tuned_thresholds",
        "ce",
        "ovr",
        "torch_loop_pos_weight",
    ]
    assert runs[["map_macro", "tail_map", "f1_macro"]].stack().between(0, 1).all()
    assert "points over plain binary cross-entropy" in out and "lr 0.002," in out
    # --from-csv merges runs into one table: its summary, in this process (no second start)
    summary = benchmark_module("multilabel").summary
    merged = summary(pd.concat([runs, runs], ignore_index=True))
    assert re.search(r"\| ce +\|.*\| +2 \|", merged)  # two runs of each method


def test_decision_rules_tables_every_trunk_and_rule_with_its_worst_gap(tmp_path):
    out = run_script(
        "decision_rules.py",
        *("--dataset", "digits", "--class-order", "sorted", "random", "--seeds", "1"),
        *("--epochs", "1", "--trunks", "ce", "logit_adjusted:mixup='mixup'"),
        *("--rules", "joint", "cb", "sqrt-0.5", "--out", str(tmp_path), "--tag", "t"),
    )
    runs = pd.read_csv(tmp_path / "t_decision_rules.csv")
    assert len(runs) == 2 * 2 * 3  # class orders x trunks x rules
    assert runs["balanced_accuracy"].between(0, 1).all()
    table = (tmp_path / "t_decision_rules.md").read_text()
    assert "| digits random | digits sorted | worst gap (points) |" in table
    assert "Training balanced accuracy" in out
    # the first row's worst gap: its score on each set less that set's best, the lower one
    trunk, rule, *_, gap = table.splitlines()[4].strip("| ").split(" | ")
    score = runs.pivot_table("balanced_accuracy", index=["trunk", "rule"], columns="class_order")
    expected = 100 * (score.loc[(trunk, rule)] - score.max()).min()
    assert float(gap) == pytest.approx(round(expected, 1), abs=1e-9) and float(gap) <= 0


DEFAULT_TRUNK = f"logit_adjusted:mixup='mixup',ema_epochs={AUTO_EMA_EPOCHS}"


@pytest.mark.parametrize(
    ("trunk", "epochs", "strategy", "strategy_"),
    [
        ("ce", 2, {"head_resampler": "class_balanced"}, "as_set"),
        # the logit-adjusted trunk mixed for two thirds of its epochs, its weights averaged:
        # the default, whose joint classifier still errs on its training images after 2
        # epochs, not after 30
        (f"{DEFAULT_TRUNK},mixup_epochs=1", 2, {}, "logit_adjusted+mixup+sqrt_head"),
        (f"{DEFAULT_TRUNK},mixup_epochs=20", 30, {}, "logit_adjusted+mixup"),
    ],
)
def test_decision_rules_train_the_stages_as_the_estimator_does(trunk, epochs, strategy, strategy_):
    # 'ce' + 'cb' is the named strategy 'crt'; the rule 'auto' is the default's choice
    rules = benchmark_module("decision_rules")
    fit_trunk, rule_logits, score_rules = rules.fit_trunk, rules.rule_logits, rules.score_rules
    from imbtorch import BalancedImageClassifier
    from imbtorch.datasets import load_long_tailed_digits

    split = load_long_tailed_digits(100, random_state=0)
    X_train, X_test, y_train, y_test = split
    clf = fit_trunk(trunk, X_train, y_train, seed=0, epochs=epochs, device="cpu")
    settings = {"strategy": None, **strategy} if strategy else {}
    named = BalancedImageClassifier(max_epochs=epochs, random_state=0, device="cpu", **settings)
    named.fit(X_train, y_train)
    assert named.strategy_ == strategy_
    if strategy:
        codes = np.searchsorted(clf.classes_, y_train)
        logits = rule_logits(clf, clf.embed(X_train), codes, clf.embed(X_test), "cb")
        np.testing.assert_array_equal(clf.classes_[logits.argmax(1)], named.predict(X_test))
        return
    scores, train_score = score_rules(clf, split, ["joint", "sqrt-0.5", "auto"])
    assert train_score == named.joint_train_score_
    assert scores["auto"] is scores["joint" if named.head_resampler_ is None else "sqrt-0.5"]
    expected = balanced_accuracy_score(y_test, named.predict(X_test))
    assert scores["auto"]["balanced_accuracy"] == pytest.approx(expected, abs=1e-12)


def test_tail_bound_nests_its_sets_around_the_long_tailed_split(tmp_path):
    tail_bound = benchmark_module("tail_bound")
    nested_splits = tail_bound.nested_splits
    X, y = tail_bound.DATASETS["digits"][0]()
    splits, rarest = nested_splits(
        X, y, 100, [10, 2, 0], n_test_per_class=50, class_order="random", seed=3
    )
    # keep_tail = 10 is the loaders' long-tailed split itself, image for image
    reference = load_long_tailed_digits(100, class_order="random", random_state=3)
    assert all(np.array_equal(a, b) for a, b in zip(splits[10], reference, strict=True))
    lt_counts = np.bincount(reference[2], minlength=10)
    assert rarest.tolist() == np.argsort(lt_counts)[:3].tolist()
    # two rarest keep their counts, the rest reach the head's; 0 is the balanced ceiling
    expected = np.where(np.isin(np.arange(10), rarest[:2]), lt_counts, lt_counts.max())
    assert np.bincount(splits[2][2], minlength=10).tolist() == expected.tolist()
    assert set(np.bincount(splits[0][2]).tolist()) == {lt_counts.max()}
    # nested, one test set, never a test image in training (the images' indices split)
    index = nested_splits(
        np.arange(len(y)), y, 100, [10, 2, 0], n_test_per_class=50, class_order="random", seed=3
    )[0]
    train = {k: set(split[0].tolist()) for k, split in index.items()}
    assert train[10] <= train[2] <= train[0]
    assert all(np.array_equal(split[1], index[10][1]) for split in index.values())
    assert not train[0] & set(index[0][1].tolist())

    out = run_script(
        "tail_bound.py",
        *("--seeds", "1", "--epochs", "1", "--keep-tail", "10", "1", "0"),
        *("--methods", "ce", "posthoc_logit_adjust", "--out", str(tmp_path), "--tag", "t"),
    )
    runs = pd.read_csv(tmp_path / "t_tail_bound.csv")
    assert len(runs) == 3 * 2 and runs["balanced_accuracy"].between(0, 1).all()
    assert "keep_tail=1: train counts [124, 124, 124, 124, 124, 124, 124, 124, 124, 1]" in out
    assert "of the gap between the long-tailed set" in (tmp_path / "t_tail_bound.md").read_text()


def test_one_vs_rest_sets_hold_one_rare_digit_against_the_others(tmp_path, capsys):
    one_vs_rest_split = benchmark_module("one_vs_rest").one_vs_rest_split
    digits = load_digits()
    index = np.arange(len(digits.target))
    train, test, y_train, y_test = one_vs_rest_split(
        index, digits.target, 100, n_test_per_class=50, random_state=13
    )
    # seed 13 makes the 3 the positive digit; every other training image is a negative
    assert set(digits.target[train[y_train == 1]]) == {3}
    assert 3 not in set(digits.target[train[y_train == 0]])
    assert np.bincount(y_train).tolist() == [1164, 11]  # 1797 - 183 threes - 450 tested
    assert np.bincount(digits.target[test]).tolist() == [50] * 10
    assert y_test.sum() == 50 and not set(train) & set(test)
    assert len(train) + len(test) == len(index) - (sum(digits.target == 3) - 50 - 11)

    run_script(
        "longtail.py",
        *("--dataset", "digits-ovr", "--rho", "100", "--seeds", "1", "--epochs", "1"),
        *("--methods", "ce", "--out", str(tmp_path), "--tag", "t"),
    )
    runs = pd.read_csv(tmp_path / "t_longtail.csv")
    assert runs["dataset"].tolist() == ["digits-ovr"]
    assert runs["balanced_accuracy"].between(0, 1).all()
    with pytest.raises(SystemExit):
        run_script("longtail.py", "--dataset", "mnist-ovr", "--class-order", "random")
    assert "have two classes and no ranking" in capsys.readouterr().err


def test_gap_to_ceiling_tables_each_set_against_its_ceiling(tmp_path):
    def write(tag, dataset, rho, scores):
        rows = [
            {
                "dataset": dataset,
                "rho": rho,
                "seed": seed,
                "method": method,
                "balanced_accuracy": score,
            }
            for method, per_seed in scores.items()
            for seed, score in enumerate(per_seed)
        ]
        pd.DataFrame(rows).to_csv(tmp_path / f"{tag}_longtail.csv", index=False)

    write("aug1_mnist", "mnist", 100.0, {"ce": [0.80, 0.90], "auto": [0.90, 0.90]})
    write("aug1_mnist_over", "mnist", 100.0, {"over_augment": [0.95, 0.95]})
    write("ceiling_1207", "mnist", 1.0, {"ce": [0.95, 0.95]})
    write("ceiling_auto_1207", "mnist", 1.0, {"auto": [1.0, 1.0]})  # the higher: the gap's end
    out = run_script("gap_to_ceiling.py", "--results", str(tmp_path))
    row = next(line for line in out.splitlines() if line.startswith("| MNIST-LT "))
    cells = [cell.strip() for cell in row.strip("|").split("|")]
    # plain CE 0.85, the default 0.90 (a third of the gap), over_augment 0.95 (two thirds)
    assert cells[1:5] == ["2", "0.850", "0.900", "0.950"]  # no 50-epoch runs: no column
    assert cells[5:7] == ["0.950", "1.000"] and cells[7:9] == ["33%", "67%"]
    assert "digits-LT" not in out  # a set without runs is left out


def test_multilabel_folds_counts_each_rare_label_per_fold():
    out = run_script(
        "multilabel_folds.py", "--sources", "digits", "--seeds", "1", "--n-train", "500"
    )
    rows = [line for line in out.splitlines() if line.startswith("| digits")]
    assert len(rows) == 3  # the three rarest labels
    cells = [cell.strip() for cell in rows[-1].strip("|").split("|")]
    positives, kfold_folds, _, iterative_folds, iterative_fewest = map(int, cells[3:])
    assert iterative_folds == 5 and iterative_fewest >= positives // 5 - 1
    assert kfold_folds <= iterative_folds


def test_longtail_runs_the_peers_alone(tmp_path):
    run_script(
        "longtail.py",
        "--dataset",
        "digits",
        "--rho",
        "100",
        "--seeds",
        "1",
        "--epochs",
        "1",
        "--methods",
        "skorch CE",
        "--out",
        str(tmp_path),
        "--tag",
        "peers",
    )
    assert (tmp_path / "peers_longtail.md").exists()  # a table without verdicts on imbtorch


def test_unlabeled_splits_its_pools_and_tables_every_method(tmp_path):
    sys.path.insert(0, str(BENCHMARKS))
    try:
        unlabeled = importlib.import_module("unlabeled")
    finally:
        sys.path.remove(str(BENCHMARKS))
    X, y, X_test, y_test, y_true = unlabeled.split(
        "digits", "balanced", rho=100, labeled_share=0.5, seed=0
    )
    np.testing.assert_array_equal(y_true[y != -1], y[y != -1])
    counts = np.bincount(y[y != -1])
    assert counts.tolist() == long_tailed_counts(counts[0], 10, 100).tolist()  # rho = 100
    assert np.bincount(y_test).tolist() == [50] * 10
    assert (y == -1).sum() == len(X) - counts.sum() > counts.sum()  # the rest, unlabelled
    _, y_lt, _, _, _ = unlabeled.split("digits", "longtailed", rho=100, labeled_share=0.5, seed=0)
    assert (y_lt == -1).sum() < (y == -1).sum() / 3  # the pool with the labels' profile
    # the texture patches draw the test set from the other blocks: no patch trains and tests
    X_tex, y_tex, X_tex_test, y_tex_test, _ = unlabeled.split(
        "textures", "longtailed", rho=100, labeled_share=0.5, seed=0
    )
    assert np.bincount(y_tex_test).tolist() == [100] * 10
    assert not {p.tobytes() for p in X_tex} & {p.tobytes() for p in X_tex_test}
    assert (y_tex == -1).sum() > 0 and np.bincount(y_tex[y_tex != -1])[-1] >= 1
    args = ["--seeds", "1", "--epochs", "2", "--pool", "longtailed", "--out", str(tmp_path)]
    methods = ["labeled", "oracle", "selftraining", "auto", "fixmatch,prior=uniform,ratio=1"]
    methods += ["sdclr,ssl_epochs=1,lr=0.004"]  # pretrained on every image, then fine-tuned
    printed = run_script("unlabeled.py", *args, "--methods", *methods)
    runs = pd.read_csv(tmp_path / "unlabeled.csv")
    assert runs["method"].tolist() == methods
    assert runs["balanced_accuracy"].between(0, 1).all()
    # self-training (the default's) and FixMatch record the share they pseudo-labelled
    assert runs["pseudo_labeled"].notna().tolist() == [False, False, False, True, True, False]
    # and self-training the share of its kept pseudo-labels that are right
    assert runs["pseudo_label_accuracy"].notna().tolist() == [False] * 3 + [True] + [False] * 2
    assert runs["pseudo_label_accuracy"].dropna().between(0, 1).all()
    assert "('digits', 'longtailed', 'selftraining')" in printed
