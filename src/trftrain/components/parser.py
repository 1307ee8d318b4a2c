"""Dependency parser: biaffine arcs over whole docs, decoded into one valid tree per sentence.

Arcs are scored between all tokens of a doc (docs longer than `max_block` tokens are cut into blocks at the
likeliest sentence starts) and decoded as a forest. A sentence starts where a tree of that forest starts or
where the sentence-start classifier says so; each sentence is then decoded as one tree with one root, so
`doc.sents` and the parse always agree. (On UD EWT dev, the union gave UAS 71.9 and sentence F 69 where the
forest alone gave 64.0 and 35, at the same weights.)
"""
from collections import Counter
from dataclasses import dataclass
from typing import List, Optional, Tuple

import numpy as np
import torch
from spacy.pipeline.dep_parser import parser_score

from .. import precision
from ..decoding.mst import contiguous_segments, decode_forest, decode_tree
from ..encoder.token_vectors import TokenVectors
from ..errors import config_error
from ..padding import padded_groups
from .head import Head, LossTerm
from .parser_soft_targets import SoftParserTargets, soft_parser_loss
from .token_labels import gold_sentence_starts
from .torch_pipe import labels_in_order
from .whitespace import SPACE_DEP, nearest_words, space_mask

IGNORE = -100


def gather_sentences(vectors: torch.Tensor, starts: np.ndarray, lengths: np.ndarray):
    """Padded (n_sents, longest, width) sentences and their mask from flat token vectors."""
    longest = int(lengths.max()) if len(lengths) else 0
    offsets = torch.arange(longest, device=vectors.device)
    index = torch.as_tensor(starts, device=vectors.device)[:, None] + offsets[None, :]
    mask = offsets[None, :] < torch.as_tensor(lengths, device=vectors.device)[:, None]
    index = torch.where(mask, index, torch.zeros_like(index))
    return vectors[index], mask


