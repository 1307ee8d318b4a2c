"""Turn the ordered stream of batch results, from whichever runner, into committed shards: each shard is committed
as soon as all its records are in, and a shard that ends short (its input changed) is dropped with an error."""
from collections import Counter
from typing import Iterator, List

from ..errors import Errors, TrftrainError
from .annotator import BatchResult
from .inputs import ShardPlan
from .output_folder import OutputFolder
from .progress import Progress
from .records import Columns
from .shards import FORMATS, open_shard


class _OpenShard:
    def __init__(self, folder: OutputFolder, plan: ShardPlan, output_format: str, columns: Columns):
        self.plan = plan
        self.writer = open_shard(folder.path, plan.name, output_format, columns)
        self.file = f"{plan.name}{FORMATS[output_format]}"
        self.records = self.annotated = self.words = 0
        self.errors: List[dict] = []

    def add(self, result: BatchResult) -> None:
        self.writer.add(result.payloads)
        self.records += result.records
        self.annotated += len(result.payloads)
        self.words += result.words
        self.errors.extend(result.errors)

    def entry(self) -> dict:
        return {"shard": self.plan.name, "file": self.file, "source": self.plan.source.label,
                "first": self.plan.first_number, "records": self.records, "annotated": self.annotated,
                "bad": len(self.errors), "bad_kinds": dict(Counter(e["kind"] for e in self.errors)),
                "words": self.words}


def _short(plan: ShardPlan, found: int) -> TrftrainError:
    return TrftrainError(Errors.E613.format(path=plan.source.path, shard=plan.name, expected=plan.count, found=found))


def write_results(results: Iterator[BatchResult], pending: List[ShardPlan], folder: OutputFolder, output_format: str,
                  columns: Columns, progress: Progress) -> None:
    """Write every result into its shard and commit shards in order.

    results (Iterator[BatchResult]): batch results in the order of `pending` and of the records in each shard.
    pending (List[ShardPlan]): the shards this run writes.
    """
    plans = iter(pending)
    shard = None
    try:
        for result in results:
            if shard is None:
                plan = next(plans, None)
                if plan is None:
                    raise RuntimeError(f"A result for shard {result.shard}, which this run did not plan.")
                if plan.name != result.shard:
                    raise _short(plan, 0)  # a pending shard gave no records at all
                shard = _OpenShard(folder, plan, output_format, columns)
            elif result.shard != shard.plan.name:
                raise _short(shard.plan, shard.records)
            shard.add(result)
            progress.update(result.records, result.words)
            if shard.records >= shard.plan.count:
                if shard.records > shard.plan.count:
                    raise _short(shard.plan, shard.records)
                folder.commit(shard.writer, shard.errors, shard.entry())
                shard = None
        if shard is not None:
            raise _short(shard.plan, shard.records)
        left = next(plans, None)
        if left is not None:
            raise _short(left, 0)
    except BaseException:
        if shard is not None:
            shard.writer.abort()
        raise
