"""`trftrain annotate`: records equal to nlp.pipe from every input format into every output format, resuming after a
crash writes each record once, bad records reach the errors file with their line, worker processes and Ray give the
same records as a run in this process."""
import csv
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import spacy
from pipelines import gold_docs, write_config
from spacy.tokens import DocBin
from typer.testing import CliRunner

from trftrain.annotation import annotate
from trftrain.annotation.annotator import BatchAnnotator
from trftrain.annotation.progress import Progress
from trftrain.cli.app import app
from trftrain.errors import TrftrainError
from trftrain.training.loop import train

BATCH, SHARD = 16, 48  # shards hold whole batches, so nlp.pipe over all texts sees the same batches
NAMES = ["Anna", "Apple", "Berlin", "Paris", "Maria", "Google", "Tom"]
TEMPLATES = ["{n} lives in Berlin. She likes it.", "{n} buys a small startup in Paris!", "The fox jumps.",
             "The {n} jumps .", "{n} and {m} buy a fox in {n} !"]


@pytest.fixture(scope="module")
def pipeline(tmp_path_factory, tiny_encoder):
    """Tagger, parser, NER and textcat on the tiny encoder, fitted enough to find entities in TEXTS."""
    root = tmp_path_factory.mktemp("annotate-pipeline")
    DocBin(docs=gold_docs() * 4).to_disk(root / "train.spacy")
    DocBin(docs=gold_docs()).to_disk(root / "dev.spacy")
    config = write_config(root, tiny_encoder, ["tagger", "parser", "ner", "textcat"])
    train(config, root / "run", overrides={"paths.train": str(root / "train.spacy"), "paths.dev": str(root / "dev.spacy"),
                                           "training.max_steps": 20, "training.eval_frequency": 20})
    return str(root / "run" / "model-last")


@pytest.fixture(scope="module")
def texts():
    return [TEMPLATES[i % len(TEMPLATES)].format(n=NAMES[i % 7], m=NAMES[(i * 3) % 7]) for i in range(160)]


@pytest.fixture(scope="module")
def expected(pipeline, texts):
    """What nlp.pipe gives for each text, in Doc.to_json's terms (an oracle independent of annotate's records)."""
    nlp = spacy.load(pipeline)
    return [doc.to_json() for doc in nlp.pipe(texts, batch_size=BATCH)]


def write_input(path: Path, kind: str, rows):
    """rows: dicts with "text" and "n"; written as .jsonl, .csv, .txt or .parquet."""
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    elif kind == "csv":
        with open(path, "w", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=["n", "text"])
            writer.writeheader()
            writer.writerows(rows)
    elif kind == "txt":
        path.write_text("".join(r["text"] + "\n" for r in rows), encoding="utf-8")
    else:
        pa = pytest.importorskip("pyarrow")
        import pyarrow.parquet as pq

        pq.write_table(pa.Table.from_pylist(rows), path, row_group_size=50)
    return path


