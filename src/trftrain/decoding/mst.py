"""Maximum spanning tree decoding (Chu-Liu-Edmonds) with exactly one root per sentence."""
from typing import Optional

import numpy as np


def decode_tree(scores: np.ndarray) -> np.ndarray:
    """scores: (n, n) with [i, j] the score of j heading i and [i, i] the score of i being the root.

    Returns heads (n,) with heads[i] == i for the single root. The greedy choice is kept when it is already
    a tree with one root, which is the common case for a trained model.
    """
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    greedy = scores.argmax(1)
    if (greedy == np.arange(n)).sum() == 1 and _find_cycle(_with_root_node(greedy)) is None:
        return greedy
    # Node 0 is an artificial root; token i becomes node i + 1.
    graph = np.full((n + 1, n + 1), -np.inf)
    graph[1:, 1:] = scores
    graph[1:, 0] = np.diagonal(scores)
    np.fill_diagonal(graph, -np.inf)
    heads = _chu_liu_edmonds(graph)
    roots = np.flatnonzero(heads[1:] == 0)
    if len(roots) > 1:
        # Keep the root whose attachment to the artificial root costs least against its best other head.
        margin = graph[roots + 1, 0] - np.max(np.delete(graph[roots + 1], 0, axis=1), axis=1)
        keep = roots[np.argmax(margin)]
        root_scores = graph[1:, 0].copy()
        graph[1:, 0] = -np.inf
        graph[keep + 1, 0] = root_scores[keep]
        heads = _chu_liu_edmonds(graph)
    result = heads[1:] - 1
    result[result < 0] = np.flatnonzero(result < 0)
    return result


def decode_forest(scores: np.ndarray) -> np.ndarray:
    """Like decode_tree, but any number of tokens may be roots: the best forest (heads[i] == i for roots)."""
    n = scores.shape[0]
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    greedy = scores.argmax(1)
    if _find_cycle(_with_root_node(greedy)) is None:
        return greedy
    graph = np.full((n + 1, n + 1), -np.inf)
    graph[1:, 1:] = scores
    graph[1:, 0] = np.diagonal(scores)
    np.fill_diagonal(graph, -np.inf)
    result = _chu_liu_edmonds(graph)[1:] - 1
    result[result < 0] = np.flatnonzero(result < 0)
    return result


def contiguous_segments(heads: np.ndarray) -> list:
    """Split a forest into the fewest contiguous (start, end) spans that each hold whole trees."""
    n = len(heads)
    root = np.asarray(heads, dtype=np.int64).copy()
    while True:  # pointer jumping: every token ends up pointing at its tree's root
        jumped = root[root]
        if np.array_equal(jumped, root):
            break
        root = jumped
    first = np.full(n, n, dtype=np.int64)
    last = np.full(n, -1, dtype=np.int64)
    np.minimum.at(first, root, np.arange(n))
    np.maximum.at(last, root, np.arange(n))
    spans = sorted((first[r], last[r]) for r in np.unique(root))
    segments = []
    for start, end in spans:
        if segments and start <= segments[-1][1]:
            segments[-1] = (segments[-1][0], max(segments[-1][1], end))
        else:
            segments.append((start, end))
    return [(start, end + 1) for start, end in segments]


def _with_root_node(heads: np.ndarray) -> np.ndarray:
    nodes = np.concatenate([[0], heads + 1])
    nodes[1:][heads == np.arange(len(heads))] = 0
    return nodes


def _find_cycle(heads: np.ndarray) -> Optional[list]:
    """heads over nodes 0..n with node 0 the root (its own entry ignored); a cycle's nodes, or None."""
    # Python lists: this walk reads one element at a time, which costs several times more on numpy arrays, and
    # it runs at every contraction of every parse (the parser's decoding was half of nlp.pipe's time on a GPU).
    heads = heads.tolist()
    n = len(heads)
    state = [0] * n  # 0 unseen, 1 on current path, 2 done
    state[0] = 2
    for start in range(1, n):
        if state[start]:
            continue
        path = []
        node = start
        while state[node] == 0:
            state[node] = 1
            path.append(node)
            node = heads[node]
        if state[node] == 1:
            return path[path.index(node):]
        for visited in path:
            state[visited] = 2
    return None


def _chu_liu_edmonds(graph: np.ndarray) -> np.ndarray:
    """graph[d, h]: score of h heading d over nodes 0..n (0 = root, takes no head). Returns heads."""
    n = graph.shape[0]
    heads = graph.argmax(1)
    heads[0] = 0
    cycle = _find_cycle(heads)
    if cycle is None:
        return heads
    in_cycle = np.zeros(n, dtype=bool)
    in_cycle[cycle] = True
    outside = np.flatnonzero(~in_cycle)  # includes the root, node 0
    cycle_nodes = np.array(cycle)
    kept = graph[cycle_nodes, heads[cycle_nodes]]  # score of each cycle node's current head
    contracted = len(outside)  # index of the node standing for the cycle
    small = np.full((contracted + 1, contracted + 1), -np.inf)
    small[:contracted, :contracted] = graph[np.ix_(outside, outside)]
    # Arcs leaving the cycle: the best cycle node as head of each outside node.
    from_cycle = graph[np.ix_(outside, cycle_nodes)]
    best_head_in_cycle = cycle_nodes[from_cycle.argmax(1)]
    small[:contracted, contracted] = from_cycle.max(1)
    # Arcs entering the cycle: the gain of breaking the cycle at each node.
    entering = graph[np.ix_(cycle_nodes, outside)] - kept[:, None]
    best_entry = entering.argmax(0)
    small[contracted, :contracted] = entering.max(0)
    small_heads = _chu_liu_edmonds(small)
    result = heads.copy()
    # Each outside node (not the root) takes its head from the contracted tree: a cycle node where that head is
    # the cycle, else the outside node it names.
    positions = np.flatnonzero(outside != 0)
    small_head = small_heads[positions]
    from_cycle = small_head == contracted
    result[outside[positions]] = np.where(from_cycle, best_head_in_cycle[positions],
                                          outside[np.where(from_cycle, 0, small_head)])
    entry_head = small_heads[contracted]
    result[cycle_nodes[best_entry[entry_head]]] = outside[entry_head]
    return result
