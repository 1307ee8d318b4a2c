"""A spaCy corpus reader over a teacher's cache, for students trained by spaCy's own loop (its CNN components
learn the teacher's decoded annotation as gold). One call is one epoch: the shards in an order drawn from
(seed, epoch), each shuffled, one shard in memory at a time; gold examples are mixed in at a fraction."""
import random
from typing import Callable, Iterator, List, Optional

from spacy.language import Language
from spacy.training import Corpus, Example
from spacy.util import registry

from .cache import TeacherCache


class TeacherCorpus:
    """cache (str): the cache folder; gold (Optional[str]): a .spacy corpus; gold_fraction (float, 0 to < 1): share
    of the examples drawn from it, spread evenly; seed (int)."""

    def __init__(self, cache: str, gold: Optional[str] = None, gold_fraction: float = 0.0, seed: int = 0):
        self.cache = TeacherCache.load(cache)
        self.gold = gold
        self.gold_fraction = gold_fraction if gold else 0.0
        self.seed = seed
        self.epoch = 0
        self._gold: Optional[List[Example]] = None

    def __call__(self, nlp: Language) -> Iterator[Example]:
        epoch, self.epoch = self.epoch, self.epoch + 1
        gold = self._gold_examples(nlp)
        rng = random.Random(f"{self.seed}/{epoch}")
        order = list(range(self.cache.n_shards))
        rng.shuffle(order)
        count, gold_position = 0, 0
        for index in order:
            references = self.cache.read_docs(index, nlp.vocab)
            rng.shuffle(references)
            for reference in references:
                while gold and int((count + 1) * self.gold_fraction) > int(count * self.gold_fraction):
                    yield gold[gold_position % len(gold)]
                    gold_position, count = gold_position + 1, count + 1
                yield Example(nlp.make_doc(reference.text), reference)
                count += 1

    def _gold_examples(self, nlp) -> List[Example]:
        if self.gold and self._gold is None:
            self._gold = list(Corpus(self.gold)(nlp))
            random.Random(self.seed).shuffle(self._gold)
        return self._gold or []


@registry.readers("trftrain.TeacherCorpus.v1")
def teacher_corpus_v1(cache: str, gold: Optional[str] = None, gold_fraction: float = 0.0,
                      seed: int = 0) -> Callable[[Language], Iterator[Example]]:
    """The teacher's annotation in a `trftrain distill` cache as a spaCy training corpus (see TeacherCorpus)."""
    return TeacherCorpus(cache, gold, gold_fraction, seed)
