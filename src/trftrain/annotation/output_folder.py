"""The output folder of a run and what makes it resumable: a lock, a manifest whose first line holds the run's settings
and then one line per completed shard, and an errors file that only ever lists completed shards' bad records."""
import json
import os
from pathlib import Path
from typing import Dict, Optional

from ..errors import Errors, TrftrainError
from .shards import FORMATS, ShardWriter, fsync_dir

MANIFEST, ERRORS, SUMMARY, LOCK = "_manifest.jsonl", "_errors.jsonl", "_summary.json", ".lock"
VERSION = 1


class OutputFolder:
    """OUTPUT of one run. Use as a context manager: entering locks it against a second run.

    path (Path): the folder. settings (dict): what makes two runs' shards interchangeable (pipeline, input files,
    format, columns, shard size, fields); a resumed run must have the same.
    """

    def __init__(self, path: Path, settings: Dict):
        self.path, self.settings = Path(path), settings
        self.done: Dict[str, Dict] = {}
        self._lock = None

    def __enter__(self) -> "OutputFolder":
        if self.path.is_file():
            raise TrftrainError(Errors.E618.format(path=self.path))
        self.path.mkdir(parents=True, exist_ok=True)
        self._acquire_lock()
        return self

    def __exit__(self, *exc) -> None:
        if self._lock is not None:
            self._lock.close()  # closing the file releases the lock
            self._lock = None

    def _acquire_lock(self) -> None:
        self._lock = open(self.path / LOCK, "a")
        try:
            import fcntl
        except ImportError:  # Windows: no advisory locks; one run at a time is then up to the user
            return
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            self._lock.close()
            self._lock = None
            raise TrftrainError(Errors.E612.format(path=self.path)) from None

    def start(self, overwrite: bool = False) -> Dict[str, Dict]:
        """Begin or resume: returns {shard name: manifest entry} of the shards already complete."""
        manifest = self.path / MANIFEST
        if not manifest.exists():
            foreign = [p.name for p in self.path.iterdir() if not p.name.startswith(".")]
            if foreign:
                raise TrftrainError(Errors.E610.format(path=self.path, example=sorted(foreign)[0]))
        else:
            header, entries = self._read_manifest(manifest)
            differences = _differences(header.get("settings", {}), self.settings)
            # A run that completed no shard left nothing to protect: its settings may change freely.
            if differences and entries and not overwrite:
                raise TrftrainError(Errors.E611.format(path=self.path, differences="; ".join(differences)))
            if overwrite:
                self._delete_run(header, entries)
            else:
                self.done = {e["shard"]: e for e in entries}
        self._rewrite(MANIFEST, [{"trftrain_annotate": VERSION, "settings": self.settings}, *self.done.values()])
        self._keep_errors_of_done_shards()
        for stale in self.path.glob(".*.partial"):
            stale.unlink()
        return dict(self.done)

    def commit(self, writer: ShardWriter, errors: list, entry: Dict) -> None:
        """Make a shard complete: its bad records into the errors file, its file into place, then its manifest line.
        A crash between steps leaves a shard that the next run redoes (its errors are dropped then)."""
        if errors:
            self._append(ERRORS, errors)
        writer.commit()
        self._append(MANIFEST, [entry])
        self.done[entry["shard"]] = entry

    def write_summary(self, summary: Dict) -> Path:
        self._rewrite(SUMMARY, None, text=json.dumps(summary, indent=2) + "\n")
        return self.path / SUMMARY

    def _read_manifest(self, manifest: Path):
        lines = manifest.read_text(encoding="utf-8").splitlines()
        try:
            header = json.loads(lines[0])
            if header.get("trftrain_annotate") != VERSION:
                raise ValueError(f"version {header.get('trftrain_annotate')!r}, expected {VERSION}")
        except (IndexError, ValueError) as err:
            raise TrftrainError(Errors.E619.format(path=manifest, problem=err)) from None
        entries = []
        for number, line in enumerate(lines[1:], start=2):
            try:
                entries.append(json.loads(line))
            except ValueError:
                if number != len(lines):  # only the last line can be cut short by a crash
                    raise TrftrainError(Errors.E619.format(path=manifest, problem=f"line {number} is not JSON")) from None
        return header, entries

    def _delete_run(self, header: Dict, entries: list) -> None:
        """--overwrite: remove what the previous run wrote, and nothing else."""
        suffix = FORMATS.get(header.get("settings", {}).get("format"), "")
        for entry in entries:
            (self.path / entry.get("file", "")).unlink(missing_ok=True)
        if suffix:  # shards renamed into place just before a crash have no manifest line yet
            for path in self.path.glob(f"*-[0-9][0-9][0-9][0-9][0-9]{suffix}"):
                path.unlink()
        for name in (ERRORS, SUMMARY):
            (self.path / name).unlink(missing_ok=True)

    def _keep_errors_of_done_shards(self) -> None:
        errors = self.path / ERRORS
        if not errors.exists():
            return
        kept = []
        with open(errors, encoding="utf-8") as f:
            for line in f:
                try:
                    if json.loads(line).get("shard") in self.done:
                        kept.append(line if line.endswith("\n") else line + "\n")
                except ValueError:
                    continue  # a line cut short by a crash
        self._rewrite(ERRORS, None, text="".join(kept))

    def _append(self, name: str, items: list) -> None:
        with open(self.path / name, "a", encoding="utf-8") as f:
            f.write("".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items))
            f.flush()
            os.fsync(f.fileno())

    def _rewrite(self, name: str, items: Optional[list], text: Optional[str] = None) -> None:
        partial = self.path / f".{name}.partial"
        if text is None:
            text = "".join(json.dumps(item, ensure_ascii=False) + "\n" for item in items)
        with open(partial, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.replace(partial, self.path / name)
        fsync_dir(self.path)


def _differences(before: Dict, now: Dict):
    return [f"{key}: {_short(before.get(key))} then, {_short(now.get(key))} now"
            for key in sorted(set(before) | set(now)) if before.get(key) != now.get(key)]


def _short(value, limit: int = 80) -> str:
    text = json.dumps(value, ensure_ascii=False)
    return text if len(text) <= limit else text[:limit - 3] + "..."
