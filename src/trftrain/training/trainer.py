"""One optimizer step: targets, one encoder forward per batch, every head's loss, one backward, the gradients
of all processes summed, a check for non-finite losses, then AdamW (and thinc's Adam for spaCy components)."""
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any, Callable, Dict, List, Optional, Sequence

import torch
from spacy.training import Example
from thinc.api import Adam

from .. import precision
from ..components.head import Head
from ..components.torch_pipe import TorchPipe
from ..components.transformer import Transformer
from ..errors import Errors, TrftrainError
from ..listener import ListenerBatch, finish_initialization, listeners_of, training_batch
from . import distributed
from .distributed import Process
from .model import MultiTaskModel
from .optimizer_state import load_optimizers, save_optimizers


@dataclass
class StepResult:
    """words (int): words this process saw; non_finite (List[str]): heads whose loss was NaN or infinite (the step
    was then not applied); grad_norm (float): norm of the summed gradient before clipping."""

    words: int = 0
    non_finite: List[str] = field(default_factory=list)
    grad_norm: float = 0.0


# Where a head's targets for a batch come from: its own gold targets by default; a distillation run gives a
# teacher's soft targets for the batches the teacher labelled.
TargetsFor = Callable[[Head, List[Example]], Any]


def gold_targets(head: Head, batch: List[Example]) -> Any:
    return head.targets(batch)


