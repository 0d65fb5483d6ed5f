"""The plan of a fit: what it trains, the two decisions it takes while training, and why.

:func:`~imbtorch.strategies.policy.plan_training` writes a :class:`Plan`
when ``fit`` starts, from the parameters and what the data say. Training
then asks it, and only it, what to do: whether an epoch mixes its batches
(:meth:`Plan.mixes`), and the two decisions ``strategy='auto'`` takes on the
network it trained:

- **train longer?** (:meth:`Plan.decide_extension`) where the classifier
  trained with the network still errs on its training images after
  ``max_epochs``;
- **re-train the classifier?** (:meth:`Plan.decide_stage`) on square-root
  sampled features, or keep the classifier trained with the network.

Each decision is taken once, on the evidence the training loop hands it
(the training balanced accuracy of the network's own classifier), and
recorded in the plan with that evidence. After ``fit``, ``clf.plan_``
reads as text in a terminal and as HTML in a notebook; the estimator's
fitted attributes (``strategy_``, ``loss_``, ``extension_``,
``joint_train_score_``, ...) read it.
"""

from __future__ import annotations

import html
from dataclasses import dataclass, field

from .constants import (
    AUTO_HEAD,
    AUTO_HEAD_SHIFT,
    AUTO_JOINT_MIN_SCORE,
    AUTO_JOINT_NAMES,
    deferred_epoch,
)
from .unlabeled import UnlabeledPlan

#: History key of the joint classifier's training score that decided an extension: a
#: resumed fit reads its decision back from the history (:meth:`Plan.resume_extension`).
SCORE_KEY = "joint_train_score"

#: The parameters a plan decides; the fit exposes each as ``<name>_`` (``loss_``, ...).
TRAINED = (
    "loss",
    "sampler",
    "mixup",
    "mixup_epochs",
    "ema_epochs",
    "head_resampler",
    "predict_logit_adjust",
)


@dataclass(frozen=True)
class Extension:
    """Epochs added to a fit whose network still errs on its training images.

    Parameters
    ----------
    start : int
        Epochs in the history when the extension began (the fit's ``max_epochs``).
    epochs : int
        Epochs added.
    train_score : float
        Balanced accuracy of the classifier trained with the network on its
        training images at ``start``, below the threshold.
    """

    start: int
    epochs: int
    train_score: float

    @property
    def end(self) -> int:
        """Epochs in the history when the extension ends."""
        return self.start + self.epochs

    @property
    def mixup_epochs(self) -> int:
        """Epochs of the extension that mix, its first two thirds."""
        return deferred_epoch(self.epochs)

    def mixes(self, epoch: int) -> bool:
        """Whether ``epoch`` (1 for the first of the fit) mixes its batches.

        Parameters
        ----------
        epoch : int
            The epoch, counted from 1 at the fit's first.
        """
        return self.start < epoch <= self.start + self.mixup_epochs


def _named(value) -> str:
    return repr(value) if isinstance(value, str) else type(value).__name__


