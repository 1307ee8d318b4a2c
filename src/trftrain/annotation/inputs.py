"""What annotation reads: the input files found under INPUT, the shards they are cut into, and the record that each
line or row becomes, good or bad (a bad one carries the reason instead of a text)."""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

from ..errors import Errors, TrftrainError

SUFFIXES = {".txt": "txt", ".jsonl": "jsonl", ".ndjson": "jsonl", ".csv": "csv", ".tsv": "tsv", ".parquet": "parquet"}


@dataclass(frozen=True)
class ReadSettings:
    """How to find the text and the id in a record.

    text_field (str): the JSON field or column that holds the text (.txt inputs: the whole line).
    id_field (Optional[str]): the field or column that holds the record's id; None: "<file>:<line or row>".
    max_chars (int): texts longer than this are bad records, not annotated.
    """
    text_field: str = "text"
    id_field: Optional[str] = None
    max_chars: int = 1_000_000


@dataclass(frozen=True)
class Source:
    """One input file. path (Path): where it is; label (str): its path below INPUT, used in ids and messages;
    stem (str): the prefix of its output shards; kind (str): txt, jsonl, csv, tsv or parquet."""
    path: Path
    label: str
    stem: str
    kind: str

    @property
    def unit(self) -> str:
        """How a record's place in this file is counted: by line, or by row for Parquet."""
        return "row" if self.kind == "parquet" else "line"


@dataclass(frozen=True)
class ShardPlan:
    """A run of consecutive records of one source that becomes one output shard.

    name (str): the output shard's name without suffix, "<stem>-<index>".
    start (int): the position (0-based record index in the source) of its first record.
    count (int): how many records (good and bad) it covers.
    offset (int): the byte offset of its first record in text formats; 0 for Parquet.
    first_number (int): the line (text formats) or 1-based row (Parquet) of its first record.
    header (Tuple[str, ...]): the column names of a CSV/TSV source.
    """
    source: Source
    name: str
    start: int
    count: int
    offset: int = 0
    first_number: int = 1
    header: Tuple[str, ...] = ()


@dataclass
class InputRecord:
    """One line or row of input. A bad record has `problem` = (kind, detail) and no text.

    position (int): 0-based index of the record in its source.
    number (int): its line number (1-based; CSV: the line where the row starts) or Parquet row number (1-based).
    """
    position: int
    number: int
    id: Any = None
    text: Optional[str] = None
    meta: Dict[str, Any] = field(default_factory=dict)
    problem: Optional[Tuple[str, str]] = None


def check_text(value, settings: ReadSettings) -> Optional[Tuple[str, str]]:
    """The reason a text value cannot be annotated, as (kind, detail), or None when it can."""
    if value is None:
        return "null_text", f"the text field '{settings.text_field}' is null"
    if not isinstance(value, str):
        return "not_a_string", f"the text field '{settings.text_field}' holds a {type(value).__name__}, not a string"
    if len(value) > settings.max_chars:
        return "too_long", f"the text has {len(value):,} characters, more than --max-chars {settings.max_chars:,}"
    if not value.strip():
        return "empty_text", "the text is empty" if not value else "the text is only whitespace"
    return None


def fill_from_fields(record: InputRecord, fields: dict, source: Source, settings: ReadSettings) -> None:
    """Text, id and carried fields of a record given as a mapping of fields (JSON object, CSV row, Parquet row)."""
    for name in filter(None, (settings.text_field, settings.id_field)):
        if name not in fields:
            shown = ", ".join(list(fields)[:8]) or "none"
            record.problem = ("missing_field", f"no field '{name}' (fields: {shown})")
            return
    text = fields.pop(settings.text_field)
    record.problem = check_text(text, settings)
    if record.problem is None:
        record.text = text
        record.id = fields.pop(settings.id_field) if settings.id_field else f"{source.label}:{record.number}"
        record.meta = fields


def find_sources(input_path: Path) -> List[Source]:
    """The input files of INPUT: the file itself, or every readable file below a folder in name order.

    input_path (Path): a file or a folder of shards.
    """
    input_path = Path(input_path)
    if not input_path.exists():
        raise TrftrainError(Errors.E600.format(path=input_path))
    if input_path.is_file():
        kind = SUFFIXES.get(input_path.suffix.lower())
        if kind is None:
            raise TrftrainError(Errors.E601.format(path=input_path, suffix=input_path.suffix or "(no suffix)"))
        return [Source(input_path, input_path.name, input_path.stem, kind)]
    files = sorted(p for p in input_path.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                   and not any(part.startswith((".", "_")) for part in p.relative_to(input_path).parts))
    if not files:
        raise TrftrainError(Errors.E602.format(path=input_path))
    labels = [p.relative_to(input_path).as_posix() for p in files]
    stems = [label.rsplit(".", 1)[0].replace("/", "__") for label in labels]
    # a.csv next to a.jsonl would write the same shard names; those keep their suffix in the name.
    clashes = {stem for stem in stems if stems.count(stem) > 1}
    stems = [label.replace("/", "__").replace(".", "_") if stem in clashes else stem for stem, label in zip(stems, labels)]
    return [Source(p, label, stem, SUFFIXES[p.suffix.lower()]) for p, label, stem in zip(files, labels, stems)]


def shard_name(source: Source, index: int) -> str:
    return f"{source.stem}-{index:05d}"
