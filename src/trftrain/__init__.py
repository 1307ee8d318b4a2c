"""trftrain: train spaCy pipelines in which one transformer feeds every task head."""
from .cpu_threads import prefer_short_waits

prefer_short_waits()  # before the imports below load torch, or it comes too late (cpu_threads.py says why)

from . import registry  # noqa: E402, F401  (binds every factory and trftrain.<Name>.v<N> name on import)
from .components.head import Head, SharedEncoder  # noqa: E402
from .components.transformer import Transformer  # noqa: E402
from .encoder.token_encoder import TokenEncoder  # noqa: E402
from .encoder.token_vectors import TokenVectors  # noqa: E402
from .errors import Errors, TrftrainError  # noqa: E402
from .quantization import quantize_int8  # noqa: E402

__version__ = "0.1.0"
__all__ = ["Head", "SharedEncoder", "Transformer", "TokenEncoder", "TokenVectors", "TrftrainError", "quantize_int8",
           "set_inference_precision", "to_device", "load_remote"]


def load_remote(name_or_path, url=None, urls=None, **settings):
    """A saved pipeline (folder or package) whose heads run here and whose transformer runs on `trftrain serve` at
    `url` (or spread over `urls`); see trftrain.serving.load_remote for the settings. Needs `trftrain[serve]`."""
    from .serving.load_remote import load_remote as load

    return load(name_or_path, url=url, urls=urls, **settings)


def to_device(nlp, device: str) -> None:
    """Move every trftrain component of a loaded pipeline to a torch device ("cpu", "cuda:0")."""
    from .components.torch_pipe import TorchPipe

    for _, proc in nlp.pipeline:
        if isinstance(proc, TorchPipe):
            proc.to(device)


def set_inference_precision(nlp, setting: str) -> None:
    """Predict with every encoder of a loaded pipeline in this precision: "auto" (bf16 where the hardware multiplies
    it natively), "bf16", "fp16" (CUDA) or "off" (fp32). The same as the `inference_precision` key of the
    encoders and of the heads that have one (the parser's relation classifier)."""
    from . import precision

    if setting not in precision.SETTINGS:
        raise TrftrainError(Errors.E707.format(setting=setting, settings=", ".join(precision.SETTINGS)))
    from .components.torch_pipe import encoders_of

    for _, encoder in encoders_of(nlp):
        encoder.inference_precision = setting
    for _, component in nlp.pipeline:
        if hasattr(component, "inference_precision"):
            component.inference_precision = setting
