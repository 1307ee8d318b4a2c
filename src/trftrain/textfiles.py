"""Users' text files (configs, corpora): UTF-8 with or without a byte-order mark, decoding errors by line."""
from pathlib import Path

BOM = "\ufeff"


class NotUtf8(ValueError):
    """Bytes that are not UTF-8, located as a reader would look for them.

    line (int): 1-based line of the first bad byte; column (int): 1-based byte column in that line;
    byte (int): the bad byte's value.
    """

    def __init__(self, line: int, column: int, byte: int):
        self.detail = f"byte {column} (0x{byte:02x}) is not UTF-8"
        super().__init__(f"line {line}: {self.detail}")
        self.line, self.column, self.byte = line, column, byte


def decode_utf8(data: bytes) -> str:
    """data as text without a leading byte-order mark (editors on Windows write one, and it would otherwise end
    up in the first word, label or section name). Raises NotUtf8 naming the line."""
    try:
        text = data.decode("utf8")
    except UnicodeDecodeError as err:
        line_start = data.rfind(b"\n", 0, err.start) + 1
        raise NotUtf8(data.count(b"\n", 0, err.start) + 1, err.start - line_start + 1, data[err.start]) from None
    return text[1:] if text.startswith(BOM) else text


def read_utf8(path: Path) -> str:
    """The text of the file at path (decode_utf8)."""
    return decode_utf8(Path(path).read_bytes())
