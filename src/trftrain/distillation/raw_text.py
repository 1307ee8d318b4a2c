"""Raw text for a teacher to label, streamed with line numbers: .txt (one text per line), .jsonl (one JSON
object per line with a text field) or .spacy (a DocBin's texts). A bad line (empty, invalid UTF-8, not JSON,
too long) becomes a Problem with its line number; reading goes on."""
import json
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator, Union

from ..errors import Errors, TrftrainError

SUFFIXES = (".txt", ".jsonl", ".spacy")
# A line longer than this many bytes is skipped without being held in memory (4 bytes per character at most).
BYTES_PER_CHAR = 4
CHUNK = 1 << 20


@dataclass(frozen=True)
class RawText:
    """line (int): 1-based line number (doc number in a .spacy file); text (str)."""

    line: int
    text: str


@dataclass(frozen=True)
class Problem:
    """A raw input the teacher never sees: where (line, or doc in a .spacy file) and why."""

    line: int
    reason: str
    unit: str = "line"

    def __str__(self) -> str:
        return f"{self.unit} {self.line}: {self.reason}"


Record = Union[RawText, Problem]


class RawTextReader:
    """path (Path): the raw file; max_chars (int): longest text kept (longer ones are reported, not cut: a cut text
    would teach sentences that end mid-word); text_field (str): the field of a .jsonl object holding the text.
    Iterating yields RawText and Problem records in file order, one per line (or doc)."""

    def __init__(self, path: Path, *, max_chars: int = 100_000, text_field: str = "text"):
        self.path = Path(path)
        self.max_chars = max_chars
        self.text_field = text_field
        if self.path.suffix not in SUFFIXES:
            raise TrftrainError(Errors.E503.format(path=self.path, suffix=self.path.suffix or "(none)"))
        if not self.path.is_file():
            raise TrftrainError(Errors.E507.format(option="raw", value=self.path, problem="no such file."))
        if max_chars < 1:
            raise TrftrainError(Errors.E507.format(option="max-chars", value=max_chars, problem="must be >= 1."))

    @property
    def unit(self) -> str:
        return "doc" if self.path.suffix == ".spacy" else "line"

    def __iter__(self) -> Iterator[Record]:
        if self.path.suffix == ".spacy":
            yield from self._docbin()
            return
        with open(self.path, "rb") as file:
            for number, line in enumerate(_lines(file, self.max_chars * BYTES_PER_CHAR), start=1):
                yield self._record(number, line)

    def _record(self, number: int, line: Union[bytes, int]) -> Record:
        if isinstance(line, int):
            return Problem(number, f"{line:,} bytes, more than --max-chars {self.max_chars:,} characters; skipped")
        try:
            text = line.decode("utf-8")
        except UnicodeDecodeError as err:
            return Problem(number, f"invalid UTF-8 at byte {err.start + 1} (0x{line[err.start]:02x}); skipped")
        if number == 1:
            text = text.lstrip("\ufeff")
        if self.path.suffix == ".jsonl":
            if not text.strip():
                return Problem(number, "empty line; skipped")
            text_or_problem = self._json_text(number, text)
            if isinstance(text_or_problem, Problem):
                return text_or_problem
            text = text_or_problem
        return self._checked(number, text)

    def _json_text(self, number: int, line: str) -> Union[str, Problem]:
        try:
            value = json.loads(line)
        except json.JSONDecodeError as err:
            return Problem(number, f"not valid JSON ({err.msg} at column {err.colno}); skipped")
        if not isinstance(value, dict) or self.text_field not in value:
            return Problem(number, f"no '{self.text_field}' field (--text-field names it); skipped")
        if not isinstance(value[self.text_field], str):
            return Problem(number, f"'{self.text_field}' is {type(value[self.text_field]).__name__}, not a string; "
                                   "skipped")
        return value[self.text_field]

    def _checked(self, number: int, text: str) -> Record:
        if not text.strip():
            return Problem(number, "empty; skipped", self.unit)
        if len(text) > self.max_chars:
            return Problem(number, f"{len(text):,} characters, more than --max-chars {self.max_chars:,}; skipped",
                           self.unit)
        return RawText(number, text)

    def _docbin(self) -> Iterator[Record]:
        from spacy.tokens import DocBin
        from spacy.vocab import Vocab

        try:
            docs = DocBin().from_disk(self.path).get_docs(Vocab())
            for number, doc in enumerate(docs, start=1):
                yield self._checked(number, doc.text)
        except Exception as err:  # a damaged DocBin: what was read stays read
            yield Problem(0, f"could not read the DocBin ({err}); stopped reading")


def _lines(file: BinaryIO, max_bytes: int) -> Iterator[Union[bytes, int]]:
    """Each line without its line break; an int (its length in bytes) for a line over max_bytes, which is read
    in chunks and dropped."""
    while True:
        line = file.readline(max_bytes + 2)
        if not line:
            return
        if len(line) == max_bytes + 2 and not line.endswith(b"\n"):
            size = len(line)
            while not line.endswith(b"\n"):
                line = file.readline(CHUNK)
                if not line:
                    break
                size += len(line)
            yield size - 1 if line.endswith(b"\n") else size
            continue
        yield line.rstrip(b"\n").rstrip(b"\r")
