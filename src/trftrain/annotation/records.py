"""The record an annotated Doc becomes (id, text, carried fields, tokens, entities, sentences, categories), which of
its columns a run keeps, and their Arrow types for Parquet and Ray."""
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

from ..errors import Errors, TrftrainError

TOP_LEVEL = ("id", "text", "meta", "tokens", "ents", "sents", "cats")
TOKEN_ATTRS = ("tag", "pos", "morph", "lemma", "head", "dep")
ANNOTATIONS = ("tokens", "ents", "sents", "cats")
# What each `assigns` entry of a spaCy factory puts into the record.
ASSIGNED = {
    "token.tag": ("tokens.tag",), "token.pos": ("tokens.pos",), "token.morph": ("tokens.morph",),
    "token.lemma": ("tokens.lemma",), "token.dep": ("tokens.head", "tokens.dep"),
    "token.head": ("tokens.head", "tokens.dep"), "token.is_sent_start": ("sents",), "doc.sents": ("sents",),
    "doc.ents": ("ents",), "token.ent_iob": ("ents",), "token.ent_type": ("ents",), "doc.cats": ("cats",),
}
TOKEN_GETTERS = {
    "tag": lambda t: t.tag_, "pos": lambda t: t.pos_, "morph": lambda t: str(t.morph), "lemma": lambda t: t.lemma_,
    "head": lambda t: t.head.i, "dep": lambda t: t.dep_,
}


@dataclass(frozen=True)
class PipelineInfo:
    """What a loaded pipeline annotates. produced (Tuple[str, ...]): record columns it fills ("ents",
    "tokens.tag", ...); cat_labels (Tuple[str, ...]): the keys of doc.cats."""
    produced: Tuple[str, ...]
    cat_labels: Tuple[str, ...]


@dataclass(frozen=True)
class Columns:
    """The columns a run writes, in record order. token_attrs (Tuple[str, ...]): attributes of each token besides
    its text and character offsets; cat_labels (Tuple[str, ...]): the categories, in the pipeline's order."""
    top: Tuple[str, ...]
    token_attrs: Tuple[str, ...] = ()
    cat_labels: Tuple[str, ...] = ()


def describe(nlp) -> PipelineInfo:
    """Which record columns a pipeline fills, read from its components' declared `assigns`."""
    produced = set()
    for name in nlp.pipe_names:
        for assigned in nlp.get_pipe_meta(name).assigns:
            produced.update(ASSIGNED.get(assigned, ()))
    cat_labels = ()
    if "cats" in produced:
        # Labels come from a prediction: several classifiers may share doc.cats, each adding its own.
        cat_labels = tuple(nlp("A short text.").cats)
        if not cat_labels:
            produced.discard("cats")
    ordered = [c for c in ANNOTATIONS if c in produced] + [f"tokens.{a}" for a in TOKEN_ATTRS if f"tokens.{a}" in produced]
    return PipelineInfo(tuple(ordered), cat_labels)


def choose_columns(requested: Optional[Sequence[str]], info: PipelineInfo, carries_fields: bool,
                   pipeline: str = "") -> Columns:
    """The columns to write: `requested` (e.g. ["id", "ents", "tokens.pos"]) or, when None, everything.

    info (PipelineInfo): what the pipeline fills. carries_fields (bool): the input has fields besides the text.
    """
    token_attrs = tuple(a for a in TOKEN_ATTRS if f"tokens.{a}" in info.produced)
    if requested is None:
        top = ["id", "text"] + (["meta"] if carries_fields else [])
        top += [c for c in ANNOTATIONS if c in info.produced or (c == "tokens" and token_attrs)]
        return Columns(tuple(top), token_attrs, info.cat_labels)
    chosen, attrs = set(), []
    for name in (n.strip() for n in requested if n.strip()):
        if name.startswith("tokens."):
            attr = name.split(".", 1)[1]
            if attr not in TOKEN_ATTRS:
                raise TrftrainError(Errors.E608.format(value=name, choices=", ".join(TOP_LEVEL), attrs=", ".join(TOKEN_ATTRS)))
            _check_produced(name, info, pipeline)
            chosen.add("tokens")
            attrs.append(attr)
        elif name in TOP_LEVEL:
            if name in ("ents", "sents", "cats"):
                _check_produced(name, info, pipeline)
            chosen.add(name)
            if name == "tokens":
                attrs.extend(token_attrs)
        else:
            raise TrftrainError(Errors.E608.format(value=name, choices=", ".join(TOP_LEVEL), attrs=", ".join(TOKEN_ATTRS)))
    top = tuple(c for c in TOP_LEVEL if c in chosen)
    return Columns(top, tuple(a for a in TOKEN_ATTRS if a in attrs), info.cat_labels if "cats" in chosen else ())


def _check_produced(name: str, info: PipelineInfo, pipeline: str) -> None:
    if name not in info.produced:
        raise TrftrainError(Errors.E609.format(value=name, pipeline=pipeline, available=", ".join(info.produced) or "nothing"))


def make_record(doc, record_id: Any, meta: Dict[str, Any], columns: Columns) -> Dict[str, Any]:
    """The record of one annotated Doc: character offsets everywhere, token heads as token indices."""
    record = {}
    for column in columns.top:
        if column == "id":
            record["id"] = record_id
        elif column == "text":
            record["text"] = doc.text
        elif column == "meta":
            record["meta"] = meta
        elif column == "tokens":
            getters = [(attr, TOKEN_GETTERS[attr]) for attr in columns.token_attrs]
            record["tokens"] = [{"text": t.text, "start": t.idx, "end": t.idx + len(t),
                                 **{attr: get(t) for attr, get in getters}} for t in doc]
        elif column == "ents":
            record["ents"] = [{"start": e.start_char, "end": e.end_char, "label": e.label_, "text": e.text}
                              for e in doc.ents]
        elif column == "sents":
            record["sents"] = [{"start": s.start_char, "end": s.end_char} for s in doc.sents]
        elif column == "cats":
            record["cats"] = {label: doc.cats.get(label) for label in columns.cat_labels}
    return record


def arrow_fields(columns: Columns, pa) -> List[Any]:
    """The Arrow fields of the record's columns. `meta` is a JSON string (its fields differ from record to record)
    and `id` a string, so that every shard of a run has one schema."""
    offsets = [pa.field("start", pa.int64()), pa.field("end", pa.int64())]
    token_types = {"head": pa.int64()}
    types = {
        "id": pa.string(), "text": pa.string(), "meta": pa.string(),
        "tokens": pa.list_(pa.struct([pa.field("text", pa.string()), *offsets]
                                     + [pa.field(a, token_types.get(a, pa.string())) for a in columns.token_attrs])),
        "ents": pa.list_(pa.struct(offsets + [pa.field("label", pa.string()), pa.field("text", pa.string())])),
        "sents": pa.list_(pa.struct(offsets)),
        "cats": pa.struct([pa.field(label, pa.float64()) for label in columns.cat_labels]),
    }
    return [pa.field(column, types[column]) for column in columns.top]
