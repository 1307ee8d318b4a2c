"""The thread policy: short OpenMP waits when trftrain loads before torch, thread counts capped to the cores
the process may use and to 1 in workers, and every setting the user made left alone."""
import multiprocessing
import os
import subprocess
import sys

import pytest
import torch

from trftrain import cpu_threads


@pytest.fixture
def fresh_policy(monkeypatch):
    """A process in which the policy has not decided yet, with no user settings; torch's count restored after."""
    threads = torch.get_num_threads()
    for name in cpu_threads.COUNT_SETTINGS + cpu_threads.WAIT_SETTINGS + (cpu_threads.OFF_SWITCH,):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(cpu_threads, "_decided_pid", None)
    monkeypatch.setattr(cpu_threads, "_count_set", None)
    monkeypatch.setattr(cpu_threads, "_torch_default_threads", lambda: torch.get_num_threads())
    yield
    torch.set_num_threads(threads)


def test_importing_trftrain_first_makes_openmp_waits_short():
    """libgomp reports its spin count when loaded: 1000 turns before idle threads sleep (300,000 is its default)."""
    env = {k: v for k, v in os.environ.items() if k not in cpu_threads.WAIT_SETTINGS + (cpu_threads.OFF_SWITCH,)}
    env["OMP_DISPLAY_ENV"] = "VERBOSE"
    result = subprocess.run([sys.executable, "-c", "import trftrain"], env=env, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "GOMP_SPINCOUNT = '1000'" in result.stderr + result.stdout


@pytest.mark.parametrize("setting", ["OMP_WAIT_POLICY=ACTIVE", "GOMP_SPINCOUNT=50", "KMP_BLOCKTIME=0",
                                     "TRFTRAIN_THREAD_POLICY=off", "torch already imported"])
def test_short_waits_only_where_they_take_effect_and_the_user_set_nothing(monkeypatch, fresh_policy, setting):
    monkeypatch.delitem(sys.modules, "torch")
    assert cpu_threads.prefer_short_waits()
    assert os.environ["OMP_WAIT_POLICY"] == "PASSIVE" and os.environ["GOMP_SPINCOUNT"] == "1000"
    monkeypatch.delenv("OMP_WAIT_POLICY")
    monkeypatch.delenv("GOMP_SPINCOUNT")
    if setting == "torch already imported":
        monkeypatch.setitem(sys.modules, "torch", torch)
    else:
        monkeypatch.setenv(*setting.split("="))
    assert not cpu_threads.prefer_short_waits()
    name, value = setting.split("=") if "=" in setting else (None, None)
    for wait_setting in cpu_threads.WAIT_SETTINGS:
        assert os.environ.get(wait_setting) == (value if wait_setting == name else None)


def test_count_capped_to_the_cores_the_process_may_use(monkeypatch, fresh_policy):
    monkeypatch.setattr(cpu_threads, "usable_cpus", lambda: 1)
    torch.set_num_threads(2)
    assert cpu_threads.apply_thread_policy() == 1 and torch.get_num_threads() == 1
    torch.set_num_threads(2)
    assert cpu_threads.apply_thread_policy() is None and torch.get_num_threads() == 2  # set after the decision: kept


@pytest.mark.parametrize("user", ["OMP_NUM_THREADS", "MKL_NUM_THREADS", "torch.set_num_threads", "off switch"])
def test_count_the_user_chose_is_kept(monkeypatch, fresh_policy, user):
    monkeypatch.setattr(cpu_threads, "usable_cpus", lambda: 1)
    torch.set_num_threads(2)
    if user == "torch.set_num_threads":  # a count other than torch's own default
        monkeypatch.setattr(cpu_threads, "_torch_default_threads", lambda: 3)
    elif user == "off switch":
        monkeypatch.setenv(cpu_threads.OFF_SWITCH, "off")
    else:
        monkeypatch.setenv(user, "2")
    assert cpu_threads.apply_thread_policy() is None and torch.get_num_threads() == 2


def test_cgroup_quota_caps_the_usable_cores(monkeypatch, tmp_path):
    quota = tmp_path / "cpu.max"
    monkeypatch.setattr(cpu_threads, "CGROUP_V2_MAX", str(quota))
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: set(range(8)))
    quota.write_text("150000 100000\n")
    assert cpu_threads.usable_cpus() == 2
    quota.write_text("max 100000\n")
    assert cpu_threads.usable_cpus() == 8


def _report_threads(queue) -> None:
    cpu_threads.apply_thread_policy()
    queue.put(torch.get_num_threads())


def test_a_forked_worker_decides_again_and_takes_one_thread(monkeypatch, fresh_policy):
    """As in nlp.pipe(n_process=2): the worker inherits the parent's decision, then runs on one thread."""
    monkeypatch.setattr(cpu_threads, "usable_cpus", lambda: 2)
    torch.set_num_threads(2)
    assert cpu_threads.apply_thread_policy() == 2 and torch.get_num_threads() == 2
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    worker = context.Process(target=_report_threads, args=(queue,))
    worker.start()
    assert queue.get(timeout=60) == 1
    worker.join(timeout=60)
    assert torch.get_num_threads() == 2
