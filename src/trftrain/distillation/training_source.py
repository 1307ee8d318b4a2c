"""A trftrain student's training data: the teacher's cache (soft targets where a head can take them), mixed with
gold examples, handed to the ordinary training loop (training/source.py)."""
from pathlib import Path
from typing import List, Optional

from spacy.training import Corpus, Example

from ..errors import Errors, TrftrainError
from ..training.batches import BatchStream
from ..training.source import TrainingSource
from .cache import TeacherCache
from .label_coverage import label_sample
from .pairing import Pair
from .soft_targets import SoftTargetBuilder
from .stream import MixedStream, TeacherStream, example_of

# Teacher-labelled examples nlp.initialize may read: the first shards whole (shapes, a sample of everything), plus
# from the later ones each doc with a label not seen before, since spaCy components among the student's collect
# their labels from these examples and a spaCy tagger stops at a label it did not collect (KeyError). trftrain
# heads paired with the teacher take the teacher's labels from the config instead.
INITIALIZATION_SHARDS = 2


class DistillationSource(TrainingSource):
    """cache (TeacherCache): complete; pairs (List[Pair]); temperature (float); soft (bool): soft targets where a
    pair allows (else the teacher's decoded labels throughout); gold (Optional[Path]): a .spacy corpus mixed in;
    gold_fraction (float): share of the batches drawn from it."""

    def __init__(self, cache: TeacherCache, pairs: List[Pair], *, temperature: float, soft: bool = True,
                 gold: Optional[Path] = None, gold_fraction: float = 0.0):
        self.cache = cache
        self.gold = gold
        self.gold_fraction = gold_fraction
        self.builder = SoftTargetBuilder(cache.components, pairs, temperature=temperature, soft=soft)
        self._gold_examples: Optional[List[Example]] = None

    def gold_examples(self, nlp) -> List[Example]:
        if self.gold is None:
            return []
        if self._gold_examples is None:
            self._gold_examples = list(Corpus(self.gold)(nlp))
            if not self._gold_examples:
                raise TrftrainError(Errors.E507.format(option="gold", value=self.gold, problem="holds no documents."))
        return self._gold_examples

    def initialization_examples(self, nlp) -> List[Example]:
        sample = label_sample(self.cache, nlp.vocab, INITIALIZATION_SHARDS)
        return [example_of(doc, nlp.vocab) for doc in sample] + self.gold_examples(nlp)

    def batch_stream(self, nlp, T: dict) -> MixedStream:
        teacher = TeacherStream(self.cache, nlp.vocab, T["batcher"], seed=T["seed"], max_epochs=T["max_epochs"])
        examples = self.gold_examples(nlp)
        gold = BatchStream(examples, T["batcher"], seed=T["seed"] + 1) if examples else None
        return MixedStream(teacher, gold, self.gold_fraction)

    def targets_for(self, head, batch):
        return self.builder(head, batch)
