"""`trftrain serve` on loopback against the same pipeline run locally (issue 11's measurement).

Per pipeline: local nlp.pipe(batch_size=64) words/s and local one-doc latency; then a `trftrain serve` started here
(or --url, e.g. a GPU box); one doc at a time through the local and the remote pipeline in turn (the added latency
with the machine's drift cancelled); and 1, 8 and 32 concurrent clients, each sending one 10-sentence doc at a
time through trftrain.load_remote: words/s (and its ratio to local), client-side p50/p99 latency, the server's batch fill and
requests per batch (from /metrics), msgpack body bytes per word both ways, and the share of tokens whose labels
(tag, POS, morph, head, dep, entity) equal the local pipeline's. Clients are threads spread over a few processes.

    python bench/serve.py --pipeline training/tp/model-best --pipeline training/ner/model-best \\
        --data corpora/converted/ewt-dev.spacy --data corpora/converted/conll-dev.spacy

One --data per --pipeline (or one for all). Writes bench/results/serve-<label>.json and prints a table.
"""
import argparse
import json
import multiprocessing
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Dict, List

from machine import machine

RESULTS = Path(__file__).parent / "results"


# -- texts and labels ----------------------------------------------------------------------------------------------


def ten_sentence_texts(data: str, nlp, sentences: int, limit: int) -> List[str]:
    """Texts of `sentences` consecutive sentences of the corpus (its docs' sentences, or its docs as sentences)."""
    from spacy.tokens import DocBin

    pieces = []
    for doc in DocBin().from_disk(data).get_docs(nlp.vocab):
        if doc.has_annotation("SENT_START") or doc.has_annotation("DEP"):
            pieces.extend(sent.text for sent in doc.sents if sent.text.strip())
        elif doc.text.strip():
            pieces.append(doc.text)
    texts = [" ".join(pieces[i : i + sentences]) for i in range(0, len(pieces) - sentences + 1, sentences)]
    return texts[:limit]


def labels(doc) -> List[tuple]:
    """Per token: what each head decided."""
    return [(t.tag_, t.pos_, str(t.morph), t.head.i - t.i, t.dep_, t.ent_iob_, t.ent_type_) for t in doc]


def percentile(values: List[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))] if ordered else float("nan")


# -- clients -------------------------------------------------------------------------------------------------------


def client_process(pipeline, url, texts, indices_per_thread, ready, start_event, results, token, torch_threads,
                   precision):
    """One process: a remote pipeline shared by its threads, each a client sending one doc at a time."""
    import torch

    import trftrain

    torch.set_num_threads(torch_threads)
    nlp = trftrain.load_remote(pipeline, url=url, token=token)
    if precision:  # the heads' own precision (the parser's relation classifier), as the local pipeline's
        trftrain.set_inference_precision(nlp, precision)
    nlp(texts[0])  # warm-up: connections, lazy imports
    client = nlp.get_pipe("transformer").encoder.backbone.client
    client.bytes_sent = client.bytes_received = 0
    outcome = {"latencies": [], "labels": {}, "words": 0, "end": 0.0, "errors": []}
    lock = threading.Lock()

    def run(indices):
        try:
            for index in indices:
                begin = time.perf_counter()
                doc = nlp(texts[index])
                spent = time.perf_counter() - begin
                with lock:
                    outcome["latencies"].append(spent)
                    outcome["labels"][index] = labels(doc)
                    outcome["words"] += len(doc)
        except Exception as err:  # reported to the parent, which fails the run
            outcome["errors"].append(repr(err))

    threads = [threading.Thread(target=run, args=(indices,)) for indices in indices_per_thread]
    ready.put(os.getpid())
    start_event.wait()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    outcome["end"] = time.time()
    outcome["bytes"] = client.bytes_sent + client.bytes_received
    results.put(outcome)


