"""Reader of Parquet inputs: shards are row ranges, planned from the file's metadata and read row group by row group
so that memory stays at one batch of rows."""
from typing import Iterator, List

from ..errors import Errors, TrftrainError
from .inputs import InputRecord, ReadSettings, ShardPlan, Source, fill_from_fields, shard_name
from .optional import require_pyarrow

ROWS_PER_BATCH = 1024


def plan_parquet(source: Source, shard_size: int, settings: ReadSettings) -> List[ShardPlan]:
    """One shard per `shard_size` rows; checks that the text column exists and holds strings."""
    pa = require_pyarrow("Parquet input")
    parquet_file = pa.parquet.ParquetFile(source.path)
    schema = parquet_file.schema_arrow
    for role, option, name in (("text", "--text-field", settings.text_field), ("id", "--id-field", settings.id_field)):
        if name and name not in schema.names:
            raise TrftrainError(Errors.E603.format(path=source.path, role=role, field=name, option=option,
                                                   columns=", ".join(schema.names)))
    text_type = schema.field(settings.text_field).type
    if not (pa.types.is_string(text_type) or pa.types.is_large_string(text_type)
            or getattr(pa.types, "is_string_view", lambda t: False)(text_type)):
        raise TrftrainError(Errors.E604.format(path=source.path, field=settings.text_field, type=text_type))
    total = parquet_file.metadata.num_rows
    return [ShardPlan(source, shard_name(source, i), start, min(shard_size, total - start), 0, start + 1)
            for i, start in enumerate(range(0, total, shard_size))]


def read_parquet(plan: ShardPlan, settings: ReadSettings) -> Iterator[InputRecord]:
    """The records of one Parquet shard, in order."""
    pa = require_pyarrow("Parquet input")
    parquet_file = pa.parquet.ParquetFile(plan.source.path)
    end = plan.start + plan.count
    groups, first_row, row = [], None, 0
    for g in range(parquet_file.metadata.num_row_groups):
        rows = parquet_file.metadata.row_group(g).num_rows
        if row < end and row + rows > plan.start:
            groups.append(g)
            first_row = row if first_row is None else first_row
        row += rows
    if not groups:
        return
    position = first_row
    for batch in parquet_file.iter_batches(batch_size=ROWS_PER_BATCH, row_groups=groups):
        if position + batch.num_rows <= plan.start:
            position += batch.num_rows
            continue
        for fields in batch.to_pylist():
            if plan.start <= position < end:
                record = InputRecord(position, position + 1)
                fill_from_fields(record, fields, plan.source, settings)
                yield record
            position += 1
        if position >= end:
            return
