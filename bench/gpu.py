"""trftrain on a CUDA GPU: the quick benchmark's task (tagger+parser, the first 2,000 UD EWT training sentences,
all-MiniLM-L6-v2, bench/configs/tagger_parser.cfg) trained and run with `--gpu`.

    python bench/gpu.py [--gpu 0] [--label NAME] [--parts accuracy,speed,inference]

Measured, each in its own process: the 240-step training (seconds, dev scores computed on the CPU from the
saved model, so the GPU-trained weights are checked where most users deploy them); training words/s as in
bench/run.py (a 1-epoch run minus a 1-step run, so start-up and saving cancel out); the peak GPU memory of each
training process as nvidia-smi reports it, sampled every 0.1 s (the CUDA context, about 0.5 GB, included);
inference words/s with nlp.pipe on the GPU at batch sizes 64 and 256, and on the CPU at 64 for scale (best of 3
passes, bench/pipe_speed.py). Writes bench/results/gpu-<label>.json.
"""
import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import machine
from run import DATA, TASKS, epoch_words, small_dev

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work" / "gpu"
RESULTS = BENCH / "results"
STEPS = 240
ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}


class GpuMemoryPeak:
    """The highest memory.used nvidia-smi reports for one GPU while a command runs (all processes on it)."""

    def __init__(self, gpu: int):
        self.gpu, self.peak_mb, self._stop = gpu, 0, threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        query = ["nvidia-smi", f"--id={self.gpu}", "--query-gpu=memory.used", "--format=csv,noheader,nounits"]
        while not self._stop.is_set():
            out = subprocess.run(query, capture_output=True, text=True).stdout.strip()
            if out.isdigit():
                self.peak_mb = max(self.peak_mb, int(out))
            self._stop.wait(0.1)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def timed(command: list, log) -> float:
    log.write("$ " + " ".join(map(str, command)) + "\n")
    log.flush()
    start = time.perf_counter()
    subprocess.run([str(c) for c in command], stdout=log, stderr=subprocess.STDOUT, env=ENV, cwd=ROOT, check=True)
    return round(time.perf_counter() - start, 2)


def last_json_line(command: list, log) -> dict:
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=ENV, cwd=ROOT)
    log.write("$ " + " ".join(map(str, command)) + "\n" + result.stdout + result.stderr)
    result.check_returncode()
    return json.loads(result.stdout.strip().splitlines()[-1])


def train(output: Path, dev: Path, gpu: int, log, steps: int = 0, epochs: int = 0) -> dict:
    command = [sys.executable, "-m", "trftrain", "train", BENCH / "configs" / "tagger_parser.cfg", "--output", output,
               "--overwrite", "--gpu", gpu, "--paths.train", DATA / TASKS["tagger_parser"]["train"], "--paths.dev", dev,
               "--training.max_steps", steps or 100000, "--training.max_epochs", epochs,
               "--training.eval_frequency", steps or 100000]
    with GpuMemoryPeak(gpu) as memory:
        seconds = timed(command, log)
    return {"seconds": seconds, "gpu_peak_mb": memory.peak_mb}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gpu", type=int, default=0)
    parser.add_argument("--label", default=time.strftime("%Y%m%d-%H%M%S"))
    parser.add_argument("--parts", default="accuracy,speed,inference", help="Which measurements, comma-separated.")
    args = parser.parse_args()
    parts = args.parts.split(",")
    import torch

    if not torch.cuda.is_available():
        sys.exit("bench/gpu.py needs a CUDA device")
    WORK.mkdir(parents=True, exist_ok=True)
    RESULTS.mkdir(parents=True, exist_ok=True)
    dev = DATA / TASKS["tagger_parser"]["dev"]
    result = {"machine": {**machine(), "gpu": torch.cuda.get_device_name(args.gpu)},
              "command": " ".join(["python"] + sys.argv), "steps": STEPS}
    model = WORK / "steps" / "model-last"
    with open(RESULTS / f"gpu-{args.label}.log", "a") as log:
        if "accuracy" in parts:
            print(f"training {STEPS} steps on cuda:{args.gpu}", flush=True)
            result["train_240_steps"] = train(WORK / "steps", dev, args.gpu, log, steps=STEPS)
            result["accuracy"] = last_json_line([sys.executable, BENCH / "accuracy.py", model, dev], log)
            print(json.dumps(result["accuracy"]), flush=True)
        if "speed" in parts:
            print("training speed (1 epoch vs 1 step; 240 steps vs 1 step)", flush=True)
            few = small_dev("tagger_parser")
            one_step = train(WORK / "one-step", few, args.gpu, log, steps=1)
            epoch = train(WORK / "epoch", few, args.gpu, log, epochs=1)
            many = train(WORK / "steps-small-dev", few, args.gpu, log, steps=STEPS)
            words = epoch_words("tagger_parser")
            result["training"] = {
                "one_step": one_step, "epoch": epoch, "steps_240": many, "epoch_words": words,
                # None where an epoch's steps take less time than start-up varies (seen on an H200: -0.5 s).
                "train_wps": (round(words / (epoch["seconds"] - one_step["seconds"]))
                              if epoch["seconds"] - one_step["seconds"] > 2 else None),
                "seconds_per_step": round((many["seconds"] - one_step["seconds"]) / (STEPS - 1), 4)}
            print(json.dumps(result["training"]), flush=True)
            if not model.exists():
                model = WORK / "steps-small-dev" / "model-last"
        if "inference" in parts:
            inference = {}
            for name, extra in (("gpu_batch64", ["64", f"--gpu={args.gpu}"]),
                                ("gpu_batch256", ["256", f"--gpu={args.gpu}"]), ("cpu_batch64", ["64"])):
                inference[name] = last_json_line([sys.executable, BENCH / "pipe_speed.py", model, dev, *extra], log)
                print(name, json.dumps(inference[name]), flush=True)
            result["inference"] = inference
    output = RESULTS / f"gpu-{args.label}.json"
    output.write_text(json.dumps(result, indent=2))
    print(f"Wrote {output}")


if __name__ == "__main__":
    main()
