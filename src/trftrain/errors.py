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
    E400 = ("Serving needs the optional packages of `trftrain[serve]` ({missing} is not installed): run "
            "`pip install 'trftrain[serve]'`.")
    E401 = ("'{spec}' is not a pipeline to serve: give a pipeline folder (with config.cfg), the name of an installed "
            "pipeline package, or NAME=PATH to choose the name it is served under.")
    E402 = ("Pipeline '{source}' has no `trftrain_transformer` component, so there is no encoder to serve; its "
            "components are {components}.")
    E403 = ("Two served encoders are both named '{name}' ({first} and {second}): give each its own name with "
            "NAME=PATH, e.g. `trftrain serve tagger={first} ner={second}`.")
    E404 = "Serve setting `{key}` = {value}: {problem}"
    E405 = "Malformed request: {problem}. Send a msgpack map as trftrain's client does (trftrain.serving.wire)."
    E406 = ("Request too large: {size} {unit}, over the server's limit of {limit}. Send fewer windows per request "
            "(the client's `max_request_pieces`) or raise the server's `{option}`.")
    E407 = "Window {index} is malformed for encoder '{name}': {problem}."
    E408 = "No served pipeline is named '{name}'. Served: {served}."
    E409 = ("Encoder mismatch: the client's pipeline expects encoder fingerprint {expected}, but '{name}' is served "
            "with fingerprint {served} (from {source}). They are different weights; serve the client's pipeline "
            "itself (`trftrain serve PIPELINE`) or load the pipeline the server hosts.")
    E410 = ("No served encoder has fingerprint {expected}, the one the client's pipeline was saved with. Served: "
            "{served}. Serve the client's pipeline itself (`trftrain serve PIPELINE`).")
    E411 = "The queue of '{name}' is full ({limit} requests waiting); retry after {seconds} s."
    E412 = "Missing or wrong bearer token: send `Authorization: Bearer TOKEN` with the server's --token."
    E413 = ("The encoder server did not answer at {urls} after {attempts} attempts ({problem}). Check that "
            "`trftrain serve` runs there and is reachable, or raise the client's `timeout` / `retries`.")
    E414 = "The encoder server at {url} refused the request (HTTP {status}): {message}"
    E415 = ("The encoder server at {url} sent a response trftrain cannot read: {problem}. Are client and server the "
            "same trftrain version?")
    E416 = ("A remote encoder (`{key}` = trftrain.RemoteTransformer.v1) cannot be trained or initialized: it serves "
            "a trained pipeline. Train with trftrain.Transformer.v1, then load the saved pipeline with "
            "`trftrain.load_remote`.")
    E417 = "`{key}`: no server given; set `url` (e.g. \"http://127.0.0.1:8080\") or `urls` (a list, spread over)."
    E418 = ("The saved encoder in '{path}' records no fingerprint and has no weights to compute it from: save the "
            "pipeline again with this trftrain version, or copy the encoder's model.safetensors there.")
    E419 = ("'{name}' is not a trftrain pipeline folder or installed pipeline package (no config.cfg found); "
            "give the folder `trftrain train` wrote (e.g. training/model-best) or a package name.")
    E420 = "Pipeline '{name}' has no `trftrain_transformer` component to load remote; its components are {components}."

    # -- E5xx: distillation ------------------------------------------------------------------------------------

    # -- E6xx: annotation --------------------------------------------------------------------------------------

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
