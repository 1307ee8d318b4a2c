"""Check a config's corpora before training: labels per head, missing and conflicting annotation,
pieces per token, texts longer than one encoder window, documents that would be skipped."""
from collections import Counter
from typing import Dict, List

import numpy as np

from .alignment import align
from .components.head import Head
from .components.textcat import TextClassifier
from .components.transformer import Transformer
from .config import load_config, resolve_training
from .convert.trees import doc_tree_problems, odd_roots
from .encoder.loading import quiet_transformers, resolve_encoder_path
from .runtime import build_pipeline, read_corpus


def debug_data(config_path, overrides=None) -> Dict[str, List[str]]:
    """Returns {"errors": [...], "warnings": [...], "info": [...]}."""
    raw = load_config(config_path, overrides, interpolate=False)
    config = raw.interpolate()
    T = resolve_training(config)
    nlp = build_pipeline(raw)
    train = read_corpus(config, T["train_corpus"], nlp, "training")
    dev = read_corpus(config, T["dev_corpus"], nlp, "development")
    report: Dict[str, List[str]] = {"errors": [], "warnings": [], "info": []}
    info, warn, error = report["info"].append, report["warnings"].append, report["errors"].append
    info(f"Training docs: {len(train)}, words: {sum(len(eg.reference) for eg in train)}")
    info(f"Development docs: {len(dev)}, words: {sum(len(eg.reference) for eg in dev)}")
    empty = sum(1 for eg in train if len(eg.reference) == 0)
    if empty:
        warn(f"{empty} training docs are empty and teach nothing.")
    _check_trees(train, "training", error, warn)
    _check_trees(dev, "development", error, warn)
    for name, proc in nlp.pipeline:
        if isinstance(proc, Head):
            pinned = config.get("initialize", {}).get("components", {}).get(name, {}).get("labels")
            _check_head(name, proc, train, dev, info, warn, error, pinned)
        elif isinstance(proc, Transformer):
            _check_pieces(proc, train, info, warn)
    return report


def _check_head(name, head: Head, train, dev, info, warn, error, pinned=None) -> None:
    """pinned: the labels [initialize.components.<name>] gives this head, if any; other labels are not its own."""
    if isinstance(head, TextClassifier):
        def own(cats):
            return {k: v for k, v in cats.items() if pinned is None or k in pinned}

        counts = Counter(label for eg in train for label, value in own(eg.reference.cats).items() if value >= 0.5)
        missing = sum(1 for eg in train if not own(eg.reference.cats))
        if not head.multi_label:
            conflicting = sum(1 for eg in train if own(eg.reference.cats)
                              and sum(v >= 0.5 for v in own(eg.reference.cats).values()) != 1)
            if conflicting:
                error(f"[{name}] {conflicting} training docs have no or several positive labels, but this "
                      "classifier is exclusive: use trftrain_textcat_multilabel, pin its labels in "
                      f"[initialize.components.{name}], or fix the labels.")
        dev_labels = {label for eg in dev for label in own(eg.reference.cats)}
    else:
        counts = Counter(label for eg in train for label in head.gold_labels(eg) if label)
        missing = sum(1 for eg in train if not any(head.gold_labels(eg)))
        dev_labels = {label for eg in dev for label in head.gold_labels(eg) if label}
    if not counts:
        error(f"[{name}] no training doc carries this head's annotation: check the corpus or remove the head.")
        return
    top = ", ".join(f"{label} {n}" for label, n in counts.most_common(12))
    info(f"[{name}] {len(counts)} labels in training data: {top}{' ...' if len(counts) > 12 else ''}")
    if missing:
        info(f"[{name}] {missing} training docs carry no annotation for this head; they are ignored by its loss.")
    unseen = sorted(dev_labels - set(counts))
    if unseen:
        warn(f"[{name}] labels in the development data never seen in training: {', '.join(unseen[:10])}")
    rare = [label for label, n in counts.items() if n < 5]
    if rare:
        warn(f"[{name}] {len(rare)} labels occur fewer than 5 times in training: {', '.join(sorted(rare)[:10])}")


def _check_trees(examples, what: str, error, warn, shown: int = 5) -> None:
    """Parses whose sentences are not one tree each (cycles, heads in another sentence, several roots), which a
    parser cannot learn from and the scorer cannot score; and roots with another relation than root."""
    broken, odd = [], []
    for i, eg in enumerate(examples):
        if eg.reference.has_annotation("DEP"):
            broken.extend(f"doc {i}, {problem}" for problem in doc_tree_problems(eg.reference))
            odd.extend(f"doc {i}, {problem}" for problem in odd_roots(eg.reference))
    if broken:
        error(f"{len(broken)} sentences of the {what} data are not one tree each: {_some(broken, shown)}. Fix the "
              "HEAD column in the source and convert again (`trftrain convert` names the line).")
    if odd:
        warn(f"{len(odd)} roots of the {what} data have a relation other than root: {_some(odd, shown)}.")


def _some(items: List[str], shown: int) -> str:
    return "; ".join(items[:shown]) + (f"; and {len(items) - shown} more" if len(items) > shown else "")


def _check_pieces(transformer: Transformer, train, info, warn) -> None:
    from transformers import AutoTokenizer

    encoder = transformer.encoder
    with quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(resolve_encoder_path(encoder.name))
    docs = [eg.reference for eg in train]
    encoded = tokenizer([doc.text for doc in docs], add_special_tokens=False, return_offsets_mapping=True, verbose=False)
    words = sum(len(doc) for doc in docs)
    counts = np.array([len(ids) for ids in encoded["input_ids"]])
    info(f"[{transformer.name}] {counts.sum() / max(1, words):.2f} pieces per token; longest doc "
         f"{counts.max() if len(counts) else 0} pieces")
    over = int((counts > encoder.window).sum())
    if over:
        info(f"[{transformer.name}] {over} training docs exceed one window of {encoder.window} pieces; they are "
             f"split into overlapping windows (stride {encoder.stride}), not truncated.")
    no_pieces = 0
    for doc, offsets in zip(docs, encoded["offset_mapping"]):
        if len(doc):
            bounds = doc.to_array(["IDX", "LENGTH"]).astype(np.int64)
            per_token = align(bounds[:, 0] + bounds[:, 1], len(doc.text), np.asarray(offsets).reshape(-1, 2)).pieces_per_token()
            no_pieces += sum(1 for token, n in zip(doc, per_token) if n == 0 and not token.is_space)
    if no_pieces:
        warn(f"[{transformer.name}] {no_pieces} tokens have no pieces (the tokenizer drops their characters); "
             "they get zero vectors.")
