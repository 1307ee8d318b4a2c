"""What a user's config may hold: INI syntax (with the line in the user's file), JSON values, known sections
and keys, and the numbers and corpus paths a run needs. Each problem names the key, the line or the override."""
import configparser
import difflib
import json
import re
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .errors import Errors, TrftrainError, config_error

# Top-level keys of these sections are checked against the defaults. The keys of [corpora] and [components] are
# names the user chooses, and function blocks ([nlp.tokenizer], [training.optimizer], ...) are checked by the
# function they name.
CHECKED_SECTIONS = ("paths", "system", "nlp", "initialize", "training")
# Keys spaCy's own configs carry that trftrain accepts without using.
SPACY_EXTRAS = {"system": ["gpu_allocator"]}
REFERENCE = re.compile(r"\$\{([\w]+)\.([\w]+)")
HEADER = re.compile(r"^\[([^\]\n]+)\]\s*$")
KEY = re.compile(r"^([^\s#;\[][^=:]*?)\s*[=:]")
# Values read as whole numbers >= minimum before any function is built, so that an error names the key the
# user wrote rather than one that interpolates it (training.schedule.total_steps = ${training.max_steps}).
WHOLE_NUMBERS = {"training.max_steps": 1, "training.eval_frequency": 1, "training.accumulate_gradient": 1,
                 "training.eval_batch_size": 1, "training.max_epochs": 0, "training.patience": 0,
                 "training.checkpoint_frequency": 0,
                 "nlp.batch_size": 1, "system.seed": 0}


def key_lines(text: str) -> Dict[Tuple[str, str], int]:
    """{(section, key): 1-based line} of every `key = value` in a config text; {(section, ""): line} for headers."""
    lines, section = {}, ""
    for number, line in enumerate(text.splitlines(), start=1):
        header = HEADER.match(line)
        if header:
            section = header.group(1).strip()
            lines.setdefault((section, ""), number)
            continue
        key = KEY.match(line)
        if key and section:
            lines.setdefault((section, key.group(1).strip()), number)
    return lines


