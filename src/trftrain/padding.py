"""Cutting length-sorted items into padded batches under a size budget, so that short items are not padded to
the longest of a large batch and no single call grows without bound."""
from typing import List, Sequence, Tuple


def padded_groups(sizes: Sequence[int], budget: int) -> List[Tuple[int, int]]:
    """Cut ascending `sizes` into consecutive (first, end) groups whose padded size, count x largest, stays
    within `budget`; an item larger than the budget forms a group alone."""
    groups, first = [], 0
    for end, size in enumerate(sizes):
        if end > first and (end - first + 1) * size > budget:
            groups.append((first, end))
            first = end
    if len(sizes):
        groups.append((first, len(sizes)))
    return groups
