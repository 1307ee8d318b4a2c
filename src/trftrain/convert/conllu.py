"""CoNLL-U -> Docs with words, lemmas, tags, POS, morphology, heads and relations.

Multiword tokens ("1-2 don't") are split into their syntactic words, which carry the annotation; the
surface token's SpaceAfter decides the space after its last word. Empty nodes ("8.1") are skipped. Sentences are
joined by a space, or, with paragraphs=True, by a blank line where the treebank opens a paragraph.
"""
import re
from pathlib import Path
from typing import Iterator, List

from spacy.parts_of_speech import IDS as POS_IDS
from spacy.tokens import Doc
from spacy.vocab import Vocab

from ..components.whitespace import SPACE_DEP, SPACE_POS, SPACE_TAG
from ..errors import Errors
from . import malformed, read_lines
from .trees import tree_problem

N_COLUMNS = 10
FEATURE = re.compile(r"^[^=|]+=[^=|]+$")
PARAGRAPH_BREAK = "\n\n"


class Sentence:
    """One sentence's columns, word by word; first_line: the line of its first word (for messages);
    opens_paragraph: a "# newpar" or "# newdoc" comment came before it."""

    def __init__(self):
        self.words, self.spaces, self.lemmas, self.pos, self.tags = [], [], [], [], []
        self.morphs, self.heads, self.deps = [], [], []
        self.first_line = 0
        self.parsed = False
        self.opens_paragraph = False


def read_sentences(path: Path) -> Iterator[Sentence]:
    """Sentences of a CoNLL-U file; one whose heads do not form a single rooted tree is an error naming its line."""
    sentence = Sentence()
    no_space_until = 0  # last word index of a multiword token whose surface form has SpaceAfter=No
    for number, line in enumerate(read_lines(path), start=1):
        if not line.strip():
            if sentence.words:
                yield checked(path, sentence)
            sentence, no_space_until = Sentence(), 0
            continue
        if line.startswith("#"):
            sentence.opens_paragraph |= line.startswith(("# newpar", "# newdoc"))
            continue
        columns = line.split("\t")
        if len(columns) != N_COLUMNS:
            raise malformed(path, number, Errors.E105, found=len(columns))
        token_id, form, lemma, upos, xpos, feats, head, deprel, _, misc = columns
        sentence.first_line = sentence.first_line or number
        if "." in token_id:
            continue
        if "-" in token_id:
            first, _, last = token_id.partition("-")
            if not (first.isdigit() and last.isdigit()):
                raise malformed(path, number, Errors.E106, value=token_id)
            no_space_until = int(last) if "SpaceAfter=No" in misc else -int(last)
            continue
        if not token_id.isdigit() or int(token_id) != len(sentence.words) + 1:
            raise malformed(path, number, Errors.E107, value=token_id, expected=len(sentence.words) + 1)
        if head != "_" and not head.isdigit():
            raise malformed(path, number, Errors.E108, value=head)
        if upos not in ("_", "") and upos not in POS_IDS:
            raise malformed(path, number, Errors.E109, value=upos)
        if not form:
            raise malformed(path, number, Errors.E125)
        if feats not in ("_", "") and not all(FEATURE.match(pair) for pair in feats.split("|")):
            raise malformed(path, number, Errors.E126, value=feats)
        index = int(token_id)
        inside_mwt = abs(no_space_until) > index
        if abs(no_space_until) == index:
            space = no_space_until < 0
        else:
            space = not inside_mwt and "SpaceAfter=No" not in misc
        sentence.words.append(form)
        sentence.spaces.append(space)
        sentence.lemmas.append(lemma if lemma != "_" or form == "_" else "")
        sentence.pos.append("" if upos == "_" else upos)
        sentence.tags.append("" if xpos == "_" else xpos)
        sentence.morphs.append("" if feats == "_" else feats)
        sentence.heads.append(None if head == "_" else int(head))
        sentence.deps.append("" if deprel == "_" else deprel)
    if sentence.words:
        yield checked(path, sentence)


