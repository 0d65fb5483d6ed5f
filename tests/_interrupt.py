"""A callback that stops a fit with an error, for the resume tests (in-process and torchrun)."""

from skorch.callbacks import Callback


class Interrupt(Callback):
    """Stop a fit with an error at the second training batch of ``epoch`` (1-based)."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_batch_begin(self, net, batch=None, training=False, **kwargs):
        if len(net.history) == self.epoch and training and len(net.history[-1]["batches"]) == 1:
            raise RuntimeError("interrupted")
