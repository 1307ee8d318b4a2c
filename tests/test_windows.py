"""Windows counted in pieces cover every piece, never exceed the window, and overlap by window - stride.

Each property is checked piece by piece from the windows themselves, not from the formula that makes them.
"""
import pytest

from trftrain.encoder.windows import window_starts


@pytest.mark.parametrize("window,stride", [(128, 96), (16, 12), (8, 8), (10, 3), (5, 1)])
def test_windows_cover_every_piece_once_at_least(window, stride):
    for n in range(0, 300):
        starts = window_starts(n, window, stride)
        spans = [range(start, min(start + window, n)) for start in starts]
        seen = [0] * n
        for span in spans:
            assert len(span) > 0, (n, starts)  # no empty window (a wasted encoder row)
            for piece in span:
                seen[piece] += 1
        assert all(seen), (n, starts)  # nothing truncated
        assert starts == sorted(set(starts)) and all(0 <= start < n for start in starts)
        covered = set(spans[0]) if spans else set()
        for k, span in enumerate(spans[1:], start=1):
            # Each window brings pieces the earlier ones lack (no redundant window) ...
            new = [piece for piece in span if piece not in covered]
            covered.update(span)
            assert new, (n, starts, k)
            # ... and sees every one of them with at least window - stride pieces of left context.
            assert min(new) - span.start >= window - stride, (n, starts, k)
        # One window when the text fits; more only when it does not.
        assert (len(starts) <= 1) == (n <= window)
