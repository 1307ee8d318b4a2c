"""Whether a pipeline's trainable weights are all finite numbers: a model with NaN or infinite weights predicts
garbage, and is never saved over a good one."""
import numpy as np
import torch

from ..components.torch_pipe import TorchPipe


def all_finite(nlp) -> bool:
    for _, proc in nlp.pipeline:
        if isinstance(proc, TorchPipe):
            for module in proc.torch_modules().values():
                for param in module.parameters():
                    if param.is_floating_point() and not bool(torch.isfinite(param).all()):
                        return False
        else:
            model = getattr(proc, "model", None)
            for node in model.walk() if hasattr(model, "walk") else ():
                for name in node.param_names:
                    if node.has_param(name) and not np.isfinite(np.asarray(node.get_param(name))).all():
                        return False
    return True
