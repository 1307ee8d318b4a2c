"""Is a sentence's head annotation one tree? Used by the CoNLL-U converter and by `debug-data`."""
from typing import List, Optional, Sequence


def tree_problem(heads: Sequence[Optional[int]]) -> Optional[str]:
    """What keeps a sentence's heads from forming one rooted tree, or None when they do.

    heads (Sequence[Optional[int]]): per word, the index of its head within the sentence (0-based), or None for
        the root. Words are named 1-based in the answer, as CoNLL-U numbers them.
    """
    n = len(heads)
    for i, head in enumerate(heads):
        if head is not None and not 0 <= head < n:
            return f"the head of word {i + 1} ({head + 1}) is outside its sentence of {n} words"
        if head == i:
            return f"word {i + 1} is its own head"
    cycle = find_cycle(heads)
    if cycle:
        return "a cycle: " + " -> ".join(str(i + 1) for i in cycle + cycle[:1])
    roots = [i + 1 for i, head in enumerate(heads) if head is None]
    if len(roots) > 1:
        return f"{len(roots)} roots (words {', '.join(map(str, roots))})"
    return None


def find_cycle(heads: Sequence[Optional[int]]) -> List[int]:
    """The words (0-based) of one cycle of head links, in order, or [] when following heads always ends at a root."""
    state = [0] * len(heads)  # 0 unvisited, 1 on the current path, 2 known to reach a root
    for start in range(len(heads)):
        path, node = [], start
        while node is not None and state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if node is not None and state[node] == 1:
            return path[path.index(node):]
        for visited in path:
            state[visited] = 2
    return []


def doc_tree_problems(doc) -> List[str]:
    """'sentence j: problem' for every sentence of a parsed Doc whose heads are not one tree inside it. Sentences
    with a word without a relation are skipped: spaCy reads it as a word whose head is unknown.

    doc (Doc): a gold document, as a .spacy corpus holds it.
    """
    problems = []
    for j, sentence in enumerate(doc.sents):
        if all(token.dep_ for token in sentence):
            heads = [None if token.head.i == token.i else token.head.i - sentence.start for token in sentence]
            problem = tree_problem(heads)
            if problem:
                problems.append(f"sentence {j + 1}: {problem}")
    return problems


def odd_roots(doc) -> List[str]:
    """'sentence j: ...' for roots whose relation is not root: in a Doc a root is a word that is its own head, so a
    self-loop of the source (a word headed by itself as nsubj) survives conversion only as such a root."""
    return [f"sentence {j + 1}: word {token.i - sentence.start + 1} ('{token.text}') is a root with the relation "
            f"'{token.dep_}' (its own head?)"
            for j, sentence in enumerate(doc.sents) for token in sentence
            if token.head.i == token.i and token.dep_.lower() not in ("root", "")]
