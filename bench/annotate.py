"""`trftrain annotate` at scale: words/s against a plain nlp.pipe loop writing the same JSON lines, with --n-process 2
and through a local Ray; peak memory (the whole process tree) at 10% and at 100% of each run; the time a rerun takes
to finish after a kill at 50%. Texts are sentences of the shared corpora (UD EWT, CoNLL-2003, SST-2, GoEmotions),
shuffled and repeated to --texts; they are written under --work, never committed.

    python bench/annotate.py --tagger-parser TAGGER_PARSER_DIR --ner NER_DIR [--texts 200000] [--runs ...]

Writes bench/results/annotate.json (--out) and prints a table. `--plain-loop PIPELINE INPUT OUTPUT` is the baseline
run as its own process: what a user writes today around nlp.pipe. `--runs paired [--pairs 5 --pair-texts 10000]`
alternates the plain loop and annotate and reports the median of their ratios, the figure to trust for a gap of a
few percent on a machine whose speed drifts.
"""
import argparse
import hashlib
import json
import os
import random
import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

from machine import machine

ROOT = Path(__file__).resolve().parent.parent
RUNS = ("plain", "annotate", "n_process_2", "ray", "resume", "paired")


def corpus_sentences(corpora: Path):
    """Unique sentences of the four shared corpora, shuffled with a fixed seed."""
    sentences = []
    for name in ("en_ewt-ud-train.conllu", "en_ewt-ud-dev.conllu", "en_ewt-ud-test.conllu"):
        for line in open(corpora / "ud-en-ewt" / name, encoding="utf-8"):
            if line.startswith("# text = "):
                sentences.append(line[len("# text = "):].strip())
    for name in ("eng.train", "eng.testa", "eng.testb"):
        words = []
        for line in open(corpora / "conll2003-en" / name, encoding="utf-8"):
            if line.strip() and not line.startswith("-DOCSTART-"):
                words.append(line.split()[0])
            elif words:
                sentences.append(" ".join(words))
                words = []
    for name in ("stsa.binary.train", "stsa.binary.dev", "stsa.binary.test"):
        sentences += [line.split(" ", 1)[1].strip() for line in open(corpora / "sst2" / name, encoding="utf-8")
                      if " " in line]
    for name in ("train.tsv", "dev.tsv", "test.tsv"):
        sentences += [line.split("\t", 1)[0].strip() for line in open(corpora / "goemotions" / name, encoding="utf-8")]
    sentences = sorted({s for s in sentences if s})
    random.Random(0).shuffle(sentences)
    return sentences


def write_texts(path: Path, corpora: Path, count: int) -> None:
    if path.exists() and sum(1 for _ in open(path, "rb")) == count:
        return
    pool = corpus_sentences(corpora)
    with open(path, "w", encoding="utf-8") as f:
        for i in range(count):
            f.write(json.dumps({"text": pool[i % len(pool)], "n": i}, ensure_ascii=False) + "\n")


def plain_loop(pipeline: str, input_path: str, output: str, batch_size: int) -> None:
    """The baseline: read JSON lines, nlp.pipe, write the same records as annotate, in one process."""
    started = time.perf_counter()
    import spacy

    from trftrain.annotation.annotator import encode_json
    from trftrain.annotation.records import choose_columns, describe

    nlp = spacy.load(pipeline)
    columns = choose_columns(None, describe(nlp), True)
    loaded = time.perf_counter()
    label, words = Path(input_path).name, 0

    def rows():
        for number, line in enumerate(open(input_path, encoding="utf-8"), start=1):
            fields = json.loads(line)
            yield fields.pop("text"), (number, fields)

    from trftrain.annotation.records import make_record

    with open(output, "wb") as out:
        for doc, (number, meta) in nlp.pipe(rows(), as_tuples=True, batch_size=batch_size):
            words += len(doc)
            out.write(encode_json(make_record(doc, f"{label}:{number}", meta, columns)) + b"\n")
    done = time.perf_counter()
    print(json.dumps({"load_seconds": loaded - started, "pipe_seconds": done - loaded, "words": words}))


