"""A trained pipeline as a teacher: it annotates batches of texts and hands over, for every head, both its
decoded annotation (gold-style Docs) and its soft outputs (teacher_outputs.py). Every head's outputs are kept,
whichever student comes first, so that one teacher pass serves any student."""
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

import torch
from spacy.tokens import Doc

from ..components.head import Head
from ..components.textcat import TextClassifier
from ..errors import Errors, TrftrainError
from .hard_labels import decide_cats
from .pairing import TASKS, pipeline_factories
from .teacher_outputs import Arrays, head_outputs, output_kind


def load_teacher_pipeline(name: str, device: torch.device, remote: Sequence[str] = ()):
    """The teacher pipeline (folder or installed package) on `device`; with `remote` (URLs of `trftrain serve`
    servers that serve its encoder), its encoder runs there and its heads here, on the CPU."""
    import spacy

    from .. import to_device

    if Path(name).exists() and not (Path(name) / "config.cfg").exists():
        raise TrftrainError(Errors.E508.format(path=name, problem="the folder has no config.cfg"))
    if remote:
        from ..serving.load_remote import load_remote

        return load_remote(name, urls=list(remote))
    try:
        nlp = spacy.load(name)
    except OSError as err:
        raise TrftrainError(Errors.E508.format(path=name, problem=err)) from None
    to_device(nlp, device)
    return nlp


class Teacher:
    """nlp: the loaded teacher pipeline; top_k (int): labels (and parser heads) kept per token."""

    def __init__(self, nlp, *, top_k: int = 8):
        self.nlp = nlp
        self.top_k = top_k
        self.factories = pipeline_factories(nlp.config)
        self.kinds = {name: output_kind(proc) for name, proc in nlp.pipeline if isinstance(proc, Head)}
        self.kinds = {name: kind for name, kind in self.kinds.items() if kind is not None}
        self.components = self.describe()
        self._classifiers = [info for info in self.components.values() if "multi_label" in info]

    def describe(self) -> Dict[str, dict]:
        """Per component with a task: factory, task, output kind (None: hard labels only), labels, and for
        text classifiers whether they are multi-label and their threshold."""
        described = {}
        for name, proc in self.nlp.pipeline:
            factory = self.factories.get(name, "?")
            if factory not in TASKS:
                continue
            info = {"factory": factory, "task": TASKS[factory], "kind": self.kinds.get(name),
                    "labels": list(getattr(proc, "labels", ()))}
            if info["task"] in ("textcat", "textcat_multilabel"):
                info["multi_label"] = info["task"] == "textcat_multilabel"
                threshold = proc.threshold if isinstance(proc, TextClassifier) else proc.cfg.get("threshold", 0.5)
                info["threshold"] = float(threshold)
            described[name] = info
        return described

    def annotate(self, texts: Sequence[Union[str, Doc]]) -> Tuple[List[Doc], Dict[str, Arrays]]:
        """(docs, outputs): the docs with the teacher's annotation, cats as decisions; the soft outputs of every
        head the teacher has, by component name."""
        docs = [self.nlp.make_doc(t) if isinstance(t, str) else t for t in texts]
        outputs: Dict[str, Arrays] = {}
        for name, proc in self.nlp.pipeline:
            if name in self.kinds:
                outputs[name] = self._run_head(proc, self.kinds[name], docs)
            elif hasattr(proc, "pipe"):
                docs = list(proc.pipe(docs, batch_size=max(1, len(docs))))
            else:
                docs = [proc(doc) for doc in docs]
        for doc in docs:
            decide_cats(doc, self._classifiers)
        return docs, outputs

    def label(self, docs: Sequence[Doc], *, batch_size: int = 64) -> List[Doc]:
        """The teacher's decoded annotation alone (no soft outputs), cats as decisions."""
        labelled = list(self.nlp.pipe(docs, batch_size=batch_size))
        for doc in labelled:
            decide_cats(doc, self._classifiers)
        return labelled

    def _run_head(self, head: Head, kind: str, docs: List[Doc]) -> Arrays:
        for module in head.torch_modules().values():
            module.eval()
        with torch.inference_mode():
            scores = head.scores(head.token_vectors(docs))
            decoded = head.decode(docs, scores)
            head.set_annotations(docs, decoded)
            return head_outputs(head, kind, scores, decoded, self.top_k)
