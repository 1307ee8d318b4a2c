"""Training batches from a teacher's cache, one shard in memory at a time, optionally mixed with gold batches.

Each epoch visits the shards in an order drawn from (seed, epoch) and shuffles each shard's examples with
(seed, epoch, shard), so the position (epoch, shard, batch) is all a checkpoint needs to come back to: the
same contract as training/batches.py's BatchStream, without holding the corpus in memory.
"""
import random
from typing import List, Optional

from spacy.tokens import Doc
from spacy.training import Example

from ..training.batches import Batch, BatchStream
from .cache import TeacherCache
from .soft_targets import TEACHER_KEY


def teacher_examples(cache: TeacherCache, index: int, vocab) -> List[Example]:
    """Shard `index` as Examples: the teacher's annotation as reference, its outputs on the predicted Doc."""
    shard = cache.read_shard(index, vocab)
    kinds = cache.kinds
    examples = []
    for i, reference in enumerate(shard.docs):
        example = example_of(reference, vocab)
        example.predicted.user_data[TEACHER_KEY] = shard.doc_outputs(i, kinds)
        examples.append(example)
    return examples


def example_of(reference: Doc, vocab) -> Example:
    """The teacher's annotated Doc as an Example whose predicted Doc has the same words, unannotated."""
    predicted = Doc(vocab, words=[t.text for t in reference], spaces=[bool(t.whitespace_) for t in reference])
    return Example(predicted, reference)


class TeacherStream:
    """cache (TeacherCache); vocab: the student's; batcher: spaCy batcher; seed (int); max_epochs (0: no limit)."""

    def __init__(self, cache: TeacherCache, vocab, batcher, *, seed: int, max_epochs: int = 0):
        self.cache, self.vocab, self.batcher = cache, vocab, batcher
        self.seed, self.max_epochs = seed, max_epochs
        self.epoch = 0
        self.shard = 0  # position in this epoch's shard order
        self.cursor = 0  # next batch within the shard
        self._batches: Optional[List[Batch]] = None

    def _order(self) -> List[int]:
        order = list(range(self.cache.n_shards))
        random.Random(f"{self.seed}/{self.epoch}").shuffle(order)
        return order

    def _shard_batches(self) -> List[Batch]:
        if self._batches is None:
            index = self._order()[self.shard]
            examples = teacher_examples(self.cache, index, self.vocab)
            random.Random(f"{self.seed}/{self.epoch}/{index}").shuffle(examples)
            self._batches = [list(batch) for batch in self.batcher(examples) if batch]
        return self._batches

    def take(self, n: int) -> List[Batch]:
        taken: List[Batch] = []
        empty_shards = 0
        while len(taken) < n and self.cache.n_shards:
            if self.max_epochs and self.epoch >= self.max_epochs:
                break
            if self.shard >= self.cache.n_shards:
                self.epoch, self.shard, self.cursor, self._batches = self.epoch + 1, 0, 0, None
                continue
            batches = self._shard_batches()
            if self.cursor >= len(batches):
                empty_shards = empty_shards + 1 if not batches else 0
                if empty_shards > self.cache.n_shards:
                    break  # a batcher that yields nothing would loop forever
                self.shard, self.cursor, self._batches = self.shard + 1, 0, None
                continue
            taken.append(batches[self.cursor])
            self.cursor += 1
        return taken

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "shard": self.shard, "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch = int(state["seed"]), int(state["epoch"])
        self.shard, self.cursor, self._batches = int(state["shard"]), int(state["cursor"]), None


class MixedStream:
    """Teacher batches with gold batches among them: gold_fraction (float, 0 to < 1) of all batches are gold, spread
    evenly. The gold stream repeats; the run's epochs are the teacher stream's."""

    def __init__(self, teacher: TeacherStream, gold: Optional[BatchStream], gold_fraction: float):
        self.teacher, self.gold = teacher, gold
        self.gold_fraction = gold_fraction if gold is not None else 0.0
        self.count = 0

    @property
    def epoch(self) -> int:
        return self.teacher.epoch

    def _is_gold(self, i: int) -> bool:
        return int((i + 1) * self.gold_fraction) > int(i * self.gold_fraction)

    def take(self, n: int) -> List[Batch]:
        taken: List[Batch] = []
        while len(taken) < n:
            source = self.gold if self._is_gold(self.count) else self.teacher
            batch = source.take(1)
            if not batch:
                break
            taken.extend(batch)
            self.count += 1
        return taken

    def state_dict(self) -> dict:
        return {"count": self.count, "teacher": self.teacher.state_dict(),
                "gold": self.gold.state_dict() if self.gold is not None else None}

    def load_state_dict(self, state: dict) -> None:
        self.count = int(state["count"])
        self.teacher.load_state_dict(state["teacher"])
        if self.gold is not None and state.get("gold"):
            self.gold.load_state_dict(state["gold"])