def cut_blocks(lengths, start_scores: np.ndarray, max_block: int) -> Tuple[np.ndarray, np.ndarray]:
    """(starts, lengths) of blocks of at most max_block tokens, docs never shared; a long doc is cut at the
    token with the highest sentence-start score in the second half of each block."""
    starts, sizes, offset = [], [], 0
    for n in lengths:
        position = 0
        while position < n:
            size = n - position
            if size > max_block:
                window = start_scores[offset + position + max_block // 2 : offset + position + max_block]
                size = max_block // 2 + int(np.argmax(window))
            starts.append(offset + position)
            sizes.append(size)
            position += size
        offset += n
    return np.array(starts, dtype=np.int64), np.array(sizes, dtype=np.int64)


@dataclass
class ParserTargets:
    """Gold parse of a batch, per token in batch order (IGNORE where unknown): heads (batch position of the head),
    labels (relation id) and starts (1 where a sentence starts). Blocks are cut at gold sentence starts, as
    decoding cuts them at predicted ones; an arc whose head lies in another block cannot be scored."""

    heads: np.ndarray
    labels: np.ndarray
    starts: np.ndarray
    block_first: np.ndarray
    block_len: np.ndarray

    @property
    def usable(self) -> np.ndarray:
        block_of_token = np.repeat(np.arange(len(self.block_first)), self.block_len)
        first, length = self.block_first[block_of_token], self.block_len[block_of_token]
        return (self.heads != IGNORE) & (self.heads >= first) & (self.heads < first + length)

    @property
    def labelled(self) -> np.ndarray:
        return self.usable & (self.labels != IGNORE)

    @property
    def counts(self) -> List[int]:
        return [int(self.usable.sum()), int(self.labelled.sum()), int((self.starts != IGNORE).sum())]


@dataclass
class ParserScores:
    """Training: arcs (n_blocks, longest, longest) over the gold blocks, label logits of the labelled tokens with
    their gold heads, sentence-start logits of every token. Prediction: start logits and, per block, arc
    log-probabilities as numpy; labels are scored after decoding, for the predicted heads."""

    starts: torch.Tensor
    arcs: Optional[torch.Tensor] = None
    labels: Optional[torch.Tensor] = None
    block_first: Optional[np.ndarray] = None
    block_len: Optional[np.ndarray] = None
    arc_log_probs: Optional[List[np.ndarray]] = None
    vectors: Optional[TokenVectors] = None


# The one place for these defaults (the factory's config takes them from here); see DependencyParser.
SENTENCE_THRESHOLD = 0.5
TREE_START_THRESHOLD = 0.1
SENTENCE_LOSS_WEIGHT = 1.0


class DependencyParser(Head):
    """`token.head`, `token.dep_` and the sentence boundaries they imply.

    max_block (int): longest stretch of tokens scored together; longer docs are cut into blocks.
    sentence_threshold (float): sentence-start probability above which a sentence starts (besides where the
        decoded forest starts a new tree). Measured on UD EWT dev (bench/sentence_boundaries.py, MiniLM
        tagger+parser after 240 steps): 0.3 gave SENTS F 57.0, 0.5 62.1, 0.7 61.7, with LAS 77.6, 77.7, 77.5.
    tree_start_threshold (float): where the decoded forest starts a new tree, a sentence starts only if the start
        classifier gives that token at least this probability: most tree starts the classifier rules out split a
        sentence in two. Same run: every tree start (0.0) SENTS F 62.1, 0.05-0.2 65.6-65.7, at most tree starts
        the classifier already takes (0.5) 64.8; LAS 77.5-77.7 throughout.
    sentence_loss_weight (float): weight of the sentence-start loss against the arc and relation losses (each is a
        mean over its tokens). A token's start loss is a two-way choice, far smaller than its arc loss (a choice
        among the sentence's tokens), so the start classifier draws little on the shared encoder at 1.0.
    inference_precision (str): arithmetic of the relation classifier when predicting, as the encoder's key:
        "auto" (bf16 where the hardware multiplies it natively), "bf16", "fp16" (CUDA) or "off" (fp32). Its
        bilinear term (labels x width x width per token) was 45% of the parser's prediction time in fp32 on
        UD EWT, and bf16 on an AMX CPU runs it 5x faster. Arc scores and training stay in fp32.
    """

    def __init__(self, vocab, model, name="parser", *, encoder, loss_weight=1.0, max_block: int = 512,
                 sentence_threshold: float = SENTENCE_THRESHOLD, tree_start_threshold: float = TREE_START_THRESHOLD,
                 inference_precision: str = "auto", sentence_loss_weight: float = SENTENCE_LOSS_WEIGHT):
        super().__init__(vocab, model, name, encoder=encoder, loss_weight=loss_weight)
        if not sentence_loss_weight >= 0:
            raise config_error(f"components.{name}.sentence_loss_weight", f"{sentence_loss_weight} is not >= 0.")
        self.sentence_loss_weight = sentence_loss_weight
        self.max_block = max_block
        for key, value in (("sentence_threshold", sentence_threshold), ("tree_start_threshold", tree_start_threshold)):
            if not 0 <= value < 1:
                raise config_error(f"components.{name}.{key}", f"{value} is not a probability in [0, 1).")
        self.sentence_threshold = sentence_threshold
        self.tree_start_threshold = tree_start_threshold
        if inference_precision not in precision.SETTINGS:
            raise config_error(f"components.{name}.inference_precision",
                               f"'{inference_precision}' is not one of {', '.join(precision.SETTINGS)}.")
        self.inference_precision = inference_precision

    def gold_labels(self, example) -> List[str]:
        """Relation per predicted token; None where the gold has no parse."""
        if not example.reference.has_annotation("DEP"):
            return [None] * len(example.predicted)
        return [dep or None for dep in example.get_aligned_parse(projectivize=False)[1]]

    def collect_labels(self, examples) -> List[str]:
        return labels_in_order(Counter(dep for eg in examples for dep in self.gold_labels(eg) if dep))

    def has_annotation(self, example) -> bool:
        return example.reference.has_annotation("DEP")

    def targets(self, examples) -> ParserTargets:
        heads, labels, sent_starts, doc_offset, lengths = [], [], [], 0, []
        index = {label: i for i, label in enumerate(self.label_list)}
        for eg in examples:
            n = len(eg.predicted)
            lengths.append(n)
            if eg.reference.has_annotation("DEP") and n:
                gold_heads, gold_deps = eg.get_aligned_parse(projectivize=False)
                heads.extend(doc_offset + h if h is not None and d else IGNORE for h, d in zip(gold_heads, gold_deps))
                labels.extend(index.get(d, IGNORE) if d else IGNORE for d in gold_deps)
                sent_starts.extend(IGNORE if s is None else int(s) for s in gold_sentence_starts(eg))
            else:
                heads.extend([IGNORE] * n)
                labels.extend([IGNORE] * n)
                sent_starts.extend([IGNORE] * n)
            doc_offset += n
        starts = np.array(sent_starts, dtype=np.int64)
        block_first, block_len = cut_blocks(lengths, (starts == 1).astype(np.float32), self.max_block)
        return ParserTargets(np.array(heads, dtype=np.int64), np.array(labels, dtype=np.int64), starts,
                             block_first, block_len)

    def scores(self, vectors: TokenVectors, targets: Optional[ParserTargets] = None) -> ParserScores:
        if targets is None:
            return self._prediction_scores(vectors)
        device = vectors.data.device
        sentences, mask = gather_sentences(vectors.data, targets.block_first, targets.block_len)
        labelled = np.flatnonzero(targets.labelled)
        dependents = vectors.data[torch.as_tensor(labelled, device=device)]
        governors = vectors.data[torch.as_tensor(targets.heads[labelled], device=device)]
        return ParserScores(starts=self.model.sentence_starts(vectors.data, vectors.lengths).float(),
                            arcs=self.model.arcs(sentences, mask).float(),
                            labels=self.model.labels(dependents, governors).float())

    def loss(self, scores: ParserScores, targets: ParserTargets) -> List[LossTerm]:
        if isinstance(targets, SoftParserTargets):
            arcs, labels, starts = soft_parser_loss(scores, targets)
        else:
            arcs, labels, starts = self.gold_loss(scores, targets)
        return [arcs, labels, LossTerm(self.sentence_loss_weight * starts.total, starts.count)]

    def gold_loss(self, scores: ParserScores, targets: ParserTargets) -> List[LossTerm]:
        """Arc, relation and sentence-start losses against gold, each summed over its tokens."""
        device = scores.starts.device
        usable = targets.usable
        block_of_token = np.repeat(np.arange(len(targets.block_first)), targets.block_len)
        position = np.arange(len(targets.heads)) - targets.block_first[block_of_token]
        head_position = targets.heads - targets.block_first[block_of_token]
        rows = scores.arcs[torch.as_tensor(block_of_token[usable], device=device),
                           torch.as_tensor(position[usable], device=device)]
        arc_loss = torch.nn.functional.cross_entropy(rows, torch.as_tensor(head_position[usable], device=device),
                                                     reduction="sum")
        label_loss = torch.nn.functional.cross_entropy(
            scores.labels, torch.as_tensor(targets.labels[targets.labelled], device=device), reduction="sum")
        known = targets.starts != IGNORE
        start_loss = torch.nn.functional.binary_cross_entropy_with_logits(
            scores.starts[torch.as_tensor(np.flatnonzero(known), device=device)],
            torch.as_tensor(targets.starts[known], dtype=torch.float32, device=device), reduction="sum")
        counts = targets.counts
        return [LossTerm(arc_loss, counts[0]), LossTerm(label_loss, counts[1]), LossTerm(start_loss, counts[2])]

    def _prediction_scores(self, vectors: TokenVectors) -> ParserScores:
        start_scores = self.model.sentence_starts(vectors.data, vectors.lengths).float()
        block_first, block_len = cut_blocks(vectors.lengths, start_scores.cpu().numpy(), self.max_block)
        arc_log_probs: List[np.ndarray] = [np.zeros((0, 0), np.float32)] * len(block_first)
        # Blocks of similar length are scored together, under a budget of score cells, so that a batch of
        # long docs never holds all its (length x length) score tables at once (budget: eight full blocks).
        order = np.argsort(block_len, kind="stable")
        for first_group, end_group in padded_groups([int(n) ** 2 for n in block_len[order]], self.max_block ** 2 * 8):
            group = order[first_group:end_group]
            blocks, mask = gather_sentences(vectors.data, block_first[group], block_len[group])
            scores = torch.log_softmax(self.model.arcs(blocks, mask).float(), dim=-1).cpu().numpy()
            for block, block_scores in zip(group, scores):
                n = int(block_len[block])
                arc_log_probs[block] = block_scores[:n, :n]
        return ParserScores(starts=start_scores, block_first=block_first, block_len=block_len,
                            arc_log_probs=arc_log_probs, vectors=vectors)

    def decode(self, docs, scores: ParserScores):
        vectors = scores.vectors
        total = vectors.data.shape[0]
        if total == 0:
            return [(np.zeros(0, np.int64), np.zeros(0, np.int64)) for _ in docs]
        start_scores = scores.starts.cpu().numpy()
        likely_starts = start_scores > _logit(self.sentence_threshold)
        possible_starts = start_scores > _logit(self.tree_start_threshold)
        is_space = np.concatenate([space_mask(doc) for doc in docs])
        heads = np.zeros(total, dtype=np.int64)
        for block_scores, first, n in zip(scores.arc_log_probs, scores.block_first, scores.block_len):
            span = slice(first, first + n)
            heads[span] = first + self._decode_block(block_scores, likely_starts[span], possible_starts[span],
                                                     is_space[span])
        device = vectors.data.device
        index = torch.as_tensor(heads, device=device)
        with precision.autocast(device, precision.autocast_dtype(self.inference_precision, device)):
            labels = self.model.labels(vectors.data, vectors.data[index]).float().argmax(-1).cpu().numpy()
        doc_starts = np.cumsum([0] + list(vectors.lengths[:-1]))
        return [(heads[a : a + n] - a, labels[a : a + n]) for a, n in zip(doc_starts, vectors.lengths)]

    @classmethod
    def _decode_block(cls, block_scores: np.ndarray, likely_starts: np.ndarray, possible_starts: np.ndarray,
                      is_space: np.ndarray) -> np.ndarray:
        """The block's heads (positions in the block). Its words are decoded together; each whitespace token
        hangs from the nearest word (see whitespace.py) and so can neither start a sentence nor govern a word."""
        words = np.flatnonzero(~is_space)
        if len(words) == len(is_space):
            return cls._decode_words(block_scores, likely_starts, possible_starts)
        if not len(words):  # whitespace only: one sentence rooted at its first token
            return np.zeros(len(is_space), dtype=np.int64)
        heads = nearest_words(is_space)
        heads[words] = words[cls._decode_words(block_scores[np.ix_(words, words)], likely_starts[words],
                                               possible_starts[words])]
        return heads

    @staticmethod
    def _decode_words(block_scores: np.ndarray, likely_starts: np.ndarray, possible_starts: np.ndarray) -> np.ndarray:
        """Heads (positions among these tokens): one tree per sentence, where sentences start at likely sentence
        starts and at those of the forest's tree starts that are possible ones."""
        n = len(block_scores)
        heads = np.zeros(n, dtype=np.int64)
        forest = decode_forest(block_scores)
        tree_starts = {start for start, _ in contiguous_segments(forest) if possible_starts[start]}
        starts = tree_starts | set(np.flatnonzero(likely_starts))
        bounds = sorted(starts | {0}) + [n]
        for start, end in zip(bounds, bounds[1:]):
            segment = forest[start:end]
            tree = segment - start if _is_single_tree(segment, start) else decode_tree(block_scores[start:end, start:end])
            heads[start:end] = tree + start
        return heads

    def set_annotations(self, docs, parses) -> None:
        label_hashes = np.array([self.vocab.strings.add(label) for label in self.label_list], dtype=np.uint64)
        space_dep = self.vocab.strings.add(SPACE_DEP)
        for doc, (heads, labels) in zip(docs, parses):
            if len(doc):
                relative = (heads - np.arange(len(doc))).astype(np.int64)
                deps = label_hashes[labels]
                deps[space_mask(doc)] = space_dep
                doc.from_array(["HEAD", "DEP"], np.stack([relative.astype(np.uint64), deps], axis=1))

    def settings(self) -> dict:
        return {**super().settings(), "max_block": self.max_block, "sentence_threshold": self.sentence_threshold,
                "tree_start_threshold": self.tree_start_threshold}

    def load_settings(self, settings: dict) -> None:
        super().load_settings(settings)
        self.max_block = settings.get("max_block", self.max_block)
        self.sentence_threshold = settings.get("sentence_threshold", self.sentence_threshold)
        # Pipelines saved before the setting existed took every tree start: they keep doing so.
        self.tree_start_threshold = settings.get("tree_start_threshold", 0.0)

    def score(self, examples, **kwargs):
        return parser_score(examples, **kwargs)


def _logit(probability: float) -> float:
    return -np.inf if probability <= 0 else float(np.log(probability / (1 - probability)))


def _is_single_tree(heads: np.ndarray, offset: int) -> bool:
    """One root, and every head inside the segment."""
    inside = (heads >= offset) & (heads < offset + len(heads))
    return bool(inside.all()) and int((heads == np.arange(offset, offset + len(heads))).sum()) == 1
