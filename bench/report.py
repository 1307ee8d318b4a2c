"""Render bench/RESULTS.md from the raw figures in bench/results/*.json (one table per machine and run).

    python bench/report.py
"""
import json
from pathlib import Path

BENCH = Path(__file__).parent
TARGETS = {
    "train_wps": (">= 1.5x", lambda r: r >= 1.5),
    "inference_wps": (">= 2.0x", lambda r: r >= 2.0),
    "train_peak_rss_mb": ("<= 0.6x", lambda r: r <= 0.6),
}
ACCURACY = {"tag_acc": "+10 points", "dep_uas": "", "dep_las": "+8 points", "sents_f": "+5 points", "ents_f": ">= anchor",
            "cats_accuracy": ">= anchor", "cats_score": ""}


def hardware(m: dict) -> str:
    """CPU, cores and (recorded since 2026-11-29) the features that decide bf16 and int8 speed."""
    flags = m.get("cpu_flags")
    if flags is None:
        return f"{m['cpu']} · {m['cores']} cores"
    return f"{m['cpu']} · {m['cores']} cores · {', '.join(flags) if flags else 'no bf16/int8 matrix instructions'}"


def spread(result: dict, key: str) -> str:
    """The figure, and the range of the rounds it is the median of, where it was measured in rounds."""
    rounds = result.get(key + "_rounds")
    return f"{result[key]:,}" + (f" ({min(rounds):,}-{max(rounds):,})" if rounds else "")


def long_table(record: dict) -> str:
    m = record["machine"]
    lines = [f"### Long mode, {record['started']} (commit {record.get('commit', '?')}) · {hardware(m)}",
             f"`{record['command']}`: up to {record['steps']} steps on the full training sets, best dev model "
             "scored on test." + (f" Note: {record['note']}." if record.get("note") else ""), "", "| task | system | test scores | training s | peak RSS MB |", "|---|---|---|---|---|"]
    for task, result in record["results"].items():
        for system in ("trftrain", "anchor"):
            if system in result:
                r = result[system]
                cells = ", ".join(f"{k} {100 * v:.1f}" for k, v in r["test"].items())
                lines.append(f"| {task} | {system} | {cells} | {r['train_seconds']:.0f} | {r['peak_rss_mb']:,} |")
        lines.append(f"| {task} | published | {result['published']} | | |")
    return "\n".join(lines) + "\n"


def encoders_table(record: dict) -> str:
    m = record["machine"]
    shared, private = record["results"]["multitask"]["shared"], record["results"]["multitask"]["private"]
    lines = [f"### Shared vs private encoders, {record['started']} (commit {record.get('commit', '?')}) · {hardware(m)}",
             f"`{record['command']}`: `configs/multitask-shared.cfg` (seven heads on one encoder) against "
             f"`configs/multitask-private.cfg` (one encoder copy per head), {record['steps']} steps; seconds per step "
             "= (time of those steps - time of one step) / (steps - 1).", "",
             "| | shared | private | private / shared |", "|---|---|---|---|"]
    for key, label in (("seconds_per_step", "seconds per step"), ("seconds", f"wall time of {record['steps']} steps, s"),
                       ("peak_rss_mb", "peak RSS, MB")):
        lines.append(f"| {label} | {shared[key]:,} | {private[key]:,} | {private[key] / shared[key]:.1f}x |")
    return "\n".join(lines) + "\n"


def seeds_table(record: dict) -> str:
    """Per seed, then mean and range: the spread of one system over seeds against the gap between systems."""
    m = record["machine"]
    lines = [f"### Seeds, {record['started']} (commit {record.get('commit', '?')}) · {hardware(m)}",
             f"`{record['command']}`: dev scores after {record['steps']} steps, the same settings as the "
             "equal-steps runs but for `system.seed`.", ""]
    for task, result in record["results"].items():
        systems = [s for s in ("trftrain", "anchor") if s in result]
        keys = [k for k in ACCURACY if k in result[systems[0]][0]["accuracy"] and ACCURACY[k]]
        lines += [f"**{task}**", "", "| seed | " + " | ".join(f"{s} {k}" for k in keys for s in systems) + " |",
                  "|---" * (1 + len(keys) * len(systems)) + "|"]
        for index, run in enumerate(result[systems[0]]):
            cells = [f"{100 * result[s][index]['accuracy'][k]:.1f}" for k in keys for s in systems]
            lines.append(f"| {run['seed']} | " + " | ".join(cells) + " |")
        summary = []
        for k in keys:
            for s in systems:
                values = [100 * r["accuracy"][k] for r in result[s]]
                summary.append(f"{sum(values) / len(values):.1f} ({min(values):.1f}-{max(values):.1f})")
        lines += ["| mean (range) | " + " | ".join(summary) + " |", ""]
    return "\n".join(lines) + "\n"


