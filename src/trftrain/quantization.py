"""int8 inference for CPU deployments: dynamic quantization of the encoders' linear layers."""
import warnings

import torch

from .components.torch_pipe import TorchPipe


def quantize_int8(nlp) -> None:
    """Replace the Linear layers of every encoder in the pipeline by int8 dynamic-quantized ones (CPU only).

    Weights are stored in int8 and activations quantized on the fly; heads stay in float. Accuracy cost and
    speed-up are measured in bench/RESULTS.md. The pipeline can no longer be trained or saved afterwards.
    """
    for name, proc in nlp.pipeline:
        if not isinstance(proc, TorchPipe):
            continue
        for key, module in proc.torch_modules().items():
            if key != "encoder":
                continue
            if proc.device.type != "cpu":
                raise ValueError(f"int8 quantization runs on the CPU; '{name}' is on {proc.device}.")
            with warnings.catch_warnings():
                # torch marks its quantized tensor constructors deprecated; the dynamic path still works.
                warnings.simplefilter("ignore", UserWarning)
                module.transformer = torch.ao.quantization.quantize_dynamic(
                    module.transformer, {torch.nn.Linear}, dtype=torch.qint8)
