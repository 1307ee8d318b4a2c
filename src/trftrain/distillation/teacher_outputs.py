"""What a teacher head hands a student: its scores, cut to what a soft target needs and small enough to cache.

Per token, the k likeliest labels and their scores (logits, so that any temperature can be applied later);
per doc, every class's logit; for the parser, each token's k likeliest heads over its block (log-probabilities),
the teacher's chosen head, the k likeliest relations to that head and the sentence-start logit. Arrays are
numpy, one row per token of the batch (docs one after another) or per doc; positions are doc-relative.
"""
from typing import Dict, List, Optional, Sequence

import numpy as np
import torch

from ..components.head import Head
from ..components.parser import DependencyParser, ParserScores
from ..components.textcat import TextClassifier
from ..components.token_labels import TokenLabeller

TOKENS, DOCS, PARSER = "tokens", "docs", "parser"
# Arrays per kind, and whether each has a row per token (else per doc).
PER_TOKEN = {TOKENS: ("ids", "scores"), DOCS: (),
             PARSER: ("candidates", "candidate_scores", "heads", "label_ids", "label_scores", "start_scores")}
Arrays = Dict[str, np.ndarray]


def output_kind(head: Head) -> Optional[str]:
    """Which outputs a head gives (None: a head this module does not know; its student learns hard labels)."""
    if isinstance(head, DependencyParser):
        return PARSER
    if isinstance(head, TextClassifier):
        return DOCS
    if isinstance(head, TokenLabeller):
        return TOKENS
    return None


def top_k(scores: torch.Tensor, k: int):
    """(ids int32, values float16), each (n, k), best first; k is capped at the number of columns."""
    values, ids = torch.topk(scores.float(), min(k, scores.shape[1]), dim=-1)
    return ids.cpu().numpy().astype(np.int32), values.cpu().numpy().astype(np.float16)


def token_outputs(logits: torch.Tensor, k: int) -> Arrays:
    ids, values = top_k(logits, k)
    return {"ids": ids, "scores": values}


def doc_outputs(logits: torch.Tensor) -> Arrays:
    return {"scores": logits.float().cpu().numpy().astype(np.float16)}


def parser_outputs(parser: DependencyParser, scores: ParserScores, decoded: Sequence, k: int) -> Arrays:
    """decoded: the parser's decode() result, (heads, labels) per doc with doc-relative heads."""
    vectors = scores.vectors
    lengths = np.asarray(vectors.lengths, dtype=np.int64)
    total = int(lengths.sum())
    doc_start = np.concatenate([[0], np.cumsum(lengths)[:-1]]).astype(np.int64)
    candidates = np.full((total, k), -1, dtype=np.int32)
    candidate_scores = np.zeros((total, k), dtype=np.float16)
    for block, first, n in zip(scores.arc_log_probs, scores.block_first, scores.block_len):
        n, first = int(n), int(first)
        if n == 0:
            continue
        width = min(k, n)
        best = np.argsort(-block, axis=1, kind="stable")[:, :width]
        # Blocks never span docs: the doc of a block is the one its first token belongs to.
        offset = first - doc_start[np.searchsorted(doc_start, first, side="right") - 1]
        candidates[first : first + n, :width] = best + offset
        candidate_scores[first : first + n, :width] = np.take_along_axis(block, best, axis=1)
    heads = np.concatenate([h for h, _ in decoded]).astype(np.int64) if decoded else np.zeros(0, np.int64)
    with torch.inference_mode():
        index = torch.as_tensor(heads + np.repeat(doc_start, lengths), device=vectors.data.device)
        label_logits = parser.model.labels(vectors.data, vectors.data[index]).float()
    label_ids, label_scores = top_k(label_logits, k) if total else (np.zeros((0, k), np.int32),
                                                                      np.zeros((0, k), np.float16))
    return {"candidates": candidates, "candidate_scores": candidate_scores, "heads": heads.astype(np.int32),
            "label_ids": label_ids, "label_scores": label_scores,
            "start_scores": scores.starts.float().cpu().numpy().astype(np.float16)}


def head_outputs(head: Head, kind: str, scores, decoded, k: int) -> Arrays:
    if kind == PARSER:
        return parser_outputs(head, scores, decoded, k)
    if kind == DOCS:
        return doc_outputs(scores)
    return token_outputs(scores, k)


def concatenate(batches: List[Dict[str, Arrays]]) -> Dict[str, Arrays]:
    """Join the outputs of consecutive batches, component by component (rows stay in doc order)."""
    if not batches:
        return {}
    return {name: {key: np.concatenate([b[name][key] for b in batches]) for key in batches[0][name]}
            for name in batches[0]}
