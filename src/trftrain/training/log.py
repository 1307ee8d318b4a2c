"""The JSON-lines log of a run's evaluations: NaN written as null (JSON has no NaN), and cut back to a step when
a run resumes from a checkpoint taken before later records were written."""
import json
import math
import os
from pathlib import Path

LOG_FILE = "training_log.jsonl"


def finite_or_none(value):
    """Replace NaN and infinities, at any depth, by None."""
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, dict):
        return {key: finite_or_none(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [finite_or_none(item) for item in value]
    return value


def append_record(path: Path, record: dict) -> None:
    with open(path, "a", encoding="utf8") as log:
        log.write(json.dumps(finite_or_none(record)) + "\n")
        log.flush()
        os.fsync(log.fileno())


def truncate_after(path: Path, step: int) -> None:
    """Keep the records up to `step` (a resumed run writes the later ones again)."""
    path = Path(path)
    if not path.exists():
        return
    kept = []
    for line in path.read_text(encoding="utf8").splitlines():
        try:
            if json.loads(line).get("step", 0) <= step:
                kept.append(line)
        except json.JSONDecodeError:
            break  # a line cut short by a kill: it and anything after it go
    partial = path.with_name(f".{path.name}.partial")
    partial.write_text("".join(line + "\n" for line in kept), encoding="utf8")
    os.replace(partial, path)
