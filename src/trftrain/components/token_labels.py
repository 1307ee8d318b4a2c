"""Heads that give every token one label: tagger, morphologizer, sentence splitter."""
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np
import torch
from spacy.parts_of_speech import IDS as POS_IDS
from spacy.pipeline.morphologizer import morphologizer_score
from spacy.pipeline.senter import senter_score
from spacy.pipeline.tagger import tagger_score
from spacy.tokens import Doc
from spacy.training import Example

from ..encoder.token_vectors import TokenVectors
from .head import Head, LossTerm
from .soft_targets import SoftTokenTargets, token_distillation_loss
from .torch_pipe import labels_in_order
from .whitespace import SPACE_POS, SPACE_TAG, space_mask

IGNORE = -100
POS_FIELD = "POS="


def gold_sentence_starts(example: Example) -> List[Optional[bool]]:
    """Per predicted token: True starts a sentence, False does not, None unknown."""
    return [None if s is None else bool(s) for s in example.get_aligned_sent_starts()]


@dataclass
class TokenTargets:
    """labels (int64 tensor, (n_tokens,)): gold label id per token of the batch, IGNORE where the gold has none."""

    labels: torch.Tensor

    @property
    def counts(self) -> List[int]:
        return [int((self.labels != IGNORE).sum())]


class TokenLabeller(Head):
    """Softmax over a label set per token; tokens without gold annotation are left out of the loss."""

    def gold_labels(self, example: Example) -> List[Optional[str]]:
        """One label string per predicted token, None or "" where the gold has none."""
        raise NotImplementedError

    def annotate(self, docs: Sequence[Doc], label_ids: List[np.ndarray]) -> None:
        raise NotImplementedError

    def collect_labels(self, examples) -> List[str]:
        counts = Counter(label for eg in examples for label in self.gold_labels(eg) if label)
        return labels_in_order(counts)

    def has_annotation(self, example: Example) -> bool:
        return any(self.gold_labels(example))

    def gold_ids(self, examples: Sequence[Example]) -> torch.Tensor:
        index = {label: i for i, label in enumerate(self.label_list)}
        ids = [index.get(label, IGNORE) if label else IGNORE for eg in examples for label in self.gold_labels(eg)]
        return torch.tensor(ids, dtype=torch.long)

    def targets(self, examples: Sequence[Example]) -> TokenTargets:
        return TokenTargets(self.gold_ids(examples))

    def scores(self, vectors: TokenVectors, targets=None) -> torch.Tensor:
        """(n_tokens, n_labels) logits."""
        return self.model(vectors.data)

    def loss(self, scores: torch.Tensor, targets: TokenTargets) -> List[LossTerm]:
        if isinstance(targets, SoftTokenTargets):
            return [token_distillation_loss(scores, targets)]
        total = torch.nn.functional.cross_entropy(scores.float(), targets.labels.to(scores.device),
                                                  ignore_index=IGNORE, reduction="sum")
        return [LossTerm(total, targets.counts[0])]

    def decode(self, docs, scores: torch.Tensor) -> List[np.ndarray]:
        lengths = [len(doc) for doc in docs]
        if scores.shape[0] == 0:
            return [np.zeros(0, dtype=np.int64) for _ in docs]
        best = scores.argmax(-1).cpu().numpy()
        return np.split(best, np.cumsum(lengths)[:-1])

    def set_annotations(self, docs, label_ids) -> None:
        self.annotate(docs, label_ids)


