"""Inference while other processes share the cores: one long doc and an nlp.pipe over short docs through a trftrain
pipeline, alone, beside two busy torch processes doing matrix products, and beside a running trftrain training.
Prints a table and writes JSON with each time and its ratio to the time alone (target: at most 4x beside matmuls).

    trftrain train bench/configs/shared_cores.cfg --output training/shared-cores --training.max_steps 20
    python bench/shared_cores.py training/shared-cores/model-best [--src OTHER_WORKTREE/src] [--label NAME]

The pipeline is measured (and the neighbour training run) with the trftrain found under --src, so the same
command measures an older commit: `git worktree add /tmp/old COMMIT` and pass `--src /tmp/old/src`. The texts come
from --long-data and --short-data (`make corpora`) and are identical between runs.
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from machine import machine

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
SCENARIOS = ("alone", "matmul", "training")
TARGET_RATIO = 4.0


# -- the processes this script starts ---------------------------------------------------------------------------
def busy_matmul(seconds: float) -> None:
    """A neighbour: back-to-back 1024x1024 matrix products on torch's default threads."""
    import torch

    a, b = torch.randn(1024, 1024), torch.randn(1024, 1024)
    end = time.time() + seconds
    while time.time() < end:
        a = torch.tanh(a @ b)


def measure(model: str, texts_file: str, repeats: int, batch_size: int, spacy_first: bool) -> None:
    """The measured process: load the pipeline, warm up, then time the long doc (per component) and the pipe."""
    if not spacy_first:
        import trftrain  # noqa: F401  (as the README advises: before spaCy, which loads torch)
    import spacy
    import torch

    import trftrain

    texts = json.loads(Path(texts_file).read_text())
    nlp = spacy.load(model)
    long_text, short_texts = texts["long"], texts["short"]
    nlp(long_text)
    list(nlp.pipe(short_texts[:batch_size], batch_size=batch_size))
    long_runs, pipe_runs, components = [], [], {name: [] for name in nlp.pipe_names}
    for _ in range(repeats):
        start = time.perf_counter()
        doc = nlp.make_doc(long_text)
        for name, component in nlp.pipeline:
            began = time.perf_counter()
            doc = component(doc)
            components[name].append(time.perf_counter() - began)
        long_runs.append(time.perf_counter() - start)
        start = time.perf_counter()
        list(nlp.pipe(short_texts, batch_size=batch_size))
        pipe_runs.append(time.perf_counter() - start)
    print(json.dumps({
        "long_doc_s": long_runs, "pipe_s": pipe_runs,
        "components_median_s": {name: round(statistics.median(v), 4) for name, v in components.items()},
        "long_doc_tokens": len(doc), "torch_threads": torch.get_num_threads(), "trftrain_file": trftrain.__file__,
        "thread_env": {key: os.environ.get(key) for key in ("OMP_NUM_THREADS", "OMP_WAIT_POLICY", "GOMP_SPINCOUNT",
                                                             "MKL_NUM_THREADS", "KMP_BLOCKTIME",
                                                             "TRFTRAIN_THREAD_POLICY")},
    }))


# -- the driver ----------------------------------------------------------------------------------------------------
def bench_texts(long_data: Path, short_data: Path, long_tokens: int, short_docs: int) -> dict:
    """The long doc: corpus docs joined until it reaches long_tokens; the short docs: the first gold sentences."""
    import spacy
    from spacy.tokens import DocBin

    nlp = spacy.blank("en")
    parts, count = [], 0
    for doc in DocBin().from_disk(long_data).get_docs(nlp.vocab):
        parts.append(doc.text)
        count += len(doc)
        if count >= long_tokens:
            break
    short = []
    for doc in DocBin().from_disk(short_data).get_docs(nlp.vocab):
        short.extend(sent.text for sent in doc.sents)
        if len(short) >= short_docs:
            break
    joined = nlp.make_doc("\n\n".join(parts))
    return {"long": joined[:long_tokens].text, "short": short[:short_docs]}


def child_env(src: Path) -> dict:
    env = dict(os.environ, HF_HUB_OFFLINE="1")
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(src), env.get("PYTHONPATH")]))
    return env


def start_neighbours(scenario: str, args, env: dict, scratch: Path) -> list:
    me = [args.python, str(Path(__file__).resolve())]
    if scenario == "matmul":
        return [subprocess.Popen(me + ["--role", "matmul"], env=env, start_new_session=True,
                                 stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL) for _ in range(2)]
    if scenario == "training":
        log = open(scratch / "neighbour-training.log", "w")
        command = [args.python, "-m", "trftrain", "train", str(args.training_config), "--output",
                   str(scratch / "neighbour-training"), "--training.max_steps", "100000",
                   "--training.eval_frequency", "100000"]
        return [subprocess.Popen(command, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)]
    return []


def stop(processes: list) -> None:
    for process in processes:
        if process.poll() is None:
            os.killpg(process.pid, 15)
    for process in processes:
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, 9)
            process.wait()


