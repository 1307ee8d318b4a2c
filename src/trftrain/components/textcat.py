"""Text classification into `doc.cats`: one label per doc (exclusive) or any number (multi-label)."""
from typing import List

import numpy as np
import torch
from spacy.pipeline.textcat import textcat_score
from spacy.pipeline.textcat_multilabel import textcat_multilabel_score

from ..encoder.token_vectors import TokenVectors
from ..errors import Errors, TrftrainError
from .head import Head


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

    def logits(self, vectors: TokenVectors) -> torch.Tensor:
        return self.model(vectors.data, vectors.doc_index(), len(vectors.lengths)).float()

    def get_loss(self, examples, vectors: TokenVectors):
        gold, annotated = [], []
        for i, eg in enumerate(examples):
            cats = eg.reference.cats
            if cats and any(label in cats for label in self.label_list):
                annotated.append(i)
                gold.append([float(cats.get(label, 0.0)) for label in self.label_list])
        if not annotated:
            return None
        logits = self.logits(vectors)[torch.as_tensor(annotated, device=self.device)]
        target = torch.tensor(gold, device=self.device)
        return torch.nn.functional.cross_entropy(logits, target.argmax(-1))

    def decode(self, docs, vectors: TokenVectors) -> np.ndarray:
        if not len(docs):
            return np.zeros((0, len(self.label_list)), np.float32)
        return self.probabilities(self.logits(vectors)).cpu().numpy()

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

    def get_loss(self, examples, vectors: TokenVectors):
        gold = torch.zeros(len(examples), len(self.label_list))
        known = torch.zeros(len(examples), len(self.label_list), dtype=torch.bool)
        for i, eg in enumerate(examples):
            for j, label in enumerate(self.label_list):
                if label in eg.reference.cats:
                    gold[i, j] = float(eg.reference.cats[label])
                    known[i, j] = True
        if not bool(known.any()):
            return None
        losses = torch.nn.functional.binary_cross_entropy_with_logits(self.logits(vectors), gold.to(self.device),
                                                                      reduction="none")
        return losses[known.to(self.device)].mean()

    def probabilities(self, logits: torch.Tensor) -> torch.Tensor:
        return torch.sigmoid(logits)

    def score(self, examples, **kwargs):
        return self._score_annotated(textcat_multilabel_score, examples, **kwargs)
