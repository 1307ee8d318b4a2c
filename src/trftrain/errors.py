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
    E009 = "--{option} {value}: {problem}"
    E010 = "Evaluation data not found: '{path}'."
    E011 = "'{model}' is not a pipeline folder (no config.cfg); give e.g. training/model-best."
    E012 = "'{path}' holds no documents."
    E013 = "Unknown head(s) {heads}: choose from {known}."

    # -- E1xx: corpora and converters --------------------------------------------------------------------------
    E100 = "Input file not found: '{path}'."
    E101 = "{path}:{line}: {detail}. Save the file as UTF-8 (e.g. `iconv -f latin1 -t utf-8 IN > OUT`)."
    E102 = "The input holds no documents; nothing was written."
    E103 = ("The output '{output}' is the input file: converting would overwrite it with binary data. Give another "
            "output, e.g. '{suggestion}'.")
    E104 = "--{option} {value}: {problem}"
    E105 = "{path}:{line}: expected 10 tab-separated columns, found {found}."
    E106 = "{path}:{line}: bad multiword token range {value!r}."
    E107 = "{path}:{line}: token id {value!r} out of sequence (expected {expected})."
    E108 = "{path}:{line}: head {value!r} is not a number."
    E109 = "{path}:{line}: unknown universal POS tag {value!r}."
    E110 = ("{path}:{line}: the sentence starting here is not one tree: {problem}. Fix its HEAD column (7), or "
            "remove the sentence.")
    E111 = "{path}:{line}: expected a word and an entity tag separated by whitespace."
    E112 = "{path}:{line}: entity tag {tag!r} is not O, B-TYPE or I-TYPE."
    E113 = "{path}:{line}: expected at least {needed} columns, found {found}."
    E114 = ("{path}:{line}: {found} columns where line {first_line} has {expected}: is there a tab inside the text? "
            "TSV has no quoting: replace the tabs inside texts by spaces, or convert from CSV (quoted fields) or JSONL.")
    E115 = "{path}:{line}: not valid JSON ({problem})."
    E116 = "{path}:{line}: expected an object with a \"text\" string, found {found}."
    E117 = ("{path}:{line}: expected \"cats\" (an object of label: number), \"labels\" (a list of strings) or "
            "\"label\" (a string).")
    E118 = ("{path}:{line}: {field} holds {value}, but a label is a string (or a whole number with --labels). Fix "
            "the record or drop it.")
    E119 = "{path}:{line}: label {value!r} is not a number below {count} (the label names given)."
    E120 = "{path}:{line}: expected exactly one label, found {labels}; use --multilabel for several labels per text."
    E121 = "'{path}' holds no records."
    E122 = "The output '{output}' is a folder: give a file name, e.g. '{suggestion}'."
    E123 = ("{path}:{line}: the record holds {char!r}, half of a UTF-16 surrogate pair, which is not a character; "
            "fix the \\u escape in the input.")
    E124 = "{path}:{line}: not valid CSV ({problem})."
    E125 = "{path}:{line}: the FORM column (2) is empty; a word needs at least one character."
    E126 = ("{path}:{line}: FEATS {value!r} is not a list of Feature=Value pairs separated by | (e.g. "
            "Number=Sing|Person=3), or _ for none.")
    E127 = "'{path}' holds no documents; nothing was written."

    # -- E2xx: packaging ---------------------------------------------------------------------------------------
    E200 = ("Invalid package name '{name}': use lowercase letters, digits and underscores, starting with a letter "
            "(e.g. en_trf_tagger).")
    E201 = ("Package name '{name}' is taken by a Python module or library: installing the pipeline would replace it. "
            "Choose another name, e.g. {suggestion}.")
    E202 = "Invalid version '{version}': use a PEP 440 version such as 1.0.0, 1.0.0rc1 or 2.0.post1."
    E203 = "'{model}' is not a saved pipeline (config.cfg and meta.json missing); give e.g. training/model-best."
    E204 = "The output folder '{outdir}' is a file: give a folder for the wheel, e.g. '{suggestion}'."
    E205 = "Building the wheel failed:\n{output}"
    E206 = "pip reported success but no wheel for {name} {version} is in '{outdir}'."

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
            "training.grad_clip; to continue from the checkpoint with a changed setting, add --allow-change with its "
            "key (e.g. --resume --allow-change training.optimizer.encoder_lr).")
    E311 = "`training.frozen_components` names {unknown}, which are not in the pipeline {pipeline}."
    E312 = ("`components.{name}.encoder.upstream` is '{upstream}', but the pipeline's transformers are "
            "{transformers}.")
    E313 = ("'{path}' is not a complete checkpoint ({problem}). Delete it to start again, or resume from a copy "
            "of a complete one.")
    E316 = "--output '{path}' is a file, not a folder: give a folder for model-best, model-last and the log."
    E317 = ("The {what} corpus file '{path}' is not a readable DocBin (.spacy) file ({problem}): it may be cut short "
            "or not a .spacy file at all. Convert the source again with `trftrain convert`.")

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
    E621 = ("{option} does not apply with --remote: the `trftrain serve` server runs the encoder on its own device and "
            "precision (set them there). Drop {option}, or drop --remote to run the encoder here.")

    # -- E7xx: encoders and pipelines --------------------------------------------------------------------------
    E700 = ("Refusing to load component '{component}' from bytes: it holds a file named {name}, which is absolute "
            "or leads outside the component's folder. Load only pipelines you trust, saved by `to_bytes`.")
    E701 = ("Refusing to load component '{component}' from bytes: expected a map of file names to bytes, found "
            "{found}. The data is not from `to_bytes` of a trftrain component.")
    E702 = ("Component '{component}' is an exclusive text classifier with the single label '{label}': every text "
            "would get it with probability 1, so it learns nothing and scores 100. Give it two or more labels (in "
            "the training data's cats or in [initialize.components.{component}] labels), or use the factory "
            "trftrain_textcat_multilabel for a yes/no label.")
    E703 = ("Encoder folder not found: '{path}'. Point `components.transformer.model.name` at the folder that holds "
            "the Hugging Face config.json, weights and tokenizer, an installed encoder package, or a hub name.")
    E704 = ("Component '{name}' found no labels in the training data: check that the corpus carries this annotation "
            "(trftrain debug-data shows label counts).")
    E705 = ("Component '{name}' reads the transformer '{upstream}', which is not in the pipeline: set "
            "`components.{name}.encoder.upstream` to one of {names}.")
    E706 = "'{upstream}' must come before '{name}' in `nlp.pipeline`."
    E707 = "Precision '{setting}' is not one of {settings}."
    E708 = ("Encoder directory '{path}' has no config.json: point `name` at the folder that holds the Hugging Face "
            "config, weights and tokenizer files.")
    E709 = ("`{key}.{setting}`: encoder '{name}' ({model_type}) has no such setting (looked for {looked}); leave it "
            "null.")
    E710 = ("Encoder '{name}' has no fast tokenizer (tokenizer.json); trftrain needs its character offsets to align "
            "pieces with tokens.")
    E711 = ("`{key}.layers`: encoder '{name}' ({model_type}) does not say how many layers it has (no "
            "num_hidden_layers in its config); leave `layers` null.")
    E712 = ("`{key}.layers` is {layers}, but encoder '{name}' has {available} layers: give a number from 1 to "
            "{available}, or null for all of them.")
    E713 = ("{reader} reads the shared transformer's output, but a Doc has none: put the transformer component "
            "before it in the pipeline and keep it enabled (nlp.select_pipes / disable must not drop it).")
    E714 = ("int8 quantization runs on the CPU, but the encoder of '{name}' is on {device}: load the pipeline "
            "without --gpu (or call nlp.get_pipe('{name}').to('cpu')) before quantizing.")