class Trainer:
    """What one training run updates: the pipeline's trainable module, its optimizers and the loss sums since the
    last evaluation. `nlp` must be initialized already. targets_for (TargetsFor): each head's targets for a
    batch (default: the head's gold targets)."""

    def __init__(self, nlp, T: dict, device: torch.device, process: Process = Process(),
                 targets_for: TargetsFor = gold_targets):
        self.nlp, self.T, self.device, self.process = nlp, T, device, process
        self.targets_for = targets_for
        finish_initialization(nlp)
        frozen = set(T["frozen_components"])
        unknown = frozen - set(nlp.pipe_names)
        if unknown:
            raise TrftrainError(Errors.E311.format(unknown=sorted(unknown), pipeline=nlp.pipe_names))
        self.frozen = frozen
        transformers: Dict[str, Transformer] = {n: p for n, p in nlp.pipeline if isinstance(p, Transformer)}
        self.heads: List[Head] = [p for n, p in nlp.pipeline if isinstance(p, Head) and n not in frozen]
        self.compat = [(upstream, nlp.get_pipe(name), nodes) for upstream in transformers
                       for name, nodes in listeners_of(nlp, upstream).items() if name not in frozen]
        for head in self.heads:
            if head.uses_shared_encoder and head.encoder.upstream not in transformers:
                raise TrftrainError(Errors.E312.format(name=head.name, upstream=head.encoder.upstream,
                                                       transformers=sorted(transformers)))
        self.dtype = precision.autocast_dtype(T["mixed_precision"], device)
        self.scaler = precision.grad_scaler(device, self.dtype)
        self.model = MultiTaskModel(transformers, self.heads, frozen, device, self.dtype)
        encoder_params, head_params = self._parameters()
        self.params = encoder_params + head_params
        self.optimizer = T["optimizer"].build(encoder_params, head_params) if self.params else None
        self.thinc_optimizer = Adam(T["optimizer"].heads_lr) if self.compat else None
        self.losses: Dict[str, float] = defaultdict(float)
        self.updating = False  # whether the current step has started changing weights

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
                    for name, param in module.named_parameters():
                        # A layer mix is a handful of new weights: it learns at the heads' rate, not the
                        # pretrained encoder's.
                        fresh = ".mix." in f".{name}"
                        (encoder_params if is_encoder and not fresh else head_params).append(param)
        return encoder_params, head_params

    def parameter_names(self) -> Dict[torch.nn.Parameter, str]:
        """A stable name for every trainable parameter (for checkpoints)."""
        return {param: name for name, param in self.model.named_parameters()}

    def train_mode(self) -> None:
        for name, proc in self.nlp.pipeline:
            if isinstance(proc, TorchPipe):
                for module in proc.torch_modules().values():
                    module.train(name not in self.frozen)

    def step(self, batches: Sequence[Optional[List[Example]]], step: int) -> StepResult:
        """One optimizer step over this process's micro-batches (gradient accumulation; None where the stream
        gave this process none, so that every process runs the same collectives)."""
        result = StepResult()
        self.updating = False  # set once weights start to change: a failure after that leaves no clean boundary
        step_losses: Dict[str, float] = defaultdict(float)
        for batch in batches:
            batch = batch or []
            result.words += sum(len(eg.predicted) for eg in batch)
            self._accumulate(batch, 1.0 / len(batches), step_losses)
        distributed.all_reduce_gradients(self.params, self.process)
        if self.compat:
            distributed.all_reduce_thinc_gradients([proc.model for _, proc, _ in self.compat], self.process, self.device)
        names = [h.name for h in self.heads]
        losses = distributed.sum_(torch.tensor([step_losses.get(n, 0.0) for n in names], dtype=torch.float64),
                                  self.process)
        result.non_finite = [n for n, value in zip(names, losses.tolist()) if not math.isfinite(value)]
        if result.non_finite:
            self._discard_gradients()
            return result
        for name, value in zip(names, losses.tolist()):
            self.losses[name] += value
        # From here on weights change (torch's, then thinc's); a failure now leaves no clean step boundary.
        self.updating = True
        factor = self.T["schedule"](step)
        if self.optimizer is not None:
            for group in self.optimizer.param_groups:
                group["lr"] = group["base_lr"] * factor
            if self.scaler is not None:
                self.scaler.unscale_(self.optimizer)
            clip = self.T["grad_clip"] if self.T["grad_clip"] > 0 else float("inf")
            norm = float(torch.nn.utils.clip_grad_norm_(self.params, clip))
            result.grad_norm = norm
            if self.scaler is None and not math.isfinite(norm):
                # Finite losses with an infinite gradient: the step would poison the weights.
                result.non_finite = ["the gradient"]
                self._discard_gradients()
                return result
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
        return result

    def _discard_gradients(self) -> None:
        if self.optimizer is not None:
            self.optimizer.zero_grad(set_to_none=True)
        for _, proc, _ in self.compat:
            for node in proc.model.walk():
                for name in node.param_names:
                    if node.has_grad(name):
                        node.set_grad(name, node.ops.alloc(node.get_grad(name).shape))

    def _accumulate(self, batch: List[Example], scale: float, step_losses: Dict[str, float]) -> None:
        docs = [eg.predicted for eg in batch]
        targets = {head.name: self.targets_for(head, batch) for head in self.heads}
        # Each loss term is divided by its item count over all processes' batches (one collective for all).
        local = [count for head in self.heads for count in targets[head.name].counts]
        totals = distributed.sum_(torch.tensor(local, dtype=torch.float64), self.process).tolist()
        active = {name: t for name, t in targets.items() if sum(t.counts) > 0}
        listened = {u for u, _, _ in self.compat} if batch else set()
        terms, outputs = self.model(docs, active, listened) if (active or listened) else ({}, {})
        total, position = None, 0
        for head in self.heads:
            n_terms = len(targets[head.name].counts)
            counts = totals[position : position + n_terms]
            position += n_terms
            if head.name not in terms:
                continue
            loss = sum(term.total / count for term, count in zip(terms[head.name], counts) if count > 0)
            if not isinstance(loss, torch.Tensor):
                continue
            step_losses[head.name] = step_losses.get(head.name, 0.0) + float(loss.detach()) * scale
            weighted = head.loss_weight * loss
            total = weighted if total is None else total + weighted
        tensors, grads = [], []
        if total is not None:
            for name in outputs:
                self.losses[name] += float(total.detach()) * scale
            if math.isfinite(float(total.detach())):
                tensors.append(total * scale if self.scaler is None else self.scaler.scale(total * scale))
                grads.append(None)
        for upstream, proc, nodes in self.compat:
            if not batch:
                continue
            listener_batch = ListenerBatch(docs, outputs[upstream])
            with training_batch(nodes, listener_batch):
                proc.update(batch, drop=self.T["dropout"], sgd=None, losses=self.losses)
            data = outputs[upstream].data
            if listener_batch.gradient is not None and data.requires_grad:
                tensors.append(data)
                # Summed over processes by the encoder's all-reduce, like the component's own weights: spaCy's
                # gradients are sums over the batch, not means (checked against one process in test_distributed).
                grads.append((listener_batch.gradient * scale).to(data.dtype))
        if tensors and any(t.requires_grad for t in tensors):
            torch.autograd.backward(tensors, grads)

    # -- checkpoints -----------------------------------------------------------------------------------------
    def state_dict(self) -> dict:
        """{"tensors": {name: tensor}, "json": {...}}: optimizer moments by parameter name, thinc's Adam moments
        by (component, layer index, weight), the grad scaler."""
        return save_optimizers(self)

    def load_state_dict(self, state: dict) -> None:
        load_optimizers(self, state)
