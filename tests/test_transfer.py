"""Transfer learning on real digits, offline: a pretrained backbone beats training from scratch.

``benchmarks/transfer.py`` pretrains a SimpleCNN on balanced MNIST digits 5-9,
saves its state_dict and fine-tunes it (``backbone_weights=<file>``) on the
digits 0-4, long-tailed with rho=50. Measured (docs/benchmarks.md, section 5):
with seed 0, balanced accuracy 0.762 from scratch, 0.840 fine-tuned and 0.846
frozen for the first epoch (gains +0.078 and +0.084; over 4 seeds the mean
gains are +0.095 and +0.094). The margin asserted is half the smaller gain.
"""

import re

from test_benchmarks import run_script

MARGIN = 0.04


def test_a_pretrained_backbone_beats_training_from_scratch_at_equal_epochs():
    out = run_script("transfer.py", "--seeds", "1", "--epochs", "6")
    rows = dict(re.findall(r"^\| ([^|]+?) \| ([0-9.]+) \|", out, flags=re.MULTILINE))
    scratch = float(rows["from scratch"])
    fine_tuned = float(rows["pretrained, fine-tuned"])
    frozen = float(rows["pretrained, frozen until epoch 1, head lr x3"])
    assert fine_tuned >= scratch + MARGIN, out
    assert frozen >= scratch + MARGIN, out