def check_syntax(path: Path, text: str) -> None:
    """Parse the user's own text as INI, so that a syntax error reports the line of their file."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    try:
        parser.read_string(text)
    except configparser.MissingSectionHeaderError as err:
        raise TrftrainError(Errors.E002.format(path=path, where=f", line {err.lineno}", problem=(
            f"{err.line.strip()!r} comes before any [section] header."))) from None
    except configparser.ParsingError as err:
        number = err.errors[0][0]
        line = text.splitlines()[number - 1] if number <= len(text.splitlines()) else ""
        raise TrftrainError(Errors.E002.format(path=path, where=f", line {number}", problem=(
            f"cannot read {line.strip()!r}: a section header is [name], a setting is `key = value`."))) from None
    except configparser.DuplicateOptionError as err:
        raise TrftrainError(Errors.E002.format(path=path, where=f", line {err.lineno}", problem=(
            f"`{err.option}` is set twice in [{err.section}]."))) from None
    except configparser.DuplicateSectionError as err:
        raise TrftrainError(Errors.E002.format(path=path, where=f", line {err.lineno}", problem=(
            f"section [{err.section}] appears twice; merge the two."))) from None
    except configparser.Error as err:
        raise TrftrainError(Errors.E002.format(path=path, where="", problem=str(err))) from None
    for section in parser.sections():
        for key, value in parser.items(section, raw=True):
            _check_json_shape(path, text, section, key, value)


def _check_json_shape(path: Path, text: str, section: str, key: str, value: str) -> None:
    """A value that opens a list or a dict must be JSON; confection would keep a broken one as a string and the
    error would surface later without a section or line."""
    stripped = (value or "").strip()
    if not stripped or stripped[0] not in "[{":
        return
    try:
        json.loads(re.sub(r"\$\{[\w.:]+\}", "0", stripped))
    except json.JSONDecodeError as err:
        closer = "]" if stripped[0] == "[" else "}"
        unclosed = not stripped.endswith(closer)
        problem = (f"the {'list' if closer == ']' else 'dict'} `{stripped}` is not closed: end it with `{closer}`"
                   if unclosed else f"`{stripped}` is not valid JSON ({err.msg})")
        line = key_lines(text).get((section, key))
        where = f" ('{path}', line {line})" if line else f" ('{path}')"
        raise config_error(f"{section}.{key}", f"{problem}{where}. Strings in lists go in double quotes.") from None


def check_sections(path: Path, user: Dict[str, Any], known: Iterable[str], text: str) -> None:
    """Every top-level section of the user's file must be one trftrain reads: a misspelled [trainig] would
    otherwise be ignored and the run would use the defaults."""
    known = sorted(known)
    lines = key_lines(text)
    for section in user:
        if section not in known:
            line = lines.get((section, "")) or _first_line_of(lines, section)
            raise TrftrainError(Errors.E004.format(path=path, where=f", line {line}" if line else "", section=section,
                                                   known=", ".join(f"[{s}]" for s in known),
                                                   hint=did_you_mean(section, known, "[{}]")))


def _first_line_of(lines: Dict[Tuple[str, str], int], section: str) -> Optional[int]:
    found = [line for (name, key), line in lines.items() if not key and name.split(".")[0] == section]
    return min(found) if found else None


def check_keys(config: Dict[str, Any], defaults: Dict[str, Any], overrides: Dict[str, Any], path: Path,
               text: str) -> None:
    """Top-level keys of [paths], [system], [nlp], [initialize] and [training] must be known. A [paths] key of the
    user's own is fine when the config refers to it as ${paths.<key>}."""
    referenced = {key for section, key in REFERENCE.findall(json.dumps(config)) if section == "paths"}
    lines = key_lines(text)
    for section in CHECKED_SECTIONS:
        known = set(defaults.get(section, {})) | set(SPACY_EXTRAS.get(section, []))
        if section == "paths":
            known |= referenced
        for key in config.get(section, {}):
            if key in known:
                continue
            name = f"{section}.{key}"
            if name in overrides:
                where = f" (from the override --{name})"
            else:
                line = lines.get((section, key))
                where = f" ('{path}', line {line})" if line else f" ('{path}')"
            hint = did_you_mean(key, known, f"`{section}.{{}}`")
            if section == "paths":
                hint += (" A [paths] entry of your own must be used somewhere as ${paths." + key + "}.")
            raise TrftrainError(Errors.E005.format(key=name, where=where, section=section,
                                                   known=", ".join(sorted(known)) or "(none)", hint=hint))


def did_you_mean(name: str, known: Iterable[str], pattern: str) -> str:
    """' Did you mean X?' for the closest known name, or '' when none is close."""
    close = difflib.get_close_matches(name, list(known), n=1, cutoff=0.6)
    return f" Did you mean {pattern.format(close[0])}?" if close else ""


def check_whole_numbers(config: Dict[str, Any]) -> None:
    """The counts in WHOLE_NUMBERS, read from the interpolated config before anything is built."""
    for name, minimum in WHOLE_NUMBERS.items():
        section, key = name.split(".")
        if key not in config.get(section, {}):
            continue
        value = config[section][key]
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise config_error(name, f"{value!r} must be a whole number >= {minimum}.")


def check_corpus_paths(config: Dict[str, Any]) -> None:
    """Every corpus in [corpora] needs its path: spaCy builds them all together, so a missing development path
    would otherwise stop the training corpus with spaCy's E913, which names neither."""
    for name, block in config.get("corpora", {}).items():
        if not isinstance(block, dict):
            continue
        paths: List[Any] = block.get("paths") if "paths" in block else [block.get("path", "")]
        if paths is None or any(path is None for path in paths):
            key = f"paths.{name}" if name in config.get("paths", {}) else f"corpora.{name}.path"
            raise TrftrainError(Errors.E008.format(key=key, corpus=name))
