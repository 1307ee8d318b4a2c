"""Windows counted in pieces cover every piece, never exceed the window, and overlap by window - stride."""
import pytest

from trftrain.encoder.windows import window_starts


@pytest.mark.parametrize("window,stride", [(128, 96), (16, 12), (8, 8), (10, 3)])
def test_windows_cover_every_piece_once_at_least(window, stride):
    for n in range(0, 400):
        starts = window_starts(n, window, stride)
        if n == 0:
            assert starts == []
            continue
        covered = set()
        for start in starts:
            covered.update(range(start, min(start + window, n)))
        assert covered == set(range(n))
        assert starts[0] == 0 and all(b - a == stride for a, b in zip(starts, starts[1:]))
        assert starts[-1] < n <= starts[-1] + window
        # Every window after the first keeps window - stride pieces of left context.
        assert all(start + window - stride <= n or start == 0 for start in starts)