def read_output(folder: Path):
    """The records of every shard, in shard order (the files whose names do not start with '.' or '_')."""
    records = []
    for path in sorted(p for p in folder.iterdir() if not p.name.startswith((".", "_"))):
        if path.suffix == ".jsonl":
            records += [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
        elif path.suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.read_table(path).to_pylist()
            records += [{**r, "meta": json.loads(r["meta"])} for r in rows]
        else:
            records += list(DocBin().from_disk(path).get_docs(spacy.blank("en").vocab))
    return records


def assert_matches(record, doc_json, text, kind, number):
    """One output record says what nlp.pipe said about its text."""
    if not isinstance(record, dict):  # a Doc from a DocBin shard
        assert record.to_json()["tokens"] == doc_json["tokens"] and record.text == text
        assert record.to_json()["ents"] == doc_json["ents"]
        assert record.cats == pytest.approx(doc_json["cats"], abs=1e-6)
        return
    assert record["text"] == text and record["id"] == f"in.{kind}:{number}"
    keys = ("start", "end", "tag", "pos", "head", "dep")
    assert [{k: t[k] for k in keys} for t in record["tokens"]] == [{k: t[k] for k in keys} for t in doc_json["tokens"]]
    assert [t["text"] for t in record["tokens"]] == [text[t["start"]:t["end"]] for t in doc_json["tokens"]]
    assert [(e["start"], e["end"], e["label"], e["text"]) for e in record["ents"]] == \
        [(e["start"], e["end"], e["label"], text[e["start"]:e["end"]]) for e in doc_json["ents"]]
    assert record["sents"] == [{"start": s["start"], "end": s["end"]} for s in doc_json["sents"]]
    assert record["cats"] == pytest.approx(doc_json["cats"], abs=1e-6)


@pytest.mark.parametrize("kind,output_format", [("jsonl", "jsonl"), ("csv", "parquet"), ("parquet", "parquet"),
                                                ("txt", "docbin")])
def test_records_equal_nlp_pipe(tmp_path, pipeline, texts, expected, kind, output_format):
    if "parquet" in (kind, output_format):
        pytest.importorskip("pyarrow")
    source = write_input(tmp_path / f"in.{kind}", kind, [{"text": t, "n": i} for i, t in enumerate(texts)])
    summary = annotate(pipeline, source, tmp_path / "out", output_format=output_format, batch_size=BATCH,
                       shard_size=SHARD, progress=False)
    assert summary["annotated"] == len(texts) and summary["shards"] == 4 and summary["bad"] == 0
    records = read_output(tmp_path / "out")
    assert len(records) == len(texts)
    assert any(doc_json["ents"] for doc_json in expected)  # the pipeline does find entities
    # CSV counts lines from the header; the others from the first record.
    first = 2 if kind == "csv" else 1
    for i, (record, doc_json, text) in enumerate(zip(records, expected, texts)):
        assert_matches(record, doc_json, text, kind, first + i)
        if isinstance(record, dict):
            assert record["meta"] == ({} if kind == "txt" else {"n": str(i) if kind == "csv" else i})


def test_columns_keep_only_what_was_asked(tmp_path, pipeline, texts):
    source = write_input(tmp_path / "in.jsonl", "jsonl", [{"text": t} for t in texts[:5]])
    annotate(pipeline, source, tmp_path / "out", columns=["id", "ents", "tokens.pos"], progress=False)
    record = read_output(tmp_path / "out")[0]
    assert list(record) == ["id", "tokens", "ents"] and set(record["tokens"][0]) == {"text", "start", "end", "pos"}


def test_bad_records_go_to_the_errors_file_with_their_line(tmp_path, pipeline):
    lines = [b'{"text": "Anna lives in Berlin."}', b'{"text": ""}', b'{"title": "no text"}', b"not json",
             b'{"text": "caf\xe9 in latin-1"}', b'{"text": null}', b'{"text": "' + b"word " * 30 + b'"}', b"",
             b'["a list"]', b'{"text": 17}', b'{"text": "The fox jumps."}']
    source = tmp_path / "in.jsonl"
    source.write_bytes(b"\n".join(lines) + b"\n")
    summary = annotate(pipeline, source, tmp_path / "out", max_chars=100, shard_size=4, progress=False)
    errors = [json.loads(line) for line in (tmp_path / "out" / "_errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["kind"]) for e in errors] == [
        (2, "empty_text"), (3, "missing_field"), (4, "invalid_json"), (5, "invalid_utf8"), (6, "null_text"),
        (7, "too_long"), (8, "empty_line"), (9, "not_an_object"), (10, "not_a_string")]
    assert all(e["source"] == "in.jsonl" and e["reason"] for e in errors)
    assert [r["id"] for r in read_output(tmp_path / "out")] == ["in.jsonl:1", "in.jsonl:11"]
    assert summary["bad"] == 9 and summary["annotated"] == 2 and summary["records"] == 11

    rows = tmp_path / "rows.csv"
    # A field over the csv module's own limit (128 KiB) must be a too_long record, not the end of the run.
    rows.write_text('text,n\n"Anna lives\nin Berlin.",1\nonly one field\n,3\nThe fox jumps.,4\n'
                    + "x" * 200_000 + ",5\n", encoding="utf-8")
    annotate(pipeline, rows, tmp_path / "out-csv", max_chars=100, progress=False)
    errors = [json.loads(line) for line in (tmp_path / "out-csv" / "_errors.jsonl").read_text().splitlines()]
    assert [(e["line"], e["kind"]) for e in errors] == [(4, "malformed_row"), (5, "empty_text"), (7, "too_long")]
    assert [r["id"] for r in read_output(tmp_path / "out-csv")] == ["rows.csv:2", "rows.csv:6"]


def test_resume_after_a_kill_writes_each_record_once(tmp_path, pipeline, texts):
    rows = [{"text": t if i % 50 != 7 else "", "n": i} for i, t in enumerate(texts)]
    source = write_input(tmp_path / "in.jsonl", "jsonl", rows)
    out = tmp_path / "out"
    # The child dies (SIGKILL: no cleanup) when the third shard is in place but not yet in the manifest, its bad
    # records already in the errors file: the worst moment for a resume.
    script = (
        "import os, signal\n"
        "from trftrain.annotation import annotate, output_folder\n"
        "append = output_folder.OutputFolder._append\n"
        "def dying_append(self, name, items):\n"
        "    if name == output_folder.MANIFEST and items[0]['shard'] == 'in-00002':\n"
        "        os.kill(os.getpid(), signal.SIGKILL)\n"
        "    append(self, name, items)\n"
        "output_folder.OutputFolder._append = dying_append\n"
        f"annotate({pipeline!r}, {str(source)!r}, {str(out)!r}, batch_size={BATCH}, shard_size={SHARD}, progress=False)\n"
    )
    child = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300,
                           env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert child.returncode == -9, child.stderr
    manifest = (out / "_manifest.jsonl").read_text().splitlines()
    assert [json.loads(line)["shard"] for line in manifest[1:]] == ["in-00000", "in-00001"]
    assert (out / "in-00002.jsonl").exists()  # whole (renamed into place), but not yet recorded as done

    summary = annotate(pipeline, source, out, batch_size=BATCH, shard_size=SHARD, progress=False)
    assert summary["shards_resumed"] == 2 and summary["this_run"]["records"] == len(texts) - 2 * SHARD
    ids = [r["id"] for r in read_output(out)]
    assert ids == [f"in.jsonl:{i + 1}" for i, row in enumerate(rows) if row["text"]]
    errors = [json.loads(line) for line in (out / "_errors.jsonl").read_text().splitlines()]
    assert [e["line"] for e in errors] == [i + 1 for i, row in enumerate(rows) if not row["text"]]
    assert not list(out.glob(".*.partial"))


def test_ctrl_c_keeps_complete_shards_only(tmp_path, pipeline, texts, monkeypatch):
    source = write_input(tmp_path / "in.jsonl", "jsonl", [{"text": t} for t in texts])
    calls = {"n": 0}
    original = BatchAnnotator.__call__

    def interrupted(self, plan, records):
        calls["n"] += 1
        if calls["n"] == 5:  # the second batch of the second shard
            raise KeyboardInterrupt
        return original(self, plan, records)

    monkeypatch.setattr(BatchAnnotator, "__call__", interrupted)
    with pytest.raises(KeyboardInterrupt):
        annotate(pipeline, source, tmp_path / "out", batch_size=BATCH, shard_size=SHARD, progress=False)
    assert sorted(p.name for p in (tmp_path / "out").iterdir() if not p.name.startswith("_")) == [".lock", "in-00000.jsonl"]
    monkeypatch.setattr(BatchAnnotator, "__call__", original)
    summary = annotate(pipeline, source, tmp_path / "out", batch_size=BATCH, shard_size=SHARD, progress=False)
    assert summary["shards_resumed"] == 1 and len(read_output(tmp_path / "out")) == len(texts)


def same_records(a, b):
    assert len(a) == len(b)
    for x, y in zip(a, b):
        assert {k: v for k, v in x.items() if k != "cats"} == {k: v for k, v in y.items() if k != "cats"}
        assert x["cats"] == pytest.approx(y["cats"], abs=1e-5)


@pytest.mark.slow
def test_worker_processes_give_the_same_records(tmp_path, pipeline, texts):
    source = write_input(tmp_path / "in.jsonl", "jsonl", [{"text": t, "n": i} for i, t in enumerate(texts)])
    annotate(pipeline, source, tmp_path / "one", batch_size=BATCH, shard_size=SHARD, progress=False)
    summary = annotate(pipeline, source, tmp_path / "two", batch_size=BATCH, shard_size=SHARD, n_process=2,
                       progress=False)
    assert summary["annotated"] == len(texts)
    same_records(read_output(tmp_path / "one"), read_output(tmp_path / "two"))


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, logging_level="ERROR")
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_gives_the_same_records_as_a_local_run(tmp_path, pipeline, texts, local_ray):
    import trftrain.ray

    rows = [{"text": t if i != 70 else "", "n": i} for i, t in enumerate(texts)]
    source = write_input(tmp_path / "in.jsonl", "jsonl", rows)
    annotate(pipeline, source, tmp_path / "local", batch_size=BATCH, shard_size=SHARD, progress=False)
    summary = annotate(pipeline, source, tmp_path / "ray", batch_size=BATCH, shard_size=SHARD, ray=True, n_process=2,
                       progress=False)
    assert summary["annotated"] == len(texts) - 1 and summary["bad"] == 1
    local = read_output(tmp_path / "local")
    same_records(local, read_output(tmp_path / "ray"))
    assert [p.name for p in sorted((tmp_path / "ray").glob("in-*.jsonl"))] == [f"in-0000{i}.jsonl" for i in range(4)]
    assert (tmp_path / "ray" / "_errors.jsonl").read_text() == (tmp_path / "local" / "_errors.jsonl").read_text()

    dataset = local_ray.data.from_items(rows[60:80])  # row 70 has an empty text
    annotated = trftrain.ray.annotate(dataset, pipeline, columns=["ents", "tokens.tag"], batch_size=BATCH,
                                      concurrency=1).take_all()
    assert [r["n"] for r in annotated] == list(range(60, 80))
    assert [r["ents"] for r in annotated if r["text"]] == [r["ents"] for r in local[60:79]]
    assert [[t["tag"] for t in r["tokens"]] for r in annotated if r["text"]] == \
        [[t["tag"] for t in r["tokens"]] for r in local[60:79]]
    assert [(r["annotate_error"], r["ents"]) for r in annotated if not r["text"]] == [("the text is empty", None)]
    assert all(r["annotate_error"] is None for r in annotated if r["text"])


runner = CliRunner()


def test_cli_annotates_and_reports(tmp_path, pipeline, texts):
    source = write_input(tmp_path / "in.txt", "txt", [{"text": t} for t in texts[:20]] + [{"text": ""}])
    result = runner.invoke(app, ["annotate", pipeline, str(source), str(tmp_path / "out.jsonl"), "-q"])
    assert result.exit_code == 0, result.output
    assert "20 texts annotated into 1 jsonl shard(s)" in result.output and "empty_text 1" in result.output
    again = runner.invoke(app, ["annotate", pipeline, str(source), str(tmp_path / "out.jsonl"), "-q"])
    assert "nothing left to do" in again.output


def test_cli_errors_are_one_coded_line(tmp_path, pipeline):
    def error_of(*args):
        result = runner.invoke(app, ["annotate", *map(str, args)])
        assert result.exit_code == 1
        return result.output

    rows = write_input(tmp_path / "rows.csv", "csv", [{"text": "a", "n": 1}])
    assert "[E603]" in error_of(pipeline, rows, tmp_path / "o1", "--text-field", "body") and "n, text" in \
        error_of(pipeline, rows, tmp_path / "o1", "--text-field", "body")
    assert "[E600]" in error_of(pipeline, tmp_path / "missing.jsonl", tmp_path / "o2")
    assert "[E617]" in error_of(tmp_path / "no-pipeline", rows, tmp_path / "o3")
    (tmp_path / "busy").mkdir()
    (tmp_path / "busy" / "notes.txt").write_text("mine")
    assert "[E610]" in error_of(pipeline, rows, tmp_path / "busy")
    assert (tmp_path / "busy" / "notes.txt").read_text() == "mine"
    assert "[E608]" in error_of(pipeline, rows, tmp_path / "o4", "--columns", "ents,tokens.colour")
    assert "[E616]" in error_of(pipeline, rows, tmp_path / "o5", "--address", "auto")


def test_progress_line_shows_texts_words_per_second_and_time_left():
    stream = io.StringIO()
    progress = Progress(total=1000, already=100, stream=stream)
    progress.started -= 10  # ten seconds into the run
    progress.update(400, 8000)
    line = progress.line()
    assert "500/1,000 texts" in line and "50.0%" in line and "800 words/s" in line and "00:12 left" in line
    assert stream.getvalue().startswith("500/1,000 texts")  # not a terminal: plain lines


def test_core_needs_neither_ray_nor_pyarrow(tmp_path, pipeline, monkeypatch):
    code = ("import sys, trftrain, trftrain.ray, trftrain.annotation, trftrain.cli.app; "
            "print(sorted(m for m in ('ray', 'pyarrow') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "[]"
    monkeypatch.setitem(sys.modules, "pyarrow", None)  # as if it were not installed
    source = write_input(tmp_path / "in.jsonl", "jsonl", [{"text": "The fox jumps."}])
    with pytest.raises(TrftrainError, match=r"\[E605\] Parquet output needs pyarrow"):
        annotate(pipeline, source, tmp_path / "out", output_format="parquet", progress=False)


def test_other_settings_on_a_finished_run_are_refused_until_overwrite(tmp_path, pipeline, texts):
    source = write_input(tmp_path / "in.jsonl", "jsonl", [{"text": t} for t in texts[:8]])
    annotate(pipeline, source, tmp_path / "out", shard_size=4, progress=False)
    with pytest.raises(TrftrainError, match=r"\[E611\].*shard_size: 4 then, 8 now"):
        annotate(pipeline, source, tmp_path / "out", shard_size=8, progress=False)
    summary = annotate(pipeline, source, tmp_path / "out", shard_size=8, overwrite=True, progress=False)
    assert summary["shards"] == 1 and summary["shards_resumed"] == 0
    assert sorted(p.name for p in (tmp_path / "out").glob("in-*")) == ["in-00000.jsonl"]
