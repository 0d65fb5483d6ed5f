"""
Resuming a killed fit
=====================

With ``checkpoint_dir``, a fit writes its whole training state after every
epoch: the network, the optimizer, the history, every callback's state and
the random generators. With ``resume=True`` the same script, run again after
a crash, goes on from the last complete epoch and ends with the weights an
uninterrupted fit ends with. Here a fit in another process kills itself
(``SIGKILL``) in its fourth epoch, and this process resumes it.
"""

# %%
# A fit that dies in epoch 4
# --------------------------
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

import matplotlib.pyplot as plt
import torch

from imbtorch import BalancedImageClassifier
from imbtorch.datasets import load_long_tailed_digits

folder = Path(tempfile.mkdtemp())
SETTINGS = dict(max_epochs=8, random_state=0, checkpoint_dir=str(folder / "run"), resume=True)

script = folder / "train.py"
script.write_text(
    textwrap.dedent(f"""
    import os, signal
    from skorch.callbacks import Callback
    from imbtorch import BalancedImageClassifier
    from imbtorch.datasets import load_long_tailed_digits

    class Crash(Callback):
        def on_epoch_begin(self, net, **kwargs):
            if len(net.history) == 4:  # the fourth epoch has begun
                os.kill(os.getpid(), signal.SIGKILL)

    X, _, y, _ = load_long_tailed_digits(imbalance_ratio=20)
    BalancedImageClassifier(callbacks=[("crash", Crash())], **{SETTINGS!r}).fit(X, y)
""")
)
killed = subprocess.run([sys.executable, str(script)], capture_output=True, text=True)
print("the training process ended with", killed.returncode, "(-9: SIGKILL)")
print("saved epochs:", sorted(p.name for p in (folder / "run").iterdir()))

# %%
# The same settings, run again, resume it
# ---------------------------------------
X, X_test, y, y_test = load_long_tailed_digits(imbalance_ratio=20)
resumed = BalancedImageClassifier(**SETTINGS).fit(X, y)
whole = BalancedImageClassifier(**{**SETTINGS, "checkpoint_dir": str(folder / "whole")}).fit(X, y)
same = all(
    torch.equal(tensor, whole.module_.state_dict()[name])
    for name, tensor in resumed.module_.state_dict().items()
)
print("the resumed weights equal the uninterrupted fit's:", same)

# %%
# One history, whichever process trained each epoch
# -------------------------------------------------
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(whole.history[:, "epoch"], whole.history[:, "train_loss"], "o-", label="uninterrupted")
ax.plot(
    resumed.history[:, "epoch"], resumed.history[:, "train_loss"], "x--", label="killed and resumed"
)
ax.axvline(3.5, color="grey", lw=0.8)
ax.set_xlabel("epoch")
ax.set_ylabel("training loss")
ax.legend()
fig.tight_layout()
