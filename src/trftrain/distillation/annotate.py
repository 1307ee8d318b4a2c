"""The teacher pass: raw text in, a filled cache out. Texts go to the teacher in batches; a batch the teacher
fails on is retried text by text, so one bad text is reported (with its line) and the rest are kept. An
interrupted pass leaves whole shards behind, and the next run continues after them."""
import time
from typing import Callable, Dict, List

from spacy.tokens import DocBin

from .cache import TeacherCache
from .raw_text import Problem, RawText, RawTextReader
from .teacher import Teacher
from .teacher_outputs import Arrays, concatenate


class _ShardBuffer:
    """What the next shard will hold. Docs go into a DocBin at once: the teacher's docs carry its token vectors,
    which a shard of them would otherwise keep in memory."""

    def __init__(self):
        self.docs = DocBin(store_user_data=False)
        self.n_tokens = 0
        self.outputs: List[Dict[str, Arrays]] = []
        self.lines: List[int] = []
        self.problems: List[Problem] = []

    def add(self, docs, outputs: Dict[str, Arrays], lines: List[int]) -> None:
        for doc in docs:
            self.docs.add(doc)
            self.n_tokens += len(doc)
        self.outputs.append(outputs)
        self.lines.extend(lines)


def fill_cache(teacher: Teacher, reader: RawTextReader, cache: TeacherCache, *, batch_size: int = 64,
               shard_docs: int = 1000, say: Callable[[str], None] = print) -> None:
    """Annotate the raw records the cache does not hold yet (all of them for a new cache)."""
    if cache.complete:
        return
    skip = cache.meta["records_read"]
    if skip:
        say(f"Continuing the teacher pass after {skip:,} raw records ({cache.n_docs:,} texts cached).")
    buffer, pending = _ShardBuffer(), []
    consumed, words, started, last_report = skip, 0, time.perf_counter(), time.perf_counter()
    for index, record in enumerate(reader):
        if index < skip:
            continue
        consumed = index + 1
        if isinstance(record, Problem):
            buffer.problems.append(record)
            continue
        pending.append(record)
        if len(pending) < batch_size:
            continue
        words += _annotate(teacher, pending, buffer)
        pending = []
        if len(buffer.lines) >= shard_docs:
            _flush(cache, buffer, consumed)
            buffer = _ShardBuffer()
        if time.perf_counter() - last_report > 30:
            elapsed = time.perf_counter() - started
            say(f"Teacher: {cache.n_docs + len(buffer.lines):,} texts, {words / elapsed:,.0f} words/s")
            last_report = time.perf_counter()
    if pending:
        words += _annotate(teacher, pending, buffer)
    _flush(cache, buffer, consumed)
    cache.finish()


def _annotate(teacher: Teacher, records: List[RawText], buffer: _ShardBuffer) -> int:
    """Annotate a batch into the buffer; returns its words."""
    try:
        docs, outputs = teacher.annotate([r.text for r in records])
    except Exception:  # find the text(s) the teacher cannot take, keep the others
        for record in records:
            try:
                docs, outputs = teacher.annotate([record.text])
            except Exception as err:
                buffer.problems.append(Problem(record.line, f"the teacher failed on it ({type(err).__name__}: "
                                                            f"{err}); skipped"))
                continue
            buffer.add(docs, outputs, [record.line])
        return sum(len(r.text.split()) for r in records)
    buffer.add(docs, outputs, [r.line for r in records])
    return sum(len(doc) for doc in docs)


def _flush(cache: TeacherCache, buffer: _ShardBuffer, consumed: int) -> None:
    problems = sorted(buffer.problems, key=lambda p: p.line)
    cache.add_shard(buffer.docs, buffer.n_tokens, concatenate(buffer.outputs), buffer.lines, problems, consumed)
