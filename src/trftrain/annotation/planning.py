"""Cut every input file into shards and read any shard back: the one entry point over all input formats."""
from typing import Iterator, List

from ..errors import Errors, TrftrainError
from .inputs import InputRecord, ReadSettings, ShardPlan, Source
from .parquet_reader import plan_parquet, read_parquet
from .text_readers import plan_lines, plan_table, read_lines, read_table


def plan_shards(sources: List[Source], shard_size: int, settings: ReadSettings) -> List[ShardPlan]:
    """Every shard of every source, in output order.

    sources (List[Source]): the input files, from find_sources.
    shard_size (int): records (good and bad) per output shard.
    settings (ReadSettings): which columns must exist (checked here, before any work).
    """
    if shard_size < 1:
        raise TrftrainError(Errors.E615.format(option="--shard-size", rule="at least 1", value=shard_size))
    plans = []
    for source in sources:
        if source.kind in ("txt", "jsonl"):
            plans.extend(plan_lines(source, shard_size))
        elif source.kind in ("csv", "tsv"):
            plans.extend(plan_table(source, shard_size, settings))
        else:
            plans.extend(plan_parquet(source, shard_size, settings))
    return plans


def read_shard(plan: ShardPlan, settings: ReadSettings) -> Iterator[InputRecord]:
    """The records of one shard in order, bad ones included (with their problem)."""
    if plan.source.kind in ("txt", "jsonl"):
        return read_lines(plan, settings)
    if plan.source.kind in ("csv", "tsv"):
        return read_table(plan, settings)
    return read_parquet(plan, settings)


def batches_of(records: Iterator[InputRecord], batch_size: int) -> Iterator[List[InputRecord]]:
    """Consecutive records in lists that hold `batch_size` good ones each (bad ones ride along, so that a batch's
    texts are the same whichever runner makes it); the last list may hold fewer."""
    batch, good = [], 0
    for record in records:
        batch.append(record)
        good += record.problem is None
        if good == batch_size:
            yield batch
            batch, good = [], 0
    if batch:
        yield batch
