"""Generated CoNLL-U, CoNLL-NER, TSV, CSV and JSONL files, mostly well formed with mistakes mixed in: every
outcome is a readable corpus or a one-line coded error naming file:line (file only when nothing is in it).

The default suite runs ~50 examples per format, the same each time; `pytest -m fuzz` runs thousands.
"""
import json
import re
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacy.tokens import DocBin
from spacy.vocab import Vocab

from trftrain.cli.convert import convert
from trftrain.convert.trees import doc_tree_problems
from trftrain.errors import TrftrainError

# Characters that make converters stumble: separators, quotes, line ends, BOM, NUL, wide and combining ones.
TRICKY = ["\t", " ", ",", '"', "'", "\r", "\n", "\ufeff", "\x00", "\u2028", "\x0c", "_", "-", "|", "=", "#", "é",
          "🙂", "\u0301", "0", "1", "9", "B", "I", "O", "{", "}", "[", "]", ":"]
text = st.text(st.one_of(st.sampled_from(TRICKY), st.characters(blacklist_categories=["Cs"])), max_size=12)
word = st.one_of(st.sampled_from(["the", "Paris", "_", "a b", "can't", "."]), text.filter(lambda s: "\n" not in s))
# Whole files only name errors at file level when nothing in them converts.
FILE_LEVEL = ("E121", "E127")


def sometimes(good, bad, one_in: int = 8):
    """Mostly a good value, a bad one about once in one_in draws: most files convert, each check gets hit."""
    return st.integers(1, one_in).flatmap(lambda k: bad if k == 1 else good)


@st.composite
def mutated(draw, lines):
    """Join lines as a file, then now and then break it: drop, repeat or replace a line, add bad bytes or a BOM."""
    lines = list(lines)
    for _ in range(draw(sometimes(st.just(0), st.integers(1, 2), 4))):
        if not lines:
            break
        i = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["drop", "repeat", "replace"]))
        if action == "drop":
            del lines[i]
        elif action == "repeat":
            lines.insert(i, lines[i])
        else:
            lines[i] = draw(text)
    data = draw(st.sampled_from(["\n", "\r\n"])).join(lines).encode("utf8") + draw(st.sampled_from([b"", b"\n"]))
    if draw(st.integers(0, 9)) == 0:
        data = b"\xef\xbb\xbf" + data
    if draw(st.integers(0, 19)) == 0:
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.sampled_from([b"\xff", b"\xe9", b"\xc3"])) + data[at:]
    return data


def cell(strategy):
    return strategy.map(lambda c: c.replace("\t", " ").replace("\n", " ").replace("\r", " "))


@st.composite
def tree(draw, n):
    """1-based heads of a random tree over n words (0 for the root)."""
    order = draw(st.permutations(range(1, n + 1)))
    heads = {order[0]: 0}
    for position, node in enumerate(order[1:], start=1):
        heads[node] = order[draw(st.integers(0, position - 1))]
    return [heads[i] for i in range(1, n + 1)]


@st.composite
def conllu_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 4))):
        n = draw(st.integers(1, 6))
        heads = draw(tree(n))
        lines.append("# text = " + draw(cell(text)))
        for i in range(1, n + 1):
            if draw(st.integers(0, 9)) == 0 and i < n:
                lines.append(f"{i}-{i + 1}\t{draw(cell(word))}\t_\t_\t_\t_\t_\t_\t_\t"
                             f"{draw(st.sampled_from(['_', 'SpaceAfter=No']))}")
            head = draw(sometimes(st.just(str(heads[i - 1])),
                                  st.sampled_from(["0", "_", "-1", str(n + 3), "x", str(i)] + [str(h) for h in heads]), 40))
            columns = [str(i), draw(sometimes(cell(word).filter(bool), st.sampled_from(["", "\t"]), 200)),
                       draw(cell(word)), draw(sometimes(st.sampled_from(["NOUN", "VERB", "_", "PROPN"]), st.just("XYZ"), 100)),
                       draw(cell(st.sampled_from(["NN", "_", "VBZ"]) | text)),
                       draw(sometimes(st.sampled_from(["_", "Number=Sing", "Case=Nom|Number=Plur", "Case=Acc,Nom"]),
                                      st.sampled_from(["Bad", "A=B=C", "=", "", "A=B||C=D"]), 100)),
                       head, draw(cell(st.sampled_from(["nsubj", "root", "_", "obj"]) | text)), "_",
                       draw(st.sampled_from(["_", "SpaceAfter=No"]))]
            lines.append("\t".join(columns))
            if draw(st.integers(0, 19)) == 0:
                lines.append(f"{i}.1\tghost\t_\t_\t_\t_\t_\t_\t{i}:dep\t_")
        lines.append("")
    return draw(mutated(lines))


