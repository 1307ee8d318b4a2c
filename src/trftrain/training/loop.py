"""The training loop: one shared-encoder forward per batch, every head's loss from it, one backward.

The graph is wired explicitly here: heads name the transformer they read (`encoder.upstream`), spaCy's
own components reach it through listener layers that this loop hands the live batch to.
"""
import random
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Dict, Iterator, List, Optional, Tuple

import srsly
import torch
from spacy.training import Example
from spacy.util import load_model_from_config, resolve_dot_names
from thinc.api import Adam, fix_random_seed

from .. import precision
from ..components.head import Head
from ..components.torch_pipe import TorchPipe
from ..components.transformer import Transformer
from ..config import load_config, resolve_training
from ..config_checks import check_corpus_paths
from ..encoder.token_vectors import TokenVectors
from ..errors import TrftrainError
from ..listener import ListenerBatch, finish_initialization, listeners_of, training_batch
from ..versions import library_versions
from .checkpoints import recover, save_atomically
from .plot import plot_training_log

LOG_FILE = "training_log.jsonl"
PLOT_FILE = "training.png"


def select_device(gpu_id: int) -> torch.device:
    if gpu_id < 0:
        return torch.device("cpu")
    if not torch.cuda.is_available():
        raise TrftrainError(f"--gpu {gpu_id} asks for a CUDA GPU, but this torch build sees none "
                            f"(torch {torch.__version__}). Install a CUDA build of torch or use --gpu -1.")
    return torch.device(f"cuda:{gpu_id}")


def build_pipeline(config):
    try:
        return load_model_from_config(config, auto_fill=False, validate=True)
    except Exception as err:  # spaCy raises ValueError/ConfigValidationError/RegistryError with its own codes
        if isinstance(err, TrftrainError):
            raise
        raise TrftrainError(f"Could not build the pipeline from the config:\n{err}") from None


def read_corpus(config, dot_name: str, nlp, what: str) -> List[Example]:
    check_corpus_paths(config)
    section = dot_name.split(".", 1)[1] if dot_name.startswith("corpora.") else dot_name
    block = config.get("corpora", {}).get(section, {})
    paths = block.get("paths") or [block.get("path")]
    if any(path is None for path in paths):
        raise TrftrainError(f"No {what} corpus: set `paths.{section}` (e.g. --paths.{section} corpus/{section}.spacy).")
    for path in paths:
        if not Path(path).exists():
            raise TrftrainError(f"The {what} corpus '{path}' (from `corpora.{section}`) does not exist. Convert "
                                "your data with `trftrain convert` and point the path at the .spacy file or folder.")
    path = ", ".join(str(p) for p in paths)
    (reader,) = resolve_dot_names(config, [dot_name])
    examples = list(reader(nlp))
    if not examples:
        raise TrftrainError(f"The {what} corpus '{path}' holds no documents.")
    return examples


def endless_batches(examples: List[Example], batcher, max_epochs: int, seed: int) -> Iterator[Tuple[int, list]]:
    shuffler = random.Random(seed)
    epoch = 0
    while max_epochs == 0 or epoch < max_epochs:
        order = list(examples)
        shuffler.shuffle(order)
        for batch in batcher(order):
            if batch:
                yield epoch, list(batch)
        epoch += 1


