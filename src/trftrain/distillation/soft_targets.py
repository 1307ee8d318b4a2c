"""From cached teacher outputs to a student head's soft targets for one batch, at a temperature.

The stream leaves each teacher-labelled example's outputs on its predicted Doc (`TEACHER_KEY` in user_data).
A batch of such examples gets soft targets for every student head paired with a teacher head; any other batch
(gold examples) or head (no soft pair, other labels) gets the head's own targets from the reference Docs, which
for teacher-labelled examples hold the teacher's decoded annotation: hard labels.
"""
from typing import Dict, List, Optional

import numpy as np
import torch
from spacy.training import Example

from ..components.head import Head
from ..components.parser import cut_blocks
from ..components.parser_soft_targets import SoftParserTargets
from ..components.soft_targets import SoftDocTargets, SoftTokenTargets
from .pairing import Pair
from .teacher_outputs import DOCS, PARSER, TOKENS, Arrays

TEACHER_KEY = "trftrain_teacher_outputs"


def softmax(scores: np.ndarray, temperature: float, valid: Optional[np.ndarray] = None) -> np.ndarray:
    """Row-wise softmax of scores / temperature in float32; columns not `valid` get probability 0."""
    scaled = scores.astype(np.float32) / temperature
    if valid is not None:
        scaled = np.where(valid, scaled, -np.inf)
    top = np.max(scaled, axis=-1, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    exp = np.exp(scaled - top)
    return exp / np.maximum(exp.sum(-1, keepdims=True), 1e-30)


def sigmoid(scores: np.ndarray, temperature: float) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-scores.astype(np.float32) / temperature))


class SoftTargetBuilder:
    """components: the cache's teacher description; pairs: which student head learns from which teacher
    component; temperature (float); soft (bool): False gives every head hard labels (the teacher's decisions)."""

    def __init__(self, components: Dict[str, dict], pairs: List[Pair], *, temperature: float, soft: bool = True):
        self.components = components
        self.teacher_of = {p.student: p.teacher for p in pairs if p.soft and components[p.teacher]["kind"]}
        self.temperature = temperature
        self.soft = soft
        self._label_checks: Dict[str, bool] = {}

    def uses_soft_targets(self, head: Head) -> bool:
        teacher = self.teacher_of.get(head.name)
        if not self.soft or teacher is None:
            return False
        if head.name not in self._label_checks:
            # Soft targets index the teacher's labels: the student head must have the same ones, in order.
            self._label_checks[head.name] = list(head.labels) == list(self.components[teacher]["labels"])
        return self._label_checks[head.name]

    def __call__(self, head: Head, batch: List[Example]):
        outputs = [eg.predicted.user_data.get(TEACHER_KEY) for eg in batch]
        if not batch or any(o is None for o in outputs) or not self.uses_soft_targets(head):
            return head.targets(batch)
        teacher = self.teacher_of[head.name]
        per_doc = [o[teacher] for o in outputs]
        kind = self.components[teacher]["kind"]
        if kind == TOKENS:
            return self.token_targets(per_doc)
        if kind == DOCS:
            return self.doc_targets(per_doc, self.components[teacher]["multi_label"])
        if kind == PARSER:
            return self.parser_targets(per_doc, batch, head.max_block)
        return head.targets(batch)

    def token_targets(self, per_doc: List[Arrays]) -> SoftTokenTargets:
        ids = np.concatenate([d["ids"] for d in per_doc]).astype(np.int64)
        probs = softmax(np.concatenate([d["scores"] for d in per_doc]), self.temperature)
        return SoftTokenTargets(torch.from_numpy(ids), torch.from_numpy(probs),
                                torch.ones(len(ids), dtype=torch.bool), self.temperature)

    def doc_targets(self, per_doc: List[Arrays], multi_label: bool) -> SoftDocTargets:
        scores = np.concatenate([d["scores"] for d in per_doc])
        probs = sigmoid(scores, self.temperature) if multi_label else softmax(scores, self.temperature)
        return SoftDocTargets(torch.from_numpy(probs), torch.ones(len(scores), dtype=torch.bool), multi_label,
                              self.temperature)

    def parser_targets(self, per_doc: List[Arrays], batch: List[Example], max_block: int) -> SoftParserTargets:
        lengths = [len(d["heads"]) for d in per_doc]
        offsets = np.repeat(np.concatenate([[0], np.cumsum(lengths)[:-1]]), lengths).astype(np.int64)
        candidates = np.concatenate([d["candidates"] for d in per_doc]).astype(np.int64)
        valid = candidates >= 0
        candidates = np.where(valid, candidates + offsets[:, None], -1)
        cat = lambda key: np.concatenate([d[key] for d in per_doc])  # noqa: E731
        starts = np.concatenate([_sentence_starts(eg) for eg in batch])
        block_first, block_len = cut_blocks(lengths, (starts == 1).astype(np.float32), max_block)
        return SoftParserTargets(
            heads=cat("heads").astype(np.int64) + offsets, candidates=candidates,
            candidate_probs=softmax(cat("candidate_scores"), self.temperature, valid),
            label_ids=cat("label_ids").astype(np.int64), label_probs=softmax(cat("label_scores"), self.temperature),
            start_probs=sigmoid(cat("start_scores"), self.temperature), starts=starts,
            block_first=block_first, block_len=block_len, temperature=self.temperature)


def _sentence_starts(example: Example) -> np.ndarray:
    """The teacher's sentence starts (1, else 0) from its parse in the reference Doc."""
    doc = example.reference
    if not len(doc):
        return np.zeros(0, dtype=np.int64)
    starts = np.array([1 if token.is_sent_start else 0 for token in doc], dtype=np.int64)
    starts[0] = 1
    return starts
