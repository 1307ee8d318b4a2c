"""The optional dependencies of annotation (pyarrow, Ray Data), imported only when a run needs them."""
from ..errors import Errors, TrftrainError


def require_pyarrow(what: str):
    """Return the pyarrow module, or a coded error naming what needed it.

    what (str): the feature that needs pyarrow, for the message ("Parquet input").
    """
    try:
        import pyarrow
        import pyarrow.parquet  # noqa: F401  (the submodule is what readers and writers use)
    except ImportError:
        raise TrftrainError(Errors.E605.format(what=what)) from None
    return pyarrow


def require_ray(what: str):
    """Return the ray module with Ray Data loaded, or a coded error naming what needed it."""
    try:
        import ray
        import ray.data  # noqa: F401
    except ImportError:
        raise TrftrainError(Errors.E606.format(what=what)) from None
    return ray