def run_clients(pipeline, url, texts, n_clients, n_processes, token, precision="") -> dict:
    context = multiprocessing.get_context("spawn")
    start_event, ready, results = context.Event(), context.Queue(), context.Queue()
    clients = [list(range(i, len(texts), n_clients)) for i in range(n_clients)]
    per_process = [clients[p::n_processes] for p in range(n_processes)]
    per_process = [threads for threads in per_process if threads]
    # The client processes share the cores as a local nlp.pipe has them: one process alone gets all of them.
    torch_threads = max(1, len(os.sched_getaffinity(0)) // len(per_process))
    processes = [context.Process(target=client_process, args=(pipeline, url, texts, threads, ready, start_event,
                                                              results, token, torch_threads, precision))
                 for threads in per_process]
    for process in processes:
        process.start()
    _gather(ready, processes)  # every process has loaded its pipeline before the clock starts
    began = time.time()
    start_event.set()
    outcomes = _gather(results, processes)
    for process in processes:
        process.join()
    errors = [e for o in outcomes for e in o["errors"]]
    if errors:
        raise RuntimeError(f"{len(errors)} client errors, first: {errors[0]}")
    seconds = max(o["end"] for o in outcomes) - began
    latencies = [x for o in outcomes for x in o["latencies"]]
    words = sum(o["words"] for o in outcomes)
    return {"seconds": seconds, "words": words, "wps": words / seconds, "latencies": latencies,
            "labels": {k: v for o in outcomes for k, v in o["labels"].items()},
            "bytes": sum(o["bytes"] for o in outcomes)}


def _gather(queue, processes) -> list:
    """One item from each process; fails when a process died instead of answering."""
    import queue as queues

    items = []
    while len(items) < len(processes):
        try:
            items.append(queue.get(timeout=1.0))
        except queues.Empty:
            if any(p.exitcode not in (None, 0) for p in processes):
                raise RuntimeError("a client process died; see its traceback above")
    return items


# -- server --------------------------------------------------------------------------------------------------------


def start_server(pipeline: str, port: int, gpu: int, extra: List[str], log: Path):
    import httpx

    command = [sys.executable, "-m", "trftrain", "serve", pipeline, "--port", str(port), "--gpu", str(gpu), *extra]
    handle = open(log, "w")
    process = subprocess.Popen(command, stdout=handle, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"trftrain serve exited:\n{log.read_text()}")
        try:
            if httpx.get(url + "/health", timeout=1).status_code == 200:
                return process, url
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    process.kill()
    raise RuntimeError("trftrain serve did not start in 300 s")


def scrape(url: str, token) -> Dict[str, float]:
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    totals: Dict[str, float] = {}
    for line in httpx.get(url + "/metrics", headers=headers, timeout=30).text.splitlines():
        if line and not line.startswith("#") and "_bucket" not in line:
            name = line.split("{", 1)[0].split(" ", 1)[0]
            totals[name] = totals.get(name, 0.0) + float(line.rsplit(" ", 1)[1])
    return totals


# -- one pipeline --------------------------------------------------------------------------------------------------


def measure(pipeline: str, data: str, args) -> dict:
    import spacy

    local = spacy.load(pipeline)
    if args.local_precision:
        import trftrain

        trftrain.set_inference_precision(local, args.local_precision)
    texts = ten_sentence_texts(data, local, args.sentences, args.docs)
    if not texts:
        raise SystemExit(f"{data} has fewer than {args.sentences} sentences")
    for _ in local.pipe(texts[: args.batch_size], batch_size=args.batch_size):  # warm-up
        pass
    began = time.perf_counter()
    local_docs = list(local.pipe(texts, batch_size=args.batch_size))
    local_seconds = time.perf_counter() - began
    words = sum(len(doc) for doc in local_docs)
    local_labels = [labels(doc) for doc in local_docs]
    single = []
    for text in texts[: args.latency_docs]:
        began = time.perf_counter()
        local(text)
        single.append(time.perf_counter() - began)
    result = {"pipeline": pipeline, "data": data, "docs": len(texts), "words": words,
              "local": {"batch_size": args.batch_size, "wps": words / local_seconds,
                        "one_doc_p50_ms": 1000 * percentile(single, 0.5),
                        "one_doc_p99_ms": 1000 * percentile(single, 0.99)},
              "remote": []}
    process = None
    url = args.url
    if url is None:
        port = args.port
        extra = ["--max-queue", str(max(256, 4 * max(args.clients)))] + args.server_arg
        process, url = start_server(pipeline, port, args.server_gpu, extra, RESULTS / f"serve-{args.label}.log")
    try:
        result["paired"] = paired_latency(local, pipeline, url, texts[: args.latency_docs], args.token,
                                          args.local_precision)
        del local
        for n in args.clients:
            before = scrape(url, args.token)
            run = run_clients(pipeline, url, texts, n, min(n, args.client_processes), args.token,
                              args.local_precision)
            after = scrape(url, args.token)
            delta = {k: after.get(k, 0.0) - before.get(k, 0.0) for k in after}
            batches = delta.get("trftrain_serve_batch_fill_count", 0.0)
            agree = sum(a == b for i, doc in run["labels"].items() for a, b in zip(doc, local_labels[i]))
            result["remote"].append({
                "clients": n, "wps": run["wps"], "vs_local": run["wps"] / result["local"]["wps"],
                "p50_ms": 1000 * percentile(run["latencies"], 0.5), "p99_ms": 1000 * percentile(run["latencies"], 0.99),
                "batch_fill": delta.get("trftrain_serve_batch_fill_sum", 0.0) / batches if batches else None,
                "requests_per_batch": delta.get("trftrain_serve_batch_requests_sum", 0.0) / batches if batches else None,
                "wire_bytes_per_word": run["bytes"] / run["words"],
                "token_label_agreement": agree / max(1, sum(len(doc) for doc in run["labels"].values())),
                "refused": delta.get("trftrain_serve_requests_refused_total", 0.0)})
    finally:
        if process is not None:
            process.terminate()
            process.wait(timeout=60)
    first = next((r for r in result["remote"] if r["clients"] == 1), None)
    if first:
        result["one_client_added_latency"] = first["p50_ms"] / result["local"]["one_doc_p50_ms"] - 1
    return result


def paired_latency(local, pipeline: str, url: str, texts: List[str], token, precision="") -> dict:
    """One doc at a time, local and remote in turn in this process (which goes first alternates), so that the
    machine's drift over minutes falls on both alike: p50 of each and the median of the per-doc ratio."""
    import statistics

    import trftrain

    remote = trftrain.load_remote(pipeline, url=url, token=token)
    if precision:
        trftrain.set_inference_precision(remote, precision)
    for nlp in (remote, local):  # warm-up: connections, lazy imports
        nlp(texts[0])
    local_times, remote_times = [], []
    for i, text in enumerate(texts):
        for nlp, times in ((local, local_times), (remote, remote_times))[:: 1 if i % 2 == 0 else -1]:
            began = time.perf_counter()
            nlp(text)
            times.append(time.perf_counter() - began)
    return {"docs": len(texts), "local_p50_ms": 1000 * percentile(local_times, 0.5),
            "remote_p50_ms": 1000 * percentile(remote_times, 0.5),
            "added_latency": statistics.median(remote / here for remote, here in zip(remote_times, local_times)) - 1}


def table(results: List[dict]) -> str:
    lines = []
    for r in results:
        local = r["local"]
        lines.append(f"\n{r['pipeline']} on {r['data']} ({r['docs']} docs, {r['words']:,} words)")
        lines.append(f"  local nlp.pipe(batch_size={local['batch_size']}): {local['wps']:,.0f} words/s; one doc "
                     f"p50 {local['one_doc_p50_ms']:.1f} ms, p99 {local['one_doc_p99_ms']:.1f} ms")
        lines.append("  clients   words/s  vs local   p50 ms   p99 ms  batch fill  req/batch  bytes/word  agreement")
        for x in r["remote"]:
            fill = f"{x['batch_fill']:.2f}" if x["batch_fill"] is not None else "-"
            per = f"{x['requests_per_batch']:.1f}" if x["requests_per_batch"] is not None else "-"
            lines.append(f"  {x['clients']:>7} {x['wps']:>9,.0f} {x['vs_local']:>9.2f} {x['p50_ms']:>8.1f} "
                         f"{x['p99_ms']:>8.1f} {fill:>11} {per:>10} {x['wire_bytes_per_word']:>11,.0f} "
                         f"{100 * x['token_label_agreement']:>9.2f}%")
        if "one_client_added_latency" in r:
            lines.append(f"  one client's added latency over local: {100 * r['one_client_added_latency']:+.1f}%")
        if "paired" in r:
            p = r["paired"]
            lines.append(f"  paired, one doc at a time in turn ({p['docs']} docs): local p50 {p['local_p50_ms']:.1f} ms, "
                         f"remote p50 {p['remote_p50_ms']:.1f} ms, median added latency {100 * p['added_latency']:+.1f}%")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--pipeline", action="append", required=True, help="Trained pipeline folder or package.")
    parser.add_argument("--data", action="append", required=True, help=".spacy dev data, one per pipeline or one.")
    parser.add_argument("--clients", default="1,8,32", help="Concurrent client counts.")
    parser.add_argument("--client-processes", type=int, default=4, help="Processes the clients' threads share.")
    parser.add_argument("--docs", type=int, default=192, help="10-sentence docs per run.")
    parser.add_argument("--sentences", type=int, default=10)
    parser.add_argument("--batch-size", type=int, default=64, help="Local nlp.pipe batch size.")
    parser.add_argument("--latency-docs", type=int, default=48, help="Docs for the local one-doc latency.")
    parser.add_argument("--url", help="Use this server instead of starting one (it must serve each --pipeline).")
    parser.add_argument("--port", type=int, default=18080)
    parser.add_argument("--server-gpu", type=int, default=-1)
    parser.add_argument("--local-precision", default="",
                        help="Precision of the local pipeline and of the clients' heads (auto, bf16, fp16, off = fp32); "
                             "default the pipeline's own. The server's: --server-arg=--precision --server-arg=off.")
    parser.add_argument("--server-arg", action="append", default=[], help="Passed to trftrain serve (repeatable).")
    parser.add_argument("--token", default=os.environ.get("TRFTRAIN_SERVE_TOKEN"))
    parser.add_argument("--label", default=time.strftime("%Y%m%d-%H%M%S"), help="Names the results file.")
    args = parser.parse_args()
    args.clients = [int(n) for n in args.clients.split(",")]
    if len(args.data) not in (1, len(args.pipeline)):
        parser.error("give one --data, or one per --pipeline")
    RESULTS.mkdir(parents=True, exist_ok=True)
    datas = args.data * len(args.pipeline) if len(args.data) == 1 else args.data
    results = [measure(pipeline, data, args) for pipeline, data in zip(args.pipeline, datas)]
    output = RESULTS / f"serve-{args.label}.json"
    output.write_text(json.dumps({"machine": machine(), "command": " ".join(["python"] + sys.argv),
                                  "settings": {k: v for k, v in vars(args).items() if k != "token"},
                                  "results": results}, indent=2))
    print(table(results))
    print(f"\nWrote {output}")


if __name__ == "__main__":
    main()
