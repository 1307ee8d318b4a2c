"""Setting up a run: the config, the pipeline (initialized fresh or loaded from checkpoint-last), the trainer, the
batch stream, the output folder and the logger. What the loop then changes lives in RunState."""
import sys
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Optional

import torch
from thinc.api import fix_random_seed

from ..components.torch_pipe import TorchPipe
from ..config import load_config, resolve_training
from ..errors import Warnings
from ..runtime import build_pipeline, corpus_paths, read_corpus, select_device
from ..versions import library_versions
from . import distributed
from .batches import BatchStream
from .checkpoints import read_checkpoint
from .distributed import Process
from .log import truncate_after
from .output import OutputFolder
from .resume import check_config, restore_losses, restore_rng
from .source import TrainingSource
from .trainer import Trainer


@dataclass
class RunState:
    """What a run has done so far; saved in every checkpoint. Counters since the last evaluation feed the log."""

    step: int = 0
    epoch: int = 0
    best_score: Optional[float] = None
    best_step: int = 0
    last_eval_step: int = 0
    last_checkpoint_step: int = 0
    total_words: int = 0
    words_since_eval: int = 0
    seconds_since_eval: float = 0.0

    def state_dict(self) -> dict:
        return asdict(self)

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            if not hasattr(self, key):
                raise KeyError(f"run state has no field '{key}'")
            setattr(self, key, value)
        # The snapshot in a checkpoint is taken before the checkpoint's own step is recorded.
        self.last_checkpoint_step = self.step


@dataclass
class TrainingRun:
    nlp: Any
    config: Any  # interpolated
    raw: Any  # as written, overrides applied: what a resumed run is compared with
    T: Dict[str, Any]
    device: torch.device
    process: Process
    trainer: Trainer
    stream: Any  # BatchStream, or a TrainingSource's stream
    output: Optional[OutputFolder]
    state: RunState = field(default_factory=RunState)
    log_step: Callable = lambda info: None
    finalize: Callable = lambda: None
    stdout: Any = sys.stdout
    stderr: Any = sys.stderr
    clean_boundary: bool = True  # False once a step failed after some weights took it (no checkpoint then)

    def say(self, text: str) -> None:
        if self.process.is_main:
            self.stdout.write(text)
            self.stdout.flush()

    def warn(self, text: str) -> None:
        if self.process.is_main:
            self.stderr.write(f"⚠ {text}\n")


def setup(config_path: Path, output_dir: Optional[Path], *, overrides: Optional[dict], gpu_id: int, resume: bool,
          overwrite: bool, allow_changes, process: Process, stdout, stderr,
          source: Optional[TrainingSource] = None) -> TrainingRun:
    """source: where training batches come from instead of the config's training corpus (None: that corpus)."""
    raw = load_config(config_path, overrides, interpolate=False)
    config = raw.interpolate()
    T = resolve_training(config)
    device = select_device(gpu_id, process.local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    output = OutputFolder(output_dir) if output_dir is not None else None
    checkpoint = None
    if output is not None:
        if process.is_main:
            output.prepare(resume=resume, overwrite=overwrite)
        distributed.barrier(process)
        if resume:
            checkpoint = read_checkpoint(output.checkpoint)
            check_config(checkpoint[3], raw, allow_changes)
    fix_random_seed(T["seed"])
    nlp = build_pipeline(raw)
    for _, proc in nlp.pipeline:
        if isinstance(proc, TorchPipe):
            proc.to(device)
    if source is None:
        train_examples = read_corpus(config, T["train_corpus"], nlp, "training")
    else:
        train_examples = source.initialization_examples(nlp)
    corpus_paths(config, T["dev_corpus"], "development")
    if checkpoint is None:
        nlp.initialize(lambda: train_examples)
    else:
        nlp.from_disk(checkpoint[0], exclude=["config.cfg"])
        for _, proc in nlp.pipeline:
            if isinstance(proc, TorchPipe):
                proc.to(device)
    nlp.meta["trftrain"] = library_versions()
    if source is None:
        trainer = Trainer(nlp, T, device, process)
        stream = BatchStream(train_examples, T["batcher"], seed=T["seed"], max_epochs=T["max_epochs"])
    else:
        trainer = Trainer(nlp, T, device, process, targets_for=source.targets_for)
        stream = source.batch_stream(nlp, T)
    distributed.broadcast_parameters(trainer.params, process)
    # Each process draws its own dropout masks; the data order comes from the stream's seed alone.
    fix_random_seed(T["seed"] + process.rank)
    run = TrainingRun(nlp, config, raw, T, device, process, trainer, stream, output, stdout=stdout, stderr=stderr)
    if checkpoint is not None:
        _restore(run, checkpoint)
    else:
        _warn_about_settings(run, train_examples)
        # Read on every process, so that a bad dev corpus stops them all alike (warnings come from rank 0).
        _warn_about_labels_only_in_dev(run, read_corpus(config, T["dev_corpus"], nlp, "development"))
    if process.is_main:
        run.log_step, run.finalize = T["logger"](nlp, stdout, stderr)
    return run


def _restore(run: TrainingRun, checkpoint) -> None:
    _, tensors, info, _ = checkpoint
    run.trainer.load_state_dict({"tensors": tensors, "json": info["optimizers"]})
    run.trainer.losses.update(restore_losses(info["losses"]))
    run.stream.load_state_dict(info["stream"])
    run.state.load_state_dict(info["state"])
    restore_rng(tensors, run.process.rank)
    if run.process.is_main and run.output is not None:
        truncate_after(run.output.log, run.state.step)
    run.say(f"Resuming at step {run.state.step} (epoch {run.state.epoch}) from {run.output.checkpoint}.\n")


def _warn_about_settings(run: TrainingRun, examples) -> None:
    for head in run.trainer.heads:
        if not any(head.has_annotation(eg) for eg in examples):
            run.warn(Warnings.W301.format(name=head.name))
    warmup = getattr(run.T["schedule"], "warmup_steps", None)
    steps = _planned_steps(run)
    if isinstance(warmup, int) and warmup > steps:
        run.warn(Warnings.W302.format(warmup=warmup, steps=steps))


def _warn_about_labels_only_in_dev(run: TrainingRun, dev_examples) -> None:
    """Heads that read token labels (tags, relations, entity tags) know the labels of their training data (and of
    the config); a development label outside them is a typo or a gap in the training data (debug-data says so too)."""
    for head in run.trainer.heads:
        if not hasattr(head, "gold_labels") or not head.label_list:
            continue
        known = set(head.label_list)
        gold = [label for eg in dev_examples for label in head.gold_labels(eg) if label]
        missing = Counter(label for label in gold if label not in known)
        if missing:
            # A tagger with pos_from_tags learns "TAG\tPOS" pairs.
            names = [label.replace("\t", "/") for label, _ in missing.most_common(10)]
            more = f" and {len(missing) - 10} more" if len(missing) > 10 else ""
            run.warn(Warnings.W304.format(name=head.name, count=sum(missing.values()), total=len(gold),
                                          labels=", ".join(names) + more))


def _planned_steps(run: TrainingRun) -> int:
    """max_steps, or fewer where max_epochs runs the data out first."""
    batches = getattr(run.stream, "batches_in_all_epochs", lambda: None)()
    if batches is None:
        return run.T["max_steps"]
    per_step = run.T["accumulate_gradient"] * run.process.world_size
    return min(run.T["max_steps"], -(-batches // per_step))

