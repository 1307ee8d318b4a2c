"""Distillation: MiniLM teachers (trftrain, trained on gold) against students of two kinds, trained on gold alone
or distilled from the teacher through raw text (plus the same gold), same machine, same run.

    python bench/distill.py --quick            # all three tasks, fewer steps and texts (about an hour on 2 cores)
    python bench/distill.py                    # full: whole training sets, more steps, dev and test scores
    python bench/distill.py --tasks textcat --teachers textcat=training/sst2/model-best   # a trained teacher

Per task (tagger_parser on UD EWT, ner on CoNLL-2003, textcat on SST-2): the teacher (bench/configs/<task>.cfg,
trained --teacher-steps on gold unless given); students from bench/configs/distill/: `cnn` (spaCy's CNN
pipeline, spaCy's loop) and `small` (trftrain on MiniLM cut to --student-layers layers; the distilled one starts
from the teacher's encoder, the gold-only one from the pretrained MiniLM; `--student-layers 2,1` adds `small1`, a
pair of 1-layer students, beside the 2-layer `small`). Raw text: the training texts of all
four shared corpora (EWT, CoNLL, SST-2, GoEmotions), labels removed, one text per line, interleaved. Scores:
bench/accuracy.py on dev (and test in full mode), agreement with the teacher (trftrain evaluate --teacher),
words/s with nlp.pipe (bench/pipe_speed.py, batch 64, rounds alternating teacher and students). The few-label
case: a teacher trained on the first 500 gold sentences, distilled through the raw text, against students
trained on those 500 alone. Writes bench/results/distill-<name>-<mode>.json and prints a table.
"""
import argparse
import datetime
import json
import platform
import shutil
import statistics
import subprocess
import sys
from pathlib import Path

from spacy.tokens import DocBin
from spacy.vocab import Vocab

sys.path.insert(0, str(Path(__file__).resolve().parent))
from run import BENCH, DATA, ROOT, TRF_PYTHON, last_json_line, machine, measured, run  # noqa: E402

TRFTRAIN = ROOT / ".venv" / "bin" / "trftrain"
CONFIGS = BENCH / "configs" / "distill"
TASKS = {"tagger_parser": ("ewt", ["dep_las", "tag_acc"]), "ner": ("conll", ["ents_f"]),
         "textcat": ("sst2", ["cats_accuracy"])}
RAW_CORPORA = ["ewt-train", "conll-train", "sst2-train", "goemotions-train"]


def student_kinds(layers) -> dict:
    """kind -> encoder layers (None for the CNN): `small` has the first of --student-layers, `small<L>` the others
    (e.g. small1), so that folders of earlier runs keep their names."""
    layers = [layers] if isinstance(layers, int) else layers  # records written before several were possible
    kinds = {"cnn": None}
    for position, count in enumerate(layers):
        kinds["small" if position == 0 else f"small{count}"] = count
    return kinds


MODES = {  # steps and sizes per mode
    "quick": {"teacher_steps": 240, "cnn_steps": 800, "small_steps": 400, "raw_per_corpus": 2500,
              "train": {"ewt": "ewt-train-2k", "conll": "conll-train", "sst2": "sst2-train"}, "rounds": 2,
              "few_label_tasks": ["tagger_parser"], "test": False},
    "full": {"teacher_steps": 1500, "cnn_steps": 5000, "small_steps": 3000, "raw_per_corpus": 0,
             "train": {"ewt": "ewt-train", "conll": "conll-train", "sst2": "sst2-train"}, "rounds": 3,
             "few_label_tasks": list(TASKS), "test": True},
}


