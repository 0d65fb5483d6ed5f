import pytest

from imbtorch import demo


def test_demo_prints_recall_per_class_and_balanced_accuracy(capsys):
    demo.main(["--epochs", "3"])
    out = capsys.readouterr().out
    lines = out.splitlines()
    header = next(line for line in lines if line.lstrip().startswith("class"))
    for name in demo.STRATEGIES:
        assert name in header
    rows = [line for line in lines if line.strip()[:1].isdigit()]
    assert len(rows) == 10
    assert any(line.startswith("balanced_accuracy") for line in lines)


def test_run_scores_every_strategy():
    results = demo.run(max_epochs=2)
    for name in demo.STRATEGIES:
        assert results[name]["recall"].shape == (10,)
        # balanced accuracy is the mean of the per-class recalls the table prints
        assert results[name]["balanced_accuracy"] == pytest.approx(results[name]["recall"].mean())
