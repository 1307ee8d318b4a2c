"""Learning-rate schedules: step -> multiplier of the optimizer's base rates."""
import math
from typing import Callable

from spacy.util import registry

Schedule = Callable[[int], float]


def _warming_up(schedule: Schedule, warmup_steps: int) -> Schedule:
    """Mark the schedule with its warmup, so that `train` can warn when the run ends before the warmup does,
    whatever the config wrote or left to these defaults."""
    schedule.warmup_steps = warmup_steps
    return schedule


@registry.schedules("trftrain.WarmupLinear.v1")
def warmup_linear_v1(warmup_steps: int = 100, total_steps: int = 2000) -> Schedule:
    """Rise linearly from 0 over warmup_steps, then fall linearly to 0 at total_steps."""
    def schedule(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        return max(0.0, (total_steps - step) / max(1, total_steps - warmup_steps))
    return _warming_up(schedule, warmup_steps)


@registry.schedules("trftrain.WarmupCosine.v1")
def warmup_cosine_v1(warmup_steps: int = 100, total_steps: int = 2000, final_factor: float = 0.0) -> Schedule:
    """Linear warmup, then a cosine decay to final_factor at total_steps."""
    def schedule(step: int) -> float:
        if step < warmup_steps:
            return (step + 1) / warmup_steps
        progress = min(1.0, (step - warmup_steps) / max(1, total_steps - warmup_steps))
        return final_factor + (1 - final_factor) * 0.5 * (1 + math.cos(math.pi * progress))
    return _warming_up(schedule, warmup_steps)


@registry.schedules("trftrain.Constant.v1")
def constant_v1(warmup_steps: int = 0) -> Schedule:
    """Linear warmup, then the base rate for good."""
    return _warming_up(lambda step: (step + 1) / warmup_steps if step < warmup_steps else 1.0, warmup_steps)
