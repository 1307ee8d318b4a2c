"""Turn public corpus formats into spaCy DocBin files."""
from collections import Counter
from pathlib import Path
from typing import Iterable, List

from spacy.tokens import Doc, DocBin

from ..errors import Errors, TrftrainError
from ..textfiles import NotUtf8, decode_utf8


def write_docbin(docs: Iterable[Doc], output: Path) -> int:
    """Write docs to output (a .spacy file); the number written. Nothing is written when a doc fails to convert.

    docs (Iterable[Doc]): converted documents; output (Path): the .spacy file.
    """
    docs: List[Doc] = list(docs)
    if not docs:
        raise TrftrainError(Errors.E102)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=False).to_disk(output)
    return len(docs)


def read_text(path: Path) -> str:
    """The text of an input file: UTF-8, a byte-order mark dropped, line endings kept.

    path (Path): the input file.
    """
    path = Path(path)
    if not path.is_file():
        raise TrftrainError(Errors.E100.format(path=path))
    try:
        return decode_utf8(path.read_bytes())
    except NotUtf8 as err:
        raise TrftrainError(Errors.E101.format(path=path, line=err.line, detail=err.detail)) from None


def read_lines(path: Path) -> List[str]:
    """The lines of an input file (read_text), without their line ends. Only "\n" ends a line (with an optional
    "\r" before it), as in an editor: str.splitlines would also split at form feeds, U+2028 and the like, which
    can sit inside a text, and shift every line number after them."""
    lines = read_text(path).split("\n")
    if lines[-1] == "":
        lines.pop()
    return [line[:-1] if line.endswith("\r") else line for line in lines]


def malformed(path: Path, line_number: int, template: str, **values) -> TrftrainError:
    """An error about one line of an input file: template is a catalogue entry with {path} and {line}."""
    return TrftrainError(template.format(path=path, line=line_number, **values))


def label_summary(docs: List[Doc]) -> List[str]:
    """Lines that show what the converted corpus holds: a misspelled entity type or label stands out here."""
    lines = []
    entities = Counter(ent.label_ for doc in docs for ent in doc.ents)
    if entities:
        lines.append("Entity types: " + ", ".join(f"{label} {n}" for label, n in sorted(entities.items())))
    cats = Counter(label for doc in docs for label, value in doc.cats.items() if value >= 0.5)
    if any(doc.cats for doc in docs):
        lines.append("Labels: " + ", ".join(f"{label} {cats.get(label, 0)}"
                                            for label in sorted({label for doc in docs for label in doc.cats})))
    empty = sum(1 for doc in docs if not doc.text.strip())
    if empty:
        lines.append(f"{empty} docs have no text (kept; they teach only the label they carry).")
    return lines
