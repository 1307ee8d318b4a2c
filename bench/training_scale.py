"""What surviving and scaling costs: checkpoint seconds and size, resume start-up, and data-parallel training on
this machine (2 gloo processes x 1 thread against 1 process x 2 threads), with the bytes all-reduced per step.

    python bench/training_scale.py --name cpu-2core            # MiniLM tagger+parser, UD EWT 2k (about 15 min)

Writes bench/results/<name>-training-scale.json and prints a table; bench/report.py renders it into RESULTS.md.
"""
import argparse
import datetime
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work" / "training-scale"
DATA = ROOT / "corpora" / "converted"
CONFIG = BENCH / "configs" / "tagger_parser.cfg"
CORPUS = {"paths.train": str(DATA / "ewt-train-2k.spacy"), "paths.dev": str(DATA / "ewt-dev.spacy")}


def checkpoint_cost(steps: int) -> dict:
    """Train `steps` steps with a checkpoint every 5; time each checkpoint, then time a resume's set-up."""
    from trftrain.training import loop, run

    times = []
    original = loop.save_checkpoint

    def timed(training_run):
        start = time.perf_counter()
        original(training_run)
        times.append(time.perf_counter() - start)

    loop.save_checkpoint = timed
    out = WORK / "checkpoints"
    overrides = {**CORPUS, "training.max_steps": steps, "training.eval_frequency": steps,
                 "training.checkpoint_frequency": 5}
    loop.train(CONFIG, out, overrides=overrides, overwrite=True)
    loop.save_checkpoint = original
    size = sum(p.stat().st_size for p in (out / "checkpoint-last").rglob("*") if p.is_file())
    model_size = sum(p.stat().st_size for p in (out / "model-last").rglob("*") if p.is_file())
    setups = {}
    from trftrain.training.distributed import Process

    for label, kwargs, folder in (("fresh", {"overwrite": True}, WORK / "fresh"), ("resume", {"resume": True}, out)):
        start = time.perf_counter()
        run.setup(CONFIG, folder, overrides=overrides, gpu_id=-1, allow_changes=(), process=Process(),
                  stdout=sys.stdout, stderr=sys.stderr, **{"resume": False, "overwrite": False, **kwargs})
        setups[label] = round(time.perf_counter() - start, 2)
    return {"checkpoint_seconds": [round(t, 3) for t in times], "checkpoint_mb": round(size / 1e6, 1),
            "model_mb": round(model_size / 1e6, 1), "setup_seconds": setups}


def worker(steps: int, out: Path, result: Path) -> None:
    """One training run (single or under torchrun); rank 0 writes words/s and all-reduce time to `result`."""
    from trftrain.training import distributed, loop

    spent = {"all_reduce": 0.0, "calls": 0, "bytes": 0}
    original = distributed.all_reduce_gradients

    def timed(params, process):
        start = time.perf_counter()
        original(params, process)
        spent["all_reduce"] += time.perf_counter() - start
        spent["calls"] += 1
        spent["bytes"] = sum(p.numel() * p.element_size() for p in params)

    distributed.all_reduce_gradients = timed
    loop.train(CONFIG, out, overrides={**CORPUS, "training.max_steps": steps, "training.eval_frequency": steps,
                                       "training.checkpoint_frequency": 0}, overwrite=True)
    if int(os.environ.get("RANK", "0")) == 0:
        record = json.loads((out / "training_log.jsonl").read_text().splitlines()[-1])
        result.write_text(json.dumps({"words_per_second": record["words_per_second"], **spent}))


def data_parallel(steps: int) -> dict:
    runs = {}
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    for label, threads, launcher in (("1 process x 2 threads", "2", []),
                                     ("2 gloo processes x 1 thread", "1",
                                      ["-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2"])):
        result = WORK / f"{label.split()[0]}-processes.json"
        command = [sys.executable, *launcher, str(Path(__file__).resolve()), "--worker", str(steps),
                   str(WORK / f"run-{label.split()[0]}"), str(result)]
        subprocess.run(command, check=True, env={**env, "OMP_NUM_THREADS": threads}, cwd=ROOT)
        runs[label] = json.loads(result.read_text())
    return runs


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="cpu")
    parser.add_argument("--steps", type=int, default=30)
    parser.add_argument("--worker", nargs=3, default=None)
    args = parser.parse_args()
    if args.worker:
        worker(int(args.worker[0]), Path(args.worker[1]), Path(args.worker[2]))
        return
    WORK.mkdir(parents=True, exist_ok=True)
    from machine import machine

    checkpoints = checkpoint_cost(20)
    parallel = data_parallel(args.steps)
    result = {"name": args.name, "date": datetime.datetime.now().isoformat(timespec="minutes"),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=ROOT).stdout.strip(),
              "machine": machine(),
              "command": "python bench/training_scale.py " + " ".join(sys.argv[1:]),
              "checkpoints": checkpoints, "data_parallel": parallel}
    (BENCH / "results" / f"{args.name}-training-scale.json").write_text(json.dumps(result, indent=2))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
