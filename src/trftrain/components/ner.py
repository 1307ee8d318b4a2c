"""Named entities as BILUO tags per token, decoded so that every predicted span is valid."""
from typing import List, Sequence

import numpy as np
import torch
from spacy.pipeline.ner import ner_score
from spacy.training import biluo_tags_to_spans

from ..decoding.biluo import OUTSIDE, biluo_labels, transition_masks, viterbi
from .token_labels import TokenLabeller
from .whitespace import space_mask


class EntityRecognizer(TokenLabeller):
    """`doc.ents`. Tokens whose gold entity annotation is missing ("-") do not count as "O"."""

    def collect_labels(self, examples) -> List[str]:
        types = {tag.split("-", 1)[1] for eg in examples for tag in eg.get_aligned_ner() if tag and tag[:2] in ("B-", "U-")}
        return biluo_labels(types)

    def gold_labels(self, example):
        return [tag if tag and tag != "-" else None for tag in example.get_aligned_ner()]

    def decode(self, docs, scores: torch.Tensor) -> List[List[str]]:
        lengths = [len(doc) for doc in docs]
        if scores.shape[0] == 0:
            return [[] for _ in docs]
        # The search runs on the host in numpy (decoding/biluo.py says why).
        log_probs = torch.log_softmax(scores.float(), dim=-1).cpu().numpy()
        is_space = np.concatenate([space_mask(doc) for doc in docs])
        if is_space.any():  # whitespace is never part of an entity (whitespace.py)
            outside = self.label_list.index(OUTSIDE)
            log_probs[is_space] = -np.inf
            log_probs[is_space, outside] = 0.0
        masks = getattr(self, "_masks", None)
        if masks is None or masks[0].shape[0] != len(self.label_list):
            masks = self._masks = transition_masks(self.label_list)
        paths = viterbi(np.split(log_probs, np.cumsum(lengths)[:-1]), *masks)
        return [[self.label_list[i] for i in path] for path in paths]

    def set_annotations(self, docs, tags: Sequence[List[str]]) -> None:
        for doc, doc_tags in zip(docs, tags):
            if len(doc):
                doc.set_ents(biluo_tags_to_spans(doc, doc_tags), default="outside")

    def score(self, examples, **kwargs):
        return ner_score(examples, **kwargs)


__all__ = ["EntityRecognizer", "OUTSIDE"]
