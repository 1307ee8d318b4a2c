"""Where a run's training batches come from. By default: the gold corpus the config names, in memory, through
BatchStream. Another source (a teacher's cached annotation, streamed from disk: distillation/) supplies its own
stream, initialization sample and per-head targets, and the same loop, trainer and checkpoints train on it."""
from typing import Any, List

from spacy.training import Example

from ..components.head import Head


class TrainingSource:
    """What the loop needs from a source of training data. A stream has `take(n)` (the next n batches, fewer at
    the end), `epoch`, `state_dict()` and `load_state_dict()` (saved in checkpoints), as BatchStream has."""

    def initialization_examples(self, nlp) -> List[Example]:
        """Examples `nlp.initialize` may read (labels of components that collect them, shapes)."""
        raise NotImplementedError

    def batch_stream(self, nlp, T: dict):
        """The stream of training batches; T is the resolved [training] section (batcher, seed, max_epochs)."""
        raise NotImplementedError

    def targets_for(self, head: Head, batch: List[Example]) -> Any:
        """The head's targets for a batch (Trainer.targets_for)."""
        return head.targets(batch)
