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
    E301 = ("--gpu {gpu} asks for a CUDA GPU, but this torch build sees none (torch {torch}). Install a CUDA build of "
            "torch or use --gpu -1.")
    E302 = "Could not build the pipeline from the config:\n{problem}"
    E303 = "No {what} corpus: set `paths.{key}` (e.g. --paths.{key} corpus/{key}.spacy)."
    E304 = ("The {what} corpus '{path}' (from `corpora.{section}`) does not exist. Convert your data with `trftrain "
            "convert` and point the path at the .spacy file or folder.")
    E305 = "The {what} corpus '{path}' holds no documents."
    E306 = ("The output folder '{path}' holds a training run ({found}). Continue it with --resume, or start again "
            "with --overwrite (deletes that run's models, checkpoint and log).")
    E307 = "--resume: '{path}' holds no checkpoint-last to continue from. Train without --resume to start a run there."
    E308 = "--resume and --overwrite cannot be used together: choose one."
    E309 = ("--resume: the config differs from the one the checkpoint was trained with, in {keys}. Resume with the "
            "same config, or accept the change on purpose with {flags}.")
    E310 = ("Training stopped at step {step}: the loss of {heads} is {value} (not a finite number). The weights were "
            "not updated with it. {saved} Lower the learning rates (training.optimizer), check the data, or use "
            "training.grad_clip.")
    E311 = "`training.frozen_components` names {unknown}, which are not in the pipeline {pipeline}."
    E312 = ("`components.{name}.encoder.upstream` is '{upstream}', but the pipeline's transformers are "
            "{transformers}.")
    E313 = ("'{path}' is not a complete checkpoint ({problem}). Delete it to start again, or resume from a copy "
            "of a complete one.")
    E314 = ("Distributed training: component '{name}' is a spaCy component on the transformer listener with no "
            "trainable thinc parameters found to synchronise; {problem}")
    E315 = "Training failed at step {step} in {where}: {problem}"
    E316 = "--output '{path}' is a file, not a folder: give a folder for model-best, model-last and the log."

    # -- E4xx: serving -----------------------------------------------------------------------------------------

    # -- E5xx: distillation ------------------------------------------------------------------------------------
    E501 = ("The student ({student}) shares no task with the teacher ({teacher}): the student's components are "
            "{student_components} and the teacher's are {teacher_components}. Give the student at least one "
            "component for a task the teacher does ({tasks}), e.g. a tagger when the teacher has one.")
    E502 = ("The raw text '{path}' gave no text to distill from ({problems}). Check the file: .txt takes one text "
            "per line, .jsonl one JSON object per line with a '{field}' field, .spacy a DocBin.")
    E503 = ("Raw text '{path}': the format '{suffix}' is not one trftrain reads. Give a .txt (one text per line), "
            ".jsonl (one JSON object per line with a text field) or .spacy file.")
    E504 = ("The teacher cache '{path}' was made {problem}. Give another --cache folder, or delete '{path}' to "
            "annotate the raw text again with this teacher.")
    E505 = "The teacher cache '{path}' is unreadable ({problem}). Delete it to annotate the raw text again."
    E506 = ("No development corpus for the student: give --dev CORPUS.spacy or set `paths.dev` in the student "
            "config '{config}' (the student is scored on it to pick model-best).")
    E507 = "--{option} {value}: {problem}"
    E508 = "Teacher pipeline '{path}' could not be loaded: {problem}. Give a pipeline folder (with config.cfg) or the name of an installed pipeline package."
    E509 = ("--resume: the student in '{path}' is a spaCy pipeline ({config}), trained by spaCy's own loop, which "
            "cannot resume. Start again with --overwrite.")

    # -- E6xx: annotation --------------------------------------------------------------------------------------

    # -- E7xx: encoders and pipelines --------------------------------------------------------------------------


class Warnings(metaclass=_Coded):
    # -- W0xx: config ------------------------------------------------------------------------------------------

    # -- W3xx: training ----------------------------------------------------------------------------------------
    W301 = ("[{name}] no training doc carries this head's annotation: it will learn nothing (its labels come from "
            "the config). Check the corpus, or remove the head.")
    W302 = ("`training.schedule.warmup_steps` is {warmup}, more than the {steps} steps this run takes: the learning "
            "rate never reaches its set value. Lower warmup_steps.")
    W303 = "Non-finite weights in the pipeline at step {step}: {target} was not saved, to keep the last good one."


class TrftrainError(ValueError):
    """A problem with the user's input (config, corpus, paths, a request) rather than a bug in trftrain."""


def config_error(key: str, message: str) -> TrftrainError:
    """An error about one config value, named as `section.key` the way overrides spell it."""
    return TrftrainError(Errors.E003.format(key=key, problem=message))


def codes(catalogue: type) -> dict:
    """{code: template} of a catalogue, for tests and documentation."""
    return {name: value for name, value in vars(catalogue).items() if name[:1] in ("E", "W") and name[1:].isdigit()}
