"""Errors a user can see. Each says what went wrong, the bad value and how to fix it."""


class TrftrainError(ValueError):
    """A problem with the user's input (config, corpus, paths) rather than a bug in trftrain."""


def config_error(key: str, message: str) -> TrftrainError:
    """An error about one config value, named as `section.key` the way overrides spell it."""
    return TrftrainError(f"Config value `{key}`: {message}")