def checked(path: Path, sentence: Sentence) -> Sentence:
    """The sentence, if its heads (when it has them all) form one tree. spaCy would otherwise resolve a head
    outside the sentence against the whole doc and attach the word to another sentence, and keep cycles.

    Sets sentence.parsed: every word has a head and a relation. The root's missing relation is "root" (HEAD 0
    means DEPREL root in UD); any other gap leaves the sentence unparsed, because spaCy reads a word without a
    relation as one without a head, and would join the sentence to its neighbour.
    """
    if all(head is not None for head in sentence.heads):
        problem = tree_problem([head - 1 if head else None for head in sentence.heads])
        if problem:
            raise malformed(path, sentence.first_line, Errors.E110, problem=problem)
        sentence.deps = [dep or ("root" if head == 0 else "") for head, dep in zip(sentence.heads, sentence.deps)]
    sentence.parsed = all(head is not None for head in sentence.heads) and all(sentence.deps)
    return sentence


def conllu_to_docs(path: Path, n_sents: int = 10, vocab=None, paragraphs: bool = False) -> Iterator[Doc]:
    """Docs of up to n_sents sentences each (a "# newdoc" comment does not split: sentences are grouped as read).
    Parsed and unparsed sentences go to separate docs: in one Doc, spaCy would lose the unparsed ones' boundaries.

    paragraphs (bool): where a sentence inside a doc opens a paragraph, a blank-line token ("\\n\\n") comes before
        it, annotated as spaCy's pipelines annotate whitespace (tag _SP, POS SPACE, dep "dep" under the word
        before), as in the treebank's raw text. Without it sentences are joined by a space, and nothing but the
        words marks a paragraph (on UD EWT test, 148 of the 230 sentence starts a 3,000-step model missed).
    """
    vocab = vocab or Vocab()
    group: List[Sentence] = []
    for sentence in read_sentences(path):
        if group and group[-1].parsed != sentence.parsed:
            yield _doc(vocab, group, paragraphs)
            group = []
        group.append(sentence)
        if len(group) == n_sents:
            yield _doc(vocab, group, paragraphs)
            group = []
    if group:
        yield _doc(vocab, group, paragraphs)


def _doc(vocab, sentences: List[Sentence], paragraphs: bool = False) -> Doc:
    """One Doc of sentences that are all parsed or all unparsed (conllu_to_docs)."""
    words, spaces, lemmas, pos, tags, morphs, heads, deps, starts = [], [], [], [], [], [], [], [], []
    for sentence in sentences:
        if paragraphs and words and sentence.opens_paragraph:
            spaces[-1] = False
            words.append(PARAGRAPH_BREAK)
            spaces.append(False)
            lemmas.append(PARAGRAPH_BREAK)
            pos.append(SPACE_POS)
            tags.append(SPACE_TAG)
            morphs.append("")
            heads.append(len(words) - 2)
            deps.append(SPACE_DEP)
            starts.append(False)
        offset = len(words)
        heads.extend(offset + head - 1 if head else offset + i for i, head in enumerate(sentence.heads)
                     if sentence.parsed)
        deps.extend(sentence.deps if sentence.parsed else [])
        words += sentence.words
        spaces += sentence.spaces
        lemmas += sentence.lemmas
        pos += sentence.pos
        tags += sentence.tags
        morphs += sentence.morphs
        starts += [i == 0 for i in range(len(sentence.words))]
    spaces[-1] = False
    parsed = sentences[0].parsed
    is_word = [word != PARAGRAPH_BREAK for word in words]
    return Doc(vocab, words=words, spaces=spaces, lemmas=lemmas, pos=_column(pos, is_word),
               tags=_column(tags, is_word), morphs=_column(morphs, is_word), heads=heads if parsed else None,
               deps=deps if parsed else None, sent_starts=None if parsed else starts)


def _column(values: List[str], is_word: List[bool]):
    """The column, or None where the treebank leaves it empty (the paragraph breaks' own values do not count)."""
    return values if any(value for value, word in zip(values, is_word) if word) else None