def docs_of(path: Path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def write_raw(path: Path, per_corpus: int) -> dict:
    """The training texts of the four corpora, one per line, interleaved (per_corpus 0: all of them)."""
    texts = []
    for name in RAW_CORPORA:
        docs = docs_of(DATA / f"{name}.spacy")
        texts.append([" ".join(d.text.split()) for d in (docs[:per_corpus] if per_corpus else docs)])
    lines = [t for group in zip_longest_flat(texts) for t in group if t]
    text = "\n".join(lines) + "\n"
    # Rewritten only when it changes: a teacher's cache records the file's mtime, and --reuse keeps the caches.
    if not path.exists() or path.read_text(encoding="utf8") != text:
        path.write_text(text, encoding="utf8")
    return {"texts": len(lines), "words": sum(len(t.split()) for t in lines),
            "per_corpus": {name: len(t) for name, t in zip(RAW_CORPORA, texts)}}


def zip_longest_flat(groups):
    for i in range(max(len(g) for g in groups)):
        yield [g[i] for g in groups if i < len(g)]


def first_sentences(source: Path, n: int, target: Path) -> int:
    """The first n gold sentences (as one doc each where the corpus marks sentences, else the first n docs)."""
    out = []
    for doc in docs_of(source):
        spans = list(doc.sents) if doc.has_annotation("SENT_START") else [doc[:]]
        out.extend(span.as_doc() if len(spans) > 1 else doc for span in spans)
        if len(out) >= n:
            break
    DocBin(docs=out[:n], store_user_data=True).to_disk(target)
    return len(out[:n])


def schedule(steps: int, evaluations: int = 4) -> list:
    """trftrain overrides: `steps` steps, warmup over the first tenth, `evaluations` evaluations (model-best is the
    best of them)."""
    return ["--training.max_steps", steps, "--training.max_epochs", 0,
            "--training.eval_frequency", max(1, steps // evaluations),
            "--training.schedule.total_steps", steps, "--training.schedule.warmup_steps", steps // 10]


def train_teacher(task: str, train: Path, dev: Path, steps: int, out: Path, log: Path) -> dict:
    overrides = schedule(steps, evaluations=1)
    return measured([TRFTRAIN, "train", BENCH / "configs" / f"{task}.cfg", "--output", out, "--overwrite",
                     "--paths.train", train,
                     "--paths.dev", dev, *overrides], out.parent / f"{out.name}-run.json", log)


def train_student(kind: str, task: str, teacher, train: Path, dev: Path, steps: int, out: Path, args, log: Path):
    """A student trained on gold alone (teacher None) or distilled from the teacher through the raw text."""
    layers = student_kinds(args.student_layers)[kind]
    config = CONFIGS / f"{'cnn' if layers is None else 'small'}-{task}.cfg"
    if layers is None:
        overrides = ["--training.max_steps", steps, "--training.eval_frequency", max(1, steps // 4)]
    else:
        overrides = schedule(steps) + ["--components.transformer.model.layers", layers]
    if teacher is None:
        command = ([TRF_PYTHON, "-m", "spacy", "train", config] if layers is None
                   else [TRFTRAIN, "train", config, "--overwrite"])
        command += ["--output", out, "--paths.train", train, "--paths.dev", dev, *overrides]
    else:
        command = [TRFTRAIN, "distill", teacher, config, "--raw", args.raw, "--output", out, "--overwrite",
                   "--gold", train,
                   "--dev", dev, "--cache", out.parent / "cache",  # one teacher pass for both student kinds
                   "--temperature", args.temperature, "--gold-fraction", args.gold_fraction, *overrides]
    info = measured(command, out.parent / f"{out.name}-run.json", log)
    return {"train_seconds": info["seconds"], "train_peak_rss_mb": info["peak_rss_mb"]}


def scores(model: Path, data: Path, teacher, log: Path) -> dict:
    result = {"accuracy": last_json_line([TRF_PYTHON, BENCH / "accuracy.py", model, data], log)}
    if teacher is not None:
        target = model.parent / f"agreement-{data.stem}.json"
        run([TRFTRAIN, "evaluate", model, data, "--teacher", teacher, "--output", target], log)
        result["agreement"] = json.loads(target.read_text())["teacher_agreement"]
    return result


def speeds(models: dict, dev: Path, rounds: int, log: Path) -> dict:
    """words/s per model: median over rounds that run every model once in turn (the machine drifts)."""
    values = {name: [] for name in models}
    for _ in range(rounds):
        for name, model in models.items():
            values[name].append(last_json_line([TRF_PYTHON, BENCH / "pipe_speed.py", model, dev, 64, "--passes=1"],
                                               log)["wps"])
    return {name: {"wps": round(statistics.median(v)), "rounds": v} for name, v in values.items()}


def bench_task(task: str, mode: dict, args, work: Path, log: Path, *, few_label: bool = False) -> dict:
    corpus, _ = TASKS[task]
    dev, test = DATA / f"{corpus}-dev.spacy", DATA / f"{corpus}-test.spacy"
    train = DATA / f"{mode['train'][corpus]}.spacy"
    work.mkdir(parents=True, exist_ok=True)
    result = {"train": str(train)}
    if few_label:
        train = work / "gold-500.spacy"
        result["train"] = f"first {first_sentences(DATA / f'{corpus}-train.spacy', 500, train)} gold sentences"
    teacher = Path(args.teachers[task]) if task in args.teachers and not few_label else work / "teacher" / "model-best"
    if not teacher.exists():
        print(f"[{work.name}] teacher: {mode['teacher_steps']} steps on {result['train']}", flush=True)
        result["teacher_training"] = train_teacher(task, train, dev, mode["teacher_steps"], teacher.parent, log)
    models = {"teacher": teacher}
    for kind, layers in student_kinds(args.student_layers).items():
        steps = mode["cnn_steps" if layers is None else "small_steps"]
        for variant, source in (("gold", None), ("distilled", teacher)):
            out = work / f"{kind}-{variant}"
            if not (out / "model-best").exists():
                print(f"[{work.name}] {kind} student, {variant}: {steps} steps", flush=True)
                shutil.rmtree(out, ignore_errors=True)
                result[f"{kind}-{variant}-training"] = train_student(kind, task, source, train, dev, steps, out,
                                                                    args, log)
            models[f"{kind}-{variant}"] = out / "model-best"
    for name, model in models.items():
        print(f"[{work.name}] scoring {name}", flush=True)
        result[name] = {"dev": scores(model, dev, None if name == "teacher" else teacher, log)}
        if mode["test"]:
            result[name]["test"] = scores(model, test, None, log)
    if not few_label:
        print(f"[{work.name}] words/s, {mode['rounds']} rounds", flush=True)
        for name, speed in speeds(models, dev, mode["rounds"], log).items():
            result[name]["speed"] = speed
    return result


def dev_score(result: dict, name: str, metric: str) -> float:
    return 100 * (result[name]["dev"]["accuracy"].get(metric) or 0.0)


def table(record: dict) -> str:
    """Dev scores, words/s and agreement per task and model, then the issue's targets per student kind."""
    lines = ["| task | model | dev | vs teacher | vs gold-only | words/s | x teacher | agreement |",
             "|---|---|---|---|---|---|---|---|"]
    kinds = list(student_kinds(record["student_layers"]))
    met = {kind: {"speed_and_loss": [], "beats_gold": []} for kind in kinds}
    for key, result in record["results"].items():
        metric = TASKS[key.replace("few-", "")][1][0]
        teacher, teacher_wps = dev_score(result, "teacher", metric), result["teacher"].get("speed", {}).get("wps")
        for name in ["teacher"] + [f"{k}-{v}" for k in kinds for v in ("gold", "distilled")]:
            value = dev_score(result, name, metric)
            versus_gold = value - dev_score(result, name.replace("distilled", "gold"), metric)
            wps = result[name].get("speed", {}).get("wps")
            agreement = result[name]["dev"].get("agreement", {})
            agreed = agreement.get(metric, agreement.get("cats_agreement_textcat"))
            ratio = wps / teacher_wps if wps and teacher_wps else None
            lines.append(f"| {key} | {name} | {metric} {value:.1f} | {value - teacher:+.1f} | {versus_gold:+.1f} | "
                         f"{wps or '-'} | {f'{ratio:.1f}x' if ratio else '-'} | "
                         f"{f'{100 * agreed:.1f}' if agreed is not None else '-'} |")
            if name.endswith("distilled") and not key.startswith("few-"):
                kind = name.split("-")[0]
                if ratio is not None and ratio >= 4 and value >= teacher - 2:
                    met[kind]["speed_and_loss"].append(key)
                if versus_gold >= 2:
                    met[kind]["beats_gold"].append(key)
    lines.append("")
    for kind, found in met.items():
        lines.append(f"{kind}: >= 4x the teacher's words/s within 2 points of it on {found['speed_and_loss'] or 'no task'}; "
                     f"+2 points over gold-only on {found['beats_gold'] or 'no task'} (target: two of three tasks)")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer steps and raw texts (about an hour on 2 cores)")
    parser.add_argument("--tasks", default="tagger_parser,ner,textcat")
    parser.add_argument("--teachers", default="", help="task=PIPELINE,... trained teachers to use instead of training")
    parser.add_argument("--teacher-steps", type=int, help="steps of the teachers trained here (mode default)")
    parser.add_argument("--cnn-steps", type=int, help="steps of the spaCy CNN students (mode default)")
    parser.add_argument("--small-steps", type=int, help="steps of the small trftrain students (mode default)")
    parser.add_argument("--raw-per-corpus", type=int, help="raw texts per corpus, 0 for all (mode default)")
    parser.add_argument("--few-label-tasks", help="tasks of the few-label case, comma-separated ('' for none)")
    parser.add_argument("--student-layers", default="2",
                        help="encoder layers of the small students; several (2,1) train one pair of students each")
    parser.add_argument("--temperature", type=float, default=2.0)
    parser.add_argument("--gold-fraction", type=float, default=0.25)
    parser.add_argument("--dev-limit", type=int, default=0, help="score on the first N dev/test docs (0: all)")
    parser.add_argument("--reuse", action="store_true", help="keep what an earlier run of this mode left in work/")
    parser.add_argument("--name", default=platform.node() or "machine", help="Machine label for the results.")
    args = parser.parse_args()
    mode_name = "quick" if args.quick else "full"
    mode = dict(MODES[mode_name])
    for key in ("teacher_steps", "cnn_steps", "small_steps", "raw_per_corpus"):
        if getattr(args, key) is not None:
            mode[key] = getattr(args, key)
    if args.few_label_tasks is not None:
        mode["few_label_tasks"] = [t for t in args.few_label_tasks.split(",") if t]
    args.student_layers = [int(n) for n in str(args.student_layers).split(",") if n]
    args.teachers = dict(item.split("=", 1) for item in args.teachers.split(",") if item)
    work = BENCH / "work" / f"distill-{mode_name}"
    if not args.reuse:
        shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True, exist_ok=True)
    log = work / "bench.log"
    if not all((DATA / f"{name}.spacy").exists() for name in RAW_CORPORA + ["ewt-train-2k", "sst2-dev"]):
        run([TRF_PYTHON, ROOT / "corpora" / "prepare.py", "--source", ROOT.parent / "shared" / "corpora"], log)
    if args.dev_limit:
        limit_dev(args.dev_limit, work)
    args.raw = work / "raw.txt"
    record = {"command": "python bench/distill.py " + " ".join(sys.argv[1:]), "mode": mode_name, "settings": mode,
              "student_layers": args.student_layers, "temperature": args.temperature,
              "gold_fraction": args.gold_fraction, "machine": machine(),
              "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
              "commit": subprocess.run(["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True,
                                       cwd=ROOT).stdout.strip(), "results": {}}
    record["raw"] = write_raw(args.raw, mode["raw_per_corpus"])
    target = BENCH / "results" / f"distill-{args.name}-{mode_name}.json"
    target.parent.mkdir(exist_ok=True)
    runs = ([(task, False) for task in args.tasks.split(",") if task]
            + [(task, True) for task in mode["few_label_tasks"]])
    for task, few_label in runs:  # written after each task: a failure later keeps what was measured
        key = f"few-{task}" if few_label else task
        record["results"][key] = bench_task(task, mode, args, work / key, log, few_label=few_label)
        target.write_text(json.dumps(record, indent=2))
    print(table(record))
    print(f"Raw figures: {target}")


def limit_dev(n: int, work: Path) -> None:
    """Point DATA at a copy whose dev and test sets hold their first n docs (to check the script quickly)."""
    global DATA
    small = work / "data"
    small.mkdir(exist_ok=True)
    for path in DATA.glob("*.spacy"):
        target = small / path.name
        if "-dev" in path.name or "-test" in path.name:
            DocBin(docs=docs_of(path)[:n], store_user_data=True).to_disk(target)
        elif not target.exists():
            target.symlink_to(path)
    DATA = small


if __name__ == "__main__":
    main()
