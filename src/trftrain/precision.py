"""Mixed precision: one setting ("auto", "bf16", "fp16", "off"), one place that turns it into autocast and
loss scaling. Training reads `training.mixed_precision`; inference reads the encoder's `inference_precision`."""
import contextlib
import functools
import os
from typing import Optional

import torch
import torch.nn.functional as F
from torch.overrides import TorchFunctionMode

SETTINGS = ("auto", "bf16", "fp16", "off")

# oneDNN runs the CPU's bf16 matrix products and keeps the kernel it builds for every new shape (two caches,
# 1,024 entries each by default), with working memory that grows with the shape. Short texts make many shapes:
# 200 bf16 SST-2 steps peaked at 2,026 MB against 1,507 in fp32; with 64 entries each, 1,528 MB at 5% less speed
# (tagger+parser: 1,548 -> 1,447 MB, 4% less). Set before oneDNN's first use; a value already set is kept.
for _cache in ("ONEDNN_PRIMITIVE_CACHE_CAPACITY", "LRU_CACHE_CAPACITY"):
    os.environ.setdefault(_cache, "64")


@functools.lru_cache(maxsize=None)
def cpu_has_fast_bf16() -> bool:
    """True where the CPU multiplies bf16 matrices natively (AMX tiles or AVX-512 BF16), so oneDNN's bf16 kernels
    beat fp32. Measured on MiniLM-L6, 2 cores: with AMX, bf16 autocast runs inference 2.5x and training 1.5x as
    fast as fp32; on a CPU with neither, bf16 is emulated and about 3x slower than fp32."""
    checks = ("_is_amx_tile_supported", "_is_avx512_bf16_supported")  # torch.cpu has no public equivalent
    return any(getattr(torch.cpu, name, lambda: False)() for name in checks)


def autocast_dtype(setting: str, device: torch.device) -> Optional[torch.dtype]:
    """The dtype to autocast to, or None for full precision."""
    if setting == "off":
        return None
    if setting == "fp16":
        return torch.float16 if device.type == "cuda" else None
    if setting == "bf16":
        return torch.bfloat16
    # auto: bf16 where the hardware does it natively.
    if device.type == "cuda":
        return torch.bfloat16 if torch.cuda.is_bf16_supported() else None
    if device.type == "cpu":
        return torch.bfloat16 if cpu_has_fast_bf16() else None
    return None


def padded_length(length: int, device: torch.device) -> int:
    """The padded length of an encoder call: a multiple of 16 under CPU autocast, where AMX tiles take 16 rows and
    fewer distinct shapes mean fewer oneDNN kernels to build (bf16 on a 2-core AMX Xeon: nlp.pipe 10.2k -> 10.9k
    words/s on EWT dev and 9.9k -> 11.4k on SST-2 dev; 240 SST-2 training steps peaked at 2,028 MB, not 2,484);
    unchanged elsewhere, where padding would only add work."""
    if device.type == "cpu" and torch.is_autocast_enabled("cpu"):
        return -(-length // 16) * 16
    return length


def autocast(device: torch.device, dtype: Optional[torch.dtype]):
    """Autocast for a forward pass. On the CPU in bf16, attention that will be backpropagated runs in fp32:
    torch's CPU flash-attention backward is about 4x slower in bf16 than in fp32 (MiniLM shapes, 8 windows of
    130 pieces: 20.6 against 5.6 ms per call, forward and backward), which cancelled bf16's gain on the linear
    layers in training. Its forward alone is fast in bf16, so inference keeps it."""
    if dtype is None:
        return contextlib.nullcontext()
    stack = contextlib.ExitStack()
    stack.enter_context(torch.autocast(device_type=device.type, dtype=dtype))
    if device.type == "cpu" and dtype == torch.bfloat16 and torch.is_grad_enabled():
        stack.enter_context(_Fp32TrainingAttention())
    return stack


class _Fp32TrainingAttention(TorchFunctionMode):
    """Runs scaled_dot_product_attention in fp32 when its inputs need gradients; leaves every other call alone.
    A function mode rather than a patched model, so it holds for every encoder family that uses torch's SDPA.
    The result comes back in bf16, as autocast would have returned it."""

    def __torch_function__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func is not F.scaled_dot_product_attention or not self._needs_fp32(args, kwargs):
            return func(*args, **kwargs)
        upcast = [_as_float(a) for a in args]
        upcast_kwargs = {key: _as_float(value) for key, value in kwargs.items()}
        with torch.autocast(device_type="cpu", enabled=False):
            return func(*upcast, **upcast_kwargs).to(torch.bfloat16)

    @staticmethod
    def _needs_fp32(args, kwargs) -> bool:
        inputs = list(args[:3]) + [kwargs.get(name) for name in ("query", "key", "value")]
        return (torch.is_grad_enabled() and torch.is_autocast_enabled("cpu")
                and torch.get_autocast_dtype("cpu") == torch.bfloat16
                and any(isinstance(a, torch.Tensor) and a.requires_grad for a in inputs))


def _as_float(value):
    return value.float() if isinstance(value, torch.Tensor) and value.is_floating_point() else value


def grad_scaler(device: torch.device, dtype):
    """fp16 needs loss scaling; bf16 and fp32 do not."""
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 and device.type == "cuda" else None
