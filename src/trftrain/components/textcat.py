"""Text classification into `doc.cats`: one label per doc (exclusive) or any number (multi-label)."""
from dataclasses import dataclass
from typing import List

import numpy as np
import torch
from spacy.pipeline.textcat import textcat_score
from spacy.pipeline.textcat_multilabel import textcat_multilabel_score

from ..encoder.token_vectors import TokenVectors
from ..errors import Errors, TrftrainError
from .head import Head, LossTerm
from .soft_targets import SoftDocTargets, doc_distillation_loss


@dataclass
class DocTargets:
    """values (float tensor, (n_docs, n_labels)): gold value of each label; known (bool tensor, same shape):
    which values the gold gives. An exclusive classifier learns from whole rows, a multi-label one from cells."""

    values: torch.Tensor
    known: torch.Tensor
    multi_label: bool

    @property
    def counts(self) -> List[int]:
        return [int(self.known.sum()) if self.multi_label else int(self.known.any(1).sum())]


class TextClassifier(Head):
    """Exclusive classes: softmax over labels. Docs with no cats in the gold are left out of the loss.

    threshold (float): reported to spaCy's scorer; a label counts as predicted above it.
    """

    multi_label = False

    def __init__(self, vocab, model, name="textcat", *, encoder, loss_weight=1.0, threshold: float = 0.5):
        super().__init__(vocab, model, name, encoder=encoder, loss_weight=loss_weight)
        self.threshold = threshold

    def collect_labels(self, examples) -> List[str]:
        return sorted({label for eg in examples for label in eg.reference.cats})

    def initialize(self, get_examples, *, nlp=None, labels=None) -> None:
        super().initialize(get_examples, nlp=nlp, labels=labels)
        if not self.multi_label and len(self.label_list) < 2:
            # A softmax over one label is 1.0 whatever the text: nothing to learn, and a perfect score.
            raise TrftrainError(Errors.E702.format(component=self.name, label=self.label_list[0]))

    def has_annotation(self, example) -> bool:
        return any(label in example.reference.cats for label in self.label_list)

    def targets(self, examples) -> DocTargets:
        values = torch.zeros(len(examples), len(self.label_list))
        known = torch.zeros(len(examples), len(self.label_list), dtype=torch.bool)
        for i, eg in enumerate(examples):
            cats = eg.reference.cats
            for j, label in enumerate(self.label_list):
                if label in cats:
                    values[i, j] = float(cats[label])
                    known[i, j] = True
        return DocTargets(values, known, self.multi_label)

    def scores(self, vectors: TokenVectors, targets=None) -> torch.Tensor:
        """(n_docs, n_labels) logits."""
        return self.model(vectors.data, vectors.doc_index(), len(vectors.lengths)).float()

    def loss(self, scores: torch.Tensor, targets: DocTargets) -> List[LossTerm]:
        if isinstance(targets, SoftDocTargets):
            return [doc_distillation_loss(scores, targets)]
        rows = targets.known.any(1)
        # Exclusive: the gold class is the label with the highest value among those the doc names.
        gold = torch.where(targets.known, targets.values, torch.full_like(targets.values, -1.0)).argmax(1)
        total = torch.nn.functional.cross_entropy(scores[rows.to(scores.device)], gold[rows].to(scores.device),
                                                  reduction="sum")
        return [LossTerm(total, targets.counts[0])]

    def decode(self, docs, scores: torch.Tensor) -> np.ndarray:
        if not len(docs):
            return np.zeros((0, len(self.label_list)), np.float32)
        return self.probabilities(scores).cpu().numpy()

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.softmax(logits, dim=-1)

    def set_annotations(self, docs, probabilities: np.ndarray) -> None:
        for doc, row in zip(docs, probabilities):
            # Update rather than replace: another classifier in the pipeline may have set its own labels.
            doc.cats.update({label: float(p) for label, p in zip(self.label_list, row)})

    def settings(self) -> dict:
        return {**super().settings(), "threshold": self.threshold}

    def load_settings(self, settings: dict) -> None:
        super().load_settings(settings)
        self.threshold = settings.get("threshold", self.threshold)

    def score(self, examples, **kwargs):
        return self._score_annotated(textcat_score, examples, **kwargs)

    def _score_annotated(self, scorer, examples, **kwargs) -> dict:
        """Score the docs whose gold cats name one of this head's labels. In a dev set drawn from several
        corpora the others carry no cats for this head, and spaCy's exclusive scorer would count every
        prediction on them as a false positive. Nothing (no keys) when no doc is annotated: the cats_* keys are
        shared by every classifier of a pipeline, and zeros from one without data would replace the scores of
        another that has them."""
        labels = set(self.label_list)
        annotated = [eg for eg in examples if labels.intersection(eg.reference.cats)]
        if not annotated:
            return {}
        return scorer(annotated, labels=self.label_list, threshold=self.threshold, **kwargs)


class MultiLabelTextClassifier(TextClassifier):
    """Independent yes/no per label; a label absent from a doc's gold cats is unknown, not a "no"."""

    multi_label = True

    def loss(self, scores: torch.Tensor, targets: DocTargets) -> List[LossTerm]:
        if isinstance(targets, SoftDocTargets):
            return [doc_distillation_loss(scores, targets)]
        known = targets.known.to(scores.device)
        losses = torch.nn.functional.binary_cross_entropy_with_logits(scores, targets.values.to(scores.device),
                                                                      reduction="none")
        return [LossTerm(losses[known].sum(), targets.counts[0])]

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)

    def score(self, examples, **kwargs):
        return self._score_annotated(textcat_multilabel_score, examples, **kwargs)
