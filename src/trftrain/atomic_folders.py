"""Writing folders so that a crash, a kill or a power cut never leaves a half-written folder where a whole one
was. A folder is written beside its target as `.NAME.partial`, flushed to disk, then swapped in. Where the kernel
can exchange two paths atomically (Linux renameat2), the target is never missing; elsewhere the old one is moved
to `.NAME.previous` first, and `recover` puts it back if a kill landed between the two renames.
"""
import ctypes
import os
import shutil
from pathlib import Path
from typing import Callable, Union

_RENAME_EXCHANGE = 2
_AT_FDCWD = -100


def _hidden(target: Path, suffix: str) -> Path:
    return target.parent / f".{target.name}.{suffix}"


def save_atomically(content: Union[Callable[[Path], None], object], target: Path) -> None:
    """content: a pipeline (anything with `to_disk`) or a function that writes a folder at the path it is given."""
    target = Path(target)
    partial, previous = _hidden(target, "partial"), _hidden(target, "previous")
    shutil.rmtree(partial, ignore_errors=True)
    partial.mkdir(parents=True)
    if hasattr(content, "to_disk"):
        content.to_disk(partial)
    else:
        content(partial)
    _flush(partial)
    if not target.exists():
        os.replace(partial, target)
    elif _exchange(partial, target):
        shutil.rmtree(partial)  # now holds the old folder
    else:
        shutil.rmtree(previous, ignore_errors=True)
        os.replace(target, previous)
        os.replace(partial, target)
        shutil.rmtree(previous, ignore_errors=True)
    _fsync_dir(target.parent)


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step; False where the system cannot (then the caller renames twice)."""
    try:
        renameat2 = ctypes.CDLL(None, use_errno=True).renameat2
    except (AttributeError, OSError):
        return False
    return renameat2(_AT_FDCWD, os.fsencode(str(a)), _AT_FDCWD, os.fsencode(str(b)), _RENAME_EXCHANGE) == 0


def _flush(folder: Path) -> None:
    """Data on disk before the rename makes it visible: a power cut must not leave a whole-looking empty file."""
    for path in sorted(folder.rglob("*")):
        if path.is_file():
            with open(path, "rb") as handle:
                os.fsync(handle.fileno())
    for path in [folder, *[p for p in folder.rglob("*") if p.is_dir()]]:
        _fsync_dir(path)


def _fsync_dir(path: Path) -> None:
    try:
        descriptor = os.open(path, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(descriptor)
    except OSError:
        pass  # some file systems cannot sync a directory
    finally:
        os.close(descriptor)


def recover(target: Path) -> None:
    """If a run died between the two renames, put the last complete folder back."""
    target = Path(target)
    previous = _hidden(target, "previous")
    if previous.exists() and not target.exists():
        os.replace(previous, target)


def clean_leftovers(folder: Path) -> None:
    """Recover what a kill left between renames, then delete half-written and superseded hidden folders."""
    folder = Path(folder)
    if not folder.is_dir():
        return
    for hidden in folder.glob(".*.previous"):
        recover(folder / hidden.name[1 : -len(".previous")])
    for suffix in ("partial", "previous"):
        for hidden in folder.glob(f".*.{suffix}"):
            shutil.rmtree(hidden, ignore_errors=True)
