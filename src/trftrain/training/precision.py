"""Mixed precision: one switch in the config, one place that turns it into autocast and loss scaling."""
import contextlib

import torch


def autocast_dtype(setting: str, device: torch.device):
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
    return None


def autocast(device: torch.device, dtype):
    if dtype is None:
        return contextlib.nullcontext()
    return torch.autocast(device_type=device.type, dtype=dtype)


def grad_scaler(device: torch.device, dtype):
    """fp16 needs loss scaling; bf16 and fp32 do not."""
    return torch.amp.GradScaler("cuda") if dtype == torch.float16 and device.type == "cuda" else None
