"""Converters on the bad input users have: broken trees, missing document markers, stray tabs, BOMs, nulls,
output over input. Each is a converted corpus that keeps what the file says, or an error naming file:line."""
import json
from pathlib import Path

import pytest
from pipelines import write_config
from spacy.tokens import Doc, DocBin
from spacy.vocab import Vocab
from typer.testing import CliRunner

from trftrain.cli.app import app
from trftrain.cli.convert import convert
from trftrain.errors import TrftrainError

SAMPLE = Path(__file__).parent.parent / "corpora" / "sample"


def read(path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def conllu(*sentences):
    """CoNLL-U text: each sentence a list of (form, head) pairs."""
    blocks = ["\n".join(f"{i}\t{form}\t{form}\tX\tX\t_\t{head}\t{'root' if head == 0 else 'dep'}\t_\t_"
                        for i, (form, head) in enumerate(sentence, start=1)) for sentence in sentences]
    return "# newdoc\n" + "\n\n".join(blocks) + "\n"


GOOD = [("a", 2), ("b", 0), ("c", 2)]


@pytest.mark.parametrize("bad,problem", [
    ([("a", 2), ("b", 0), ("c", 9)], r"the head of word 3 \(9\) is outside its sentence of 3 words"),
    ([("a", 2), ("b", 1), ("c", 0)], r"a cycle: 1 -> 2 -> 1"),
    ([("a", 0), ("b", 2), ("c", 2)], r"word 2 is its own head"),
    ([("a", 0), ("b", 1), ("c", 0)], r"2 roots \(words 1, 3\)"),
])
def test_conllu_sentences_that_are_not_trees_name_their_line(tmp_path, bad, problem):
    path = tmp_path / "bad.conllu"
    path.write_text(conllu(GOOD, bad, GOOD))  # the bad sentence starts on line 6
    with pytest.raises(TrftrainError, match=rf"\[E110\] .*bad.conllu:6: the sentence starting here is not one tree: "
                                            rf"{problem}"):
        convert(path, tmp_path / "out.spacy", "conllu")
    assert not (tmp_path / "out.spacy").exists()


def test_conllu_good_trees_still_convert_with_sentences_in_place(tmp_path):
    path = tmp_path / "good.conllu"
    path.write_text(conllu(GOOD, [("x", 0)], GOOD))
    (doc,) = read(tmp_path / "out.spacy") if convert(path, tmp_path / "out.spacy", "conllu") else []
    assert [s.start for s in doc.sents] == [0, 3, 4] and [t.head.i for t in doc] == [1, 1, 1, 3, 5, 5, 5]


def test_conllu_partial_parses_keep_every_sentence_boundary(tmp_path):
    """Found by the fuzzer: a root without DEPREL, or an unparsed sentence beside parsed ones, made spaCy join
    sentences (a word without a relation reads as one without a head)."""
    unlabelled_root = conllu(GOOD).replace("\t0\troot", "\t0\t_")
    unparsed = conllu(GOOD).replace("\t2\tdep", "\t_\t_").replace("\t0\troot", "\t_\t_")
    path = tmp_path / "partial.conllu"
    path.write_text(conllu(GOOD) + "\n" + unlabelled_root + "\n" + unparsed + "\n" + conllu(GOOD))
    convert(path, tmp_path / "out.spacy", "conllu")
    docs = read(tmp_path / "out.spacy")
    assert [[len(s) for s in doc.sents] for doc in docs] == [[3, 3], [3], [3]]
    assert [t.dep_ for t in docs[0]] == ["dep", "root", "dep"] * 2 and not docs[1].has_annotation("DEP")


def test_debug_data_reports_docs_whose_sentences_are_not_trees(tmp_path, tiny_encoder):
    from trftrain.debug_data import debug_data

    vocab = Vocab()
    good = Doc(vocab, words=["a", "b", "c"], heads=[1, 1, 1], deps=["dep", "root", "dep"])
    cycle = Doc(vocab, words=["a", "b", "c", "d"], heads=[1, 0, 3, 3], deps=["dep", "dep", "dep", "root"])
    self_loop = Doc(vocab, words=["a", "b", "c"], heads=[1, 1, 2], deps=["dep", "root", "nsubj"])
    DocBin(docs=[good, cycle, self_loop]).to_disk(tmp_path / "train.spacy")
    DocBin(docs=[good]).to_disk(tmp_path / "dev.spacy")
    config = write_config(tmp_path, tiny_encoder, ["parser"])
    report = debug_data(config, {"paths.train": str(tmp_path / "train.spacy"), "paths.dev": str(tmp_path / "dev.spacy")})
    (error,) = [e for e in report["errors"] if "not one tree" in e]
    assert error.startswith("1 sentences of the training data are not one tree each: doc 1, sentence 1: a cycle: "
                            "1 -> 2 -> 1.")
    (warning,) = [w for w in report["warnings"] if "relation other than root" in w]
    assert "doc 2, sentence 2: word 1 ('c') is a root with the relation 'nsubj'" in warning


def test_conll_ner_without_docstart_is_grouped_and_says_so(tmp_path):
    path = tmp_path / "wnut.txt"
    path.write_text("".join(f"Word{i} B-PER\nx O\n\n" for i in range(25)))
    notes = []
    assert convert(path, tmp_path / "out.spacy", "conll-ner", notes=notes) == 3
    assert [len(list(doc.sents)) for doc in read(tmp_path / "out.spacy")] == [10, 10, 5]
    assert notes[0].startswith("No -DOCSTART- lines") and "grouped 10 sentences per doc" in notes[0]
    assert "Entity types: PER 25" in notes
    assert convert(path, tmp_path / "out.spacy", "conll-ner", n_sents=25) == 1
    # With document markers the articles stay whole, as before.
    assert convert(SAMPLE / "sample.conll", tmp_path / "out.spacy", "conll-ner", notes=notes) == 2


def test_tsv_with_a_tab_inside_a_text_names_the_line_and_the_fix(tmp_path):
    path = tmp_path / "x.tsv"
    path.write_text("good movie\tPOS\nthis has\ttab inside\tPOS\nbad\tNEG\n")
    with pytest.raises(TrftrainError, match=r"\[E114\] .*x.tsv:2: 3 columns where line 1 has 2: is there a tab inside "
                                            r"the text\? .*replace the tabs"):
        convert(path, tmp_path / "out.spacy", "tsv")
    path.write_text("good movie\tPOS\t\nbad\tNEG\n")  # a trailing tab is not a column
    assert convert(path, tmp_path / "out.spacy", "tsv") == 2


@pytest.mark.parametrize("fmt,content", [
    ("tsv", "good movie\tPOS\n\tNEG\n   \tPOS\nbad\tNEG\n"),
    ("jsonl", '{"text": "good movie", "label": "POS"}\n{"text": "", "label": "NEG"}\n{"text": " ", "label": "POS"}\n'
              '{"text": "bad", "label": "NEG"}\n'),
])
def test_records_with_no_text_are_left_out_and_named(tmp_path, fmt, content):
    """An empty text would train on nothing and score as an easy hit (probe 2.15)."""
    path = tmp_path / f"x.{fmt}"
    path.write_text(content)
    notes = []
    assert convert(path, tmp_path / "out.spacy", fmt, notes=notes) == 2
    assert [doc.text for doc in read(tmp_path / "out.spacy")] == ["good movie", "bad"]
    assert any(note.startswith("Left out 2 records") and "(lines 2, 3)" in note for note in notes)
    path.write_text(content.replace("good movie", " ").replace("bad", ""))
    with pytest.raises(TrftrainError, match="E121"):
        convert(path, tmp_path / "out.spacy", fmt)


def test_output_equal_to_input_is_refused_before_writing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    original = (SAMPLE / "sample.conll").read_text()
    Path("ner.txt").write_text(original)
    for output in ["ner.txt", "./ner.txt", str(tmp_path / "sub" / ".." / "ner.txt")]:
        with pytest.raises(TrftrainError, match=r"\[E103\] The output .* is the input file.*ner.spacy"):
            convert("ner.txt", output, "conll-ner")
    Path("link.txt").symlink_to("ner.txt")
    with pytest.raises(TrftrainError, match="E103"):
        convert("ner.txt", "link.txt", "conll-ner")
    assert Path("ner.txt").read_text() == original


def test_a_bom_is_dropped_in_every_format(tmp_path):
    bom = "\ufeff"
    cases = [("tsv", "good movie\tPOS\nbad\tNEG\n"), ("conll-ner", "-DOCSTART- O\n\nLena B-PER\n"),
             ("conllu", conllu(GOOD)), ("csv", "good movie,POS\n"), ("jsonl", '{"text": "good movie", "label": "POS"}\n')]
    for fmt, text in cases:
        path = tmp_path / f"bom.{fmt}"
        path.write_text(bom + text, encoding="utf8")
        convert(path, tmp_path / "out.spacy", fmt)
        first = read(tmp_path / "out.spacy")[0]
        assert bom not in first.text and first[0].text in ("good", "Lena", "a"), fmt


@pytest.mark.parametrize("n_sents", [0, -1])
def test_n_sents_below_one_is_an_error(tmp_path, n_sents):
    with pytest.raises(TrftrainError, match=rf"\[E104\] --n-sents {n_sents}: "):
        convert(SAMPLE / "sample.conllu", tmp_path / "out.spacy", "conllu", n_sents=n_sents)


@pytest.mark.parametrize("record,field", [('{"text": "a", "label": null}', '"label" holds null'),
                                          ('{"text": "a", "labels": [null]}', '"labels" holds null'),
                                          ('{"text": "a", "labels": "POS"}', '"labels" holds "POS"'),
                                          ('{"text": "a", "cats": {"POS": null}}', "holds null"),
                                          ('{"text": "a", "label": "\\ud800"}', "surrogate")])
def test_jsonl_labels_that_are_not_strings_name_the_line(tmp_path, record, field):
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "fine", "label": "POS"}\n' + record + "\n")
    with pytest.raises(TrftrainError, match=rf"x.jsonl:2: .*{field}"):
        convert(path, tmp_path / "out.spacy", "jsonl")


