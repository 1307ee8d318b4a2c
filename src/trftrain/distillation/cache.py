"""The teacher's outputs on disk, in shards written as the teacher goes, so that several students reuse one
teacher pass, an interrupted pass continues where it stopped, and memory holds one shard at a time.

    cache.json               what made the cache (teacher fingerprint, raw file, options) and its shards
    raw-problems.jsonl       raw inputs that were skipped, with their line numbers
    shard-00000.spacy        the teacher's annotation as gold-style Docs (a DocBin)
    shard-00000.safetensors  the soft outputs, "<component>/<array>", plus "lines" (raw line of each doc)

Shards are written under a temporary name and renamed; cache.json is replaced after each shard. No pickle.
"""
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np
from safetensors.numpy import load_file, save_file
from spacy.tokens import Doc, DocBin

from ..errors import Errors, TrftrainError
from .raw_text import Problem
from .teacher_outputs import PER_TOKEN, Arrays

FORMAT = 1
META_FILE = "cache.json"
PROBLEMS_FILE = "raw-problems.jsonl"


def pipeline_fingerprint(path: Path) -> str:
    """sha256 over every file of a pipeline folder (names and contents), first 16 hex digits."""
    digest = hashlib.sha256()
    for file in sorted(p for p in Path(path).rglob("*") if p.is_file()):
        digest.update(str(file.relative_to(path)).encode())
        with open(file, "rb") as handle:
            for chunk in iter(lambda: handle.read(1 << 20), b""):
                digest.update(chunk)
    return digest.hexdigest()[:16]


def raw_identity(path: Path, **options) -> dict:
    stat = Path(path).stat()
    return {"path": str(Path(path).resolve()), "size": stat.st_size, "mtime_ns": stat.st_mtime_ns, **options}


@dataclass
class Shard:
    """One shard in memory: docs (gold-style, the teacher's annotation), outputs by component, the raw line of
    each doc, and token offsets (doc i's per-token rows are offsets[i]:offsets[i + 1])."""

    docs: List[Doc]
    outputs: Dict[str, Arrays]
    lines: np.ndarray
    offsets: np.ndarray

    def doc_outputs(self, index: int, kinds: Dict[str, Optional[str]]) -> Dict[str, Arrays]:
        """The rows of doc `index`, by component (views: no copies)."""
        start, end = int(self.offsets[index]), int(self.offsets[index + 1])
        return {name: {key: values[start:end] if key in PER_TOKEN[kinds[name]] else values[index : index + 1]
                       for key, values in arrays.items()}
                for name, arrays in self.outputs.items()}


