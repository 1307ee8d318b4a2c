"""Write a pipeline so that a crash or Ctrl-C never leaves a half-written model where a whole one was."""
import os
import shutil
from pathlib import Path


def save_atomically(nlp, target: Path) -> None:
    """Write into a hidden sibling folder, then swap it in with renames."""
    target = Path(target)
    partial = target.parent / f".{target.name}.partial"
    previous = target.parent / f".{target.name}.previous"
    shutil.rmtree(partial, ignore_errors=True)
    nlp.to_disk(partial)
    if target.exists():
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(target, previous)
    os.replace(partial, target)
    shutil.rmtree(previous, ignore_errors=True)


def recover(target: Path) -> None:
    """If a run died between the two renames, put the last complete model back."""
    previous = Path(target).parent / f".{Path(target).name}.previous"
    if previous.exists() and not Path(target).exists():
        os.replace(previous, target)