def table(record: dict) -> str:
    if record.get("mode") == "long":
        return long_table(record)
    if record.get("mode") == "seeds":
        return seeds_table(record)
    if record.get("mode") == "encoders":
        return encoders_table(record)
    m = record["machine"]
    lines = [f"### {record['started']} (commit {record.get('commit', 'before the first recorded commit')}) · "
             f"{hardware(m)}",
             f"`{record['command']}` — Python {m['python']}, torch {m['torch']}, transformers {m['transformers']} "
             f"(trftrain side), spaCy {m['spacy']}; anchor: spaCy 3.8.18 + spacy-transformers 1.4.0 + transformers "
             f"4.53.2, same torch. {record['steps']} steps, padded batches of 1,000 words, all-MiniLM-L6-v2."
             + (f" Note: {record['note']}." if record.get("note") else ""), ""]
    for task, result in record["results"].items():
        trf, anchor = result.get("trftrain", {}), result.get("anchor", {})
        lines += [f"**{task}**", "", "| metric | trftrain | anchor | ratio / gap | target | met |", "|---|---|---|---|---|---|"]
        for key, label in (("train_wps", "training words/s"), ("inference_wps", "inference words/s (nlp.pipe, batch 64)" + (
                               f"; median (range) of {len(trf['inference_wps_rounds'])} alternating rounds" if "inference_wps_rounds" in trf else "")),
                           ("train_peak_rss_mb", "peak RSS training, MB")):
            a, t = anchor.get(key), trf.get(key)
            ratio = t / a if a and t else None
            target, check = TARGETS[key]
            lines.append(f"| {label} | {spread(trf, key)} | {spread(anchor, key)} | {ratio:.2f}x | {target} | "
                         f"{'yes' if check(ratio) else 'no'} |" if ratio else f"| {label} | {t} | {a} | | {target} | |")
        if "inference_wps_int8" in trf:
            a = anchor.get("inference_wps")
            lines.append(f"| inference words/s, int8 encoder | {spread(trf, 'inference_wps_int8')} | {a:,} | "
                         f"{trf['inference_wps_int8'] / a:.2f}x | >= 3x | {'yes' if trf['inference_wps_int8'] / a >= 3 else 'no'} |"
                         if a else f"| inference words/s, int8 | {trf['inference_wps_int8']:,} | | | | |")
        for key, target in ACCURACY.items():
            t, a = trf.get("accuracy", {}).get(key), anchor.get("accuracy", {}).get(key)
            if t is None:
                continue
            gap = f"{100 * (t - a):+.1f}" if a is not None else ""
            met = ""
            if a is not None and target.startswith("+"):
                met = "yes" if 100 * (t - a) >= float(target[1:].split()[0]) else "no"
            elif a is not None and target.startswith(">="):
                met = "yes" if t >= a else "no"
            lines.append(f"| dev {key} | {100 * t:.1f} | {'' if a is None else f'{100 * a:.1f}'} | {gap} | {target} | {met} |")
        if "accuracy_int8" in trf:
            cells = ", ".join(f"{k} {100 * v:.1f}" for k, v in trf["accuracy_int8"].items())
            lines.append(f"| dev scores with int8 encoder | {cells} | | | loss <= 0.5 | |")
        if "accuracy_fp32_inference" in trf:
            cells = ", ".join(f"{k} {100 * v:.1f}" for k, v in trf["accuracy_fp32_inference"].items())
            lines.append(f"| dev scores, same model predicting in fp32 (above: bf16) | {cells} | | | | |")
        lines.append("")
    return "\n".join(lines)


def main() -> None:
    records = [json.loads(p.read_text()) for p in sorted((BENCH / "results").glob("*.json"))]
    # The anchor comparisons (bench/run.py); the other benches' figures are quoted in RESULTS.head.md's sections.
    records = [r for r in records if "started" in r and "steps" in r]
    head = (BENCH / "RESULTS.head.md").read_text() if (BENCH / "RESULTS.head.md").exists() else "# Benchmark results\n"
    body = "\n".join(table(r) for r in sorted(records, key=lambda r: r["started"], reverse=True))
    (BENCH / "RESULTS.md").write_text(head + "\n" + body + "\n")


if __name__ == "__main__":
    main()
