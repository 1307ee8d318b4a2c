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
    E004 = ("Config '{path}' has a section [{section}] that trftrain does not know. Known top-level sections: "
            "{known}.{hint}")
    E005 = ("Config value `{key}` is not a setting trftrain knows{where}. Known settings of [{section}]: {known}.{hint}")
    E006 = "Override `--{key}`: the config has no section [{section}]."
    E007 = ("`paths.{key}` is empty: give the path of a .spacy file or folder (e.g. --paths.{key} corpus/{key}.spacy). "
            "An empty value would read every .spacy file under the current folder.")

    # -- E1xx: corpora and converters --------------------------------------------------------------------------

    # -- E2xx: packaging ---------------------------------------------------------------------------------------

    # -- E3xx: training and checkpoints ------------------------------------------------------------------------

    # -- E4xx: serving -----------------------------------------------------------------------------------------

    # -- E5xx: distillation ------------------------------------------------------------------------------------

    # -- E6xx: annotation --------------------------------------------------------------------------------------
    E600 = ("Input not found: '{path}'. Give a .txt, .jsonl, .csv, .tsv or .parquet file, or a folder of them.")
    E601 = ("Input '{path}' is a '{suffix}' file, which `trftrain annotate` does not read. Give .txt (one text a "
            "line), .jsonl, .csv, .tsv or .parquet, or convert it first.")
    E602 = ("Input folder '{path}' holds no .txt, .jsonl, .csv, .tsv or .parquet files (files and folders whose names "
            "start with '.' or '_' are skipped).")
    E603 = ("'{path}' has no {role} column '{field}' (its columns: {columns}). Name the column with {option}.")
    E604 = ("'{path}': the text column '{field}' holds {type}, not strings. Name a text column with --text-field.")
    E605 = ("{what} needs pyarrow, which is not installed. Install it with `pip install 'trftrain[ray]'` (or `pip "
            "install pyarrow`).")
    E606 = ("{what} needs Ray Data, which is not installed. Install it with `pip install 'trftrain[ray]'`.")
    E607 = "Output format '{value}' is not one of {choices}. Pick one with --format."
    E608 = ("--columns: '{value}' is not a column. Columns: {choices}; 'tokens.ATTR' keeps one token attribute "
            "({attrs}).")
    E609 = ("--columns asks for '{value}', but pipeline '{pipeline}' does not set it (it sets: {available}). Drop it "
            "from --columns or use a pipeline with that component.")
    E610 = ("Output folder '{path}' already holds files that `trftrain annotate` did not write (e.g. '{example}'). "
            "Give a new or empty folder: annotate writes shards, _manifest.jsonl and _errors.jsonl there.")
    E611 = ("Output folder '{path}' holds a run with other settings ({differences}). Rerun with the same settings to "
            "resume it, write to a new folder, or pass --overwrite to delete that run's files and start over.")
    E612 = ("Another `trftrain annotate` is writing to '{path}' (its lock is held). Wait for it to finish or write to "
            "another folder.")
    E613 = ("'{path}' changed while it was being annotated: shard {shard} should hold {expected} records, {found} were "
            "read. Completed shards are kept; rerun with --overwrite once the input stays put.")
    E614 = ("A worker died while annotating{where} ({reason}). Completed shards are kept; rerun the same command to "
            "resume, with a smaller --batch-size or fewer --n-process if memory ran out.")
    E615 = "{option} must be {rule}, got {value}."
    E616 = "--address '{value}' only applies to --ray runs; add --ray or drop --address."
    E617 = ("Pipeline '{name}' is neither a pipeline folder (with config.cfg) nor an installed package. Give e.g. "
            "training/model-best or the name of a package built by `trftrain package`.")
    E618 = ("'{path}' is a file; the output of `trftrain annotate` is a folder of shards. Give a folder name (it may "
            "end in .jsonl, .parquet or .spacy to pick the format).")
    E619 = ("'{path}' is not a readable manifest of `trftrain annotate` ({problem}). Pass --overwrite to start that "
            "output over.")
    E620 = ("--ray --gpu: the Ray cluster has no GPUs (its resources: {resources}). Drop --gpu to annotate on CPUs, or "
            "connect to a cluster with GPUs with --address.")

    # -- E7xx: encoders and pipelines --------------------------------------------------------------------------


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
