"""Readers of line-based inputs (.txt, .jsonl, .csv, .tsv): cut a file into shards in one pass, remembering the byte
offset where each shard starts, then read any shard on its own (a resumed run or a Ray task seeks straight to it)."""
import csv
import json
from typing import Iterator, List, Optional, Set, Tuple

from ..errors import Errors, TrftrainError
from .inputs import InputRecord, ReadSettings, ShardPlan, Source, check_text, fill_from_fields, shard_name

BOM = b"\xef\xbb\xbf"


def plan_lines(source: Source, shard_size: int) -> List[ShardPlan]:
    """One shard per `shard_size` lines of a .txt or .jsonl file (every line is a record, blank ones included)."""
    plans, offset, position = [], 0, 0
    with open(source.path, "rb") as f:
        for raw in f:
            if position % shard_size == 0:
                plans.append(ShardPlan(source, shard_name(source, len(plans)), position, 0, offset, position + 1))
            offset += len(raw)
            position += 1
    return _with_counts(plans, position)


def read_lines(plan: ShardPlan, settings: ReadSettings) -> Iterator[InputRecord]:
    """The records of one .txt or .jsonl shard, in order."""
    make = _txt_record if plan.source.kind == "txt" else _jsonl_record
    with open(plan.source.path, "rb") as f:
        f.seek(plan.offset)
        for i in range(plan.count):
            raw = f.readline()
            if not raw:
                return  # the file shrank since it was planned; the runner reports the shortfall
            if plan.offset == 0 and i == 0 and raw.startswith(BOM):
                raw = raw[len(BOM):]
            record = InputRecord(plan.start + i, plan.first_number + i)
            make(raw.rstrip(b"\r\n"), record, plan.source, settings)
            yield record


def _decode(raw: bytes, record: InputRecord) -> Optional[str]:
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as err:
        where = f"byte {err.start}" if err.end - err.start == 1 else f"bytes {err.start}-{err.end - 1}"
        record.problem = ("invalid_utf8", f"{where} of the line is not valid UTF-8")
        return None


def _txt_record(raw: bytes, record: InputRecord, source: Source, settings: ReadSettings) -> None:
    text = _decode(raw, record)
    if text is not None:
        record.problem = check_text(text, settings)
        record.text = None if record.problem else text
        record.id = f"{source.label}:{record.number}"


def _jsonl_record(raw: bytes, record: InputRecord, source: Source, settings: ReadSettings) -> None:
    line = _decode(raw, record)
    if line is None:
        return
    if not line.strip():
        record.problem = ("empty_line", "the line is empty")
        return
    try:
        fields = json.loads(line)
    except json.JSONDecodeError as err:
        record.problem = ("invalid_json", f"not valid JSON: {err.msg} at column {err.colno}")
        return
    if not isinstance(fields, dict):
        record.problem = ("not_an_object", f"the line holds a JSON {type(fields).__name__}, not an object")
        return
    fill_from_fields(record, fields, source, settings)


class _Lines:
    """Decoded lines for the csv module, keeping where each line starts and which ones were not UTF-8."""

    def __init__(self, f, offset: int, first_line: int):
        self.f, self.offset, self.line = f, offset, first_line - 1
        self.starts = {}
        self.bad: Set[int] = set()

    def __iter__(self):
        return self

    def __next__(self) -> str:
        raw = self.f.readline()
        if not raw:
            raise StopIteration
        if self.offset == 0 and raw.startswith(BOM):
            raw, self.offset = raw[len(BOM):], len(BOM)
        self.line += 1
        self.starts[self.line] = self.offset
        self.offset += len(raw)
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            # Kept readable so that the csv module finds the row's end; the row is reported, not annotated.
            self.bad.add(self.line)
            return raw.decode("utf-8", "surrogateescape")


def _csv_reader(lines: _Lines, kind: str):
    # The csv module refuses fields over 128 KiB with an exception; a long text must reach --max-chars instead.
    csv.field_size_limit(max(csv.field_size_limit(), 2**31 - 1))
    if kind == "tsv":
        # Tab-separated files rarely quote; a text that starts with '"' must stay as it is.
        return csv.reader(lines, delimiter="\t", quoting=csv.QUOTE_NONE)
    return csv.reader(lines)


def _rows(lines: _Lines, reader) -> Iterator[Tuple[List[str], int, int, bool]]:
    """(fields, first line, byte offset, has a non-UTF-8 line) for every row."""
    for row in reader:
        first = min(lines.starts)
        bad = any(line in lines.bad for line in lines.starts)
        offset = lines.starts[first]
        lines.starts.clear()
        yield row, first, offset, bad


def plan_table(source: Source, shard_size: int, settings: ReadSettings) -> List[ShardPlan]:
    """One shard per `shard_size` rows of a .csv or .tsv file with a header line; checks the named columns exist."""
    with open(source.path, "rb") as f:
        lines = _Lines(f, 0, 1)
        rows = _rows(lines, _csv_reader(lines, source.kind))
        header = next(rows, None)
        if header is None:
            return []
        columns = tuple(header[0])
        for role, option, name in (("text", "--text-field", settings.text_field), ("id", "--id-field", settings.id_field)):
            if name and name not in columns:
                raise TrftrainError(Errors.E603.format(path=source.path, role=role, field=name, option=option,
                                                       columns=", ".join(columns) or "none"))
        plans, position = [], 0
        for _, line, offset, _ in rows:
            if position % shard_size == 0:
                plans.append(ShardPlan(source, shard_name(source, len(plans)), position, 0, offset, line, columns))
            position += 1
    return _with_counts(plans, position)


def read_table(plan: ShardPlan, settings: ReadSettings) -> Iterator[InputRecord]:
    """The records of one .csv or .tsv shard, in order."""
    with open(plan.source.path, "rb") as f:
        f.seek(plan.offset)
        lines = _Lines(f, plan.offset, plan.first_number)
        rows = _rows(lines, _csv_reader(lines, plan.source.kind))
        for i, (row, line, _, bad) in zip(range(plan.count), rows):
            record = InputRecord(plan.start + i, line)
            if bad:
                record.problem = ("invalid_utf8", "the row holds bytes that are not valid UTF-8")
            elif not row:
                record.problem = ("empty_line", "the line is empty")
            elif len(row) != len(plan.header):
                record.problem = ("malformed_row", f"the row has {len(row)} fields, the header {len(plan.header)}")
            else:
                fill_from_fields(record, dict(zip(plan.header, row)), plan.source, settings)
            yield record


def _with_counts(plans: List[ShardPlan], total: int) -> List[ShardPlan]:
    ends = [p.start for p in plans[1:]] + [total]
    return [ShardPlan(p.source, p.name, p.start, end - p.start, p.offset, p.first_number, p.header)
            for p, end in zip(plans, ends)]
