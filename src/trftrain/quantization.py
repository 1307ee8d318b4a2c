"""int8 inference for CPU deployments: dynamic quantization of the encoders' linear layers."""
import warnings
from typing import Optional

import torch

from .components.torch_pipe import encoders_of
from .errors import Errors, TrftrainError


def first_down_projection(transformer: torch.nn.Module) -> Optional[str]:
    """Name of the first Linear layer that narrows its input (in the first block, the feed-forward output,
    e.g. BERT's `encoder.layer.0.output.dense`, DistilBERT's `transformer.layer.0.ffn.lin2`), or None."""
    for name, module in transformer.named_modules():
        if isinstance(module, torch.nn.Linear) and module.in_features > module.out_features:
            return name
    return None


def quantize_int8(nlp) -> None:
    """Replace the Linear layers of every encoder in the pipeline by int8 dynamic-quantized ones (CPU only).

    Weights are stored in int8 per output channel and activations quantized on the fly, one scale per call;
    heads stay in float. Per-channel weights cost less accuracy than per-tensor at the same speed (UD EWT dev,
    240-step MiniLM tagger+parser: LAS -1.4 against -3.2, TAG -0.3 against -0.8). The first feed-forward
    output stays in float: of the six blocks' feed-forward outputs, quantizing that one cost the most when
    tried one at a time (its input, the first block's GELU output, peaks at 25 where a typical piece's
    largest value is 3.6, so one scale per call leaves typical pieces few int8 levels). Keeping it in float:
    LAS -0.6 instead of -1.1 on the model above, CoNLL F -0.1 instead of -0.4, SST-2 +0.1 instead of -0.1,
    for about 6% of MiniLM's linear-layer arithmetic. The pipeline cannot be trained afterwards.
    """
    for name, encoder in encoders_of(nlp):
        if encoder.device.type != "cpu":
            raise TrftrainError(Errors.E714.format(name=name, device=encoder.device))
        backbone = encoder.backbone
        backbone.fingerprint  # of the float weights: a quantized pipeline still matches its float original
        backbone.model = quantized(backbone.model)
        # The quantized layers take float32 input; autocast would hand them bf16.
        encoder.inference_precision = "off"


def quantized(transformer: torch.nn.Module) -> torch.nn.Module:
    keep_float = first_down_projection(transformer)
    per_channel = torch.ao.quantization.per_channel_dynamic_qconfig
    spec = {layer: per_channel for layer, module in transformer.named_modules()
            if isinstance(module, torch.nn.Linear) and layer != keep_float}
    with warnings.catch_warnings():
        # torch marks torch.ao.quantization deprecated in favour of torchao (a further dependency); the dynamic
        # path still works in the torch we pin, and tests/test_quantization.py fails the day it stops.
        warnings.simplefilter("ignore", UserWarning)
        warnings.simplefilter("ignore", DeprecationWarning)
        return torch.ao.quantization.quantize_dynamic(transformer, spec, dtype=torch.qint8)