@st.composite
def conll_ner_lines(draw):
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        if draw(st.booleans()):
            lines += ["-DOCSTART- -X- O O", ""]
        for _ in range(draw(st.integers(1, 5))):
            tag = draw(sometimes(st.sampled_from(["O", "B-PER", "I-PER", "I-LOC", "B-MISC"]),
                                 st.sampled_from(["I-", "X-PER", "i-per", "B-", "O-X"]), 40))
            token = draw(sometimes(word.filter(lambda w: w.split() == [w]), word))
            lines.append(" ".join([token] + draw(st.sampled_from([[], ["NNP", "I-NP"]])) + [tag]))
        lines.append("")
    return draw(mutated(lines))


LABEL = sometimes(st.sampled_from(["POS", "NEG"]), st.sampled_from(["0", "1", "POS,NEG", "", " "]) | text)


@st.composite
def delimited_lines(draw, separator):
    rows = []
    extra = draw(st.sampled_from([[], ["id"]]))  # a third column in every row is fine
    for _ in range(draw(st.integers(1, 6))):
        content = sometimes(text.map(lambda t: t.replace(separator, " ")), text) if separator == "\t" else text
        cells = [draw(content), draw(LABEL)] + extra
        if separator == ",":
            cells = [f'"{c.replace(chr(34), chr(34) * 2)}"' if draw(sometimes(st.just(True), st.just(False), 20))
                     else c for c in cells]
        elif draw(st.integers(0, 9)) == 0:
            cells.append(draw(text))  # a stray column
        rows.append(separator.join(cells))
    return draw(mutated(rows))


@st.composite
def jsonl_lines(draw):
    bad = st.one_of(st.none(), st.booleans(), st.integers(-2, 3), st.floats(allow_nan=False), text,
                    st.lists(st.one_of(text, st.none(), st.integers(0, 2)), max_size=3),
                    st.dictionaries(text, st.one_of(st.floats(0, 1), st.none(), text), max_size=3))
    labels = {"label": st.sampled_from(["POS", "NEG"]), "labels": st.lists(st.sampled_from(["POS", "NEG"]), max_size=2),
              "cats": st.fixed_dictionaries({"POS": st.sampled_from([0.0, 1.0]), "NEG": st.floats(0, 1)})}
    lines = []
    for _ in range(draw(st.integers(1, 5))):
        record = {}
        if draw(st.integers(0, 19)):
            record["text"] = draw(sometimes(text, bad, 30))
        key = draw(sometimes(st.sampled_from(list(labels)), st.just("none"), 20))
        if key != "none":
            record[key] = draw(sometimes(labels[key], bad, 20))
        line = json.dumps(record, ensure_ascii=draw(st.booleans()))
        if draw(st.integers(0, 19)) == 0:
            line = line[: draw(st.integers(0, len(line)))]  # cut short
        if draw(st.integers(0, 29)) == 0:
            line = line.replace('"', '"\\ud800', 1)  # half a surrogate pair
        lines.append(line)
    return draw(mutated(lines))


FORMATS = {
    "conllu": (conllu_lines(), [{}, {"n_sents": 2}]),
    "conll-ner": (conll_ner_lines(), [{}, {"n_sents": 1}]),
    "tsv": (delimited_lines("\t"), [{}, {"multilabel": True}, {"labels": "NEG,POS", "skip_header": True}]),
    "csv": (delimited_lines(","), [{}, {"multilabel": True, "skip_header": True}]),
    "jsonl": (jsonl_lines(), [{}, {"multilabel": True}, {"labels": "NEG,POS"}]),
}


def check_outcome(file_format: str, content: bytes, options: dict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        source, output = Path(tmp) / "input.txt", Path(tmp) / "out.spacy"
        source.write_bytes(content)
        try:
            count = convert(source, output, file_format, **options)
        except TrftrainError as err:
            message = str(err)
            assert "\n" not in message and "\r" not in message, message
            code = re.match(r"^\[(E1\d\d)\] ", message)
            assert code, message
            assert f"{source}:" in message and re.search(rf"{re.escape(str(source))}:\d+: ", message) or \
                code.group(1) in FILE_LEVEL and str(source) in message, message
            assert not output.exists()
            return
        docs = list(DocBin().from_disk(output).get_docs(Vocab()))
        assert len(docs) == count > 0
        for doc in docs:
            if file_format == "conllu" and doc.has_annotation("DEP"):
                assert doc_tree_problems(doc) == [], content
            if file_format in ("tsv", "csv", "jsonl") and not options.get("multilabel"):
                assert sorted(doc.cats.values())[-1:] == [1.0] and sum(doc.cats.values()) == 1.0


SIZES = [pytest.param(50, id="small"), pytest.param(2000, id="thousands", marks=pytest.mark.fuzz)]


@pytest.mark.parametrize("examples", SIZES)
@pytest.mark.parametrize("file_format", list(FORMATS))
def test_converters_give_a_corpus_or_a_coded_error_with_file_and_line(file_format, examples):
    strategy, option_sets = FORMATS[file_format]

    @settings(max_examples=examples, deadline=None, derandomize=examples <= 50, database=None,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much, HealthCheck.data_too_large])
    @given(content=strategy, options=st.sampled_from(option_sets))
    def run(content, options):
        check_outcome(file_format, content, options)

    run()