@dataclass
class Plan:
    """What one fit trains and decides, and the evidence of each decision.

    Built by :func:`~imbtorch.strategies.policy.plan_training`; not meant to
    be built by hand.

    Parameters
    ----------
    strategy : 'auto' or None
        The ``strategy`` parameter.
    name : str
        What the plan trains, in a word (``'as_set'`` where the parameters
        are trained as set).
    reason : str
        Why the policy chose it.
    settings : dict
        The value of every parameter of :data:`TRAINED` the fit trains.
    epochs : int
        ``max_epochs`` of the fit.
    extra_epochs : int, default=0
        Epochs an extension adds where training errs (0: none is planned).
    stage_decided : bool, default=False
        Whether the classifier stage runs only where training errs
        (``'auto'``'s own stage), rather than always (one you set) or never.
    notes : list of str
        Why an option of the default is left out (no extension, no stage).
    transform : callable or None
        The transform of every training image: ``train_transform``, or the
        one ``augment`` names.
    transform_text : str or None
        That transform in words.
    unlabeled : UnlabeledPlan or None
        What the fit does with its unlabelled images (None: it has none).
    extension : Extension or None
        The epochs added where training erred; set in training.
    extension_note : str or None
        The extension's decision in words; set in training.
    joint_train_score : float or None
        The training balanced accuracy of the network's own classifier, the
        evidence of both decisions; set in training.
    kept_joint : bool, default=False
        Whether the network's own classifier was kept, with no stage.
    """

    strategy: str | None
    name: str
    reason: str
    settings: dict
    epochs: int
    extra_epochs: int = 0
    stage_decided: bool = False
    notes: list = field(default_factory=list)
    #: the transform of every training image (in the loader's workers), and what it is
    transform: object = None
    transform_text: str | None = None
    #: what the fit does with images marked -1 (None: it has none)
    unlabeled: UnlabeledPlan | None = None
    #: the decisions taken in training, with their evidence
    extension: Extension | None = None
    extension_note: str | None = None
    joint_train_score: float | None = None
    kept_joint: bool = False

    @classmethod
    def from_fitted_attributes(cls, state: dict) -> Plan:
        """The plan of a fit pickled by imbtorch 0.1, which kept what it trained in fitted
        attributes (``strategy_``, ``loss_``, ...): they are taken out of ``state``.

        Parameters
        ----------
        state : dict
            The pickled estimator's ``__dict__``.

        Returns
        -------
        Plan"""
        settings = {name: state.pop(f"{name}_", None) for name in TRAINED}
        name = state.pop("strategy_")
        score = state.pop("joint_train_score_", None)
        extension = state.pop("extension_", None)
        joint = {kept: planned for planned, kept in AUTO_JOINT_NAMES.items()}
        kept = score is not None and name in joint
        if kept:  # what the stage would have trained
            settings.update(head_resampler=AUTO_HEAD, predict_logit_adjust=AUTO_HEAD_SHIFT)
        return cls(
            state.get("strategy"),
            joint.get(name, name) if kept else name,
            "fitted with imbtorch 0.1, before fits recorded their plan",
            settings,
            state.get("max_epochs"),
            stage_decided=score is not None,
            extension=extension,
            joint_train_score=score,
            kept_joint=kept,
            transform=state.get("train_transform"),
        )

    # -- what the fit trains ---------------------------------------------------------
    def trained(self, name: str):
        """The value of ``name`` (one of :data:`TRAINED`) the fit trains, or ended with.

        Parameters
        ----------
        name : str
            A parameter of :data:`TRAINED`, such as ``'loss'``.
        """
        if self.kept_joint and name in ("head_resampler", "predict_logit_adjust"):
            return None
        return self.settings[name]

    @property
    def strategy_name(self) -> str:
        """The plan in one word: ``strategy_``."""
        return AUTO_JOINT_NAMES[self.name] if self.kept_joint else self.name

    def mixes(self, epoch: int) -> bool:
        """Whether training epoch ``epoch`` (1 for the first of the fit) mixes its batches:
        the first ``mixup_epochs`` (all where it is None), and the first two thirds of an
        extension's.

        Parameters
        ----------
        epoch : int
            The epoch, counted from 1 at the fit's first.

        Returns
        -------
        bool"""
        if self.settings["mixup"] is None:
            return False
        epochs = self.settings["mixup_epochs"]
        if epochs is None or epoch <= epochs:
            return True
        return self.extension is not None and self.extension.mixes(epoch)

    @property
    def mixing_end(self) -> int | None:
        """The last epoch that mixes before the plain ones (None: none mixes, or all do)."""
        return self.settings["mixup_epochs"] if self.settings["mixup"] is not None else None

    # -- the decisions taken in training ---------------------------------------------
    def begin(self) -> None:
        """Forget the decisions of an earlier call to ``fit`` or ``partial_fit`` (a classifier
        kept as trained stays kept)."""
        self.extension = self.extension_note = self.joint_train_score = None

    def resume_extension(self, history, end_epoch: int) -> Extension | None:
        """The extension a resumed fit had decided (its history goes past ``end_epoch``, and
        holds the score that decided it), else None.

        Parameters
        ----------
        history : skorch.History
            The resumed fit's history.
        end_epoch : int
            The epoch after which the extension is decided.

        Returns
        -------
        Extension or None"""
        if not self.extra_epochs or len(history) <= end_epoch:
            return None
        score = history[end_epoch - 1].get(SCORE_KEY)
        self.extension = Extension(end_epoch, self.extra_epochs, score)
        return self.extension

    def decide_extension(self, history, end_epoch: int, train_score: float) -> Extension | None:
        """Train :attr:`extra_epochs` more where ``train_score`` (the training balanced
        accuracy of the network's own classifier after ``end_epoch`` epochs) is under
        :data:`~imbtorch.strategies.constants.AUTO_JOINT_MIN_SCORE`; recorded in the
        plan and in the history (for a resumed fit).

        Parameters
        ----------
        history : skorch.History
            The fit's history, where the decision is recorded.
        end_epoch : int
            The epochs trained when it is decided.
        train_score : float
            The evidence: the training balanced accuracy.

        Returns
        -------
        Extension or None
            The epochs to add, or None where the network learnt its images."""
        history.record(SCORE_KEY, train_score)
        if train_score >= AUTO_JOINT_MIN_SCORE:
            self.extension_note = (
                f"training balanced accuracy {train_score:.3f} >= {AUTO_JOINT_MIN_SCORE}: "
                "no more epochs"
            )
            return None
        self.extension = Extension(end_epoch, self.extra_epochs, train_score)
        return self.extension

    def skip_extension(self, epochs_trained: int, end_epoch: int) -> None:
        """Record that the fit stopped (early stopping, an interrupt) before it could decide.

        Parameters
        ----------
        epochs_trained : int
            The epochs the fit trained.
        end_epoch : int
            The epoch after which it would have decided.
        """
        self.extension_note = (
            f"stopped after {epochs_trained} of {end_epoch} epochs: no extension decided"
        )

    def decide_stage(self, train_score: float) -> bool:
        """Whether ``'auto'``'s classifier stage runs, on the training balanced accuracy of
        the network's own classifier: it is kept as trained (no stage, no shift) from
        :data:`~imbtorch.strategies.constants.AUTO_JOINT_MIN_SCORE` up.

        Parameters
        ----------
        train_score : float
            The evidence: the training balanced accuracy.

        Returns
        -------
        bool"""
        self.joint_train_score = float(train_score)
        self.kept_joint = self.joint_train_score >= AUTO_JOINT_MIN_SCORE
        return not self.kept_joint

    # -- reading ---------------------------------------------------------------------
    def lines(self) -> list[str]:
        """The plan and its decisions, one statement a line."""
        lines = [self._headline()]
        loss, sampler = self.settings["loss"], self.settings["sampler"]
        lines.append(f"loss {loss!r}" + (f", sampler {_named(sampler)}" if sampler else ""))
        mixup = self.settings["mixup"]
        if mixup is not None:
            epochs = self.settings["mixup_epochs"]
            span = "every epoch" if epochs is None else f"epochs 1-{epochs} of {self.epochs}"
            if epochs == 0:
                span = "no epoch"
            lines.append(f"{mixup} batches in {span}")
        if self.transform_text is not None:
            lines.append(self.transform_text)
        if self.unlabeled is not None:
            lines += self.unlabeled.lines()
        if self.settings["ema_epochs"]:
            lines.append(
                f"weights averaged along training (time constant {self.settings['ema_epochs']:g}"
                " epochs)"
            )
        lines += list(self.notes) + self._extension_lines() + self._stage_lines()
        shift = self.trained("predict_logit_adjust")
        if shift is not None:
            lines.append(f"predicts with the logits less {shift:g} x log prior")
        return lines

    def _headline(self) -> str:
        if self.strategy is None:
            return f"strategy=None: {self.reason}"
        if self.name == "as_set":
            return f"strategy='auto' trained the parameters as set: {self.reason}"
        return f"strategy='auto' trained {self.strategy_name!r}: {self.reason}"

    def _extension_lines(self) -> list[str]:
        if self.extension is not None:
            ext = self.extension
            score = "" if ext.train_score is None else f"{ext.train_score:.3f} "
            return [
                f"trained longer: training balanced accuracy {score}< {AUTO_JOINT_MIN_SCORE} "
                f"after {ext.start} epochs: trained {ext.epochs} more (mixing the first "
                f"{ext.mixup_epochs})"
            ]
        if self.extension_note is not None:
            return [self.extension_note]
        if self.extra_epochs:
            return [
                f"{self.extra_epochs} more epochs planned where training balanced accuracy < "
                f"{AUTO_JOINT_MIN_SCORE} (not decided yet)"
            ]
        return []

    def _stage_lines(self) -> list[str]:
        head = self.settings["head_resampler"]
        if head is None:
            return []
        score = self.joint_train_score
        if self.kept_joint:
            return [
                f"classifier trained with the network kept: training balanced accuracy "
                f"{score:.3f} >= {AUTO_JOINT_MIN_SCORE}"
            ]
        stage = f"classifier re-trained on {_named(head)}-resampled features"
        if not self.stage_decided:
            return [stage]
        if score is None:
            return [f"{stage} where training balanced accuracy < {AUTO_JOINT_MIN_SCORE}"]
        return [f"{stage}: training balanced accuracy {score:.3f} < {AUTO_JOINT_MIN_SCORE}"]

    def __str__(self) -> str:
        first, *rest = self.lines()
        return "\n".join([first, *(f"- {line}" for line in rest)])

    __repr__ = __str__

    def _repr_html_(self) -> str:
        first, *rest = self.lines()
        items = "".join(f"<li>{html.escape(line)}</li>" for line in rest)
        return f"<div><p>{html.escape(first)}</p><ul>{items}</ul></div>"