def test_csv_quoted_multiline_fields_keep_their_newline_and_line_numbers(tmp_path):
    path = tmp_path / "x.csv"
    path.write_text('text,label\n"multi\nline text",POS\nbad,NEG\n"x, y",\n')
    with pytest.raises(TrftrainError, match=r"x.csv:5: expected exactly one label"):
        convert(path, tmp_path / "out.spacy", "csv", skip_header=True)
    path.write_text('text,label\n"multi\nline text",POS\nbad,NEG\n')
    convert(path, tmp_path / "out.spacy", "csv", skip_header=True)
    assert read(tmp_path / "out.spacy")[0].text == "multi\nline text"


@pytest.mark.parametrize("fmt,content", [("tsv", b"good\tPOS\ncaf\xe9\tNEG\n"),
                                         ("conll-ner", b"Lena B-PER\nCaf\xe9 O\n"),
                                         ("conllu", b"# x\n1\tCaf\xe9\t_\t_\t_\t_\t0\troot\t_\t_\n")])
def test_non_utf8_input_names_the_line(tmp_path, fmt, content):
    path = tmp_path / f"latin.{fmt}"
    path.write_bytes(content)
    with pytest.raises(TrftrainError, match=rf"\[E101\] .*latin.{fmt}:2: byte [46] \(0xe9\) is not UTF-8"):
        convert(path, tmp_path / "out.spacy", fmt, label_column=1, text_column=0)


def test_cli_prints_the_grouping_note_and_one_line_errors(tmp_path):
    runner = CliRunner()
    path = tmp_path / "wnut.txt"
    path.write_text("Lena B-PER\n\nOslo B-LOC\n")
    result = runner.invoke(app, ["convert", str(path), str(tmp_path / "o.spacy"), "--format", "conll-ner"])
    assert result.exit_code == 0 and "No -DOCSTART- lines" in result.output and "Wrote 1 docs" in result.output
    result = runner.invoke(app, ["convert", str(path), str(path), "--format", "conll-ner"])
    assert result.exit_code == 1 and result.output.strip().count("\n") == 0 and "[E103]" in result.output
    assert json.dumps(path.read_text()) == json.dumps("Lena B-PER\n\nOslo B-LOC\n")