def tree_rss_mb(pid: int) -> float:
    """Resident memory of a process and all its descendants (Linux /proc)."""
    parents = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                stat = open(f"/proc/{entry}/stat").read()
                parents[int(entry)] = int(stat[stat.rindex(")") + 2:].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    family, frontier = {pid}, [pid]
    while frontier:
        parent = frontier.pop()
        children = [p for p, pp in parents.items() if pp == parent and p not in family]
        family.update(children)
        frontier.extend(children)
    total = 0
    for member in family:
        try:
            for line in open(f"/proc/{member}/status"):
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            continue
    return total / 1024


def output_bytes(path: Path) -> int:
    if path.is_file():
        return path.stat().st_size
    if not path.exists():
        return 0
    return sum(p.stat().st_size for p in path.iterdir() if p.is_file() and not p.name.startswith("_"))


def committed_records(folder: Path) -> int:
    try:
        lines = (folder / "_manifest.jsonl").read_text().splitlines()[1:]
    except OSError:
        return 0
    return sum(json.loads(line)["records"] for line in lines if line.endswith("}"))


def run_watched(command, progress, kill_at: float = None) -> dict:
    """Run a command in its own process group; sample its tree's memory by progress (a function giving 0..1);
    kill the whole group with SIGKILL once progress reaches kill_at."""
    started = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, start_new_session=True, stdout=subprocess.PIPE, text=True,
                               env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    peaks = {"at_10": 0.0, "at_100": 0.0}
    killed = threading.Event()

    def watch():
        while process.poll() is None:
            done = progress()
            rss = tree_rss_mb(process.pid)
            peaks["at_100"] = max(peaks["at_100"], rss)
            if done <= 0.10:
                peaks["at_10"] = max(peaks["at_10"], rss)
            if kill_at is not None and done >= kill_at:
                os.killpg(process.pid, signal.SIGKILL)
                killed.set()
                return
            time.sleep(0.5)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    stdout, _ = process.communicate()
    watcher.join()
    result = {"seconds": round(time.perf_counter() - started, 2), "returncode": process.returncode,
              "killed": killed.is_set(), "peak_rss_mb_at_10pct": round(peaks["at_10"]),
              "peak_rss_mb_at_100pct": round(peaks["at_100"])}
    if process.returncode != 0 and not killed.is_set():
        raise SystemExit(f"{' '.join(map(str, command))} failed with exit code {process.returncode}")
    last = stdout.strip().splitlines()[-1] if stdout.strip() else ""
    if last.startswith("{"):
        result.update(json.loads(last))
    return result


def digest(path: Path) -> str:
    """A hash of the records, whether in one file (plain loop) or in shards (annotate), in order."""
    files = [path] if path.is_file() else sorted(p for p in path.glob("*.jsonl") if not p.name.startswith("_"))
    sha = hashlib.sha256()
    for file in files:
        with open(file, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                sha.update(block)
    return sha.hexdigest()


def bench_pipeline(name: str, pipeline: str, texts: Path, work: Path, args) -> dict:
    annotate = [sys.executable, "-m", "trftrain", "annotate", pipeline, str(texts)]
    options = ["--batch-size", str(args.batch_size), "--shard-size", str(args.shard_size), "--quiet"]
    results = {}
    # The first annotate run measures its progress by committed records; the others by output bytes against its
    # output's size (the plain loop writes one file, and a kill at 50% should land inside a shard).
    first = work / f"{name}-annotate"
    by_bytes = lambda out: lambda: output_bytes(out) / max(output_bytes(first), 1)  # noqa: E731
    variants = {"annotate": [], "n_process_2": ["--n-process", "2"], "ray": ["--ray"]}
    for run, extra in variants.items():
        if run not in args.runs:
            continue
        out = work / f"{name}-{run}"
        progress = (lambda: committed_records(first) / args.texts) if run == "annotate" else by_bytes(out)
        results[run] = run_watched(annotate + [str(out)] + options + extra + ["--overwrite"], progress)
        summary = json.loads((out / "_summary.json").read_text())
        results[run]["words"] = summary["words"]
        results[run]["words_per_second_after_load"] = summary["this_run"]["words_per_second"]
    if "plain" in args.runs:
        out = work / f"{name}-plain.jsonl"
        out.unlink(missing_ok=True)
        results["plain"] = run_watched([sys.executable, __file__, "--plain-loop", pipeline, str(texts), str(out),
                                        "--batch-size", str(args.batch_size)], by_bytes(out))
        for run in variants:
            if run in results:
                results[run]["same_records_as_plain"] = digest(work / f"{name}-{run}") == digest(out)
    if "resume" in args.runs:
        out = work / f"{name}-resume"
        killed = run_watched(annotate + [str(out)] + options + ["--overwrite"], by_bytes(out), kill_at=0.5)
        rerun = run_watched(annotate + [str(out)] + options, by_bytes(out))
        summary = json.loads((out / "_summary.json").read_text())
        results["resume"] = {"killed_after_seconds": killed["seconds"], "killed": killed["killed"],
                             "rerun_seconds": rerun["seconds"], "shards_resumed": summary["shards_resumed"],
                             "shards": summary["shards"], "complete": summary["complete"]}
        if "annotate" in results:
            results["resume"]["rerun_over_full_run"] = round(rerun["seconds"] / results["annotate"]["seconds"], 3)
    words = next((r["words"] for r in results.values() if "words" in r), None)
    for run in results.values():
        if "seconds" in run and words and not run.get("killed"):
            run["words_per_second_wall"] = round(words / run["seconds"], 1)
        if "pipe_seconds" in run:
            run["words_per_second_after_load"] = round(run["words"] / run["pipe_seconds"], 1)
    base = results.get("plain", {}).get("words_per_second_wall")
    for run in ("annotate", "n_process_2", "ray"):
        if base and run in results:
            results[run]["vs_plain_wall"] = round(results[run]["words_per_second_wall"] / base, 3)
    if "ray" in results and "annotate" in results:
        results["ray"]["vs_annotate_wall"] = round(results["ray"]["words_per_second_wall"]
                                                   / results["annotate"]["words_per_second_wall"], 3)
    if "paired" in args.runs:
        results["paired"] = paired_runs(name, pipeline, texts, work, args)
    return results


def paired_runs(name: str, pipeline: str, texts: Path, work: Path, args) -> dict:
    """The plain loop and `trftrain annotate` alternately, --pairs times, on the first --pair-texts texts, each
    annotate run compared with the plain run just before it: this machine's speed drifts by 10-20% over minutes,
    more than the gap measured, so one long run of each says little about a few percent."""
    head = work / f"texts-{args.pair_texts}.jsonl"
    with open(texts, encoding="utf-8") as source, open(head, "w", encoding="utf-8") as out:
        for _, line in zip(range(args.pair_texts), source):
            out.write(line)
    plain_out, annotate_out = work / f"{name}-pair-plain.jsonl", work / f"{name}-pair-annotate"
    pairs = []
    for _ in range(args.pairs):
        plain_out.unlink(missing_ok=True)
        plain = run_watched([sys.executable, __file__, "--plain-loop", pipeline, str(head), str(plain_out),
                             "--batch-size", str(args.batch_size)], lambda: 0.0)
        run_watched([sys.executable, "-m", "trftrain", "annotate", pipeline, str(head), str(annotate_out),
                     "--batch-size", str(args.batch_size), "--quiet", "--overwrite"], lambda: 0.0)
        summary = json.loads((annotate_out / "_summary.json").read_text())
        plain_speed = plain["words"] / plain["pipe_seconds"]
        annotate_speed = summary["this_run"]["words_per_second"]
        pairs.append({"plain_words_per_second": round(plain_speed, 1),
                      "annotate_words_per_second": round(annotate_speed, 1),
                      "ratio": round(annotate_speed / plain_speed, 3)})
    return {"texts": args.pair_texts, "pairs": pairs,
            "median_ratio": round(statistics.median(p["ratio"] for p in pairs), 3)}


def table(report: dict) -> str:
    lines = [f"{'pipeline':<14} {'run':<12} {'seconds':>8} {'words/s wall':>13} {'after load':>11} {'vs plain':>9} "
             f"{'RSS@10%':>8} {'RSS@100%':>9}"]
    for name, results in report["pipelines"].items():
        for run, r in results.items():
            if run == "paired":
                continue
            if run == "resume":
                lines.append(f"{name:<14} {'resume':<12} killed at 50% after {r['killed_after_seconds']} s; rerun "
                             f"{r['rerun_seconds']} s ({r.get('rerun_over_full_run', '-')} of a full run), "
                             f"{r['shards_resumed']}/{r['shards']} shards kept")
                continue
            lines.append(f"{name:<14} {run:<12} {r['seconds']:>8} {r.get('words_per_second_wall', 0):>13,.0f} "
                         f"{r.get('words_per_second_after_load', 0):>11,.0f} {r.get('vs_plain_wall', '-'):>9} "
                         f"{r['peak_rss_mb_at_10pct']:>8} {r['peak_rss_mb_at_100pct']:>9}")
        if "paired" in results:
            ratios = ", ".join(str(p["ratio"]) for p in results["paired"]["pairs"])
            lines.append(f"{name:<14} {'paired':<12} annotate/plain words/s after load, {results['paired']['texts']} "
                         f"texts: median {results['paired']['median_ratio']} ({ratios})")
    return "\n".join(lines)


def main() -> None:
    if sys.argv[1:2] == ["--plain-loop"]:
        parser = argparse.ArgumentParser(prog="annotate.py --plain-loop")
        parser.add_argument("pipeline")
        parser.add_argument("input")
        parser.add_argument("output")
        parser.add_argument("--batch-size", type=int, default=64)
        a = parser.parse_args(sys.argv[2:])
        return plain_loop(a.pipeline, a.input, a.output, a.batch_size)
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tagger-parser", help="Trained MiniLM tagger+parser pipeline folder.")
    parser.add_argument("--ner", help="Trained MiniLM NER pipeline folder.")
    parser.add_argument("--texts", type=int, default=200_000)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--shard-size", type=int, default=None, help="Default: a twentieth of --texts, a multiple "
                        "of --batch-size (so that the plain loop and annotate form the same batches).")
    parser.add_argument("--runs", nargs="+", default=list(RUNS), choices=RUNS)
    parser.add_argument("--pairs", type=int, default=5, help="The paired run: the plain loop and annotate "
                        "alternately this many times each on the first --pair-texts texts; reports the median ratio.")
    parser.add_argument("--pair-texts", type=int, default=10_000)
    parser.add_argument("--corpora", type=Path, default=ROOT.parent / "shared" / "corpora")
    parser.add_argument("--work", type=Path, default=ROOT / "bench" / "work" / "annotate")
    parser.add_argument("--out", type=Path, default=ROOT / "bench" / "results" / "annotate.json")
    args = parser.parse_args()
    pipelines = {k: v for k, v in (("tagger_parser", args.tagger_parser), ("ner", args.ner)) if v}
    if not pipelines:
        parser.error("give --tagger-parser and/or --ner")
    if args.shard_size is None:
        args.shard_size = max(args.batch_size, args.texts // 20 // args.batch_size * args.batch_size)
    if "annotate" not in args.runs and set(args.runs) - {"paired"}:  # they measure progress against its output
        args.runs = ["annotate"] + args.runs
    if "ray" in args.runs:
        try:
            import ray  # noqa: F401
        except ImportError:
            print("ray is not installed (pip install 'trftrain[ray]'): skipping the Ray run", file=sys.stderr)
            args.runs = [r for r in args.runs if r != "ray"]
    args.work.mkdir(parents=True, exist_ok=True)
    texts = args.work / "texts.jsonl"
    write_texts(texts, args.corpora, args.texts)
    report = {"texts": args.texts, "batch_size": args.batch_size, "shard_size": args.shard_size,
              "machine": machine(),
              "pipelines": {name: bench_pipeline(name, str(Path(path).resolve()), texts, args.work, args)
                            for name, path in pipelines.items()}}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(report, indent=2) + "\n")
    print(table(report))
    print(f"\nwritten to {args.out}")


if __name__ == "__main__":
    main()