class Tagger(TokenLabeller):
    """Fine-grained tags (`token.tag_`); with pos_from_tags, each label is a (tag, pos) pair and both are set."""

    def __init__(self, vocab, model, name="tagger", *, encoder, loss_weight=1.0, pos_from_tags: bool = False):
        super().__init__(vocab, model, name, encoder=encoder, loss_weight=loss_weight)
        self.pos_from_tags = pos_from_tags

    def gold_labels(self, example):
        tags = example.get_aligned("TAG", as_string=True)
        if not self.pos_from_tags:
            return tags
        pos = example.get_aligned("POS", as_string=True)
        return [f"{t}\t{p}" if t and p else None for t, p in zip(tags, pos)]

    def annotate(self, docs, label_ids) -> None:
        strings = self.vocab.strings
        tag_hashes = np.array([strings.add(label.split("\t")[0]) for label in self.label_list], dtype=np.uint64)
        pos_ids = np.array([POS_IDS.get(label.split("\t")[-1], 0) for label in self.label_list], dtype=np.uint64)
        space_tag, space_pos = strings.add(SPACE_TAG), POS_IDS[SPACE_POS]
        for doc, ids in zip(docs, label_ids):
            if not len(doc):
                continue
            tags, is_space = tag_hashes[ids], space_mask(doc)
            tags[is_space] = space_tag
            if self.pos_from_tags:
                pos = pos_ids[ids]
                pos[is_space] = space_pos
                doc.from_array(["TAG", "POS"], np.stack([tags, pos], axis=1))
            else:
                doc.from_array(["TAG"], tags[:, None])

    def score(self, examples, **kwargs):
        scores = tagger_score(examples, **kwargs)
        if self.pos_from_tags:
            scores.update(morphologizer_score(examples, **kwargs))
            for key in ("morph_acc", "morph_micro_p", "morph_micro_r", "morph_micro_f", "morph_per_feat"):
                scores.pop(key, None)
        return scores


class Morphologizer(TokenLabeller):
    """Coarse POS and morphological features, one joint label per token ("POS=NOUN|Number=Sing")."""

    def gold_labels(self, example):
        labels = []
        for morph, pos in zip(example.get_aligned("MORPH", as_string=True), example.get_aligned("POS", as_string=True)):
            if not pos and not morph:
                labels.append(None)
                continue
            fields = [f for f in (morph or "").split("|") if f and f != "_"]
            labels.append("|".join([f"{POS_FIELD}{pos}"] + fields) if pos else "|".join(fields))
        return labels

    def annotate(self, docs, label_ids) -> None:
        pos_of_label, morph_of_label = [], []
        for label in self.label_list:
            fields = label.split("|")
            pos = next((f[len(POS_FIELD):] for f in fields if f.startswith(POS_FIELD)), "")
            pos_of_label.append(POS_IDS.get(pos, 0))
            morph_of_label.append(self.vocab.morphology.add("|".join(f for f in fields if not f.startswith(POS_FIELD))))
        pos_of_label = np.array(pos_of_label, dtype=np.uint64)
        morph_of_label = np.array(morph_of_label, dtype=np.uint64)
        no_morph = self.vocab.morphology.add("")
        for doc, ids in zip(docs, label_ids):
            if len(doc):
                pos, morph, is_space = pos_of_label[ids], morph_of_label[ids], space_mask(doc)
                pos[is_space], morph[is_space] = POS_IDS[SPACE_POS], no_morph
                doc.from_array(["POS", "MORPH"], np.stack([pos, morph], axis=1))

    def score(self, examples, **kwargs):
        return morphologizer_score(examples, **kwargs)


class SentenceSplitter(TokenLabeller):
    """Sentence boundaries (`token.is_sent_start`) from two labels, start and inside."""

    def collect_labels(self, examples) -> List[str]:
        return ["I", "S"]

    def gold_labels(self, example):
        return [None if s is None else "S" if s else "I" for s in gold_sentence_starts(example)]

    def annotate(self, docs, label_ids) -> None:
        start = self.label_list.index("S")
        for doc, ids in zip(docs, label_ids):
            if len(doc):
                values = np.where(ids == start, 1, -1).astype(np.int64)
                # Whitespace belongs to the sentence before it, or at a doc's start to the first word's.
                is_space = space_mask(doc)
                values[is_space] = -1
                values[np.argmax(~is_space)] = -1  # the first word (token 0 when there is no leading whitespace)
                values[0] = 1
                doc.from_array(["SENT_START"], values.astype(np.uint64)[:, None])

    def score(self, examples, **kwargs):
        return senter_score(examples, **kwargs)
