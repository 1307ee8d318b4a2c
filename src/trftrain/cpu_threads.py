"""How torch's CPU threads wait and how many there are, so that trftrain behaves when other busy processes share the
cores (a server and its clients, `nlp.pipe(n_process=...)`, several workers of a web app).

torch's CPU build runs its intra-op pool on OpenMP (GNU libgomp, shipped in torch/lib; MKL and oneDNN use the same
pool). By default libgomp's idle threads spin for 300,000 turns (~3 ms) after each parallel region, and a region
ends only when every thread has finished its part. Alone that saves wake-ups; beside busy neighbours it means
threads burning their time slice on spinning and regions waiting for a descheduled thread (a 17x17 max(dim),
which opens a region, beside two matmul processes on 2 cores: 0.9 ms, 80 us with passive waiting, 16 us on one
thread). So:

- waiting: OMP_WAIT_POLICY=PASSIVE with GOMP_SPINCOUNT=1000 (idle threads spin 1,000 turns, microseconds, then sleep;
  LLVM's libomp, torch's runtime on macOS, reads only the policy and sleeps at once). Spinning 300,000 turns is
  what makes the neighbours' case bad (a tagger+parser+NER pipeline beside two matmul processes: 6.5x its time
  alone for a long doc, 18x for nlp.pipe; 3,000 turns: 3.5x and 4.3x), while sleeping at once costs about a fifth
  of the throughput alone on short texts (trftrain annotate 0.80x a plain nlp.pipe loop that spins), because the
  next parallel region starts microseconds later and has to wake the thread again. 1,000 turns keep about half
  of that and stay as polite as sleeping (2.5x and 2.1x beside the matmuls); bench/RESULTS.md has the figures.
  libgomp reads these only when it is loaded, i.e. at `import torch`: they apply where trftrain is imported
  before torch (the `trftrain` CLI, or `import trftrain` before spaCy, which imports torch), never to a process
  where torch is already loaded.
- count: torch starts one thread per physical core of the machine, blind to CPU affinity and container quotas;
  trftrain lowers it to the cores this process may use, and to 1 in multiprocessing workers (they come in groups
  that fill the cores, as torch's DataLoader workers do).

A value the user set wins: OMP_WAIT_POLICY, GOMP_SPINCOUNT or KMP_BLOCKTIME keep the waiting as given;
OMP_NUM_THREADS, MKL_NUM_THREADS or a torch.set_num_threads call keep the count. TRFTRAIN_THREAD_POLICY=off turns
both off.
"""
import glob
import math
import multiprocessing
import os
import sys
from typing import Optional

OFF_SWITCH = "TRFTRAIN_THREAD_POLICY"
WAIT_SETTINGS = ("OMP_WAIT_POLICY", "GOMP_SPINCOUNT", "KMP_BLOCKTIME")
# What trftrain sets when the user set none of WAIT_SETTINGS (the docstring above gives the measurements).
WAIT_DEFAULTS = {"OMP_WAIT_POLICY": "PASSIVE", "GOMP_SPINCOUNT": "1000"}
COUNT_SETTINGS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")
CGROUP_V2_MAX = "/sys/fs/cgroup/cpu.max"
CGROUP_V1_QUOTA, CGROUP_V1_PERIOD = "/sys/fs/cgroup/cpu/cpu.cfs_quota_us", "/sys/fs/cgroup/cpu/cpu.cfs_period_us"

# The process the count was last decided for, and the count set then (a forked worker inherits both).
_decided_pid: Optional[int] = None
_count_set: Optional[int] = None


def policy_enabled() -> bool:
    return os.environ.get(OFF_SWITCH, "").strip().lower() not in ("off", "0", "false", "no")


def prefer_short_waits() -> bool:
    """Set WAIT_DEFAULTS where they can still take effect (torch not yet imported) and the user set no wait
    setting. Returns whether they were set."""
    if not policy_enabled() or "torch" in sys.modules or any(name in os.environ for name in WAIT_SETTINGS):
        return False
    os.environ.update(WAIT_DEFAULTS)
    return True


def usable_cpus() -> int:
    """The cores this process may run on: its CPU affinity, capped by a container's CPU quota (cgroup v2 or v1)."""
    count = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    quota = _cgroup_quota()
    return max(1, min(count, math.ceil(quota)) if quota else count)


def apply_thread_policy() -> Optional[int]:
    """Choose torch's thread count for this process once (again after a fork). Returns the count chosen, or None
    where the user's choice or this process's earlier decision stands."""
    global _decided_pid, _count_set
    if _decided_pid == os.getpid():
        return None
    _decided_pid = os.getpid()
    import torch

    current = torch.get_num_threads()
    chosen_by_user = any(name in os.environ for name in COUNT_SETTINGS) or current != (
        _count_set if _count_set is not None else _torch_default_threads())
    if not policy_enabled() or chosen_by_user:
        return None
    _count_set = 1 if multiprocessing.parent_process() is not None else min(current, usable_cpus())
    if _count_set != current:
        torch.set_num_threads(_count_set)
    return _count_set


def _torch_default_threads() -> int:
    """What torch starts with when nothing is set: the machine's physical cores (cpuinfo), not its affinity."""
    cores = set()
    for path in glob.glob("/sys/devices/system/cpu/cpu[0-9]*/topology/core_cpus_list") or glob.glob(
            "/sys/devices/system/cpu/cpu[0-9]*/topology/thread_siblings_list"):
        with open(path) as f:
            cores.add(f.read().strip())
    return len(cores) or os.cpu_count() or 1


def _cgroup_quota() -> Optional[float]:
    """CPUs allowed by the cgroup's quota (e.g. `docker --cpus 2`), or None without one."""
    try:
        with open(CGROUP_V2_MAX) as f:
            quota, period = f.read().split()[:2]
        return None if quota == "max" else int(quota) / int(period)
    except (OSError, ValueError):
        pass
    try:
        with open(CGROUP_V1_QUOTA) as f, open(CGROUP_V1_PERIOD) as g:
            quota, period = int(f.read()), int(g.read())
        return quota / period if quota > 0 and period > 0 else None
    except (OSError, ValueError):
        return None
