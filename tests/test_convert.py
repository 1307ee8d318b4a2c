"""Converters on small files written here and in corpora/sample/, including malformed input."""
from pathlib import Path

import pytest
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from trftrain.cli.convert import convert
from trftrain.convert.conll2003 import to_iob2
from trftrain.errors import TrftrainError

SAMPLE = Path(__file__).parent.parent / "corpora" / "sample"


def read(path):
    return list(DocBin().from_disk(path).get_docs(Vocab()))


def test_conllu_with_multiword_tokens(tmp_path):
    assert convert(SAMPLE / "sample.conllu", tmp_path / "ud.spacy", "conllu", n_sents=10) == 1
    (doc,) = read(tmp_path / "ud.spacy")
    assert doc.text == "Mia reads books. I can't swim."
    assert [t.text for t in doc][4:7] == ["I", "ca", "n't"]
    assert [t.tag_ for t in doc][:3] == ["NNP", "VBZ", "NNS"] and doc[1].pos_ == "VERB"
    assert str(doc[1].morph) == "Number=Sing|Person=3|Tense=Pres" and doc[1].lemma_ == "read"
    assert doc[0].head.i == 1 and doc[1].dep_ == "root" and [s.start for s in doc.sents] == [0, 4]


def test_conllu_paragraphs_become_blank_lines_between_sentences(tmp_path):
    """--paragraphs: a blank-line token before each sentence that opens a paragraph inside a doc, annotated as
    spaCy annotates whitespace, and the sentences and trees of the words unchanged."""
    sample = (SAMPLE / "sample.conllu").read_text()
    first, second = sample.split("# text = I can't swim.")
    (tmp_path / "p.conllu").write_text("# newpar\n" + first + "# newpar\n# text = I can't swim." + second + first)
    convert(tmp_path / "p.conllu", tmp_path / "flat.spacy", "conllu")
    convert(tmp_path / "p.conllu", tmp_path / "par.spacy", "conllu", paragraphs=True)
    (flat,), (doc,) = read(tmp_path / "flat.spacy"), read(tmp_path / "par.spacy")
    assert flat.text == "Mia reads books. I can't swim. Mia reads books."
    assert doc.text == "Mia reads books.\n\nI can't swim. Mia reads books."  # the third opens no paragraph
    (space,) = [t for t in doc if t.text.isspace()]
    assert (space.i, space.tag_, space.pos_, space.dep_, space.head.i) == (4, "_SP", "SPACE", "dep", 3)
    assert [s.start for s in doc.sents] == [0, 5, 10]
    words = [t for t in doc if not t.text.isspace()]
    assert [(t.text, t.tag_, t.dep_, t.head.text) for t in words] == [(t.text, t.tag_, t.dep_, t.head.text) for t in flat]
    with pytest.raises(TrftrainError, match="--paragraphs"):
        convert(SAMPLE / "sample.conll", tmp_path / "ner.spacy", "conll-ner", paragraphs=True)


def test_conll_ner_iob1_and_documents(tmp_path):
    assert convert(SAMPLE / "sample.conll", tmp_path / "ner.spacy", "conll-ner") == 2
    first, second = read(tmp_path / "ner.spacy")
    assert [(e.text, e.label_) for e in first.ents] == [("Lena", "PER"), ("Oslo", "LOC"), ("Acme Corp", "ORG"),
                                                        ("Lena Larsen", "PER")]
    assert len(list(first.sents)) == 2
    # IOB1: B- separates two touching entities of one type.
    assert [(e.text, e.label_) for e in second.ents] == [("Oslo", "LOC"), ("Bergen", "LOC")]
    assert to_iob2(["I-PER", "I-PER", "B-PER", "O", "I-LOC"]) == ["B-PER", "I-PER", "B-PER", "O", "B-LOC"]


def test_textcat_formats(tmp_path):
    convert(SAMPLE / "sample.tsv", tmp_path / "tc.spacy", "tsv", label_column=0, text_column=1, labels="NEG,POS")
    docs = read(tmp_path / "tc.spacy")
    assert docs[0].cats == {"NEG": 0.0, "POS": 1.0} and docs[1].text == "dull and far too long"
    jsonl = tmp_path / "multi.jsonl"
    jsonl.write_text('{"text": "so happy", "labels": ["joy", "love"]}\n{"text": "meh", "labels": []}\n')
    convert(jsonl, tmp_path / "multi.spacy", "jsonl", multilabel=True)
    assert read(tmp_path / "multi.spacy")[0].cats == {"joy": 1.0, "love": 1.0}
    csv_file = tmp_path / "x.csv"
    csv_file.write_text('text,label\n"hello, world",greeting\nbye,farewell\n')
    convert(csv_file, tmp_path / "csv.spacy", "csv", skip_header=True)
    assert read(tmp_path / "csv.spacy")[0].text == "hello, world"


@pytest.mark.parametrize("content,fmt,line", [
    ("1\tMia\tMia\tPROPN\n", "conllu", 1),
    ("1\tMia\tMia\tPROPN\tNNP\t_\tX\tnsubj\t_\t_\n", "conllu", 1),
    ("1\tMia\tMia\tPROPN\tNNP\t_\t0\troot\t_\t_\n3\tx\tx\tNOUN\tNN\t_\t1\tobj\t_\t_\n", "conllu", 2),
    ("1\tMia\tMia\tNOPE\tNNP\t_\t0\troot\t_\t_\n", "conllu", 1),
    ("Lena I-PER\nOslo LOC\n", "conll-ner", 2),
    ("1\tgood\n2\n", "tsv", 2),
    ('{"text": "a", "label": "x"}\n{broken\n', "jsonl", 2),
])
def test_malformed_lines_name_file_and_line(tmp_path, content, fmt, line):
    path = tmp_path / f"bad.{fmt}"
    path.write_text(content)
    with pytest.raises(TrftrainError, match=rf"bad\.{fmt}:{line}:"):
        convert(path, tmp_path / "out.spacy", fmt, label_column=0, text_column=1)


def test_missing_and_empty_inputs(tmp_path):
    with pytest.raises(TrftrainError, match="not found"):
        convert(tmp_path / "nope.conllu", tmp_path / "o.spacy", "conllu")
    (tmp_path / "empty.conllu").write_text("")
    with pytest.raises(TrftrainError, match="no documents"):
        convert(tmp_path / "empty.conllu", tmp_path / "o.spacy", "conllu")
    assert not (tmp_path / "o.spacy").exists()