class TeacherCache:
    """A cache folder. `open` checks that it was made by this teacher from this raw file with these options."""

    def __init__(self, path: Path, meta: dict):
        self.path = Path(path)
        self.meta = meta

    @classmethod
    def open(cls, path: Path, identity: dict) -> "TeacherCache":
        """The cache at `path` (a new, empty one if there is none). identity: {"teacher": {...}, "raw": {...},
        "top_k": k}; a cache made otherwise is refused."""
        path = Path(path)
        meta_file = path / META_FILE
        if meta_file.exists():
            try:
                meta = json.loads(meta_file.read_text(encoding="utf8"))
            except (OSError, ValueError) as err:
                raise TrftrainError(Errors.E505.format(path=path, problem=err)) from None
            problem = _mismatch(meta, identity)
            if problem:
                raise TrftrainError(Errors.E504.format(path=path, problem=problem))
            return cls(path, meta)
        if path.exists() and any(path.iterdir()):
            raise TrftrainError(Errors.E504.format(path=path, problem=f"for something else (it holds files but no "
                                                                       f"{META_FILE})"))
        path.mkdir(parents=True, exist_ok=True)
        cache = cls(path, {"format": FORMAT, **identity, "shards": [], "records_read": 0, "problems": 0,
                           "complete": False})
        cache.save_meta()
        return cache

    @classmethod
    def load(cls, path: Path) -> "TeacherCache":
        """A complete cache, for reading (students of later runs, spaCy's corpus reader)."""
        try:
            meta = json.loads((Path(path) / META_FILE).read_text(encoding="utf8"))
        except (OSError, ValueError) as err:
            raise TrftrainError(Errors.E505.format(path=path, problem=err)) from None
        if not meta.get("complete"):
            raise TrftrainError(Errors.E505.format(path=path, problem="the teacher pass that wrote it did not finish; "
                                                   "run `trftrain distill` with this --cache to complete it"))
        return cls(Path(path), meta)

    # -- what it holds ----------------------------------------------------------------------------------------
    @property
    def complete(self) -> bool:
        return bool(self.meta["complete"])

    @property
    def components(self) -> Dict[str, dict]:
        return self.meta["teacher"]["components"]

    @property
    def kinds(self) -> Dict[str, Optional[str]]:
        return {name: info["kind"] for name, info in self.components.items()}

    @property
    def n_shards(self) -> int:
        return len(self.meta["shards"])

    @property
    def n_docs(self) -> int:
        return sum(shard["docs"] for shard in self.meta["shards"])

    def shard_paths(self) -> List[Path]:
        return [self.path / f"{shard['name']}.spacy" for shard in self.meta["shards"]]

    def problems(self) -> List[Problem]:
        file = self.path / PROBLEMS_FILE
        if not file.exists():
            return []
        return [Problem(**json.loads(line)) for line in file.read_text(encoding="utf8").splitlines() if line]

    def read_docs(self, index: int, vocab) -> List[Doc]:
        """Shard `index`'s docs alone (the teacher's annotation)."""
        name = self.meta["shards"][index]["name"]
        try:
            return list(DocBin().from_disk(self.path / f"{name}.spacy").get_docs(vocab))
        except Exception as err:  # a damaged or deleted shard file
            raise TrftrainError(Errors.E505.format(path=self.path / name, problem=err)) from None

    def read_shard(self, index: int, vocab) -> Shard:
        name = self.meta["shards"][index]["name"]
        docs = self.read_docs(index, vocab)
        try:
            flat = load_file(str(self.path / f"{name}.safetensors"))
        except Exception as err:  # a damaged or deleted shard file
            raise TrftrainError(Errors.E505.format(path=self.path / name, problem=err)) from None
        outputs: Dict[str, Arrays] = {}
        for key, values in flat.items():
            if "/" in key:
                component, array = key.split("/", 1)
                outputs.setdefault(component, {})[array] = values
        offsets = np.concatenate([[0], np.cumsum([len(doc) for doc in docs])]).astype(np.int64)
        return Shard(docs, outputs, flat["lines"], offsets)

    # -- writing ----------------------------------------------------------------------------------------------
    def add_shard(self, docs: DocBin, n_tokens: int, outputs: Dict[str, Arrays], lines: List[int],
                  problems: List[Problem], records_read: int) -> None:
        """Write one shard, then record it with the number of raw records (texts and problems) read so far."""
        name = f"shard-{self.n_shards:05d}"
        if len(docs):
            tmp = self.path / f".{name}.tmp"
            docs.to_disk(tmp)
            os.replace(tmp, self.path / f"{name}.spacy")
            flat = {f"{component}/{key}": np.ascontiguousarray(values)
                    for component, arrays in outputs.items() for key, values in arrays.items()}
            flat["lines"] = np.asarray(lines, dtype=np.int64)
            save_file(flat, str(tmp))
            os.replace(tmp, self.path / f"{name}.safetensors")
            self.meta["shards"].append({"name": name, "docs": len(docs), "tokens": n_tokens})
        if problems:
            with open(self.path / PROBLEMS_FILE, "a", encoding="utf8") as file:
                for problem in problems:
                    file.write(json.dumps({"line": problem.line, "reason": problem.reason, "unit": problem.unit}) + "\n")
        self.meta["records_read"] = records_read
        self.meta["problems"] += len(problems)
        self.save_meta()

    def finish(self) -> None:
        self.meta["complete"] = True
        self.save_meta()

    def save_meta(self) -> None:
        tmp = self.path / f".{META_FILE}.tmp"
        tmp.write_text(json.dumps(self.meta, indent=1), encoding="utf8")
        os.replace(tmp, self.path / META_FILE)


def _mismatch(meta: dict, identity: dict) -> Optional[str]:
    if meta.get("format") != FORMAT:
        return f"by another version of trftrain (format {meta.get('format')}, this one reads {FORMAT})"
    old, new = meta["teacher"], identity["teacher"]
    if old["fingerprint"] != new["fingerprint"]:
        return (f"by another teacher ('{old['path']}', fingerprint {old['fingerprint']}; this run's teacher "
                f"'{new['path']}' has {new['fingerprint']})")
    for key, value in identity["raw"].items():
        if meta["raw"].get(key) != value:
            return f"from other raw text ({key} {meta['raw'].get(key)!r}; this run: {value!r})"
    if meta.get("top_k") != identity["top_k"]:
        return f"with --top-k {meta.get('top_k')} (this run: {identity['top_k']})"
    return None