class Trainer:
    """Holds what one training run needs; `step` runs one optimizer step."""

    def __init__(self, nlp, T: dict, device: torch.device):
        """nlp must be initialized already."""
        self.nlp, self.T, self.device = nlp, T, device
        finish_initialization(nlp)
        frozen = set(T["frozen_components"])
        unknown = frozen - set(nlp.pipe_names)
        if unknown:
            raise TrftrainError(f"`training.frozen_components` names {sorted(unknown)}, which are not in the "
                                f"pipeline {nlp.pipe_names}.")
        self.frozen = frozen
        self.transformers: Dict[str, Transformer] = {n: p for n, p in nlp.pipeline if isinstance(p, Transformer)}
        self.heads: List[Head] = [p for n, p in nlp.pipeline if isinstance(p, Head) and n not in frozen]
        self.compat = [(upstream, nlp.get_pipe(name), nodes) for upstream in self.transformers
                       for name, nodes in listeners_of(nlp, upstream).items() if name not in frozen]
        for head in self.heads:
            if head.uses_shared_encoder and head.encoder.upstream not in self.transformers:
                raise TrftrainError(f"`components.{head.name}.encoder.upstream` is '{head.encoder.upstream}', but the "
                                    f"pipeline's transformers are {sorted(self.transformers)}.")
        self.dtype = precision.autocast_dtype(T["mixed_precision"], device)
        self.scaler = precision.grad_scaler(device, self.dtype)
        encoder_params, head_params = self._parameters()
        self.params = encoder_params + head_params
        self.optimizer = T["optimizer"].build(encoder_params, head_params) if self.params else None
        self.thinc_optimizer = Adam(T["optimizer"].heads_lr) if self.compat else None
        self.losses: Dict[str, float] = defaultdict(float)

    def _parameters(self):
        encoder_params, head_params = [], []
        for name, proc in self.nlp.pipeline:
            if not isinstance(proc, TorchPipe):
                continue
            trainable = name not in self.frozen
            for key, module in proc.torch_modules().items():
                for param in module.parameters():
                    param.requires_grad_(trainable)
                if trainable:
                    is_encoder = isinstance(proc, Transformer) or key == "encoder"
                    (encoder_params if is_encoder else head_params).extend(module.parameters())
        return encoder_params, head_params

    def train_mode(self) -> None:
        for name, proc in self.nlp.pipeline:
            if isinstance(proc, TorchPipe):
                for module in proc.torch_modules().values():
                    module.train(name not in self.frozen)

    def step(self, batches: List[List[Example]], step: int) -> int:
        """One optimizer step over `batches` (gradient accumulation); returns the number of words seen."""
        words = 0
        for batch in batches:
            words += sum(len(eg.predicted) for eg in batch)
            self._accumulate(batch, scale=1.0 / len(batches))
        factor = self.T["schedule"](step)
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            if self.T["grad_clip"] > 0:
                torch.nn.utils.clip_grad_norm_(self.params, self.T["grad_clip"])
            if self.scaler is not None:
                self.scaler.step(self.optimizer)
                self.scaler.update()
            else:
                self.optimizer.step()
            self.optimizer.zero_grad(set_to_none=True)
        if self.thinc_optimizer is not None:
            self.thinc_optimizer.learn_rate = self.T["optimizer"].heads_lr * factor
            for _, proc, _ in self.compat:
                proc.finish_update(self.thinc_optimizer)
        return words

    def _encode(self, encoder, docs) -> TokenVectors:
        """Mixed precision covers the encoders only; their token vectors come out in fp32 and the heads stay
        there. Heads are a small part of the arithmetic, and in bf16 on the CPU every new matrix shape (the
        parser's arc scores are tokens x tokens of each doc) built and kept another oneDNN kernel: peak memory
        of 240 EWT steps grew from 1.9 to 3.5 GB."""
        with precision.autocast(self.device, self.dtype):
            return encoder(docs)

    def _accumulate(self, batch: List[Example], scale: float) -> None:
        docs = [eg.predicted for eg in batch]
        wanted = {h.encoder.upstream for h in self.heads if h.uses_shared_encoder} | {u for u, _, _ in self.compat}
        outputs = {}
        for name in wanted:
            with torch.set_grad_enabled(name not in self.frozen):
                outputs[name] = self._encode(self.transformers[name].encoder, docs)
        total = None
        for head in self.heads:
            vectors = outputs[head.encoder.upstream] if head.uses_shared_encoder else self._encode(head.private_encoder, docs)
            loss = head.get_loss(batch, vectors)
            if loss is None:
                continue
            self.losses[head.name] += float(loss.detach())
            weighted = head.loss_weight * loss
            total = weighted if total is None else total + weighted
        tensors, grads = [], []
        if total is not None:
            for name in outputs:
                self.losses[name] += float(total.detach())
            tensors.append(total * scale if self.scaler is None else self.scaler.scale(total * scale))
            grads.append(None)
        for upstream, proc, nodes in self.compat:
            listener_batch = ListenerBatch(docs, outputs[upstream])
            with training_batch(nodes, listener_batch):
                proc.update(batch, drop=self.T["dropout"], sgd=None, losses=self.losses)
            data = outputs[upstream].data
            if listener_batch.gradient is not None and data.requires_grad:
                tensors.append(data)
                grads.append((listener_batch.gradient * scale).to(data.dtype))
        if tensors and any(t.requires_grad for t in tensors):
            torch.autograd.backward(tensors, grads)


def combined_score(scores: dict, weights: dict) -> float:
    return float(sum((scores.get(key) or 0.0) * weight for key, weight in weights.items() if weight))