def run_scenario(scenario: str, args, env: dict, texts_file: Path, scratch: Path) -> dict:
    neighbours = start_neighbours(scenario, args, env, scratch)
    try:
        time.sleep({"alone": 0, "matmul": args.matmul_warmup, "training": args.training_warmup}[scenario])
        if any(p.poll() is not None for p in neighbours):
            raise RuntimeError(f"a '{scenario}' neighbour exited before the measurement (see {scratch})")
        command = [args.python, str(Path(__file__).resolve()), "--role", "measure", str(args.model),
                   "--texts", str(texts_file), "--repeats", str(args.repeats), "--batch-size", str(args.batch_size)]
        command += ["--spacy-first"] if args.spacy_first else []
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=args.timeout)
        if result.returncode != 0:
            raise RuntimeError(f"the measurement failed in '{scenario}':\n{result.stderr[-3000:]}")
        measured = json.loads(result.stdout.strip().splitlines()[-1])
        measured["neighbours_alive"] = all(p.poll() is None for p in neighbours)
        return measured
    finally:
        stop(neighbours)


def source_commit(src: Path) -> str:
    result = subprocess.run(["git", "-C", str(src), "describe", "--always", "--dirty"], capture_output=True, text=True)
    return result.stdout.strip() or "?"


def print_table(results: dict) -> None:
    alone = results["alone"]
    print(f"\n{'scenario':10s} {'long doc s':>11s} {'x alone':>8s} {'pipe s':>8s} {'x alone':>8s}  slowest component")
    for scenario, r in results.items():
        slowest = max(r["components_median_s"].items(), key=lambda kv: kv[1])
        print(f"{scenario:10s} {r['long_doc_median_s']:11.2f} {r['long_doc_ratio']:8.1f} {r['pipe_median_s']:8.2f} "
              f"{r['pipe_ratio']:8.1f}  {slowest[0]} {slowest[1]:.2f} s" + ("" if r["neighbours_alive"] else "  (!)"))
    print(f"target: at most {TARGET_RATIO:.0f}x alone beside two busy torch processes (matmul); "
          f"{alone['long_doc_tokens']} tokens in the long doc, torch threads {alone['torch_threads']}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("model", nargs="?", help="saved trftrain pipeline (a model-best folder)")
    parser.add_argument("--src", type=Path, default=ROOT / "src", help="the trftrain source to measure (its src/)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the measured process")
    parser.add_argument("--label", default="current", help="name of this run in the result file name")
    parser.add_argument("--output", type=Path, help="JSON result (default bench/results/shared-cores-LABEL.json)")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--long-data", type=Path, default=ROOT / "corpora/converted/conll-dev.spacy")
    parser.add_argument("--short-data", type=Path, default=ROOT / "corpora/converted/ewt-dev.spacy")
    parser.add_argument("--long-tokens", type=int, default=2700)
    parser.add_argument("--short-docs", type=int, default=300)
    parser.add_argument("--batch-size", type=int, default=16)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--spacy-first", action="store_true",
                        help="import spaCy (and so torch) before trftrain in the measured process")
    parser.add_argument("--training-config", type=Path, default=HERE / "configs/shared_cores.cfg")
    parser.add_argument("--matmul-warmup", type=float, default=5, help="seconds before measuring")
    parser.add_argument("--training-warmup", type=float, default=90, help="seconds for the neighbour to start training")
    parser.add_argument("--timeout", type=float, default=1800, help="seconds allowed per measurement")
    parser.add_argument("--role", choices=["driver", "measure", "matmul"], default="driver", help=argparse.SUPPRESS)
    parser.add_argument("--texts", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.role == "matmul":
        return busy_matmul(seconds=3600)
    if args.role == "measure":
        return measure(args.model, args.texts, args.repeats, args.batch_size, args.spacy_first)
    if not args.model:
        parser.error("give the saved pipeline to measure, e.g. training/shared-cores/model-best")
    scenarios = [s for s in args.scenarios.split(",") if s]
    if scenarios[0] != "alone" or not set(scenarios) <= set(SCENARIOS):
        parser.error(f"--scenarios must start with 'alone' and use only {', '.join(SCENARIOS)}")
    env = child_env(args.src.resolve())
    results = {}
    with tempfile.TemporaryDirectory(prefix="shared-cores-") as tmp:
        scratch = Path(tmp)
        texts_file = scratch / "texts.json"
        texts_file.write_text(json.dumps(bench_texts(args.long_data, args.short_data, args.long_tokens,
                                                     args.short_docs)))
        for scenario in scenarios:
            print(f"measuring: {scenario}", flush=True)
            r = run_scenario(scenario, args, env, texts_file, scratch)
            r["long_doc_median_s"] = round(statistics.median(r["long_doc_s"]), 3)
            r["pipe_median_s"] = round(statistics.median(r["pipe_s"]), 3)
            r["long_doc_ratio"] = round(r["long_doc_median_s"] / results.get("alone", r)["long_doc_median_s"], 2)
            r["pipe_ratio"] = round(r["pipe_median_s"] / results.get("alone", r)["pipe_median_s"], 2)
            results[scenario] = r
    print_table(results)
    output = args.output or HERE / "results" / f"shared-cores-{args.label}.json"
    output.parent.mkdir(parents=True, exist_ok=True)
    settings = {key: (str(value) if isinstance(value, Path) else value) for key, value in vars(args).items()
                if key not in ("role", "texts")}
    output.write_text(json.dumps({"machine": machine(), "source": source_commit(args.src), "settings": settings,
                                  "target_ratio_matmul": TARGET_RATIO, "results": results}, indent=2) + "\n")
    print(f"wrote {output}")


if __name__ == "__main__":
    main()
