"""The stream of training batches, as a position that can be saved and returned to.

Each epoch's order comes from (seed, epoch) alone, so a resumed run rebuilds the epoch's batches from the
examples it holds and starts at the saved cursor: no batch is replayed through the model (HF Trainer's resume
replays skipped batches; spaCy has none). In a distributed run every process walks the same global stream and
takes its own share of each group of batches.
"""
import random
from typing import Callable, List, Optional, Sequence

from spacy.training import Example

Batch = List[Example]


class BatchStream:
    """examples (Sequence[Example]): the training set; batcher: spaCy batcher (items -> batches);
    seed (int): shuffling seed; max_epochs (int): passes over the data, 0 for no limit."""

    def __init__(self, examples: Sequence[Example], batcher: Callable, *, seed: int, max_epochs: int = 0):
        self.examples = list(examples)
        self.batcher = batcher
        self.seed = seed
        self.max_epochs = max_epochs
        self.epoch = 0
        self.cursor = 0  # index of the next batch within the epoch
        self._batches: Optional[List[Batch]] = None

    def _epoch_batches(self) -> List[Batch]:
        if self._batches is None:
            order = list(self.examples)
            random.Random(f"{self.seed}/{self.epoch}").shuffle(order)
            self._batches = [list(batch) for batch in self.batcher(order) if batch]
        return self._batches

    def batches_in_all_epochs(self) -> Optional[int]:
        """How many batches max_epochs passes hold (None when there is no epoch limit). Batchers that size by
        words give each epoch about the same count, so the first epoch's is taken for all."""
        return len(self._epoch_batches()) * self.max_epochs if self.max_epochs else None

    def take(self, n: int) -> List[Batch]:
        """The next n batches of the global stream (fewer when the last epoch ends; none after it)."""
        taken: List[Batch] = []
        while len(taken) < n:
            if self.max_epochs and self.epoch >= self.max_epochs:
                break
            batches = self._epoch_batches()
            if not batches:
                break  # a batcher that yields nothing would loop forever
            if self.cursor >= len(batches):
                self.epoch, self.cursor, self._batches = self.epoch + 1, 0, None
                continue
            taken.append(batches[self.cursor])
            self.cursor += 1
        return taken

    def state_dict(self) -> dict:
        return {"seed": self.seed, "epoch": self.epoch, "cursor": self.cursor}

    def load_state_dict(self, state: dict) -> None:
        self.seed, self.epoch, self.cursor = int(state["seed"]), int(state["epoch"]), int(state["cursor"])
        self._batches = None


def shard(group: List[Batch], n_micro: int, rank: int, world_size: int) -> List[Optional[Batch]]:
    """This process's batch of each micro-step: micro-step j of a group holds global batches j*world .. j*world +
    world - 1, and process `rank` takes the rank-th of them (None where the group ran out)."""
    mine = []
    for j in range(n_micro):
        index = j * world_size + rank
        mine.append(group[index] if index < len(group) else None)
    return mine