def train(config_path: Path, output_dir: Optional[Path] = None, *, overrides: Optional[dict] = None,
          gpu_id: int = -1, stdout=sys.stdout, stderr=sys.stderr) -> Optional[Path]:
    """Train the pipeline a config describes; returns the path of model-best (None without output_dir)."""
    raw = load_config(config_path, overrides, interpolate=False)
    config = raw.interpolate()
    T = resolve_training(config)
    device = select_device(gpu_id)
    fix_random_seed(T["seed"])
    nlp = build_pipeline(raw)
    for _, proc in nlp.pipeline:
        if isinstance(proc, TorchPipe):
            proc.to(device)
    train_examples = read_corpus(config, T["train_corpus"], nlp, "training")
    read_corpus(config, T["dev_corpus"], nlp, "development")
    nlp.initialize(lambda: train_examples)
    nlp.meta["trftrain"] = library_versions()
    trainer = Trainer(nlp, T, device)
    weights = nlp.config["training"]["score_weights"]
    if output_dir is not None:
        output_dir = Path(output_dir)
        output_dir.mkdir(parents=True, exist_ok=True)
        for name in ("model-best", "model-last"):
            recover(output_dir / name)
        (output_dir / LOG_FILE).unlink(missing_ok=True)
    log_step, finalize = T["logger"](nlp, stdout, stderr)
    stream = endless_batches(train_examples, T["batcher"], T["max_epochs"], T["seed"])
    best_score, best_step, step, epoch, last_eval_step = None, 0, 0, 0, 0
    words = train_words = 0
    train_seconds, start = 0.0, time.perf_counter()
    interrupted = False
    try:
        trainer.train_mode()
        while step < T["max_steps"]:
            batches = []
            for _ in range(T["accumulate_gradient"]):
                item = next(stream, None)
                if item is None:
                    break
                epoch, batch = item
                batches.append(batch)
            if not batches:
                break
            tick = time.perf_counter()
            words += trainer.step(batches, step)
            train_seconds += time.perf_counter() - tick
            step += 1
            if step % T["eval_frequency"] and step != T["max_steps"]:
                log_step(None)
                continue
            scores = evaluate_dev(nlp, config, T)
            score = combined_score(scores, weights)
            # Every component gets a value (loggers print a column per trainable component): the mean per step
            # since the last evaluation, 0 for a frozen head or one whose annotation no batch carried.
            steps_since = step - last_eval_step
            losses = {name: trainer.losses.get(name, 0.0) / steps_since for name in nlp.pipe_names}
            last_eval_step = step
            train_words += words
            # A dev set without one head's annotation scores it None (no entities, say); spaCy's loggers
            # cannot print None and would end the run before anything is saved, so they are shown as 0.
            shown = {key: 0.0 if value is None else value for key, value in scores.items()}
            info = {"epoch": epoch, "step": step, "score": score, "other_scores": shown, "losses": losses,
                    "checkpoints": [], "seconds": int(time.perf_counter() - start), "words": train_words}
            log_step(info)
            is_best = best_score is None or score > best_score
            if output_dir is not None:
                nlp.meta["performance"] = {k: v for k, v in scores.items() if not k.endswith("per_type")}
                save_atomically(nlp, output_dir / "model-last")
                if is_best:
                    save_atomically(nlp, output_dir / "model-best")
                record = {"step": step, "epoch": epoch, "score": score, "losses": losses,
                          "scores": {k: v for k, v in scores.items() if isinstance(v, (int, float))},
                          "words_per_second": round(words / max(train_seconds, 1e-9), 1), "best": is_best}
                srsly.write_jsonl(output_dir / LOG_FILE, [record], append=True, append_new_line=False)
            if is_best:
                best_score, best_step = score, step
            trainer.losses.clear()
            words, train_seconds = 0, 0.0
            trainer.train_mode()
            if T["patience"] and step - best_step >= T["patience"]:
                stdout.write(f"No improvement for {T['patience']} steps: stopping at step {step}.\n")
                break
    except KeyboardInterrupt:
        interrupted = True
    finally:
        finalize()
    if output_dir is None:
        return None
    if interrupted:
        save_atomically(nlp, output_dir / "model-last")
        stdout.write(f"\nInterrupted at step {step}: saved {output_dir / 'model-last'}.\n")
    if (output_dir / LOG_FILE).exists():
        plot_training_log(output_dir / LOG_FILE, output_dir / PLOT_FILE)
    best = output_dir / "model-best"
    return best if best.exists() else output_dir / "model-last"


def evaluate_dev(nlp, config, T) -> dict:
    (reader,) = resolve_dot_names(config, [T["dev_corpus"]])
    return nlp.evaluate(list(reader(nlp)), batch_size=T["eval_batch_size"])
