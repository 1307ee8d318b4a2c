"""Text classification data (tsv, csv, jsonl) -> Docs with `doc.cats`.

Exclusive: every doc gets 1.0 for its label and 0.0 for every other known label. Multi-label: the label
column holds several labels separated by commas; labels not named are 0.0.
"""
import csv
import io
import json
from functools import lru_cache
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

from spacy.lang.en import English

from ..errors import Errors, TrftrainError
from . import malformed, read_lines, read_text


def read_rows(path: Path, file_format: str, text_column: int, label_column: int,
              delimiter: Optional[str]) -> Iterator[Tuple[int, str, List[str]]]:
    """(line number, text, raw labels) per record."""
    if file_format == "jsonl":
        yield from _jsonl_rows(path)
        return
    needed = max(text_column, label_column) + 1
    if file_format == "csv":
        rows = _csv_rows(path)
    else:
        sep = "\t" if delimiter is None else delimiter
        # A single-space delimiter splits once: "label text with spaces" (the SST-2 files).
        rows = ((number, line.split(sep, needed - 1) if sep == " " else line.split(sep))
                for number, line in enumerate(read_lines(path), start=1))
    first: Optional[Tuple[int, int]] = None  # (line, columns) of the first record
    for number, row in rows:
        if not row or not any(cell.strip() for cell in row):
            continue
        while len(row) > needed and not row[-1].strip():
            row = row[:-1]  # trailing empty columns (a tab at the end of the line) are not columns
        if len(row) < needed:
            raise malformed(path, number, Errors.E113, needed=needed, found=len(row))
        if first is None:
            first = (number, len(row))
        elif len(row) != first[1]:
            # Not a quoting mistake in CSV (the reader handles quotes); in TSV a tab inside a text would
            # otherwise cut the text and make its rest a label.
            raise malformed(path, number, Errors.E114, found=len(row), first_line=first[0], expected=first[1])
        yield number, row[text_column], [x.strip() for x in row[label_column].split(",") if x.strip()]


def _csv_rows(path: Path) -> Iterator[Tuple[int, List[str]]]:
    """(first line, cells) per CSV record; a quoted field may span lines and keeps its line breaks."""
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    start = 1
    try:
        for row in reader:
            yield start, row
            start = reader.line_num + 1
    except csv.Error as err:
        raise malformed(path, start, Errors.E124, problem=err) from None


def _jsonl_rows(path: Path) -> Iterator[Tuple[int, str, List[str]]]:
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except json.JSONDecodeError as err:
            raise malformed(path, number, Errors.E115, problem=err.msg) from None
        if not isinstance(record, dict) or not isinstance(record.get("text"), str):
            found = type(record.get("text")).__name__ if isinstance(record, dict) else type(record).__name__
            raise malformed(path, number, Errors.E116, found=found)
        if isinstance(record.get("cats"), dict):
            cats = record["cats"]
            for label, value in cats.items():
                if isinstance(value, bool) or not isinstance(value, (int, float)):
                    raise malformed(path, number, Errors.E118, field=f'"cats" ({label!r})', value=json.dumps(value))
            labels = [label for label, value in cats.items() if value >= 0.5]
        elif "labels" in record:
            if not isinstance(record["labels"], list):
                raise malformed(path, number, Errors.E118, field='"labels"', value=json.dumps(record["labels"]))
            labels = [_label(path, number, '"labels"', value) for value in record["labels"]]
        elif "label" in record:
            labels = [_label(path, number, '"label"', record["label"])]
        else:
            raise malformed(path, number, Errors.E117)
        # JSON escapes can spell half a surrogate pair, which no UTF-8 file (nor DocBin) can hold.
        surrogate = next((char for value in [record["text"], *labels] for char in value if "\ud800" <= char <= "\udfff"),
                         None)
        if surrogate:
            raise malformed(path, number, Errors.E123, char=surrogate)
        yield number, record["text"], labels


def _label(path: Path, number: int, field: str, value) -> str:
    """A label given as a string, or as a whole number (an index into --labels)."""
    if isinstance(value, bool) or not isinstance(value, (str, int)) or isinstance(value, str) and not value.strip():
        raise malformed(path, number, Errors.E118, field=field, value=json.dumps(value))
    return str(value).strip()


def textcat_to_docs(path: Path, *, file_format: str = "tsv", text_column: int = 0, label_column: int = 1,
                    delimiter: Optional[str] = None, multilabel: bool = False,
                    label_names: Optional[Sequence[str]] = None, skip_header: bool = False,
                    notes: Optional[List[str]] = None):
    """Docs with `doc.cats` from a tsv, csv or jsonl file. Records whose text is empty or only whitespace are left
    out (a classifier learns nothing from them, and they would score as easy hits), and notes says which.

    label_names (Sequence[str]): names for labels given as numbers (label i -> label_names[i]); all known labels.
    """
    nlp = _english()
    records = list(read_rows(path, file_format, text_column, label_column, delimiter))
    if skip_header and records:
        records = records[1:]
    names = list(label_names) if label_names else None

    def name_of(raw: str, number: int) -> str:
        if names is None:
            return raw
        if not raw.isdigit() or int(raw) >= len(names):
            raise malformed(path, number, Errors.E119, value=raw, count=len(names))
        return names[int(raw)]

    empty = [number for number, text, _ in records if not text.strip()]
    if empty and notes is not None:
        lines = ", ".join(map(str, empty[:10])) + (f" and {len(empty) - 10} more" if len(empty) > 10 else "")
        notes.append(f"Left out {len(empty)} record{'s' if len(empty) > 1 else ''} of '{path}' with no text "
                     f"(line{'s' if len(empty) > 1 else ''} {lines}).")
    parsed = [(number, text, [name_of(raw, number) for raw in raw_labels]) for number, text, raw_labels in records
              if text.strip()]
    all_labels = names or sorted({label for _, _, labels in parsed for label in labels})
    for number, text, labels in parsed:
        if not multilabel and len(labels) != 1:
            raise malformed(path, number, Errors.E120, labels=labels)
        doc = nlp.make_doc(text)
        doc.cats = {label: float(label in labels) for label in all_labels}
        yield doc
    if not parsed:
        raise TrftrainError(Errors.E121.format(path=path))


@lru_cache(maxsize=1)
def _english():
    """spaCy's English tokenizer, built once: building it takes longer than converting a small file."""
    return English()


def parse_label_names(value: Optional[str]) -> Optional[List[str]]:
    """"NEG,POS" or "@path/to/names.txt" (one name per line)."""
    if not value:
        return None
    if value.startswith("@"):
        return [line.strip() for line in read_lines(Path(value[1:])) if line.strip()]
    return [name.strip() for name in value.split(",")]


__all__ = ["textcat_to_docs", "parse_label_names"]
