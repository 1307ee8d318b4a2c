"""Text classification data (tsv, csv, jsonl) -> Docs with `doc.cats`.

Exclusive: every doc gets 1.0 for its label and 0.0 for every other known label. Multi-label: the label
column holds several labels separated by commas; labels not named are 0.0.
"""
import csv
import json
from pathlib import Path
from typing import Iterator, List, Optional, Sequence, Tuple

from spacy.lang.en import English

from ..errors import TrftrainError
from . import malformed, read_lines


def read_rows(path: Path, file_format: str, text_column: int, label_column: int,
              delimiter: Optional[str]) -> Iterator[Tuple[int, str, List[str]]]:
    """(line number, text, raw labels) per record."""
    if file_format == "jsonl":
        for number, line in enumerate(read_lines(path), start=1):
            if not line.strip():
                continue
            try:
                record = json.loads(line)
            except json.JSONDecodeError as err:
                raise malformed(path, number, f"not valid JSON ({err.msg}).") from None
            if not isinstance(record, dict) or not isinstance(record.get("text"), str):
                raise malformed(path, number, 'expected an object with a "text" string.')
            if isinstance(record.get("cats"), dict):
                labels = [k for k, v in record["cats"].items() if v]
            elif "labels" in record:
                labels = [str(x) for x in record["labels"]]
            elif "label" in record:
                labels = [str(record["label"])]
            else:
                raise malformed(path, number, 'expected "cats", "labels" or "label".')
            yield number, record["text"], labels
        return
    lines = read_lines(path)
    if file_format == "csv":
        rows = csv.reader(lines)
    else:
        sep = "\t" if delimiter is None else delimiter
        # A single-space delimiter splits once: "label text with spaces" (the SST-2 files).
        rows = (line.split(sep, max(text_column, label_column)) if sep == " " else line.split(sep) for line in lines)
    for number, row in enumerate(rows, start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        if len(row) <= max(text_column, label_column):
            raise malformed(path, number, f"expected at least {max(text_column, label_column) + 1} columns, "
                            f"found {len(row)}.")
        yield number, row[text_column], [x.strip() for x in row[label_column].split(",") if x.strip()]


def textcat_to_docs(path: Path, *, file_format: str = "tsv", text_column: int = 0, label_column: int = 1,
                    delimiter: Optional[str] = None, multilabel: bool = False,
                    label_names: Optional[Sequence[str]] = None, skip_header: bool = False):
    """label_names: names for labels given as numbers (label i -> label_names[i]); all known labels."""
    nlp = English()
    records = list(read_rows(path, file_format, text_column, label_column, delimiter))
    if skip_header and records:
        records = records[1:]
    names = list(label_names) if label_names else None

    def name_of(raw: str, number: int) -> str:
        if names is None:
            return raw
        if not raw.isdigit() or int(raw) >= len(names):
            raise malformed(path, number, f"label '{raw}' is not a number below {len(names)} (the label names given).")
        return names[int(raw)]

    parsed = [(number, text, [name_of(raw, number) for raw in raw_labels]) for number, text, raw_labels in records]
    all_labels = names or sorted({label for _, _, labels in parsed for label in labels})
    for number, text, labels in parsed:
        if not multilabel and len(labels) != 1:
            raise malformed(path, number, f"expected exactly one label, found {labels}; use --multilabel for "
                            "several labels per text.")
        doc = nlp.make_doc(text)
        doc.cats = {label: float(label in labels) for label in all_labels}
        yield doc
    if not parsed:
        raise TrftrainError(f"'{path}' holds no records.")


def parse_label_names(value: Optional[str]) -> Optional[List[str]]:
    """"NEG,POS" or "@path/to/names.txt" (one name per line)."""
    if not value:
        return None
    if value.startswith("@"):
        return [line.strip() for line in read_lines(Path(value[1:])) if line.strip()]
    return [name.strip() for name in value.split(",")]


__all__ = ["textcat_to_docs", "parse_label_names"]
