"""What a benchmark figure was measured on: the CPU by name and by the features that decide its speed (bf16
matrix units, int8 dot products: machines reported under one name differ in them), cores and library versions."""
import os
import platform

# CPU features that decide what runs fast: bf16 matrix units (mixed_precision "auto" uses bf16 where present)
# and int8 dot products (the int8 option).
SPEED_FLAGS = ("amx_bf16", "avx512_bf16", "amx_int8", "avx512_vnni")


def _cpuinfo(key: str) -> str:
    try:
        with open("/proc/cpuinfo") as info:
            return next((line.split(":", 1)[1].strip() for line in info if line.startswith(key)), "")
    except OSError:
        return ""


def machine() -> dict:
    import spacy
    import torch
    import transformers

    flags = _cpuinfo("flags").split()
    return {"cpu": _cpuinfo("model name") or platform.processor() or "?", "cores": os.cpu_count(),
            "cpu_flags": [f for f in SPEED_FLAGS if f in flags], "python": platform.python_version(),
            "torch": torch.__version__, "transformers": transformers.__version__, "spacy": spacy.__version__,
            "os": platform.platform()}
