"""The folder a run writes: model-best, model-last, checkpoint-last, the log and its plot. A new run never
silently replaces another's: it continues it (--resume) or deletes it on request (--overwrite)."""
import shutil
from pathlib import Path
from typing import List

from ..atomic_folders import clean_leftovers
from ..errors import Errors, TrftrainError
from .checkpoints import CHECKPOINT
from .log import LOG_FILE

PLOT_FILE = "training.png"


class OutputFolder:
    def __init__(self, path: Path):
        self.path = Path(path)
        self.best = self.path / "model-best"
        self.last = self.path / "model-last"
        self.checkpoint = self.path / CHECKPOINT
        self.log = self.path / LOG_FILE
        self.plot = self.path / PLOT_FILE

    def existing_run(self) -> List[str]:
        return [p.name for p in (self.best, self.last, self.checkpoint, self.log) if p.exists()]

    def prepare(self, *, resume: bool, overwrite: bool) -> None:
        """Check what the folder holds against what the user asked for; clean what kills left behind."""
        if resume and overwrite:
            raise TrftrainError(Errors.E308)
        if self.path.exists() and not self.path.is_dir():
            raise TrftrainError(Errors.E316.format(path=self.path))
        self.path.mkdir(parents=True, exist_ok=True)
        clean_leftovers(self.path)
        found = self.existing_run()
        if resume:
            if not self.checkpoint.exists():
                raise TrftrainError(Errors.E307.format(path=self.path))
        elif found and not overwrite:
            raise TrftrainError(Errors.E306.format(path=self.path, found=", ".join(found)))
        elif overwrite:
            for path in (self.best, self.last, self.checkpoint):
                shutil.rmtree(path, ignore_errors=True)
            self.log.unlink(missing_ok=True)
            self.plot.unlink(missing_ok=True)
