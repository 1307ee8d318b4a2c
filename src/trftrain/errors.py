"""Errors a user can see, each with a stable code so that it can be searched for ("trftrain E104").

Every message says what went wrong, the bad value and how to fix it. Codes are never reused: a message that
goes away leaves its code unused. Ranges by area keep additions apart:
E0xx config and paths, E1xx corpora and converters, E2xx packaging, E3xx training and checkpoints,
E4xx serving, E5xx distillation, E6xx annotation, E7xx encoders and pipelines.
"""


class _Coded(type):
    """Reading `Errors.E104` gives the template with its code in front: "[E104] ..."."""

    def __getattribute__(cls, name: str):
        value = super().__getattribute__(name)
        if name[:1] in ("E", "W") and name[1:].isdigit():
            return f"[{name}] {value}"
        return value


class Errors(metaclass=_Coded):
    # -- E0xx: config and paths ------------------------------------------------------------------------------
    E001 = "Config file not found: '{path}'. Create one with `trftrain init-config`."
    E002 = "Could not parse config '{path}'{where}: {problem}"
    E003 = "Config value `{key}`: {problem}"
    E004 = ("Config '{path}'{where} has a section [{section}] that trftrain does not know. Known top-level "
            "sections: {known}.{hint}")
    E005 = ("Config value `{key}` is not a setting trftrain knows{where}. Known settings of [{section}]: {known}.{hint}")
    E006 = "Override `--{key}`: the config has no section [{section}]."
    E007 = ("`paths.{key}` is empty: give the path of a .spacy file or folder (e.g. --paths.{key} corpus/{key}.spacy). "
            "An empty value would read every .spacy file under the current folder.")
    E008 = "No path for the corpus [corpora.{corpus}]: set `{key}` (e.g. --{key} corpus/{corpus}.spacy)."

    # -- E1xx: corpora and converters --------------------------------------------------------------------------

    # -- E2xx: packaging ---------------------------------------------------------------------------------------

    # -- E3xx: training and checkpoints ------------------------------------------------------------------------

    # -- E4xx: serving -----------------------------------------------------------------------------------------

    # -- E5xx: distillation ------------------------------------------------------------------------------------

    # -- E6xx: annotation --------------------------------------------------------------------------------------

    # -- E7xx: encoders and pipelines --------------------------------------------------------------------------
    E700 = ("Refusing to load component '{component}' from bytes: it holds a file named {name}, which is absolute "
            "or leads outside the component's folder. Load only pipelines you trust, saved by `to_bytes`.")
    E701 = ("Refusing to load component '{component}' from bytes: expected a map of file names to bytes, found "
            "{found}. The data is not from `to_bytes` of a trftrain component.")


class Warnings(metaclass=_Coded):
    # -- W0xx: config ------------------------------------------------------------------------------------------

    # -- W3xx: training ----------------------------------------------------------------------------------------
    pass


class TrftrainError(ValueError):
    """A problem with the user's input (config, corpus, paths, a request) rather than a bug in trftrain."""


def config_error(key: str, message: str) -> TrftrainError:
    """An error about one config value, named as `section.key` the way overrides spell it."""
    return TrftrainError(Errors.E003.format(key=key, problem=message))


def codes(catalogue: type) -> dict:
    """{code: template} of a catalogue, for tests and documentation."""
    return {name: value for name, value in vars(catalogue).items() if name[:1] in ("E", "W") and name[1:].isdigit()}