class Warnings(metaclass=_Coded):
    # -- W0xx: config ------------------------------------------------------------------------------------------

    # -- W3xx: training ----------------------------------------------------------------------------------------
    W301 = ("[{name}] no training doc carries this head's annotation: it will learn nothing (its labels come from "
            "the config). Check the corpus, or remove the head.")
    W302 = ("`training.schedule.warmup_steps` is {warmup}, more than the {steps} steps this run takes: the learning "
            "rate never reaches its set value. Lower warmup_steps.")
    W303 = "Non-finite weights in the pipeline at step {step}: {target} was not saved, to keep the last good one."
    W304 = ("[{name}] {count} of the {total} labelled development tokens carry labels no training doc has "
            "({labels}): the model cannot predict them, so they count as errors. A few rare labels are normal; many "
            "mean a typo or a gap in the training data.")


class TrftrainError(ValueError):
    """A problem with the user's input (config, corpus, paths, a request) rather than a bug in trftrain."""


def config_error(key: str, message: str) -> TrftrainError:
    """An error about one config value, named as `section.key` the way overrides spell it."""
    return TrftrainError(Errors.E003.format(key=key, problem=message))


def codes(catalogue: type) -> dict:
    """{code: template} of a catalogue, for tests and documentation."""
    return {name: value for name, value in vars(catalogue).items() if name[:1] in ("E", "W") and name[1:].isdigit()}
