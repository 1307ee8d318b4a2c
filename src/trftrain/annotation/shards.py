"""Output shards in three formats, each written under a hidden partial name and renamed into place only once whole:
a file with a shard's final name is always complete."""
import json
import os
from pathlib import Path
from typing import List, Optional

from ..errors import Errors, TrftrainError
from .records import Columns, arrow_fields

FORMATS = {"jsonl": ".jsonl", "parquet": ".parquet", "docbin": ".spacy"}
PARQUET_ROWS_PER_GROUP = 2048


def choose_format(output: Path, requested: Optional[str]) -> str:
    """The output format: `requested`, else the one OUTPUT's suffix names (out.parquet/), else jsonl."""
    if requested is not None:
        if requested not in FORMATS:
            raise TrftrainError(Errors.E607.format(value=requested, choices=", ".join(FORMATS)))
        return requested
    by_suffix = {suffix: name for name, suffix in FORMATS.items()}
    return by_suffix.get(Path(output).suffix.lower(), "jsonl")


def partial_path(final: Path) -> Path:
    # A leading dot hides it from `ls`, from globs like out/*.jsonl and from pyarrow/Ray dataset readers.
    return final.with_name(f".{final.name}.partial")


def fsync_dir(directory: Path) -> None:
    """Make a rename inside `directory` survive a power cut (a no-op where directories cannot be opened)."""
    try:
        fd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class ShardWriter:
    """Collect one shard's encoded records; commit() makes it appear under its final name, abort() drops it."""

    def __init__(self, final: Path):
        self.final, self.partial = Path(final), partial_path(Path(final))

    def add(self, payloads: List[bytes]) -> None:
        raise NotImplementedError

    def _finish(self) -> None:
        """Write whatever is buffered and close the partial file, flushed to disk."""
        raise NotImplementedError

    def commit(self) -> None:
        self._finish()
        os.replace(self.partial, self.final)
        fsync_dir(self.final.parent)

    def abort(self) -> None:
        try:
            self._finish()
        finally:
            self.partial.unlink(missing_ok=True)


class JsonlShard(ShardWriter):
    def __init__(self, final: Path, columns: Columns):
        super().__init__(final)
        self.file = open(self.partial, "wb")

    def add(self, payloads: List[bytes]) -> None:
        if payloads:
            self.file.write(b"\n".join(payloads) + b"\n")

    def _finish(self) -> None:
        if not self.file.closed:
            self.file.flush()
            os.fsync(self.file.fileno())
            self.file.close()


class ParquetShard(ShardWriter):
    def __init__(self, final: Path, columns: Columns):
        from .optional import require_pyarrow

        super().__init__(final)
        self.pa = require_pyarrow("Parquet output")
        self.columns = columns
        self.schema = self.pa.schema(arrow_fields(columns, self.pa))
        self.writer = self.pa.parquet.ParquetWriter(self.partial, self.schema)
        self.rows: List[dict] = []

    def add(self, payloads: List[bytes]) -> None:
        self.rows.extend(json.loads(p) for p in payloads)
        if len(self.rows) >= PARQUET_ROWS_PER_GROUP:
            self._flush()

    def _flush(self) -> None:
        if not self.rows:
            return
        arrays = []
        for field in self.schema:
            values = [row[field.name] for row in self.rows]
            if field.name == "meta":
                values = [json.dumps(v, ensure_ascii=False) for v in values]
            elif field.name == "id":
                values = [v if v is None or isinstance(v, str) else str(v) for v in values]
            arrays.append(self.pa.array(values, type=field.type))
        self.writer.write_table(self.pa.Table.from_arrays(arrays, schema=self.schema))
        self.rows = []

    def _finish(self) -> None:
        if self.writer is not None:
            self._flush()
            self.writer.close()
            self.writer = None
            with open(self.partial, "rb+") as f:
                os.fsync(f.fileno())


class DocBinShard(ShardWriter):
    """DocBin shards are built in memory (the format has no append), so their size bounds the memory a run takes."""

    def __init__(self, final: Path, columns: Columns):
        from spacy.tokens import DocBin

        super().__init__(final)
        self.docbin = DocBin(store_user_data=True)

    def add(self, payloads: List[bytes]) -> None:
        from spacy.tokens import DocBin

        for payload in payloads:
            self.docbin.merge(DocBin(store_user_data=True).from_bytes(payload))

    def abort(self) -> None:
        self.docbin = None
        self.partial.unlink(missing_ok=True)

    def _finish(self) -> None:
        if self.docbin is not None:
            with open(self.partial, "wb") as f:
                f.write(self.docbin.to_bytes())
                f.flush()
                os.fsync(f.fileno())
            self.docbin = None


WRITERS = {"jsonl": JsonlShard, "parquet": ParquetShard, "docbin": DocBinShard}


def open_shard(directory: Path, name: str, output_format: str, columns: Columns) -> ShardWriter:
    """A writer for shard `name` of a run, e.g. out/tickets-00003.jsonl."""
    return WRITERS[output_format](Path(directory) / f"{name}{FORMATS[output_format]}", columns)
