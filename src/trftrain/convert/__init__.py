"""Turn public corpus formats into spaCy DocBin files."""
from pathlib import Path
from typing import Iterable, List

from spacy.tokens import Doc, DocBin

from ..errors import TrftrainError


def write_docbin(docs: Iterable[Doc], output: Path) -> int:
    docs: List[Doc] = list(docs)
    if not docs:
        raise TrftrainError("The input holds no documents; nothing was written.")
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    DocBin(docs=docs, store_user_data=False).to_disk(output)
    return len(docs)


def read_lines(path: Path) -> List[str]:
    path = Path(path)
    if not path.is_file():
        raise TrftrainError(f"Input file not found: '{path}'.")
    try:
        return path.read_text(encoding="utf8").splitlines()
    except UnicodeDecodeError as err:
        raise TrftrainError(f"'{path}' is not UTF-8 text ({err}).") from None


def malformed(path: Path, line_number: int, problem: str) -> TrftrainError:
    return TrftrainError(f"{path}:{line_number}: {problem}")
